import Engine
import Model
import Tokenizer

/// Everything `tandem serve` can be told, with the defaults a user gets without flags.
public struct ServerConfiguration: Sendable {
    public var modelPath: String
    public var adaptersDirectory: String
    public var host: String
    public var port: Int
    /// The base model's id in `model` fields; nil derives it from the GGUF (`gemma-3-270m`).
    public var servedModelName: String?
    /// When set, every `/v1/*` route needs `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// Prompt + completion tokens per sequence; nil: min(model context, 8192).
    public var maxModelLength: Int?
    public var maxBodyBytes = 4 << 20
    /// Chat format; nil detects it from the GGUF.
    public var chatTemplate: ChatTemplate?
    /// `max_tokens` when a request gives none (capped by the context left).
    public var defaultMaxTokens = 1024
    public var maxChoices = 8
    public var maxMessages = 1024
    public var maxStopStrings = 8
    public var maxRunning = 64
    public var maxQueue = 256
    public var maxPrefillTokensPerStep = 512
    public var prefillTokensWhileDecoding = 16
    /// Activations of quantized matrix products: int16 integer dot products (faster) or Float32.
    public var kernelPrecision = KernelPrecision.default
    /// Memory for KV cache pages (running sequences and the prefix cache).
    public var kvCacheMB = 2048
    /// Reuse KV pages of earlier prompts with the same tokens and adapter.
    public var prefixCaching = true
    /// Largest LoRA rank accepted.
    public var maxLoRARank = 64
    /// Adapters kept in memory at once (least recently used are dropped first).
    public var maxLoadedAdapters = 16
    public var adapterMemoryMB = 512
    /// How often the adapters folder is rescanned for new, changed and removed adapters.
    public var adapterScanInterval: Duration = .milliseconds(500)
    /// Load every adapter at start-up instead of on first use.
    public var preloadAdapters = false
    /// Let the admin routes load adapters from paths outside the adapters folder.
    public var allowAdapterPathsOutside = false
    /// Let the admin routes run without an API key when none is configured.
    public var allowUnauthenticatedAdmin = false
    /// How long SIGTERM waits for running requests before cancelling them.
    public var shutdownGracePeriod: Duration = .seconds(30)

    public init(modelPath: String, adaptersDirectory: String = "adapters", host: String = "127.0.0.1", port: Int = 8000) {
        self.modelPath = modelPath
        self.adaptersDirectory = adaptersDirectory
        self.host = host
        self.port = port
    }
}

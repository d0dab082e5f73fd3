import Adapters
import Engine
import Model
import Tokenizer

/// Everything `tandem serve` can be told, with the defaults a user gets without flags.
public struct ServerConfiguration: Sendable {
    public var modelPath: String
    public var adaptersDirectory = "adapters"
    public var host = "127.0.0.1"
    public var port = 8000
    /// The base model's id in `model` fields; nil derives it from the GGUF (`gemma-3-270m`).
    public var servedModelName: String?
    /// When set, every `/v1/*` route needs `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// A YAML file of tenants (keys, the model ids each may use, rate limits), reloaded when it
    /// changes; works beside `apiKey`.
    public var apiKeysFile: String?
    public var maxBodyBytes = 4 << 20
    /// Chat format; nil detects it from the GGUF.
    public var chatTemplate: ChatTemplate?
    /// `max_tokens` when a request gives none (capped by the context left).
    public var defaultMaxTokens = 1024
    public var maxChoices = 8
    public var maxMessages = 1024
    public var maxStopStrings = 8
    /// Activations of quantized matrix products: int16 integer dot products (faster) or Float32.
    public var kernelPrecision = KernelPrecision.default
    /// The build of the quantized kernels (default: the fastest this CPU runs).
    public var kernelPath = KernelPath.detected
    /// Batching, queue, sequence length, KV cache and prefix cache.
    public var engine = InferenceEngine.Configuration()
    /// Rank limit and the memory kept for loaded adapters.
    public var adapterLimits = AdapterRegistry.Limits()
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

    public init(modelPath: String, adaptersDirectory: String? = nil, host: String? = nil, port: Int? = nil) {
        self.modelPath = modelPath
        if let adaptersDirectory { self.adaptersDirectory = adaptersDirectory }
        if let host { self.host = host }
        if let port { self.port = port }
    }
}

import ArgumentParser
import Foundation
import Engine
import Logging
import Server
import Tokenizer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: """
            Serve the model over the OpenAI HTTP API \
            (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics).
            """
    )

    /// The defaults of every flag: the configuration types own them.
    private static let defaults = ServerConfiguration(modelPath: ModelPaths.defaultModel)
    private static let engine = defaults.engine, limits = defaults.engine.limits, adapterLimits = defaults.adapterLimits

    @Option(help: "Path of the GGUF model.")
    var model = defaults.modelPath

    @Option(help: "Folder of LoRA adapters and roles.")
    var adapters = defaults.adaptersDirectory

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = defaults.host

    @Option(help: "Port to listen on.")
    var port = defaults.port

    @Option(name: .customLong("served-model-name"),
            help: "Model id clients use (default: from the GGUF, e.g. gemma-3-270m).")
    var servedModelName: String?

    @Option(name: .customLong("api-key"),
            help: "Require 'Authorization: Bearer KEY' on /v1/* (default: $TANDEM_API_KEY).")
    var apiKey: String?

    @Option(name: .customLong("api-keys"),
            help: "YAML file of tenant keys: the model ids each may use, rate limits, admin; reloaded when it changes.")
    var apiKeysFile: String?

    @Option(name: .customLong("max-model-len"),
            help: """
                Prompt + completion tokens per sequence \
                (default: min(model context, \(InferenceEngine.Configuration.defaultMaxSequenceLength))).
                """)
    var maxModelLength: Int?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted.")
    var maxBodyBytes = defaults.maxBodyBytes

    @Option(name: .customLong("default-max-tokens"), help: "max_tokens when a request gives none.")
    var defaultMaxTokens = defaults.defaultMaxTokens

    @Option(name: .customLong("max-n"), help: "Largest n (choices per request).")
    var maxN = defaults.maxChoices

    @Option(name: .customLong("max-messages"), help: "Most messages in one chat request.")
    var maxMessages = defaults.maxMessages

    @Option(name: .customLong("max-stop-strings"), help: "Most stop strings in one request.")
    var maxStopStrings = defaults.maxStopStrings

    @Option(name: .customLong("chat-template"), help: "Chat format (default: detected from the GGUF).")
    var chatTemplate: ChatTemplate?

    @Option(name: .customLong("max-running"), help: "Sequences decoded together in one batch.")
    var maxRunning = limits.maxRunning

    @Option(name: .customLong("max-queue"), help: "Requests that may wait for a slot; more get 429.")
    var maxQueue = engine.maxQueue

    @Option(name: .customLong("max-prefill-tokens-per-step"), help: "Prompt tokens processed per engine step.")
    var maxPrefillTokensPerStep = limits.maxPrefillTokensPerStep

    @Option(name: .customLong("prefill-tokens-while-decoding"),
            help: "Prompt tokens per step while other sequences decode: at least this many.")
    var prefillTokensWhileDecoding = limits.prefillTokensWhileDecoding

    @Option(name: .customLong("prefill-time-share"),
            help: """
                While other sequences decode, a step with prompt tokens takes at most 1 + this × the decode \
                step of all running sequences (step costs measured as they run).
                """)
    var prefillTimeShare = limits.prefillTimeShare

    @Option(name: .customLong("idle-first-step-tokens"),
            help: """
                Prompt tokens per prompt in the first step after the engine was idle: prompts of a burst \
                arriving meanwhile join the next step before any stream decodes.
                """)
    var idleFirstStepTokens = limits.idleFirstStepTokens

    @OptionGroup var kernels: KernelOptions

    @Option(name: .customLong("kv-cache-mb"),
            help: """
                Memory for KV cache pages of running sequences and the prefix cache; \
                requests wait while it is committed.
                """)
    var kvCacheMB = engine.kvCacheMegabytes

    @Option(name: .customLong("kv-cache-tokens"),
            help: """
                Instead of --kv-cache-mb: room for this many positions on every layer \
                (llama.cpp's -c), shared by running sequences and the prefix cache.
                """)
    var kvCacheTokens: Int?

    @Option(name: .customLong("kv-cache-type"),
            help: """
                Storage of KV cache values: f32, or f16 (half the memory; logits move by up to the \
                tolerance the README gives).
                """)
    var kvCacheType = engine.kvCachePrecision

    @Flag(name: .customLong("no-prefix-cache"),
          help: "Do not reuse KV pages of earlier prompts with the same tokens and adapter.")
    var noPrefixCache = !engine.prefixCaching

    @Option(name: .customLong("max-lora-rank"), help: "Largest LoRA rank accepted.")
    var maxLoRARank = adapterLimits.maxRank

    @Option(name: .customLong("max-loaded-adapters"),
            help: "Adapters kept in memory at once (least recently used dropped first).")
    var maxLoadedAdapters = adapterLimits.maxLoaded

    @Option(name: .customLong("adapter-memory-mb"), help: "Memory for loaded adapters.")
    var adapterMemoryMB = adapterLimits.memoryBytes >> 20

    @Flag(help: "Load every adapter at start-up instead of on first use.")
    var preload = defaults.preloadAdapters

    @Flag(name: .customLong("allow-adapter-paths-outside"),
          help: "Let /v1/load_lora_adapter read folders outside --adapters.")
    var allowAdapterPathsOutside = defaults.allowAdapterPathsOutside

    @Flag(name: .customLong("allow-unauthenticated-admin"), help: "Allow the adapter admin routes without --api-key.")
    var allowUnauthenticatedAdmin = defaults.allowUnauthenticatedAdmin

    @Option(name: .customLong("log-level"), help: "Least severe log level written.")
    var logLevel = Logger.Level.info

    @Option(name: .customLong("log-format"),
            help: "text (human-readable) or json (one object per line, for log shippers).")
    var logFormat = LogFormat.text

    func run() async throws {
        var configuration = ServerConfiguration(modelPath: model, adaptersDirectory: adapters, host: host, port: port)
        configuration.servedModelName = servedModelName
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["TANDEM_API_KEY"]
        configuration.apiKeysFile = apiKeysFile
        configuration.engine.maxSequenceLength = maxModelLength
        configuration.maxBodyBytes = maxBodyBytes
        configuration.defaultMaxTokens = defaultMaxTokens
        configuration.engine.limits = .init(maxRunning: maxRunning, maxPrefillTokensPerStep: maxPrefillTokensPerStep,
                                            prefillTokensWhileDecoding: prefillTokensWhileDecoding,
                                            prefillTimeShare: prefillTimeShare,
                                            idleFirstStepTokens: idleFirstStepTokens)
        configuration.engine.maxQueue = maxQueue
        configuration.engine.kvCacheMegabytes = kvCacheMB
        configuration.engine.kvCacheTokens = kvCacheTokens
        configuration.engine.kvCachePrecision = kvCacheType
        configuration.engine.prefixCaching = !noPrefixCache
        configuration.kernelPrecision = kernels.precision
        configuration.kernelPath = try kernels.chosenPath()
        configuration.maxChoices = maxN
        configuration.maxMessages = maxMessages
        configuration.maxStopStrings = maxStopStrings
        configuration.adapterLimits = .init(maxRank: maxLoRARank, maxLoaded: maxLoadedAdapters,
                                            memoryBytes: adapterMemoryMB << 20)
        configuration.preloadAdapters = preload
        configuration.allowAdapterPathsOutside = allowAdapterPathsOutside
        configuration.allowUnauthenticatedAdmin = allowUnauthenticatedAdmin
        configuration.chatTemplate = chatTemplate
        guard kvCacheMB > 0, kvCacheTokens.map({ $0 > 0 }) ?? true else {
            throw ValidationError("--kv-cache-mb and --kv-cache-tokens must be positive")
        }
        guard idleFirstStepTokens > 0 else {
            throw ValidationError("--idle-first-step-tokens must be positive, got \(idleFirstStepTokens)")
        }
        guard prefillTimeShare > 0, prefillTimeShare.isFinite else {
            throw ValidationError("--prefill-time-share must be a positive number, got \(prefillTimeShare)")
        }
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("model file not found: \(model) (run `make setup` to fetch the default model)")
        }
        if logFormat == .json { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
        var logger = Logger(label: "tandem")
        logger.logLevel = logLevel
        let app = try buildApplication(configuration: configuration, logger: logger)
        try await app.runService()
    }
}

/// How `tandem serve` writes its log lines.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension ChatTemplate: ExpressibleByArgument {}

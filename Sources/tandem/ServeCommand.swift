import ArgumentParser
import Foundation
import Logging
import Server
import Tokenizer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over the OpenAI HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics)."
    )

    @Option(help: "Path of the GGUF model.")
    var model = ModelPaths.defaultModel

    @Option(help: "Folder of LoRA adapters and roles.")
    var adapters = "adapters"

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8000

    @Option(name: .customLong("served-model-name"), help: "Model id clients use (default: from the GGUF, e.g. gemma-3-270m).")
    var servedModelName: String?

    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1/* (default: $TANDEM_API_KEY).")
    var apiKey: String?

    @Option(name: .customLong("max-model-len"), help: "Prompt + completion tokens per sequence (default: min(model context, 8192)).")
    var maxModelLength: Int?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted.")
    var maxBodyBytes = 4 << 20

    @Option(name: .customLong("default-max-tokens"), help: "max_tokens when a request gives none.")
    var defaultMaxTokens = 1024

    @Option(name: .customLong("max-n"), help: "Largest n (choices per request).")
    var maxN = 8

    @Option(name: .customLong("max-messages"), help: "Most messages in one chat request.")
    var maxMessages = 1024

    @Option(name: .customLong("max-stop-strings"), help: "Most stop strings in one request.")
    var maxStopStrings = 8

    @Option(name: .customLong("chat-template"), help: "Chat format: gemma, llama2 or chatml (default: detected from the GGUF).")
    var chatTemplate: String?

    @Option(name: .customLong("max-running"), help: "Sequences decoded together in one batch.")
    var maxRunning = 64

    @Option(name: .customLong("max-queue"), help: "Requests that may wait for a slot; more get 429.")
    var maxQueue = 256

    @Option(name: .customLong("max-prefill-tokens-per-step"), help: "Prompt tokens processed per engine step.")
    var maxPrefillTokensPerStep = 512

    @Option(name: .customLong("prefill-tokens-while-decoding"), help: "Prompt tokens per step while other sequences decode: at least this many, else as many as there are decoding sequences (bounds their inter-token time).")
    var prefillTokensWhileDecoding = 16

    @OptionGroup var kernels: KernelOptions

    @Option(name: .customLong("kv-cache-mb"), help: "Memory for KV cache pages of running sequences and the prefix cache; requests wait while it is committed.")
    var kvCacheMB = 2048

    @Flag(name: .customLong("no-prefix-cache"), help: "Do not reuse KV pages of earlier prompts with the same tokens and adapter.")
    var noPrefixCache = false

    @Option(name: .customLong("max-lora-rank"), help: "Largest LoRA rank accepted.")
    var maxLoRARank = 64

    @Option(name: .customLong("max-loaded-adapters"), help: "Adapters kept in memory at once (least recently used dropped first).")
    var maxLoadedAdapters = 16

    @Option(name: .customLong("adapter-memory-mb"), help: "Memory for loaded adapters.")
    var adapterMemoryMB = 512

    @Flag(help: "Load every adapter at start-up instead of on first use.")
    var preload = false

    @Flag(name: .customLong("allow-adapter-paths-outside"), help: "Let /v1/load_lora_adapter read folders outside --adapters.")
    var allowAdapterPathsOutside = false

    @Flag(name: .customLong("allow-unauthenticated-admin"), help: "Allow the adapter admin routes without --api-key.")
    var allowUnauthenticatedAdmin = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(name: .customLong("log-format"), help: "text (human-readable) or json (one object per line, for log shippers).")
    var logFormat = "text"

    func run() async throws {
        var configuration = ServerConfiguration(modelPath: model, adaptersDirectory: adapters, host: host, port: port)
        configuration.servedModelName = servedModelName
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["TANDEM_API_KEY"]
        configuration.maxModelLength = maxModelLength
        configuration.maxBodyBytes = maxBodyBytes
        configuration.defaultMaxTokens = defaultMaxTokens
        configuration.maxRunning = maxRunning
        configuration.maxQueue = maxQueue
        configuration.maxPrefillTokensPerStep = maxPrefillTokensPerStep
        configuration.prefillTokensWhileDecoding = prefillTokensWhileDecoding
        configuration.kvCacheMB = kvCacheMB
        configuration.kernelPrecision = kernels.precision
        configuration.maxChoices = maxN
        configuration.maxMessages = maxMessages
        configuration.maxStopStrings = maxStopStrings
        configuration.prefixCaching = !noPrefixCache
        configuration.maxLoRARank = maxLoRARank
        configuration.maxLoadedAdapters = maxLoadedAdapters
        configuration.adapterMemoryMB = adapterMemoryMB
        configuration.preloadAdapters = preload
        configuration.allowAdapterPathsOutside = allowAdapterPathsOutside
        configuration.allowUnauthenticatedAdmin = allowUnauthenticatedAdmin
        if let name = chatTemplate {
            guard let template = ChatTemplate(rawValue: name) else {
                throw ValidationError("unknown chat template '\(name)' (gemma, llama2, chatml)")
            }
            configuration.chatTemplate = template
        }
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("model file not found: \(model) (run `make setup` to fetch the default model)")
        }
        switch logFormat {
        case "json": LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        case "text": break
        default: throw ValidationError("unknown --log-format '\(logFormat)' (json or text)")
        }
        var logger = Logger(label: "tandem")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let app = buildApplication(configuration: configuration, logger: logger)
        try await app.runService()
    }
}

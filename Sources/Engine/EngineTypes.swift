import Adapters
import Model
import Sampling

/// Why a generation ended, in OpenAI's words.
public enum FinishReason: String, Sendable {
    case stop, length
}

/// One sequence the engine should generate: a prompt already tokenized and templated.
public struct EngineRequest: Sendable {
    public var promptIDs: [Int32]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Ids that end the sequence (EOS, end of turn); never sampled when `ignoreEOS`, so the sequence
    /// runs to `maxTokens`.
    public var stopTokenIDs: Set<Int32>
    public var stopStrings: [String]
    /// Number of alternatives per token to report with log-probabilities; nil: no log-probabilities.
    public var topLogprobs: Int?
    public var ignoreEOS: Bool
    /// The LoRA adapter this sequence runs with (nil: the base model), and its `lora_scale`.
    /// Holding the object keeps this version alive even if the adapter is reloaded or evicted.
    public var adapter: LoRAAdapter?
    public var loraScale: Float
    /// Rules this sequence's logits follow after the sampling parameters' own (bias, penalties,
    /// the ignore_eos ban), e.g. a grammar. Each submitted copy starts from these values.
    public var processors: [any LogitsProcessor]

    /// What the prefix cache keys this sequence's KV by: KV computed under one adapter version and
    /// scale is never reused under another.
    var cacheKey: String { adapter.map { "\($0.name)#\($0.version)@\(loraScale)" } ?? "base" }

    public init(promptIDs: [Int32], maxTokens: Int, sampling: SamplingParameters = .init(),
                stopTokenIDs: Set<Int32> = [], stopStrings: [String] = [], topLogprobs: Int? = nil,
                ignoreEOS: Bool = false, adapter: LoRAAdapter? = nil, loraScale: Float = 1,
                processors: [any LogitsProcessor] = []) {
        self.processors = processors
        self.adapter = adapter
        self.loraScale = loraScale
        self.promptIDs = promptIDs
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokenIDs = stopTokenIDs
        self.stopStrings = stopStrings
        self.topLogprobs = topLogprobs
        self.ignoreEOS = ignoreEOS
    }
}

/// The log-probability of one generated token and of its best alternatives.
public struct TokenLogprob: Sendable, Equatable {
    public var id: Int32
    public var logprob: Float
    public var bytes: [UInt8]
    /// Best alternatives, most likely first.
    public var top: [(id: Int32, logprob: Float, bytes: [UInt8])]

    public static func == (a: TokenLogprob, b: TokenLogprob) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.bytes == b.bytes && a.top.map(\.id) == b.top.map(\.id)
    }
}

/// What a generation reports, in order: tokens as they are sampled, then exactly one `finished`.
public enum GenerationEvent: Sendable {
    /// A sampled token and the text it completed (possibly empty: half a character, or held back
    /// because it may start a stop string).
    case token(id: Int32, text: String, logprob: TokenLogprob?)
    /// `cachedTokens` of the prompt were served from the prefix cache.
    case finished(FinishReason, promptTokens: Int, completionTokens: Int, cachedTokens: Int)
    /// The engine could not run the sequence (the batch failed); nothing more follows.
    case failed(String)
}

/// Why the engine refused a request before running it.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case queueFull(waiting: Int)
    case shuttingDown
    case emptyPrompt
    case contextLengthExceeded(promptTokens: Int, maxTokens: Int, limit: Int)
    case kvCacheTooSmall(pagesNeeded: Int, pagesTotal: Int)

    public var description: String {
        switch self {
        case let .queueFull(waiting): return "the server is at capacity (\(waiting) requests waiting); retry shortly"
        case .shuttingDown: return "the server is shutting down"
        case .emptyPrompt: return "the prompt is empty"
        case let .contextLengthExceeded(prompt, maxTokens, limit):
            return "this model's maximum context length is \(limit) tokens, but "
                + "\(prompt.addingReportingOverflow(maxTokens).overflow ? Int.max : prompt + maxTokens) were requested "
                + "(\(prompt) in the prompt, \(maxTokens) for the completion)"
        case let .kvCacheTooSmall(needed, total):
            return "this request needs \(needed) KV cache pages but the whole cache has \(total); "
                + "lower max_tokens or shorten the prompt"
        }
    }
}

/// How the next token is chosen, as a request states it. Defaults reproduce plain greedy decoding.
///
/// The sampler reads temperature, top-k, top-p, min-p and the seed; the penalties and the bias
/// become logits processors (`standardProcessors`), which run before it.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax).
    public var temperature: Float = 0
    /// Keep only the `topK` most likely tokens; 0 disables.
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches `topP`; 1 disables.
    public var topP: Float = 1
    /// Drop tokens less likely than `minP` × the most likely one; 0 disables.
    public var minP: Float = 0
    /// Same seed, same tokens. Nil draws a seed from the system generator.
    public var seed: UInt64?
    /// Divides positive / multiplies negative logits of tokens already seen (1 disables; llama.cpp semantics).
    public var repetitionPenalty: Float = 1
    /// Subtracted once from the logits of every token already generated (OpenAI semantics).
    public var presencePenalty: Float = 0
    /// Subtracted per occurrence from the logits of tokens already generated (OpenAI semantics).
    public var frequencyPenalty: Float = 0
    /// Added to the logits of the given ids before anything else (OpenAI `logit_bias`).
    public var logitBias: [Int32: Float] = [:]

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0, seed: UInt64? = nil,
                repetitionPenalty: Float = 1, presencePenalty: Float = 0, frequencyPenalty: Float = 0,
                logitBias: [Int32: Float] = [:]) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.seed = seed
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.logitBias = logitBias
    }

    /// Temperatures under 1e-5 are greedy: dividing logits by anything smaller overflows Float,
    /// and the distribution is a spike on the best token long before that.
    public var isGreedy: Bool { temperature < 1e-5 }

    /// Whether any of top-k, top-p or min-p cuts the distribution (else temperature alone shapes it).
    public var truncates: Bool { topK > 0 || topP < 1 || minP > 0 }

    /// The processors these parameters ask for, in the order they apply: the bias first, then the
    /// penalties, then `banned` (tokens that must never be sampled, e.g. end tokens under ignore_eos).
    public func standardProcessors(banning banned: Set<Int32> = []) -> [any LogitsProcessor] {
        var chain: [any LogitsProcessor] = []
        if !logitBias.isEmpty { chain.append(LogitBias(logitBias)) }
        if repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0 {
            chain.append(RepetitionPenalties(repetition: repetitionPenalty, presence: presencePenalty,
                                             frequency: frequencyPenalty))
        }
        if !banned.isEmpty { chain.append(BannedTokens(banned)) }
        return chain
    }
}

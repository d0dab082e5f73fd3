#if TANDEM_VNNI
import _Builtin_intrinsics.intel
#endif
import Foundation

/// How the next token is chosen. Defaults reproduce plain greedy decoding.
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
                repetitionPenalty: Float = 1, presencePenalty: Float = 0, frequencyPenalty: Float = 0, logitBias: [Int32: Float] = [:]) {
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
}

/// Chooses tokens from logits for one sequence; keeps the counts that penalties need and its own RNG.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SplitMix64
    /// Occurrences of each generated token (penalties apply to generated tokens, as OpenAI's do).
    private var counts: [Int32: Int] = [:]

    public init(parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// Records a generated token for the penalties.
    public mutating func observe(_ token: Int32) { counts[token, default: 0] += 1 }

    /// Picks the next token. `logits` is modified in place (bias and penalties applied).
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        let p = parameters
        for (id, bias) in p.logitBias where id >= 0 && Int(id) < logits.count { logits[Int(id)] += bias }
        for (id, n) in counts where Int(id) < logits.count {
            var l = logits[Int(id)]
            if p.repetitionPenalty != 1 { l = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty }
            l -= p.presencePenalty + p.frequencyPenalty * Float(n)
            logits[Int(id)] = l
        }
        if p.isGreedy { return Self.argmax(logits) }
        let candidates = Self.candidates(logits, parameters: p)
        var r = Float(Double(rng.next() >> 11) / Double(1 << 53)) * candidates.total
        for (id, weight) in candidates.list {
            r -= weight
            if r <= 0 { return id }
        }
        return candidates.list.last!.id
    }

    /// Index of the largest value (the first one on ties, like torch.argmax). The maximum is found
    /// 16 lanes at a time (a 262 144-logit row per token), then its first index.
    public static func argmax(_ x: UnsafeMutableBufferPointer<Float>) -> Int32 {
        guard let base = x.baseAddress, x.count > 0 else { return 0 }
        var lanes = SIMD16<Float>(repeating: -.infinity)
        let raw = UnsafeRawPointer(base), whole = x.count / 16 * 16
        for i in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            #if TANDEM_VNNI
            lanes = _mm512_max_ps(lanes, v) // a lane loop compiles to 16 masked blends
            #else
            for k in 0..<16 where v[k] > lanes[k] { lanes[k] = v[k] }
            #endif
        }
        var value = -Float.infinity
        for k in 0..<16 where lanes[k] > value { value = lanes[k] }
        for i in whole..<x.count where x[i] > value { value = x[i] }
        for i in 0..<x.count where x[i] == value { return Int32(i) }
        return 0
    }

    /// The tokens that survive temperature, top-k, top-p and min-p, with unnormalised weights.
    ///
    /// Sorting 262 144 logits per token would cost more than the forward pass, so only tokens within
    /// a probability ratio of the best are sorted; that set is widened until it holds the whole top-p
    /// mass (exact, because every excluded token is less likely than every included one).
    static func candidates(_ logits: UnsafeMutableBufferPointer<Float>, parameters p: SamplingParameters) -> (list: [(id: Int32, weight: Float)], total: Float) {
        let inverseT = 1 / p.temperature
        var maximum = -Float.infinity
        for l in logits { maximum = max(maximum, l) }
        var sum: Double = 0
        for l in logits { sum += Double(expf((l - maximum) * inverseT)) }
        var ratio: Float = 1e-4
        while true {
            // weight = exp((l - max)/T) ≥ ratio  ⇔  l ≥ max + T·ln(ratio)
            let threshold = ratio > 0 ? maximum + p.temperature * logf(ratio) : -Float.infinity
            var list: [(id: Int32, weight: Float)] = []
            for i in 0..<logits.count where logits[i] >= threshold && logits[i] > -Float.infinity {
                list.append((Int32(i), expf((logits[i] - maximum) * inverseT)))
            }
            list.sort { $0.weight > $1.weight || ($0.weight == $1.weight && $0.id < $1.id) }
            // The tokens left out are all lighter than `ratio`; the set is final when none of them could survive.
            var complete = ratio == 0 || (p.minP > 0 && ratio <= p.minP)
            var total = sum
            if p.topK > 0 && list.count >= p.topK {
                list.removeLast(list.count - p.topK)
                total = list.reduce(0) { $0 + Double($1.weight) } // top-p then renormalises over the top k
                complete = true
            }
            if p.topP < 1 {
                var mass: Double = 0
                if let j = list.firstIndex(where: { mass += Double($0.weight) / total; return mass >= Double(p.topP) }) {
                    list.removeLast(list.count - j - 1)
                    complete = true
                }
            }
            if complete {
                if p.minP > 0, let best = list.first?.weight { list.removeAll { $0.weight < p.minP * best } }
                return (list, list.reduce(0) { $0 + $1.weight })
            }
            ratio = ratio > 1e-12 ? ratio * 1e-4 : 0
        }
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64): same seed, same stream on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

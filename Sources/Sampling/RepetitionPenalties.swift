/// Penalties on tokens already generated: llama.cpp's repetition penalty (divides a positive logit,
/// multiplies a negative one) and OpenAI's presence (once) and frequency (per occurrence) penalties.
/// Only the ids seen so far are touched, never the whole row.
public struct RepetitionPenalties: LogitsProcessor {
    public let repetition: Float
    public let presence: Float
    public let frequency: Float
    /// Occurrences of each generated token.
    private var counts: [Int32: Int] = [:]

    public init(repetition: Float = 1, presence: Float = 0, frequency: Float = 0) {
        self.repetition = repetition
        self.presence = presence
        self.frequency = frequency
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) {
        for (id, n) in counts where id >= 0 && Int(id) < logits.count {
            var l = logits[Int(id)]
            if repetition != 1 { l = l > 0 ? l / repetition : l * repetition }
            logits[Int(id)] = l - (presence + frequency * Float(n))
        }
    }

    public mutating func didSample(_ token: Int32) { counts[token, default: 0] += 1 }
}

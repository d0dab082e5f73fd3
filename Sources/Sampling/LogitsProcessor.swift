/// One rule that shapes a sequence's next-token distribution before the sampler draws from it:
/// a bias, a penalty, a ban, a grammar. Each sequence owns its chain of processors, so rows of one
/// batch (on any adapters) each get their own rules, and chains of different rows may run in
/// parallel.
///
/// The decoder calls, per generated token: `process` on the row of logits (in chain order), then
/// the sampler draws, then `didSample` with the token drawn (or forced). `isFinished` says the
/// processor accepts nothing more (a complete document); `forcedTokens` are tokens the processor
/// already knows must come next, which a decoder may feed without sampling.
public protocol LogitsProcessor: Sendable {
    /// Changes `logits` (one row, the whole vocabulary) in place: adds to values, or sets a value to
    /// `-Float.infinity` so that token cannot be drawn.
    mutating func process(_ logits: UnsafeMutableBufferPointer<Float>)
    /// Learns the token that was appended to the sequence.
    mutating func didSample(_ token: Int32)
    /// True when no further token is acceptable to this processor.
    var isFinished: Bool { get }
    /// Tokens that must follow whatever the logits say; empty when the choice is open.
    var forcedTokens: [Int32] { get }
    /// True for a rule of the answer's format (a grammar): reported log-probabilities describe the
    /// distribution after it, while biases and penalties stay out of them.
    var isConstraint: Bool { get }
}

extension LogitsProcessor {
    public mutating func didSample(_ token: Int32) {}
    public var isFinished: Bool { false }
    public var forcedTokens: [Int32] { [] }
    public var isConstraint: Bool { false }
}

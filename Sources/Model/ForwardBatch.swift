/// One forward step over token rows from several sequences.
///
/// Rows of one sequence are consecutive positions starting at that sequence's `KVCache.count`
/// (a prefill chunk, or a single decode token). Logits are computed only for `logitRows`.
public struct ForwardBatch {
    public var tokens: [Int32]
    public var positions: [Int]
    /// The cache of each row's sequence (rows of one sequence share the same object).
    public var caches: [KVCache]
    /// Indices of rows whose logits are returned, in the order returned.
    public var logitRows: [Int]
    /// Low-rank deltas for rows that carry an adapter; nil for a base-only batch.
    public var delta: (any ProjectionDelta)?

    public init(tokens: [Int32], positions: [Int], caches: [KVCache], logitRows: [Int],
                delta: (any ProjectionDelta)? = nil) {
        self.tokens = tokens
        self.positions = positions
        self.caches = caches
        self.logitRows = logitRows
        self.delta = delta
    }

    public var rowCount: Int { tokens.count }

    /// Checks shapes, ids and that every sequence's rows continue its cache contiguously,
    /// then reserves cache room. Returns, per row, the number of positions its sequence will hold.
    func validate(vocabularySize: Int) throws {
        guard positions.count == tokens.count, caches.count == tokens.count else {
            throw ModelError.invalidBatch("tokens, positions and caches differ in length")
        }
        guard logitRows.allSatisfy({ (0..<tokens.count).contains($0) }) else {
            throw ModelError.invalidBatch("a logit row is outside the batch")
        }
        var next: [ObjectIdentifier: Int] = [:]
        for r in 0..<tokens.count {
            guard tokens[r] >= 0, Int(tokens[r]) < vocabularySize else {
                throw ModelError.invalidBatch("token \(tokens[r]) is outside the vocabulary of \(vocabularySize)")
            }
            let id = ObjectIdentifier(caches[r])
            let expected = next[id] ?? caches[r].count
            guard positions[r] == expected else {
                throw ModelError.invalidBatch("row \(r) is at position \(positions[r]) "
                                                  + "but its sequence continues at \(expected)")
            }
            next[id] = expected + 1
        }
        for r in 0..<tokens.count { try caches[r].reserve(next[ObjectIdentifier(caches[r])]!) }
    }

    /// Records the new lengths once the forward pass wrote every row's keys and values.
    func commit() {
        for r in 0..<tokens.count { caches[r].advance(to: positions[r] + 1) }
    }
}

/// Logits of the requested rows, `[rows × vocabularySize]`.
public struct Logits: @unchecked Sendable {
    public let rows: Int
    public let vocabularySize: Int
    public let values: FloatBuffer

    public func row(_ i: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: values.pointer + i * vocabularySize, count: vocabularySize)
    }
}

/// Keys and values of one sequence for every layer, `[positions × kvDim]` per layer, append-only.
///
/// Capacity grows by doubling up to `maxPositions`, so a short chat does not reserve a full context.
public final class KVCache: @unchecked Sendable {
    public let layerCount: Int
    public let kvDim: Int
    public let maxPositions: Int
    /// Number of positions written (the next row must be at this position).
    public private(set) var count = 0
    private(set) var capacity = 0
    private var keys: [FloatBuffer] = []
    private var values: [FloatBuffer] = []

    public init(layerCount: Int, kvDim: Int, maxPositions: Int, initialCapacity: Int = 256) {
        self.layerCount = layerCount
        self.kvDim = kvDim
        self.maxPositions = maxPositions
        grow(to: min(initialCapacity, maxPositions))
    }

    /// Bytes held by this cache.
    public var byteCount: Int { 2 * layerCount * capacity * kvDim * 4 }

    /// Makes room for positions `0..<n`; throws when `n` exceeds `maxPositions`.
    func reserve(_ n: Int) throws {
        guard n <= maxPositions else { throw ModelError.contextFull(position: n - 1, capacity: maxPositions) }
        if n > capacity { grow(to: min(max(n, capacity * 2), maxPositions)) }
    }

    /// Marks positions `0..<n` as written (after a forward pass stored them).
    func advance(to n: Int) { count = max(count, n) }

    /// Forgets positions from `n` on (e.g. to re-run a prompt tail).
    public func truncate(to n: Int) { count = min(count, max(n, 0)) }

    @inline(__always) func keys(layer: Int) -> UnsafeMutablePointer<Float> { keys[layer].pointer }
    @inline(__always) func values(layer: Int) -> UnsafeMutablePointer<Float> { values[layer].pointer }

    private func grow(to newCapacity: Int) {
        let old = capacity
        var newKeys: [FloatBuffer] = [], newValues: [FloatBuffer] = []
        for layer in 0..<layerCount {
            let k = FloatBuffer(count: newCapacity * kvDim), v = FloatBuffer(count: newCapacity * kvDim)
            if old > 0 {
                k.pointer.update(from: keys[layer].pointer, count: old * kvDim)
                v.pointer.update(from: values[layer].pointer, count: old * kvDim)
            }
            newKeys.append(k)
            newValues.append(v)
        }
        keys = newKeys
        values = newValues
        capacity = newCapacity
    }
}

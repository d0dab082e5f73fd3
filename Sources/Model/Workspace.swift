/// Scratch buffers reused across forward steps, grown on demand. A model owns one, which is why a
/// model runs one forward pass at a time (its single owner, the engine, guarantees that).
final class Workspace: @unchecked Sendable {
    /// The scratch buffers of one forward step, one per role; two roles never share a buffer.
    enum Scratch: Int, CaseIterable {
        case residual, normed, queries, keys, values, attended, gate, up, selectedRows
    }

    private var buffers = Scratch.allCases.map { _ in FloatBuffer(count: 0) }

    /// Returns the buffer for `role` with room for at least `count` floats (contents undefined).
    func buffer(_ role: Scratch, count: Int) -> UnsafeMutablePointer<Float> {
        let slot = role.rawValue
        if buffers[slot].count < count { buffers[slot] = FloatBuffer(count: count + count / 4) }
        return buffers[slot].pointer
    }

    /// The last logits buffer handed out, taken back when its holder has let go of it.
    private var spareLogits: FloatBuffer?

    /// A buffer of at least `count` floats for a step's logits ([rows × vocabulary], large for a big
    /// vocabulary). A fresh buffer per step faulted in every one of its pages every step, so the
    /// previous step's buffer is reused once nobody else holds it.
    func logitsBuffer(count: Int) -> FloatBuffer {
        if isKnownUniquelyReferenced(&spareLogits), let spare = spareLogits, spare.count >= count { return spare }
        let fresh = FloatBuffer(count: max(count, spareLogits?.count ?? 0))
        spareLogits = fresh
        return fresh
    }
}

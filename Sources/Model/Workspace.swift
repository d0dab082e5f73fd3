/// Scratch buffers reused across forward steps, grown on demand. A model owns one, which is why a
/// model runs one forward pass at a time (its single owner, the engine, guarantees that).
final class Workspace: @unchecked Sendable {
    private var buffers: [FloatBuffer] = []

    /// Returns slot `slot` with room for at least `count` floats (contents undefined).
    func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while buffers.count <= slot { buffers.append(FloatBuffer(count: 0)) }
        if buffers[slot].count < count { buffers[slot] = FloatBuffer(count: count + count / 4) }
        return buffers[slot].pointer
    }

    /// The last logits buffer handed out, taken back when its holder has let go of it.
    private var spareLogits: FloatBuffer?

    /// A buffer of at least `count` floats for a step's logits. A fresh 16 MB buffer per step (16
    /// rows × 262 144) cost the kernel a page fault per 4 KB every step, about a tenth of the
    /// server's CPU, so the previous step's buffer is reused once nobody else holds it.
    func logitsBuffer(count: Int) -> FloatBuffer {
        if isKnownUniquelyReferenced(&spareLogits), let spare = spareLogits, spare.count >= count { return spare }
        let fresh = FloatBuffer(count: max(count, spareLogits?.count ?? 0))
        spareLogits = fresh
        return fresh
    }
}

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
}

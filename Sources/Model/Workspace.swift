/// Scratch buffers reused across forward steps, grown on demand. A model owns one, which is why a
/// model runs one forward pass at a time (its single owner, the engine, guarantees that).
final class Workspace: @unchecked Sendable {
    /// The scratch buffers of one forward step, one per role; two roles never share a buffer.
    enum Scratch: Int, CaseIterable {
        case residual, normed, queries, keys, values, attended, gate, up, selectedRows
    }

    private var buffers = Scratch.allCases.map { _ in FloatBuffer(count: 0) }
    /// Per slot: the most floats asked for since the last trim, and the requests since then.
    private var recentPeak = [Int](repeating: 0, count: Scratch.allCases.count)
    private var requests = [Int](repeating: 0, count: Scratch.allCases.count)
    /// Floats past the recent peak worth giving back (1 MB), and requests between trims (a few
    /// dozen steps: every layer asks once or more per step).
    static let trimFloats = 1 << 18, trimInterval = 1024

    /// Returns the buffer for `role` with room for at least `count` floats (contents undefined).
    ///
    /// A burst of prompts sizes the buffers for hundreds of rows; the decode steps that follow need
    /// a few. Every `trimInterval` requests the pages past the recent peak go back to the kernel, so
    /// a burst's scratch is not still resident when the KV cache of the sequences it started has
    /// grown (the buffers keep their size; pages come back zeroed if a later burst needs them).
    func buffer(_ role: Scratch, count: Int) -> UnsafeMutablePointer<Float> {
        let slot = role.rawValue
        if buffers[slot].count < count { buffers[slot] = FloatBuffer(count: count + count / 4) }
        recentPeak[slot] = max(recentPeak[slot], count)
        requests[slot] += 1
        if requests[slot] >= Self.trimInterval {
            if buffers[slot].count - recentPeak[slot] >= Self.trimFloats {
                buffers[slot].dropResidentPages(from: recentPeak[slot])
            }
            (recentPeak[slot], requests[slot]) = (0, 0)
        }
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

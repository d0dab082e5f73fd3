import Foundation
import _Builtin_intrinsics.intel

/// A batch of activation rows rounded to 16-bit integers for integer dot products.
///
/// Per row and 32-input block: `dx = max|x| / 32767`, `q = round(x / dx)`: each value within
/// 1/65534 of its block's largest, so products stay close to the Float32 path's (llama.cpp rounds
/// to 8 bits, 256× coarser, which moves Gemma's logits enough to flip near-tie greedy tokens).
/// Values keep their order, so inputs 2k and 2k+1 are one 32-bit word: the pair `IntegerDotKernel`
/// broadcasts against a tile's weights.
struct Int16Activations {
    let rows: Int
    let inputs: Int
    /// `[rows × inputs]`.
    let values: UnsafeMutablePointer<Int16>
    /// `[rows × inputs/32]`: dx.
    let scales: UnsafeMutablePointer<Float>
    /// `[rows × inputs/32]`: `dx·Σq`, for weights with a minimum (Q4_K); nil when not needed.
    let sums: UnsafeMutablePointer<Float>?

    /// True when the memory is the shared `ActivationBuffers`, handed back by `deallocate()`.
    private let pooled: Bool

    var blocks: Int { inputs / 32 }

    /// Rounds `x[rows × inputs]` (`inputs` a multiple of 32); free with `deallocate()`.
    init(_ x: UnsafePointer<Float>, rows: Int, inputs: Int, withSums: Bool) {
        precondition(inputs % 32 == 0)
        self.rows = rows
        self.inputs = inputs
        if let buffers = ActivationBuffers.shared.take(values: rows * inputs) {
            (values, scales, sums, pooled) = (buffers.values, buffers.scales, withSums ? buffers.sums : nil, true)
        } else {
            values = .allocate(capacity: rows * inputs)
            scales = .allocate(capacity: rows * inputs / 32)
            sums = withSums ? .allocate(capacity: rows * inputs / 32) : nil
            pooled = false
        }
        for block in 0..<rows * inputs / 32 {
            let raw = UnsafeRawPointer(x + block * 32)
            let a = raw.loadUnaligned(as: SIMD16<Float>.self),
                b = raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)))
            let inverse: Float = amax > 0 ? 32767 / amax : 0
            // vcvtps2dq rounds to nearest, ties to even.
            let qa = _mm512_cvtps_epi32(a * inverse), qb = _mm512_cvtps_epi32(b * inverse)
            let out = UnsafeMutableRawPointer(values + block * 32)
            out.storeBytes(of: _mm512_cvtepi32_epi16(qa), as: SIMD4<Int64>.self)
            out.storeBytes(of: _mm512_cvtepi32_epi16(qb), toByteOffset: 32, as: SIMD4<Int64>.self)
            scales[block] = amax / 32767
            sums?[block] = amax / 32767 * Float(_mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb)))
        }
    }

    func deallocate() {
        guard !pooled else { return ActivationBuffers.shared.giveBack() }
        values.deallocate()
        scales.deallocate()
        sums?.deallocate()
    }
}

/// The memory of the last rounded activations, taken again by the next product instead of being
/// allocated for each (about 90 products a step; large buffers come from mmap, so each allocation
/// also cost page faults). Products of one model run one at a time; a product that finds the
/// buffers in use (a second model in the same process) allocates its own.
final class ActivationBuffers: @unchecked Sendable {
    static let shared = ActivationBuffers()

    private let lock = NSLock()
    private var inUse = false
    private var capacity = 0
    private var values = UnsafeMutablePointer<Int16>.allocate(capacity: 1)
    private var scales = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var sums = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    /// Buffers for `values` Int16 values and `values / 32` scales and sums, or nil when in use.
    func take(values count: Int) -> (values: UnsafeMutablePointer<Int16>, scales: UnsafeMutablePointer<Float>,
                                     sums: UnsafeMutablePointer<Float>)? {
        lock.lock()
        defer { lock.unlock() }
        guard !inUse else { return nil }
        inUse = true
        if count > capacity {
            values.deallocate()
            scales.deallocate()
            sums.deallocate()
            capacity = count
            values = .allocate(capacity: count)
            scales = .allocate(capacity: count / 32 + 1)
            sums = .allocate(capacity: count / 32 + 1)
        }
        return (values, scales, sums)
    }

    func giveBack() {
        lock.lock()
        inUse = false
        lock.unlock()
    }
}

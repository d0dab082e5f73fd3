import Foundation
import _Builtin_intrinsics.intel

/// A batch of activation rows rounded to 16-bit integers for integer dot products.
///
/// Per row and 32-input block: `dx = max|x| / 32767`, `q = round(x / dx)`: each value within
/// 1/65534 of its block's largest, so products stay close to the Float32 path's (llama.cpp rounds
/// to 8 bits, 256× coarser, which moves Gemma's logits enough to flip near-tie greedy tokens).
/// Values keep their order, so inputs 2k and 2k+1 are one 32-bit word: the pair the integer kernels
/// broadcasts against a tile's weights.
///
/// Built for the AVX2 class, so every kernel path rounds the same way.
public struct Int16Activations {
    public let rows: Int
    public let inputs: Int
    /// `[rows × inputs]`.
    public let values: UnsafeMutablePointer<Int16>
    /// `[rows × inputs/32]`: dx.
    public let scales: UnsafeMutablePointer<Float>
    /// `[rows × inputs/32]`: `dx·Σq`, for weights with a minimum (Q4_K); nil when not needed.
    public let sums: UnsafeMutablePointer<Float>?

    /// True when the memory is the shared `ActivationBuffers`, handed back by `deallocate()`.
    private let pooled: Bool

    @inlinable public var blocks: Int { inputs / 32 }

    /// Rounds `x[rows × inputs]` (`inputs` a multiple of 32); free with `deallocate()`.
    public init(_ x: UnsafePointer<Float>, rows: Int, inputs: Int, withSums: Bool) {
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
        let signBit = _mm256_set1_ps(-0.0), order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7)
        for block in 0..<rows * inputs / 32 {
            let raw = UnsafeRawPointer(x + block * 32)
            let p0 = raw.loadUnaligned(as: SIMD8<Float>.self),
                p1 = raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let p2 = raw.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self),
                p3 = raw.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
            let largest = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signBit, p0), _mm256_andnot_ps(signBit, p1)),
                                        _mm256_max_ps(_mm256_andnot_ps(signBit, p2), _mm256_andnot_ps(signBit, p3)))
            // Across lanes by shuffles: SIMD8's generic max() was a call per block.
            let half = _mm_max_ps(largest.lowHalf, largest.highHalf)
            let quarter = _mm_max_ps(half, _mm_movehl_ps(half, half))
            let amax = _mm_max_ss(quarter, _mm_movehdup_ps(quarter))[0]
            let inverse = _mm256_set1_ps(amax > 0 ? 32767 / amax : 0)
            // vcvtps2dq rounds to nearest, ties to even.
            let q0 = _mm256_cvtps_epi32(_mm256_mul_ps(p0, inverse)), q1 = _mm256_cvtps_epi32(_mm256_mul_ps(p1, inverse))
            let q2 = _mm256_cvtps_epi32(_mm256_mul_ps(p2, inverse)), q3 = _mm256_cvtps_epi32(_mm256_mul_ps(p3, inverse))
            let out = UnsafeMutableRawPointer(values + block * 32)
            // packs interleaves 128-bit halves (q0 low, q1 low, q0 high, q1 high); the permute puts
            // them back in order.
            out.storeBytes(of: _mm256_permutevar8x32_epi32(_mm256_packs_epi32(q0, q1), order), as: SIMD4<Int64>.self)
            out.storeBytes(of: _mm256_permutevar8x32_epi32(_mm256_packs_epi32(q2, q3), order), toByteOffset: 32,
                           as: SIMD4<Int64>.self)
            scales[block] = amax / 32767
            if let sums {
                let total = unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3)),
                                          to: SIMD8<Int32>.self)
                sums[block] = amax / 32767 * Float(total.wrappedSum())
            }
        }
    }

    public func deallocate() {
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

#if TANDEM_VNNI
import _Builtin_intrinsics.intel

/// A batch of activation rows rounded to 16-bit integers for integer dot products.
///
/// Per row and 32-input block: `dx = max|x| / 32767`, `q = round(x / dx)`: each value within
/// 1/65534 of its block's largest, so products keep the Float32 path's accuracy to about 1e-5
/// (llama.cpp rounds to 8 bits, 256× coarser, which moves Gemma's logits by up to ~1 and flips
/// near-tie greedy tokens). `vpdpwssd` multiplies 32 pairs of int16 per instruction.
///
/// Layout per 64 inputs (blocks A = 2j and B = 2j+1), the order the weight decoders produce:
/// `A0–15 B0–15 | A16–31 B16–31`, so two `vpdpwssd` into one accumulator leave block A's sums in
/// lanes 0–7 and block B's in lanes 8–15.
struct Int16Activations {
    let rows: Int
    let inputs: Int
    /// `[rows × inputs]` in the order above.
    let values: UnsafeMutablePointer<Int16>
    /// `[rows × inputs/64]`: dx of block A in lanes 0–7, of block B in lanes 8–15.
    let scales: UnsafeMutablePointer<SIMD16<Float>>
    /// `[rows × inputs/64]`: `dx·Σq` of block A in lane 0, of block B in lane 8, zero elsewhere
    /// (so a per-block minimum term is one lane-wise multiply; see `Q4_KPairs`).
    let sums: UnsafeMutablePointer<SIMD16<Float>>

    var pairs: Int { inputs / 64 }

    /// Quantizes `x[rows × inputs]` (`inputs` a multiple of 64); free with `deallocate()`.
    init(_ x: UnsafePointer<Float>, rows: Int, inputs: Int) {
        precondition(inputs % 64 == 0)
        self.rows = rows
        self.inputs = inputs
        values = .allocate(capacity: rows * inputs)
        scales = .allocate(capacity: rows * inputs / 64)
        sums = .allocate(capacity: rows * inputs / 64)
        let pairs = inputs / 64
        for r in 0..<rows {
            for j in 0..<pairs {
                let source = x + r * inputs + j * 64, out = values + r * inputs + j * 64
                let (dxA, sumA) = quantizeBlock(source, into: out)
                let (dxB, sumB) = quantizeBlock(source + 32, into: out + 16)
                scales[r * pairs + j] = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(dxA), _mm512_set1_ps(dxB))
                var sum = SIMD16<Float>.zero
                sum[0] = dxA * sumA
                sum[8] = dxB * sumB
                sums[r * pairs + j] = sum
            }
        }
    }

    /// One block of 32: writes values 0–15 at `out`, 16–31 at `out + 32`; returns (dx, Σq).
    @inline(__always)
    private func quantizeBlock(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int16>) -> (Float, Float) {
        let raw = UnsafeRawPointer(x)
        let a = raw.loadUnaligned(as: SIMD16<Float>.self), b = raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)))
        let inverse: Float = amax > 0 ? 32767 / amax : 0
        // vcvtps2dq rounds to nearest, ties to even.
        let qa = _mm512_cvtps_epi32(a * inverse), qb = _mm512_cvtps_epi32(b * inverse)
        UnsafeMutableRawPointer(out).storeBytes(of: _mm512_cvtepi32_epi16(qa), as: SIMD4<Int64>.self)
        UnsafeMutableRawPointer(out + 32).storeBytes(of: _mm512_cvtepi32_epi16(qb), as: SIMD4<Int64>.self)
        return (amax / 32767, Float(_mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb))))
    }

    func deallocate() {
        values.deallocate()
        scales.deallocate()
        sums.deallocate()
    }
}
#endif

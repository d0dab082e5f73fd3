import Foundation
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// The other loops that decide a step's speed, built per CPU class like `QuantizedKernel`:
/// attention over the KV cache, the Gemma MLP's gated GELU, and the sampler's passes over a row of
/// logits (the maximum, and the weights of temperature sampling). Shapes are row-major.
public enum VectorKernels {
    /// A stretch of cache positions stored one after another: its offset among the positions
    /// attended, the first position's keys and values, and how many positions it holds.
    public typealias Run = (offset: Int, keys: UnsafeRawPointer, values: UnsafeRawPointer, length: Int)

    /// Up to four query heads (consecutive in `q` and `out`, `headDim` floats each) against one KV
    /// head over `count` positions given as `runs` (keys and values `kvDim` floats apart):
    /// `out = softmax(scale · q·Kᵀ) · V`. Scores go to `scores[head × count]`. Each key and value is
    /// loaded once for all heads. Keys and values are Float32, or Float16 with `halfPrecision`.
    public static func attendHeads(query q: UnsafePointer<Float>, heads: Int, runs: UnsafeBufferPointer<Run>,
                                   count n: Int, headDim hd: Int, kvDim: Int, halfPrecision: Bool, scale: Float,
                                   scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                   logSumExp: UnsafeMutablePointer<Float>? = nil) {
        if halfPrecision {
            attendHeads(Float16.self, query: q, heads: heads, runs: runs, count: n, headDim: hd, kvDim: kvDim,
                        scale: scale, scores: scores, into: out, logSumExp: logSumExp)
        } else {
            attendHeads(Float.self, query: q, heads: heads, runs: runs, count: n, headDim: hd, kvDim: kvDim,
                        scale: scale, scores: scores, into: out, logSumExp: logSumExp)
        }
    }

    @inline(__always)
    static func attendHeads<E: CacheElement>(_: E.Type, query q: UnsafePointer<Float>, heads: Int,
                                             runs: UnsafeBufferPointer<Run>, count n: Int, headDim hd: Int, kvDim: Int,
                                             scale: Float, scores: UnsafeMutablePointer<Float>,
                                             into out: UnsafeMutablePointer<Float>,
                                             logSumExp: UnsafeMutablePointer<Float>?) {
        let rowBytes = kvDim * MemoryLayout<E>.size
        let rq = UnsafeRawPointer(q)
        for run in runs {
            for i in 0..<run.length {
                let rk = run.keys + i * rowBytes
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                for j in stride(from: 0, to: hd * 4, by: 64) {
                    let k = E.load16(rk, j / 4)
                    a0 = a0.addingProduct(rq.loadUnaligned(fromByteOffset: j, as: SIMD16<Float>.self), k)
                    if heads > 1 {
                        a1 = a1.addingProduct(rq.loadUnaligned(fromByteOffset: hd * 4 + j, as: SIMD16<Float>.self), k)
                    }
                    if heads > 2 {
                        a2 = a2.addingProduct(rq.loadUnaligned(fromByteOffset: 2 * hd * 4 + j,
                                                               as: SIMD16<Float>.self), k)
                    }
                    if heads > 3 {
                        a3 = a3.addingProduct(rq.loadUnaligned(fromByteOffset: 3 * hd * 4 + j,
                                                               as: SIMD16<Float>.self), k)
                    }
                }
                let at = run.offset + i
                scores[at] = sum(a0) * scale
                if heads > 1 { scores[n + at] = sum(a1) * scale }
                if heads > 2 { scores[2 * n + at] = sum(a2) * scale }
                if heads > 3 { scores[3 * n + at] = sum(a3) * scale }
            }
        }
        for h in 0..<heads {
            let l = softmax(scores + h * n, count: n)
            logSumExp?[h] = l
        }
        // Each 32-float slice of the outputs stays in registers over all positions. A head size that is
        // an odd multiple of 16 ends in a 16-float slice: its second half is neither read nor stored.
        let ro = UnsafeMutableRawPointer(out)
        for j in stride(from: 0, to: hd * 4, by: 128) {
            let wide = j + 128 <= hd * 4
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var b0 = SIMD16<Float>(), b1 = SIMD16<Float>(), b2 = SIMD16<Float>(), b3 = SIMD16<Float>()
            for run in runs {
                for i in 0..<run.length {
                    let rv = run.values + i * rowBytes, at = run.offset + i
                    let v = E.load16(rv, j / 4), w = wide ? E.load16(rv, j / 4 + 16) : SIMD16<Float>()
                    let s0 = SIMD16<Float>(repeating: scores[at])
                    a0 = a0.addingProduct(s0, v); b0 = b0.addingProduct(s0, w)
                    if heads > 1 {
                        let s = SIMD16<Float>(repeating: scores[n + at])
                        a1 = a1.addingProduct(s, v); b1 = b1.addingProduct(s, w)
                    }
                    if heads > 2 {
                        let s = SIMD16<Float>(repeating: scores[2 * n + at])
                        a2 = a2.addingProduct(s, v); b2 = b2.addingProduct(s, w)
                    }
                    if heads > 3 {
                        let s = SIMD16<Float>(repeating: scores[3 * n + at])
                        a3 = a3.addingProduct(s, v); b3 = b3.addingProduct(s, w)
                    }
                }
            }
            ro.storeBytes(of: a0, toByteOffset: j, as: SIMD16<Float>.self)
            if wide { ro.storeBytes(of: b0, toByteOffset: j + 64, as: SIMD16<Float>.self) }
            if heads > 1 {
                ro.storeBytes(of: a1, toByteOffset: hd * 4 + j, as: SIMD16<Float>.self)
                if wide { ro.storeBytes(of: b1, toByteOffset: hd * 4 + j + 64, as: SIMD16<Float>.self) }
            }
            if heads > 2 {
                ro.storeBytes(of: a2, toByteOffset: 2 * hd * 4 + j, as: SIMD16<Float>.self)
                if wide { ro.storeBytes(of: b2, toByteOffset: 2 * hd * 4 + j + 64, as: SIMD16<Float>.self) }
            }
            if heads > 3 {
                ro.storeBytes(of: a3, toByteOffset: 3 * hd * 4 + j, as: SIMD16<Float>.self)
                if wide { ro.storeBytes(of: b3, toByteOffset: 3 * hd * 4 + j + 64, as: SIMD16<Float>.self) }
            }
        }
    }

    /// In-place softmax of `n` values, 16 at a time with `exponential` (a libm expf call per score
    /// was a large share of attention); arguments are clamped to −87, whose exponential is already
    /// negligible beside the 1 of the maximum. Returns log Σ exp(x), what a softmax over a part of
    /// the values needs to be merged with the other parts.
    @discardableResult
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) -> Float {
        var maximum = -Float.infinity
        for i in 0..<n { maximum = max(maximum, x[i]) }
        var lanes = SIMD16<Float>()
        let raw = UnsafeMutableRawPointer(x)
        var i = 0
        while i + 16 <= n {
            let shifted = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - maximum
            let e = exponential(max16(shifted, SIMD16(repeating: -87)))
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD16<Float>.self)
            lanes += e
            i += 16
        }
        var total = sum(lanes)
        while i < n {
            let e = expf(x[i] - maximum)
            x[i] = e
            total += e
            i += 1
        }
        let inverse = 1 / total
        for i in 0..<n { x[i] *= inverse }
        return maximum + log(total)
    }

    /// `a[i] = gelu_tanh(a[i]) * b[i]` for `count` elements (Gemma's gated MLP).
    /// gelu_tanh(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715x³))), 16 lanes at a time with
    /// tanh|u| = (1 − e)/(1 + e), e = exp(−2|u|) (a libm tanhf call per element was a visible share
    /// of a decode step).
    public static func geluTanhGate(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        let c: Float = 0.7978845608028654
        let vectors = count / 16
        let ar = UnsafeMutableRawPointer(a), br = UnsafeRawPointer(b)
        for v in 0..<vectors {
            let x = ar.loadUnaligned(fromByteOffset: v * 64, as: SIMD16<Float>.self)
            let u = c * (x + 0.044715 * x * x * x)
            // |u| and the sign of u by bit masks, tanh(u) = sign · (1 − e^−2|u|) / (1 + e^−2|u|). Lane
            // loops here compiled to scalar stores and a stalled vector reload; the generic pointwise
            // helpers are calls.
            let bits = unsafeBitCast(u, to: SIMD16<UInt32>.self)
            let magnitude = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Float>.self)
            let e = exponential(max16(-2 * magnitude, SIMD16(repeating: -80)))
            let t = unsafeBitCast((1 - e) / (1 + e), to: SIMD16<UInt32>.self)
            let tanh = unsafeBitCast(t | (bits & 0x8000_0000), to: SIMD16<Float>.self)
            let gate = br.loadUnaligned(fromByteOffset: v * 64, as: SIMD16<Float>.self)
            ar.storeBytes(of: 0.5 * x * (1 + tanh) * gate, toByteOffset: v * 64, as: SIMD16<Float>.self)
        }
        for i in vectors * 16..<count {
            let x = a[i]
            a[i] = 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x))) * b[i]
        }
    }

    /// The largest value of `x` (−∞ for an empty row or one that is −∞ everywhere).
    public static func maximum(_ x: UnsafeBufferPointer<Float>) -> Float {
        guard let base = x.baseAddress else { return -.infinity }
        var lanes = SIMD16<Float>(repeating: -.infinity)
        let raw = UnsafeRawPointer(base), whole = x.count / 16 * 16
        for i in stride(from: 0, to: whole, by: 16) {
            lanes = max16(lanes, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        }
        var value = -Float.infinity
        for k in 0..<16 where lanes[k] > value { value = lanes[k] }
        for i in whole..<x.count where x[i] > value { value = x[i] }
        return value
    }

    /// Replaces every logit l by its weight exp((l − max) / T), exactly 0 below e^−87 (so a token
    /// masked with −∞ can never be drawn), and returns the sum of the weights, added in Double
    /// one 16-token block at a time (the order the sampler walks them in).
    public static func exponentiate(_ x: UnsafeMutableBufferPointer<Float>, temperature: Float) -> Double {
        let top = maximum(UnsafeBufferPointer(x))
        guard top > -.infinity, let base = x.baseAddress else { return 0 }
        let inverseT = 1 / temperature, floor = SIMD16<Float>(repeating: -87)
        let raw = UnsafeMutableRawPointer(base), whole = x.count / 16 * 16
        var total = 0.0
        for i in stride(from: 0, to: whole, by: 16) {
            let shifted = (raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - top) * inverseT
            // Clamp, then zero the lanes below the floor with the comparison's bits (the generic masked
            // replace is far slower in the AVX-512 builds).
            let e = exponential(max16(shifted, floor)) & (shifted .>= floor)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD16<Float>.self)
            total += Double(sum(e))
        }
        for i in whole..<x.count {
            let shifted = (x[i] - top) * inverseT
            x[i] = shifted < -87 ? 0 : expf(shifted)
            total += Double(x[i])
        }
        return total
    }

    /// eˣ for x in [−87, 88], within 2 ulp (Cephes' expf): x = n·ln 2 + r, |r| ≤ ln 2 / 2, a degree-6
    /// polynomial for eʳ, and 2ⁿ built in the exponent bits. Written with the CPU class's intrinsics:
    /// the generic SIMD16 operators lower to 4-lane instructions in the AVX-512 builds.
    @inline(__always)
    public static func exponential(_ x: SIMD16<Float>) -> SIMD16<Float> {
        #if TANDEM_AVX512
        return exponential512(x)
        #elseif arch(x86_64)
        return SIMD16(lowHalf: exponential256(x.lowHalf), highHalf: exponential256(x.highHalf))
        #else
        return exponentialGeneric(x)
        #endif
    }

    #if TANDEM_AVX512
    @inline(__always)
    static func exponential512(_ x: __m512) -> __m512 {
        let ni = _mm512_cvtps_epi32(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341)))
        let n = _mm512_cvtepi32_ps(ni)
        var r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375), x)
        r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4), r)
        var p = _mm512_set1_ps(1.9875691500e-4)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1))
        let er = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1)))
        let scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23))
        return _mm512_mul_ps(er, scale)
    }
    #elseif arch(x86_64)
    @inline(__always)
    static func exponential256(_ x: __m256) -> __m256 {
        let ni = _mm256_cvtps_epi32(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341)))
        let n = _mm256_cvtepi32_ps(ni)
        var r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375), x)
        r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4), r)
        var p = _mm256_set1_ps(1.9875691500e-4)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1))
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1))
        let er = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1)))
        let scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23))
        return _mm256_mul_ps(er, scale)
    }
    #else
    static func exponentialGeneric(_ x: SIMD16<Float>) -> SIMD16<Float> {
        // Adding and subtracting 1.5·2²³ rounds to the nearest integer.
        let n = (x * 1.44269504088896341 + 12_582_912) - 12_582_912
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p = SIMD16<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * (r * r) + r + 1
        var bits = SIMD16<UInt32>()
        for k in 0..<16 { bits[k] = UInt32(bitPattern: (Int32(n[k]) &+ 127) &<< 23) }
        return er * unsafeBitCast(bits, to: SIMD16<Float>.self)
    }
    #endif

    /// Lane-wise maximum as one instruction per register: the generic `pointwiseMax` is a call per
    /// vector here, 15× slower over a row of logits.
    @inline(__always)
    static func max16(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        #if TANDEM_AVX512
        return _mm512_max_ps(a, b)
        #elseif arch(x86_64)
        return SIMD16(lowHalf: _mm256_max_ps(a.lowHalf, b.lowHalf), highHalf: _mm256_max_ps(a.highHalf, b.highHalf))
        #else
        return a.replacing(with: b, where: b .> a)
        #endif
    }

    /// The sum of 16 lanes as a tree of halves (the generic `sum()` is a call per vector).
    @inline(__always)
    static func sum(_ v: SIMD16<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }
}

/// `value & mask`: the lanes where `mask` is false become +0.
@inline(__always)
func & (value: SIMD16<Float>, mask: SIMDMask<SIMD16<Int32>>) -> SIMD16<Float> {
    let bits = unsafeBitCast(value, to: SIMD16<Int32>.self) & unsafeBitCast(mask, to: SIMD16<Int32>.self)
    return unsafeBitCast(bits, to: SIMD16<Float>.self)
}

/// A type KV cache values are stored in: 16 of them from element `index` on, as Float32.
protocol CacheElement {
    static func load16(_ p: UnsafeRawPointer, _ index: Int) -> SIMD16<Float>
}

extension Float: CacheElement {
    @inline(__always) static func load16(_ p: UnsafeRawPointer, _ index: Int) -> SIMD16<Float> {
        p.loadUnaligned(fromByteOffset: 4 * index, as: SIMD16<Float>.self)
    }
}

extension Float16: CacheElement {
    /// F16C's `vcvtph2ps` (every CPU of the AVX2 class has it).
    @inline(__always) static func load16(_ p: UnsafeRawPointer, _ index: Int) -> SIMD16<Float> {
        SIMD16<Float>(p.loadUnaligned(fromByteOffset: 2 * index, as: SIMD16<Float16>.self))
    }
}

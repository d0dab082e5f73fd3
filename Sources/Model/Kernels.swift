import Foundation
#if TANDEM_VNNI
import _Builtin_intrinsics.intel
#endif

/// Element-wise and per-row kernels of the forward pass. Shapes are row-major `[rows × dim]`.
public enum Kernels {
    /// RMSNorm of each row: `out[r] = x[r] / sqrt(mean(x[r]²) + eps) * weight`. `out` may equal `x`.
    /// Gemma's "+1" is already folded into GGUF norm weights, so one kernel serves both architectures.
    @inline(__always)
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, eps: Float,
                               into out: UnsafeMutablePointer<Float>) {
        // Squares summed in 16 Float lanes (like the reference's Float32 reduction), then in Double.
        let whole = dim / 16 * 16
        for r in 0..<rows {
            let row = x + r * dim, raw = UnsafeRawPointer(row)
            var lanes = SIMD16<Float>()
            for i in stride(from: 0, to: whole, by: 16) {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                lanes = lanes.addingProduct(v, v)
            }
            var sum: Double = 0
            for k in 0..<16 { sum += Double(lanes[k]) }
            for i in whole..<dim { sum += Double(row[i]) * Double(row[i]) }
            let scale = Float(1 / (sum / Double(dim) + Double(eps)).squareRoot())
            let o = out + r * dim
            for i in 0..<dim { o[i] = row[i] * scale * weight[i] }
        }
    }

    /// `a[i] = gelu_tanh(a[i]) * b[i]` for `count` elements (Gemma's gated MLP).
    /// gelu_tanh(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715x³))), 16 lanes at a time with
    /// tanh|u| = (1 − e)/(1 + e), e = exp(−2|u|) (a libm tanhf call per element was a visible share of a decode step).
    @inline(__always)
    public static func geluTanhGate(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        let c: Float = 0.7978845608028654
        let vectors = count / 16
        let ar = UnsafeMutableRawPointer(a), br = UnsafeRawPointer(b)
        for v in 0..<vectors {
            let x = ar.loadUnaligned(fromByteOffset: v * 64, as: SIMD16<Float>.self)
            let u = c * (x + 0.044715 * x * x * x)
            // Lane loops (not the generic pointwise helpers, which are not inlined) become vector ops.
            var magnitude = SIMD16<Float>()
            for k in 0..<16 { magnitude[k] = Swift.min(Swift.abs(u[k]), 40) }
            let e = exponential(-2 * magnitude)
            let t = (1 - e) / (1 + e)
            var tanh = SIMD16<Float>()
            for k in 0..<16 { tanh[k] = u[k] < 0 ? -t[k] : t[k] }
            let gate = br.loadUnaligned(fromByteOffset: v * 64, as: SIMD16<Float>.self)
            ar.storeBytes(of: 0.5 * x * (1 + tanh) * gate, toByteOffset: v * 64, as: SIMD16<Float>.self)
        }
        for i in vectors * 16..<count {
            let x = a[i]
            a[i] = 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x))) * b[i]
        }
    }

    /// eˣ for x in [−87, 88], within 2 ulp (Cephes' expf): x = n·ln 2 + r, |r| ≤ ln 2 / 2, a degree-6
    /// polynomial for eʳ, and 2ⁿ built in the exponent bits.
    @inline(__always)
    public static func exponential(_ x: SIMD16<Float>) -> SIMD16<Float> {
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

    /// `a[i] = silu(a[i]) * b[i]` (Llama's SwiGLU), silu(x) = x / (1 + e^-x).
    @inline(__always)
    public static func siluGate(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = a[i]
            a[i] = x / (1 + expf(-x)) * b[i]
        }
    }

    /// Inverse frequencies of RoPE: `base^(-2i/dim)` for i in 0..<dim/2, rounded to Float as PyTorch does.
    public static func ropeInverseFrequencies(dim: Int, base: Float) -> [Float] {
        (0..<dim / 2).map { Float(1 / pow(Double(base), Double(2 * $0) / Double(dim))) }
    }

    /// Rotates a row's `heads` query heads and `kvHeads` key heads of `dim` in place at `position`;
    /// each angle's cos and sin are evaluated once for both.
    /// NeoX layout (Gemma, HF rotate_half): pairs are (x[i], x[i + dim/2]).
    /// Interleaved layout (llama.cpp's Llama GGUFs, whose q/k rows are permuted): pairs are (x[2i], x[2i+1]).
    @inline(__always)
    public static func rope(queries q: UnsafeMutablePointer<Float>, heads: Int, keys k: UnsafeMutablePointer<Float>,
                            kvHeads: Int, dim: Int, position: Int, inverseFrequencies: [Float], neox: Bool) {
        let half = dim / 2
        inverseFrequencies.withUnsafeBufferPointer { freqs in
            for i in 0..<half {
                // The angle is formed in Float like the reference; only cos/sin are evaluated in Double.
                let angle = Double(Float(position) * freqs[i])
                let c = Float(cos(angle)), s = Float(sin(angle))
                let (i0, i1) = neox ? (i, i + half) : (2 * i, 2 * i + 1)
                @inline(__always) func rotate(_ v: UnsafeMutablePointer<Float>) {
                    let a = v[i0], b = v[i1]
                    v[i0] = a * c - b * s
                    v[i1] = b * c + a * s
                }
                for h in 0..<heads { rotate(q + h * dim) }
                for h in 0..<kvHeads { rotate(k + h * dim) }
            }
        }
    }

    /// The sum of 16 lanes as a tree of halves (the generic `sum()` is a call per vector).
    @inline(__always)
    public static func sum(_ v: SIMD16<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// In-place softmax of `n` values.
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        var maximum = -Float.infinity
        for i in 0..<n { maximum = max(maximum, x[i]) }
        var sum: Float = 0
        var i = 0
        #if TANDEM_VNNI
        // 16 at a time with `exponential` (a libm expf call per score was a large share of attention);
        // arguments are clamped to −87, whose exponential is already negligible beside the 1 of the maximum.
        var lanes = SIMD16<Float>()
        let raw = UnsafeMutableRawPointer(x)
        while i + 16 <= n {
            let shifted = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - maximum
            let e = exponential(_mm512_max_ps(shifted, SIMD16(repeating: -87)))
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD16<Float>.self)
            lanes += e
            i += 16
        }
        sum = Kernels.sum(lanes)
        #endif
        while i < n {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += e
            i += 1
        }
        let inverse = 1 / sum
        for i in 0..<n { x[i] *= inverse }
    }

    /// `x[i] += y[i]`.
    @inline(__always)
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// `x[i] *= s`.
    @inline(__always)
    public static func scale(_ x: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
        for i in 0..<count { x[i] *= s }
    }
}

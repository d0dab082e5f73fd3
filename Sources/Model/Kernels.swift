import Foundation

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

/// `y += scale · (x·Aᵀ)·Bᵀ` for one row: a LoRA delta (the adapter side calls it; it lives here to
/// be compiled with the kernels' flags).
///
/// `t = x·Aᵀ` is `rank` dot products over the inputs, then `t·Bᵀ` is added 16 outputs at a time
/// from B transposed. Plain SIMD loops: at rank 8 and a couple of rows per adapter, OpenBLAS's
/// per-call overhead on these tiny products (two calls per adapter, site and layer) outweighed the
/// arithmetic.
public enum LowRankProduct {
    /// `x[inputs]`, `a[rank × inputs]`, `bTransposed[rank × outputs]`, `y[outputs]`.
    public static func add(x: UnsafePointer<Float>, inputs: Int, a: UnsafePointer<Float>,
                           bTransposed: UnsafePointer<Float>, rank: Int, scale: Float,
                           into y: UnsafeMutablePointer<Float>, outputs: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rank) { t in
            let rx = UnsafeRawPointer(x)
            for j in 0..<rank {
                let ra = UnsafeRawPointer(a + j * inputs)
                var acc = SIMD16<Float>()
                var i = 0
                while i + 16 <= inputs {
                    acc = acc.addingProduct(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                                            ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
                    i += 16
                }
                var sum = Kernels.sum(acc)
                while i < inputs {
                    sum += x[i] * a[j * inputs + i]
                    i += 1
                }
                t[j] = scale * sum
            }
            var o = 0
            while o + 16 <= outputs {
                let ry = UnsafeMutableRawPointer(y + o)
                var acc = ry.loadUnaligned(as: SIMD16<Float>.self)
                for j in 0..<rank {
                    acc = acc.addingProduct(SIMD16(repeating: t[j]),
                                            UnsafeRawPointer(bTransposed + j * outputs + o)
                                                .loadUnaligned(as: SIMD16<Float>.self))
                }
                ry.storeBytes(of: acc, as: SIMD16<Float>.self)
                o += 16
            }
            while o < outputs {
                for j in 0..<rank { y[o] += t[j] * bTransposed[j * outputs + o] }
                o += 1
            }
        }
    }
}

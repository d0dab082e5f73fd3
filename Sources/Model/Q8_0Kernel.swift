import Dispatch

/// `y[rows × outputs] = x[rows × inputs] · Wᵀ` straight from Q8_0 blocks (f16 d, 32 × int8 q).
///
/// At a handful of rows a projection is bound by memory bandwidth, and Q8_0 is 4× smaller than
/// Float32: the 262 144 × 640 Gemma head is 178 MB instead of 671 MB. Each weight is formed
/// exactly as the dequantizer forms it (`Float(q) · d`), so only the summation order differs from
/// the Float32 path. Each block is decoded once and used for every row.
enum Q8_0Kernel {
    /// Rows up to which this kernel beats sgemm on Float32 weights (measured by `tandem bench`).
    static let maximumRows = 8

    static func apply(_ w: UnsafeRawPointer, inputs: Int, outputs: Int, x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        // Split outputs across cores only when the matrix is big enough to pay for the dispatch.
        let parts = inputs * outputs >= 1 << 20 ? 8 : 1
        let chunk = (outputs + parts - 1) / parts
        let (w, x, y) = (UnsafeShared(w), UnsafeShared(x), UnsafeShared(y))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let (w, x, y) = (w.value, x.value, y.value)
            let start = part * chunk, end = min(outputs, start + chunk)
            guard start < end else { return }
            // Constant row counts let the compiler drop the unused accumulators.
            switch rows {
            case 1: rowsKernel(w, inputs: inputs, outputs: outputs, range: start..<end, x: x, rows: 1, y: y)
            case 2: rowsKernel(w, inputs: inputs, outputs: outputs, range: start..<end, x: x, rows: 2, y: y)
            case 3, 4: rowsKernel(w, inputs: inputs, outputs: outputs, range: start..<end, x: x, rows: rows, y: y)
            default: rowsKernel(w, inputs: inputs, outputs: outputs, range: start..<end, x: x, rows: rows, y: y)
            }
        }
    }

    /// Int8 lanes to Float lanes; written per lane so LLVM emits vpmovsxbd + vcvtdq2ps (the generic
    /// SIMD conversion initialisers are not inlined).
    @inline(__always)
    static func widen(_ v: SIMD16<Int8>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for k in 0..<16 { r[k] = Float(v[k]) }
        return r
    }

    @inline(__always)
    static func rowsKernel(_ w: UnsafeRawPointer, inputs: Int, outputs: Int, range: Range<Int>, x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>) {
        let blocks = inputs / 32, rowBytes = blocks * 34
        let xr = UnsafeRawPointer(x)
        for o in range {
            var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                       SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
            var b = w + o * rowBytes
            for block in 0..<blocks {
                let d = SIMD16<Float>(repeating: Float(Float16(bitPattern: b.loadUnaligned(as: UInt16.self))))
                let w0 = widen(b.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)) * d
                let w1 = widen(b.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)) * d
                let offset = block * 128
                @inline(__always) func dot(_ r: Int) -> SIMD16<Float> {
                    let base = xr + r * inputs * 4 + offset
                    return (w0 * base.loadUnaligned(as: SIMD16<Float>.self)).addingProduct(w1, base.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                }
                acc.0 += dot(0)
                if rows > 1 { acc.1 += dot(1) }
                if rows > 2 { acc.2 += dot(2) }
                if rows > 3 { acc.3 += dot(3) }
                if rows > 4 { acc.4 += dot(4) }
                if rows > 5 { acc.5 += dot(5) }
                if rows > 6 { acc.6 += dot(6) }
                if rows > 7 { acc.7 += dot(7) }
                b += 34
            }
            y[o] = acc.0.sum()
            if rows > 1 { y[outputs + o] = acc.1.sum() }
            if rows > 2 { y[2 * outputs + o] = acc.2.sum() }
            if rows > 3 { y[3 * outputs + o] = acc.3.sum() }
            if rows > 4 { y[4 * outputs + o] = acc.4.sum() }
            if rows > 5 { y[5 * outputs + o] = acc.5.sum() }
            if rows > 6 { y[6 * outputs + o] = acc.6.sum() }
            if rows > 7 { y[7 * outputs + o] = acc.7.sum() }
        }
    }
}

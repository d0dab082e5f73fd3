import Dispatch
import GGUF

/// `y[rows × outputs] = x[rows × inputs] · Wᵀ` read straight from quantized GGUF blocks.
///
/// With a handful of rows a projection is bound by memory bandwidth, and the file's blocks are
/// 4–7× smaller than Float32 (the 262 144 × 640 Gemma head: 178 MB as Q8_0, 671 MB as Float32).
/// Every weight is formed exactly as `Dequantizer` forms it, so results differ from the Float32
/// path only in summation order. Each 32-weight sub-block is decoded once and used for every row.
enum QuantizedKernel {
    /// Rows up to which this kernel beats sgemm on Float32 weights (measured with `tandem bench`).
    static let maximumRows = 8

    static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .q8_0, .q5_0, .q4_K, .q6_K: return true
        default: return false
        }
    }

    static func apply(_ type: GGMLType, _ w: UnsafeRawPointer, inputs: Int, outputs: Int, x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        switch type {
        case .q8_0: run(Q8_0Blocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        case .q5_0: run(Q5_0Blocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        case .q4_K: run(Q4_KBlocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        case .q6_K: run(Q6_KBlocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        default: preconditionFailure("no quantized kernel for \(type.name)")
        }
    }

    /// Splits outputs across cores when the matrix is big enough to pay for the dispatch.
    static func run<F: BlockFormat>(_: F.Type, _ w: UnsafeRawPointer, inputs: Int, outputs: Int, x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>) {
        let parts = inputs * outputs >= 1 << 19 ? 8 : 1
        let chunk = (outputs + parts - 1) / parts
        let shared = UnsafeShared((w, x, y))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let (w, x, y) = shared.value
            let range = part * chunk..<min(outputs, (part + 1) * chunk)
            guard !range.isEmpty else { return }
            // Constant row counts let the compiler drop unused accumulators.
            switch rows {
            case 1: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: x, rows: 1, y: y)
            case 2: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: x, rows: 2, y: y)
            case 3, 4: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: x, rows: rows, y: y)
            default: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: x, rows: rows, y: y)
            }
        }
    }

    @inline(__always)
    static func kernel<F: BlockFormat>(_: F.Type, _ w: UnsafeRawPointer, inputs: Int, outputs: Int, range: Range<Int>,
                                       x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>) {
        let blocks = inputs / F.elements, rowBytes = blocks * F.bytes
        let xr = UnsafeRawPointer(x)
        for o in range {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            let row = w + o * rowBytes
            for block in 0..<blocks {
                let b = row + block * F.bytes
                for sub in 0..<F.elements / 32 {
                    let (w0, w1) = F.decode(b, sub: sub)
                    let offset = (block * F.elements + sub * 32) * 4
                    @inline(__always) func dot(_ r: Int) -> SIMD16<Float> {
                        let base = xr + r * inputs * 4 + offset
                        return (w0 * base.loadUnaligned(as: SIMD16<Float>.self)).addingProduct(w1, base.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                    }
                    a0 += dot(0)
                    if rows > 1 { a1 += dot(1) }
                    if rows > 2 { a2 += dot(2) }
                    if rows > 3 { a3 += dot(3) }
                    if rows > 4 { a4 += dot(4) }
                    if rows > 5 { a5 += dot(5) }
                    if rows > 6 { a6 += dot(6) }
                    if rows > 7 { a7 += dot(7) }
                }
            }
            y[o] = a0.sum()
            if rows > 1 { y[outputs + o] = a1.sum() }
            if rows > 2 { y[2 * outputs + o] = a2.sum() }
            if rows > 3 { y[3 * outputs + o] = a3.sum() }
            if rows > 4 { y[4 * outputs + o] = a4.sum() }
            if rows > 5 { y[5 * outputs + o] = a5.sum() }
            if rows > 6 { y[6 * outputs + o] = a6.sum() }
            if rows > 7 { y[7 * outputs + o] = a7.sum() }
        }
    }
}

/// A ggml block type, decoded 32 weights at a time into two 16-lane vectors.
protocol BlockFormat {
    static var elements: Int { get }
    static var bytes: Int { get }
    /// Weights `32·sub ..< 32·sub + 32` of the block at `b`, bit-identical to `Dequantizer`.
    static func decode(_ b: UnsafeRawPointer, sub: Int) -> (SIMD16<Float>, SIMD16<Float>)
}

/// Lane-wise conversions written per lane so LLVM emits vpmovzx/vpmovsx + vcvtdq2ps (the generic
/// SIMD conversion initialisers are not inlined and cost a call per vector).
@inline(__always) func lanesToFloat(_ v: SIMD16<Int8>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for k in 0..<16 { r[k] = Float(v[k]) }
    return r
}

@inline(__always) func lanesToInt32(_ v: SIMD16<UInt8>) -> SIMD16<Int32> {
    var r = SIMD16<Int32>()
    for k in 0..<16 { r[k] = Int32(v[k]) }
    return r
}

@inline(__always) func lanesToFloat(_ v: SIMD16<Int32>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for k in 0..<16 { r[k] = Float(v[k]) }
    return r
}

@inline(__always) func halfAt(_ b: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: b.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Q8_0: f16 d, 32 × int8; w = Float(q) · d.
enum Q8_0Blocks: BlockFormat {
    static var elements: Int { 32 }
    static var bytes: Int { 34 }
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        let d = SIMD16<Float>(repeating: halfAt(b, 0))
        return (lanesToFloat(b.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)) * d,
                lanesToFloat(b.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)) * d)
    }
}

/// Q5_0: f16 d, u32 of fifth bits, 16 bytes of nibbles; w = Float(q − 16) · d.
enum Q5_0Blocks: BlockFormat {
    static var elements: Int { 32 }
    static var bytes: Int { 22 }
    static let shifts = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        let d = SIMD16<Float>(repeating: halfAt(b, 0))
        // Fifth bits: bit j of qh for weight j, bit j + 16 for weight j + 16.
        let qh = SIMD16<Int32>(repeating: Int32(bitPattern: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
        let low = ((qh &>> shifts) & 1) &<< 4
        let high = ((qh &>> (shifts &+ 16)) & 1) &<< 4
        let q = lanesToInt32(b.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self))
        return (lanesToFloat(((q & 0x0F) | low) &- 16) * d, lanesToFloat(((q &>> 4) | high) &- 16) * d)
    }
}

/// Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes; sub-block s: w = (d·sc)·q − dmin·m.
enum Q4_KBlocks: BlockFormat {
    static var elements: Int { 256 }
    static var bytes: Int { 144 }
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        let (sc, m) = Dequantizer.scaleMin(sub, b + 4)
        let scale = SIMD16<Float>(repeating: halfAt(b, 0) * sc), minimum = SIMD16<Float>(repeating: halfAt(b, 2) * m)
        let qs = b + 16 + (sub / 2) * 32
        var q0 = lanesToInt32(qs.loadUnaligned(as: SIMD16<UInt8>.self))
        var q1 = lanesToInt32(qs.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self))
        if sub % 2 == 0 {
            q0 &= 0x0F
            q1 &= 0x0F
        } else {
            q0 &>>= 4
            q1 &>>= 4
        }
        return (scale * lanesToFloat(q0) - minimum, scale * lanesToFloat(q1) - minimum)
    }
}

/// Q6_K: 128 low-nibble bytes, 64 bytes of 2-bit pairs, 16 int8 scales, f16 d last; w = (d·sc)·(q − 32).
enum Q6_KBlocks: BlockFormat {
    static var elements: Int { 256 }
    static var bytes: Int { 210 }
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        let half = sub / 4, k = sub % 4
        let d = halfAt(b, 208)
        let ql = b + half * 64 + (k % 2) * 32
        let qh = b + 128 + half * 32
        let scales = b + 192 + half * 8 + 2 * k
        let shift = Int32(2 * k)
        var low0 = lanesToInt32(ql.loadUnaligned(as: SIMD16<UInt8>.self))
        var low1 = lanesToInt32(ql.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self))
        if k < 2 {
            low0 &= 0x0F
            low1 &= 0x0F
        } else {
            low0 &>>= 4
            low1 &>>= 4
        }
        let high0 = (lanesToInt32(qh.loadUnaligned(as: SIMD16<UInt8>.self)) &>> shift) & 3
        let high1 = (lanesToInt32(qh.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)) &>> shift) & 3
        let s0 = SIMD16<Float>(repeating: d * Float(scales.load(as: Int8.self)))
        let s1 = SIMD16<Float>(repeating: d * Float(scales.load(fromByteOffset: 1, as: Int8.self)))
        return (s0 * lanesToFloat((low0 | (high0 &<< 4)) &- 32), s1 * lanesToFloat((low1 | (high1 &<< 4)) &- 32))
    }
}

import GGUF
import Parallel
import QuantTiles

/// `y[rows × outputs] = x[rows × inputs] · Wᵀ` read straight from quantized GGUF blocks.
///
/// With a handful of rows a projection is bound by memory bandwidth, and the file's blocks are
/// 4–7× smaller than Float32 (Q8_0 stores 8.5 bits per weight, Q4_K 4.5).
/// The weights are the dequantizer's; only the order of float operations differs from the Float32
/// path. Each 32-weight sub-block is decoded once and used for every row.
public enum QuantizedKernel {
    /// Rows up to which this kernel beats sgemm on Float32 weights (measured with `tandem bench`).
    /// Rows go through in groups of 8, each group reading the blocks once.
    public static let maximumRows = 32

    public static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .q8_0, .q5_0, .q4_K, .q6_K: return true
        default: return false
        }
    }

    public static func apply(_ type: GGMLType, _ w: UnsafeRawPointer, inputs: Int, outputs: Int,
                             x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        switch type {
        case .q8_0: run(Q8_0Blocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        case .q5_0: run(Q5_0Blocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        case .q4_K: run(Q4_KBlocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        case .q6_K: run(Q6_KBlocks.self, w, inputs: inputs, outputs: outputs, x: x, rows: rows, y: y)
        default: preconditionFailure("no quantized kernel for \(type.name)")
        }
    }

    static func run<F: BlockFormat>(_: F.Type, _ w: UnsafeRawPointer, inputs: Int, outputs: Int,
                                    x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>) {
        let shared = UnsafeShared((w, x, y))
        forEachOutputRange(inputs: inputs, outputs: outputs) { range in
            let (w, x, y) = shared.value
            for first in stride(from: 0, to: rows, by: 8) {
                let count = min(8, rows - first)
                let (xg, yg) = (x + first * inputs, y + first * outputs)
                // Constant row counts let the compiler drop unused accumulators.
                switch count {
                case 1: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: xg, rows: 1, y: yg)
                case 2: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: xg, rows: 2, y: yg)
                case 8: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: xg, rows: 8, y: yg)
                default: kernel(F.self, w, inputs: inputs, outputs: outputs, range: range, x: xg, rows: count, y: yg)
                }
            }
        }
    }

    /// One output at a time: every 32-weight sub-block is decoded once to integer-valued lanes and
    /// scales, then for each row `Σ w·x = sa·Σ qa·xa + sb·Σ qb·xb − m·Σ x`. Factoring the scales out of
    /// the lanes keeps the inner loop at 3–4 vector operations per row; the `m·Σ x` term (Q4_K's
    /// minimum) uses per-row sums of x precomputed once per call.
    @inline(__always)
    static func kernel<F: BlockFormat>(_: F.Type, _ w: UnsafeRawPointer, inputs: Int, outputs: Int, range: Range<Int>,
                                       x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>) {
        let blocks = inputs / F.elements, rowBytes = blocks * F.bytes, subBlocks = inputs / 32
        let xr = UnsafeRawPointer(x)
        // Σ x over each 32-wide slice, per row: [rows × inputs/32] (only formats with a minimum use it).
        let xSums = UnsafeMutablePointer<Float>.allocate(capacity: F.hasMinimum ? rows * subBlocks : 1)
        defer { xSums.deallocate() }
        if F.hasMinimum {
            for r in 0..<rows {
                for j in 0..<subBlocks {
                    let base = xr + (r * inputs + j * 32) * 4
                    xSums[r * subBlocks + j] = (base.loadUnaligned(as: SIMD16<Float>.self)
                                                + base.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)).sum()
                }
            }
        }
        for o in range {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            var correction = SIMD8<Float>()
            let row = w + o * rowBytes
            for block in 0..<blocks {
                let b = row + block * F.bytes
                for sub in 0..<F.elements / 32 {
                    let d = F.decode(b, sub: sub)
                    let j = block * (F.elements / 32) + sub
                    let offset = j * 128
                    let sa = SIMD16<Float>(repeating: d.sa), sb = SIMD16<Float>(repeating: d.sb)
                    @inline(__always) func accumulate(_ acc: inout SIMD16<Float>, _ r: Int) {
                        let base = xr + r * inputs * 4 + offset
                        let xa = base.loadUnaligned(as: SIMD16<Float>.self),
                            xb = base.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                        if F.sameScale {
                            acc = acc.addingProduct((d.qa * xa).addingProduct(d.qb, xb), sa)
                        } else {
                            acc = acc.addingProduct(d.qa * xa, sa).addingProduct(d.qb * xb, sb)
                        }
                    }
                    accumulate(&a0, 0)
                    if rows > 1 { accumulate(&a1, 1) }
                    if rows > 2 { accumulate(&a2, 2) }
                    if rows > 3 { accumulate(&a3, 3) }
                    if rows > 4 { accumulate(&a4, 4) }
                    if rows > 5 { accumulate(&a5, 5) }
                    if rows > 6 { accumulate(&a6, 6) }
                    if rows > 7 { accumulate(&a7, 7) }
                    if F.hasMinimum {
                        for r in 0..<rows { correction[r] += d.m * xSums[r * subBlocks + j] }
                    }
                }
            }
            y[o] = a0.sum() - correction[0]
            if rows > 1 { y[outputs + o] = a1.sum() - correction[1] }
            if rows > 2 { y[2 * outputs + o] = a2.sum() - correction[2] }
            if rows > 3 { y[3 * outputs + o] = a3.sum() - correction[3] }
            if rows > 4 { y[4 * outputs + o] = a4.sum() - correction[4] }
            if rows > 5 { y[5 * outputs + o] = a5.sum() - correction[5] }
            if rows > 6 { y[6 * outputs + o] = a6.sum() - correction[6] }
            if rows > 7 { y[7 * outputs + o] = a7.sum() - correction[7] }
        }
    }
}

/// 32 weights of a block: `w = s·q − m`, with integer-valued lanes `qa` (weights 0–15, scale `sa`)
/// and `qb` (weights 16–31, scale `sb`).
struct DecodedSubBlock {
    var qa: SIMD16<Float>
    var qb: SIMD16<Float>
    var sa: Float
    var sb: Float
    var m: Float
}

/// A ggml block type, decoded 32 weights at a time.
protocol BlockFormat {
    static var elements: Int { get }
    static var bytes: Int { get }
    /// Whether `sa == sb` always (one scale per 32 weights).
    static var sameScale: Bool { get }
    /// Whether `m` can be non-zero.
    static var hasMinimum: Bool { get }
    /// Weights `32·sub ..< 32·sub + 32` of the block at `b`; `s·q − m` equals `Dequantizer`'s value
    /// up to float rounding.
    static func decode(_ b: UnsafeRawPointer, sub: Int) -> DecodedSubBlock
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

/// Q8_0: f16 d, 32 × int8; w = d·q.
enum Q8_0Blocks: BlockFormat {
    static var elements: Int { 32 }
    static var bytes: Int { 34 }
    static var sameScale: Bool { true }
    static var hasMinimum: Bool { false }
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> DecodedSubBlock {
        let d = halfAt(b, 0)
        return DecodedSubBlock(qa: lanesToFloat(b.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)),
                               qb: lanesToFloat(b.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)),
                               sa: d, sb: d, m: 0)
    }
}

/// Q5_0: f16 d, u32 of fifth bits, 16 bytes of nibbles; w = d·(q − 16).
enum Q5_0Blocks: BlockFormat {
    static var elements: Int { 32 }
    static var bytes: Int { 22 }
    static var sameScale: Bool { true }
    static var hasMinimum: Bool { false }
    static let shifts = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> DecodedSubBlock {
        let d = halfAt(b, 0)
        // Fifth bits: bit j of qh for weight j, bit j + 16 for weight j + 16.
        let qh = SIMD16<Int32>(repeating: Int32(bitPattern: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
        let low = ((qh &>> shifts) & 1) &<< 4
        let high = ((qh &>> (shifts &+ 16)) & 1) &<< 4
        let q = lanesToInt32(b.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self))
        return DecodedSubBlock(qa: lanesToFloat(((q & 0x0F) | low) &- 16), qb: lanesToFloat(((q &>> 4) | high) &- 16),
                               sa: d, sb: d, m: 0)
    }
}

/// Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes; sub-block s: w = (d·sc)·q − dmin·m.
enum Q4_KBlocks: BlockFormat {
    static var elements: Int { 256 }
    static var bytes: Int { 144 }
    static var sameScale: Bool { true }
    static var hasMinimum: Bool { true }
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> DecodedSubBlock {
        let (sc, m) = Dequantizer.scaleMin(sub, b + 4)
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
        let scale = halfAt(b, 0) * sc
        return DecodedSubBlock(qa: lanesToFloat(q0), qb: lanesToFloat(q1), sa: scale, sb: scale, m: halfAt(b, 2) * m)
    }
}

/// Q6_K: 128 low-nibble bytes, 64 bytes of 2-bit pairs, 16 int8 scales, f16 d last; w = (d·sc)·(q − 32),
/// one scale per 16 weights.
enum Q6_KBlocks: BlockFormat {
    static var elements: Int { 256 }
    static var bytes: Int { 210 }
    static var sameScale: Bool { false }
    static var hasMinimum: Bool { false }
    @inline(__always) static func decode(_ b: UnsafeRawPointer, sub: Int) -> DecodedSubBlock {
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
        return DecodedSubBlock(qa: lanesToFloat((low0 | (high0 &<< 4)) &- 32),
                               qb: lanesToFloat((low1 | (high1 &<< 4)) &- 32),
                               sa: d * Float(scales.load(as: Int8.self)),
                               sb: d * Float(scales.load(fromByteOffset: 1, as: Int8.self)), m: 0)
    }
}

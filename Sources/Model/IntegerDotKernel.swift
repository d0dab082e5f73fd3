#if TANDEM_VNNI
import _Builtin_intrinsics.intel
import Dispatch
import GGUF

/// `y[rows × outputs] = x[rows × inputs] · Wᵀ` with 16-bit integer activations and integer dot
/// products (AVX-512 VNNI `vpdpwssd`: 32 int16 products summed in pairs per instruction).
///
/// The weights are decoded 64 at a time (two 32-weight blocks) to int16 lanes and per-lane float
/// scales, once per output, and used for up to 16 rows held in registers. Per row and 64 weights:
/// two integer products, one conversion, one multiply of scales and one FMA, against six float
/// operations for the Float32-activation kernel, and the Float32 path's accuracy (`Int16Activations`).
enum IntegerDotKernel {
    /// Rows up to which this kernel beats sgemm on Float32 weights (measured with `tandem bench`);
    /// larger batches (prefill chunks) go to sgemm.
    static let maximumRows = 32

    static func supports(_ type: GGMLType, inputs: Int) -> Bool {
        guard inputs % 64 == 0 else { return false }
        switch type {
        case .q8_0, .q5_0: return true
        case .q4_K, .q6_K: return inputs % 256 == 0
        default: return false
        }
    }

    /// `y[rows × outputs] = x[rows × inputs] · Wᵀ`, rounding `x` to int16 first.
    static func apply(_ type: GGMLType, _ w: UnsafeRawPointer, inputs: Int, outputs: Int, x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let activations = Int16Activations(x, rows: rows, inputs: inputs)
        defer { activations.deallocate() }
        switch type {
        case .q8_0: run(Q8_0Pairs.self, w, outputs: outputs, x: activations, y: y)
        case .q5_0: run(Q5_0Pairs.self, w, outputs: outputs, x: activations, y: y)
        case .q4_K: run(Q4_KPairs.self, w, outputs: outputs, x: activations, y: y)
        case .q6_K: run(Q6_KPairs.self, w, outputs: outputs, x: activations, y: y)
        default: preconditionFailure("no integer kernel for \(type.name)")
        }
    }

    static func run<F: PairFormat>(_: F.Type, _ w: UnsafeRawPointer, outputs: Int, x: Int16Activations, y: UnsafeMutablePointer<Float>) {
        let shared = UnsafeShared((w, x, y))
        forEachOutputRange(inputs: x.inputs, outputs: outputs) { range in
            let (w, x, y) = shared.value
            // Groups of 16, 8, 4, 2 and 1 rows: each size is its own specialisation, with its
            // accumulators in registers and no per-row branches. Long rows go 8 at a time so the
            // group's activations (2 bytes each) stay in the 32 KB L1 cache.
            var first = 0
            for size in [16, 8, 4, 2, 1] where size * x.inputs * 2 <= 32 << 10 || size <= 8 {
                while x.rows - first >= size {
                    let yg = y + first * outputs
                    switch size {
                    case 16: kernel(F.self, Rows16.self, w, outputs: outputs, range: range, x: x, first: first, y: yg)
                    case 8: kernel(F.self, Rows8.self, w, outputs: outputs, range: range, x: x, first: first, y: yg)
                    case 4: kernel(F.self, Rows4.self, w, outputs: outputs, range: range, x: x, first: first, y: yg)
                    case 2: kernel(F.self, Rows2.self, w, outputs: outputs, range: range, x: x, first: first, y: yg)
                    default: kernel(F.self, Rows1.self, w, outputs: outputs, range: range, x: x, first: first, y: yg)
                    }
                    first += size
                }
            }
        }
    }

    /// For each output and pair of blocks: `Σ q_x·q_w` per lane (block A in lanes 0–7, B in 8–15),
    /// then `acc += lanes · (scale_w · dx)` and, for formats with a minimum, `acc += −min_w · dx·Σq_x`.
    /// The 16 lanes of `acc` sum to the output.
    @inline(__always)
    static func kernel<F: PairFormat, R: RowCount>(_: F.Type, _: R.Type, _ w: UnsafeRawPointer, outputs: Int, range: Range<Int>,
                                                   x: Int16Activations, first: Int, y: UnsafeMutablePointer<Float>) {
        let rows = R.value
        let pairs = x.pairs, rowBytes = x.inputs / F.elements * F.bytes
        let values = UnsafeRawPointer(x.values + first * x.inputs)
        let scales = x.scales + first * pairs, sums = x.sums + first * pairs
        for o in range {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            var a8 = SIMD16<Float>(), a9 = SIMD16<Float>(), a10 = SIMD16<Float>(), a11 = SIMD16<Float>()
            var a12 = SIMD16<Float>(), a13 = SIMD16<Float>(), a14 = SIMD16<Float>(), a15 = SIMD16<Float>()
            let row = w + o * rowBytes
            for j in 0..<pairs {
                let p = F.decode(row, pair: j)
                @inline(__always) func accumulate(_ acc: inout SIMD16<Float>, _ r: Int) {
                    let xs = values + (r * x.inputs + j * 64) * 2
                    let low = xs.loadUnaligned(as: SIMD8<Int64>.self), high = xs.loadUnaligned(fromByteOffset: 64, as: SIMD8<Int64>.self)
                    let dot = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_setzero_si512(), low, p.low), high, p.high)
                    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(p.scales, scales[r * pairs + j]), acc)
                    if F.hasMinimum { acc = _mm512_fmadd_ps(p.minimums, sums[r * pairs + j], acc) }
                }
                accumulate(&a0, 0)
                if rows > 1 { accumulate(&a1, 1) }
                if rows > 2 { accumulate(&a2, 2) }
                if rows > 3 { accumulate(&a3, 3) }
                if rows > 4 { accumulate(&a4, 4) }
                if rows > 5 { accumulate(&a5, 5) }
                if rows > 6 { accumulate(&a6, 6) }
                if rows > 7 { accumulate(&a7, 7) }
                if rows > 8 { accumulate(&a8, 8) }
                if rows > 9 { accumulate(&a9, 9) }
                if rows > 10 { accumulate(&a10, 10) }
                if rows > 11 { accumulate(&a11, 11) }
                if rows > 12 { accumulate(&a12, 12) }
                if rows > 13 { accumulate(&a13, 13) }
                if rows > 14 { accumulate(&a14, 14) }
                if rows > 15 { accumulate(&a15, 15) }
            }
            y[o] = _mm512_reduce_add_ps(a0)
            if rows > 1 { y[outputs + o] = _mm512_reduce_add_ps(a1) }
            if rows > 2 { y[2 * outputs + o] = _mm512_reduce_add_ps(a2) }
            if rows > 3 { y[3 * outputs + o] = _mm512_reduce_add_ps(a3) }
            if rows > 4 { y[4 * outputs + o] = _mm512_reduce_add_ps(a4) }
            if rows > 5 { y[5 * outputs + o] = _mm512_reduce_add_ps(a5) }
            if rows > 6 { y[6 * outputs + o] = _mm512_reduce_add_ps(a6) }
            if rows > 7 { y[7 * outputs + o] = _mm512_reduce_add_ps(a7) }
            if rows > 8 { y[8 * outputs + o] = _mm512_reduce_add_ps(a8) }
            if rows > 9 { y[9 * outputs + o] = _mm512_reduce_add_ps(a9) }
            if rows > 10 { y[10 * outputs + o] = _mm512_reduce_add_ps(a10) }
            if rows > 11 { y[11 * outputs + o] = _mm512_reduce_add_ps(a11) }
            if rows > 12 { y[12 * outputs + o] = _mm512_reduce_add_ps(a12) }
            if rows > 13 { y[13 * outputs + o] = _mm512_reduce_add_ps(a13) }
            if rows > 14 { y[14 * outputs + o] = _mm512_reduce_add_ps(a14) }
            if rows > 15 { y[15 * outputs + o] = _mm512_reduce_add_ps(a15) }
        }
    }
}

/// A number of rows fixed at compile time (generic specialisation makes it a constant).
protocol RowCount { static var value: Int { get } }
enum Rows1: RowCount { static var value: Int { 1 } }
enum Rows2: RowCount { static var value: Int { 2 } }
enum Rows4: RowCount { static var value: Int { 4 } }
enum Rows8: RowCount { static var value: Int { 8 } }
enum Rows16: RowCount { static var value: Int { 16 } }

/// 64 weights of a row, blocks A = 2j and B = 2j+1, in `Int16Activations`' order:
/// `w = scale·q − minimum` lane by lane after the integer products.
struct DecodedPair {
    /// 32 int16: A0–15, B0–15.
    var low: SIMD8<Int64>
    /// 32 int16: A16–31, B16–31.
    var high: SIMD8<Int64>
    /// Float scales: block A in lanes 0–7, block B in lanes 8–15.
    var scales: SIMD16<Float>
    /// Minus the minimum: block A in lanes 0–7, B in 8–15 (zero without one).
    var minimums: SIMD16<Float>
}

/// A ggml block type, decoded 64 weights at a time.
protocol PairFormat {
    static var elements: Int { get }
    static var bytes: Int { get }
    static var hasMinimum: Bool { get }
    /// Weights `64·pair ..< 64·pair + 64` of the row at `row`.
    static func decode(_ row: UnsafeRawPointer, pair: Int) -> DecodedPair
}

/// Sign-extends 32 bytes (16 of block A, 16 of block B) to int16 lanes.
@inline(__always) private func widen(_ a: SIMD16<Int8>, _ b: SIMD16<Int8>) -> SIMD8<Int64> {
    _mm512_cvtepi8_epi16(unsafeBitCast(SIMD32(lowHalf: a, highHalf: b), to: SIMD4<Int64>.self))
}

/// Int16 lanes 0–15 times `a`, 16–31 times `b`: a K-quant's integer sub-block scales.
@inline(__always) private func scaled(_ v: SIMD8<Int64>, _ a: Int16, _ b: Int16) -> SIMD8<Int64> {
    _mm512_mullo_epi16(v, _mm512_mask_blend_epi16(0xFFFF_0000, _mm512_set1_epi16(a), _mm512_set1_epi16(b)))
}

@inline(__always) private func halves(_ a: Float, _ b: Float) -> SIMD16<Float> {
    _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(a), _mm512_set1_ps(b))
}

/// Q8_0: f16 d, 32 × int8; w = d·q.
enum Q8_0Pairs: PairFormat {
    static var elements: Int { 32 }
    static var bytes: Int { 34 }
    static var hasMinimum: Bool { false }
    @inline(__always) static func decode(_ row: UnsafeRawPointer, pair: Int) -> DecodedPair {
        let a = row + pair * 68, b = a + 34
        let load = { (p: UnsafeRawPointer, offset: Int) in p.loadUnaligned(fromByteOffset: offset, as: SIMD16<Int8>.self) }
        return DecodedPair(low: widen(load(a, 2), load(b, 2)), high: widen(load(a, 18), load(b, 18)),
                           scales: halves(halfAt(a, 0), halfAt(b, 0)), minimums: .zero)
    }
}

/// Q5_0: f16 d, u32 of fifth bits, 16 bytes of nibbles (low: weights 0–15, high: 16–31); w = d·(q − 16).
enum Q5_0Pairs: PairFormat {
    static var elements: Int { 32 }
    static var bytes: Int { 22 }
    static var hasMinimum: Bool { false }
    @inline(__always) static func decode(_ row: UnsafeRawPointer, pair: Int) -> DecodedPair {
        let a = row + pair * 44, b = a + 22
        let qa = a.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self), qb = b.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self)
        // Bit k of a block's u32 is the fifth bit of its weight k.
        let ha = a.loadUnaligned(fromByteOffset: 2, as: UInt32.self), hb = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        @inline(__always) func weights(_ nibblesA: SIMD16<UInt8>, _ nibblesB: SIMD16<UInt8>, _ fifth: UInt32) -> SIMD8<Int64> {
            let nibbles = unsafeBitCast(SIMD32(lowHalf: nibblesA, highHalf: nibblesB), to: SIMD4<Int64>.self)
            let q = _mm256_or_si256(nibbles, _mm256_maskz_mov_epi8(fifth, _mm256_set1_epi8(16)))
            return _mm512_cvtepi8_epi16(_mm256_sub_epi8(q, _mm256_set1_epi8(16)))
        }
        return DecodedPair(low: weights(qa & 0x0F, qb & 0x0F, (ha & 0xFFFF) | (hb << 16)),
                           high: weights(qa &>> 4, qb &>> 4, (ha >> 16) | (hb & 0xFFFF_0000)),
                           scales: halves(halfAt(a, 0), halfAt(b, 0)), minimums: .zero)
    }
}

/// Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes; sub-block s: w = d·sc·q − dmin·m.
/// Sub-blocks 2k (A) and 2k+1 (B) are the low and high nibbles of the same 32 bytes. The 6-bit
/// integer scales multiply the int16 weights (|sc·q| ≤ 945), leaving d as the float scale.
enum Q4_KPairs: PairFormat {
    static var elements: Int { 256 }
    static var bytes: Int { 144 }
    static var hasMinimum: Bool { true }
    @inline(__always) static func decode(_ row: UnsafeRawPointer, pair: Int) -> DecodedPair {
        let b = row + (pair / 4) * 144, k = pair % 4
        let qs = b + 16 + k * 32
        let q0 = qs.loadUnaligned(as: SIMD16<UInt8>.self), q1 = qs.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
        let (scA, mA) = Dequantizer.scaleMin(2 * k, b + 4), (scB, mB) = Dequantizer.scaleMin(2 * k + 1, b + 4)
        let (sa, sb) = (Int16(scA), Int16(scB))
        let nibbles = { (v: SIMD16<UInt8>) in unsafeBitCast(v, to: SIMD16<Int8>.self) }
        let dmin = halfAt(b, 2)
        return DecodedPair(low: scaled(widen(nibbles(q0 & 0x0F), nibbles(q0 &>> 4)), sa, sb),
                           high: scaled(widen(nibbles(q1 & 0x0F), nibbles(q1 &>> 4)), sa, sb),
                           scales: SIMD16(repeating: halfAt(b, 0)), minimums: halves(-dmin * mA, -dmin * mB))
    }
}

/// Q6_K: 128 low-nibble bytes, 64 bytes of 2-bit pairs, 16 int8 scales, f16 d last; w = d·sc·(q − 32),
/// one scale per 16 weights. The int8 scales multiply the int16 weights (|sc·(q − 32)| ≤ 4064).
enum Q6_KPairs: PairFormat {
    static var elements: Int { 256 }
    static var bytes: Int { 210 }
    static var hasMinimum: Bool { false }
    @inline(__always) static func decode(_ row: UnsafeRawPointer, pair: Int) -> DecodedPair {
        let b = row + (pair / 4) * 210, k = pair % 4
        // Sub-blocks 2k (A) and 2k+1 (B) of the super-block: half k/2, quarters 2(k%2) and 2(k%2)+1.
        let half = k / 2, quarter = 2 * (k % 2)
        let ql = b + half * 64, qh = b + 128 + half * 32
        var lowA0 = ql.loadUnaligned(as: SIMD16<UInt8>.self), lowA1 = ql.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
        var lowB0 = ql.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self), lowB1 = ql.loadUnaligned(fromByteOffset: 48, as: SIMD16<UInt8>.self)
        if quarter == 0 {
            lowA0 &= 0x0F; lowA1 &= 0x0F; lowB0 &= 0x0F; lowB1 &= 0x0F
        } else {
            lowA0 &>>= 4; lowA1 &>>= 4; lowB0 &>>= 4; lowB1 &>>= 4
        }
        let h0 = qh.loadUnaligned(as: SIMD16<UInt8>.self), h1 = qh.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
        let shiftA = UInt8(2 * quarter), shiftB = UInt8(2 * quarter + 2)
        let q = { (low: SIMD16<UInt8>, high: SIMD16<UInt8>, shift: UInt8) in
            unsafeBitCast((low | ((high &>> shift) & 3) &<< 4) &- 32, to: SIMD16<Int8>.self)
        }
        let s = b + 192 + half * 8 + 2 * quarter
        let scale = { (i: Int) in Int16(s.load(fromByteOffset: i, as: Int8.self)) }
        // Scales: A0–15 s[0], A16–31 s[1], B0–15 s[2], B16–31 s[3].
        return DecodedPair(low: scaled(widen(q(lowA0, h0, shiftA), q(lowB0, h0, shiftB)), scale(0), scale(2)),
                           high: scaled(widen(q(lowA1, h1, shiftA), q(lowB1, h1, shiftB)), scale(1), scale(3)),
                           scales: SIMD16(repeating: halfAt(b, 208)), minimums: .zero)
    }
}
#else
import GGUF

/// Built without AVX-512 VNNI (see Package.swift): every product keeps Float32 activations.
enum IntegerDotKernel {
    static let maximumRows = 0
    static func supports(_ type: GGMLType, inputs: Int) -> Bool { false }
    static func apply(_ type: GGMLType, _ w: UnsafeRawPointer, inputs: Int, outputs: Int, x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        preconditionFailure("built without the integer kernels")
    }
}
#endif

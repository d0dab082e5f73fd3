/// Block dequantization for every supported ggml type, following ggml's reference C code
/// (`dequantize_row_*` in ggml-quants.c) operation for operation so results match it bit for bit.
public enum Dequantizer {
    /// Dequantizes `count` elements (a whole number of blocks) of `type` from `source` into `output`.
    public static func dequantize(_ source: UnsafeRawBufferPointer, type: GGMLType, count: Int,
                                  into output: UnsafeMutablePointer<Float>) {
        precondition(count % type.blockSize == 0 && source.count >= type.byteCount(elements: count)!,
                     "dequantize: \(count) elements of \(type.name) "
                         + "need \(type.byteCount(elements: count) ?? -1) bytes")
        guard count > 0 else { return }
        let src = source.baseAddress!
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            output.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { output[i] = half(src, 2 * i) }
        case .bf16:
            for i in 0..<count {
                output[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .q8_0:
            for b in 0..<blocks { q8_0(src + b * 34, output + b * 32) }
        case .q4_0:
            for b in 0..<blocks { q4_0(src + b * 18, output + b * 32) }
        case .q4_1:
            for b in 0..<blocks { q4_1(src + b * 20, output + b * 32) }
        case .q5_0:
            for b in 0..<blocks { q5_0(src + b * 22, output + b * 32) }
        case .q5_1:
            for b in 0..<blocks { q5_1(src + b * 24, output + b * 32) }
        case .q4_K:
            for b in 0..<blocks { q4_K(src + b * 144, output + b * 256) }
        case .q5_K:
            for b in 0..<blocks { q5_K(src + b * 176, output + b * 256) }
        case .q6_K:
            for b in 0..<blocks { q6_K(src + b * 210, output + b * 256) }
        }
    }

    /// IEEE half at byte `offset` as Float.
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }

    /// Q8_0: f16 d, 32 × int8 q; y = d·q.
    @inline(__always)
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { y[j] = Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// Q4_0: f16 d, 16 bytes of nibbles; low nibbles are elements 0–15, high nibbles 16–31; y = d·(q−8).
    @inline(__always)
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = byte(b, 2 + j)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    /// Q4_1: f16 d, f16 m, 16 bytes of nibbles; y = d·q + m.
    @inline(__always)
    static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            let q = byte(b, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// Q5_0: f16 d, 32 high bits (u32), 16 bytes of nibbles; y = d·(q−16).
    @inline(__always)
    static func q5_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(b, 6 + j)
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float(Int((q & 0x0F) | h0) - 16) * d
            y[j + 16] = Float(Int((q >> 4) | h1) - 16) * d
        }
    }

    /// Q5_1: f16 d, f16 m, 32 high bits, 16 bytes of nibbles; y = d·q + m.
    @inline(__always)
    static func q5_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(b, 8 + j)
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float((q & 0x0F) | h0) * d + m
            y[j + 16] = Float((q >> 4) | h1) * d + m
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0..<8) packed in the 12 scale bytes of Q4_K / Q5_K.
    @inline(__always)
    public static func scaleMin(_ j: Int, _ s: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 {
            return (Float(byte(s, j) & 63), Float(byte(s, j + 4) & 63))
        }
        let sc = (byte(s, j + 4) & 0x0F) | ((byte(s, j - 4) >> 6) << 4)
        let m = (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4)
        return (Float(sc), Float(m))
    }

    /// Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 bytes of nibbles; 8 sub-blocks of 32; y = d·sc·q − dmin·m.
    @inline(__always)
    static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let scales = b + 4
        var q = b + 16
        var out = y
        for j in stride(from: 0, to: 8, by: 2) {
            let (sc1, m1) = scaleMin(j, scales), (sc2, m2) = scaleMin(j + 1, scales)
            let d1 = d * sc1, dm1 = dmin * m1, d2 = d * sc2, dm2 = dmin * m2
            for l in 0..<32 { out[l] = d1 * Float(byte(q, l) & 0x0F) - dm1 }
            for l in 0..<32 { out[32 + l] = d2 * Float(byte(q, l) >> 4) - dm2 }
            q += 32
            out += 64
        }
    }

    /// Q5_K: like Q4_K with a fifth bit per element from 32 bytes of high bits.
    @inline(__always)
    static func q5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let scales = b + 4
        let qh = b + 16
        var ql = b + 48
        var out = y
        var u1: UInt8 = 1, u2: UInt8 = 2
        for j in stride(from: 0, to: 8, by: 2) {
            let (sc1, m1) = scaleMin(j, scales), (sc2, m2) = scaleMin(j + 1, scales)
            let d1 = d * sc1, dm1 = dmin * m1, d2 = d * sc2, dm2 = dmin * m2
            for l in 0..<32 {
                let high: UInt8 = byte(qh, l) & u1 != 0 ? 16 : 0
                out[l] = d1 * Float((byte(ql, l) & 0x0F) + high) - dm1
            }
            for l in 0..<32 {
                let high: UInt8 = byte(qh, l) & u2 != 0 ? 16 : 0
                out[32 + l] = d2 * Float((byte(ql, l) >> 4) + high) - dm2
            }
            ql += 32
            out += 64
            u1 <<= 2
            u2 <<= 2
        }
    }

    /// Q6_K: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, f16 d last; y = d·sc·(q−32).
    @inline(__always)
    static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 208)
        var ql = b, qh = b + 128, sc = b + 192
        var out = y
        for _ in 0..<2 {
            for l in 0..<32 {
                let i = l / 16
                let h = byte(qh, l)
                let q1 = Int((byte(ql, l) & 0x0F) | ((h & 3) << 4)) - 32
                let q2 = Int((byte(ql, l + 32) & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                let q3 = Int((byte(ql, l) >> 4) | (((h >> 4) & 3) << 4)) - 32
                let q4 = Int((byte(ql, l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32
                out[l] = d * Float(sc.load(fromByteOffset: i, as: Int8.self)) * Float(q1)
                out[l + 32] = d * Float(sc.load(fromByteOffset: i + 2, as: Int8.self)) * Float(q2)
                out[l + 64] = d * Float(sc.load(fromByteOffset: i + 4, as: Int8.self)) * Float(q3)
                out[l + 96] = d * Float(sc.load(fromByteOffset: i + 6, as: Int8.self)) * Float(q4)
            }
            out += 128
            ql += 64
            qh += 32
            sc += 8
        }
    }
}

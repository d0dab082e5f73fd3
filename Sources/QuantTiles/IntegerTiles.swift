import Dispatch
import GGUF
import Parallel

/// A quantized matrix repacked once, at load, for the integer dot-product kernels (AVX2 `vpmaddwd`,
/// AVX-512 VNNI `vpdpwssd`): tiles of 16 outputs × one sub-block of inputs (32 weights, or 16 for
/// Q6_K, whose scales are per 16).
///
/// Each tile holds the 16 outputs' scales, for Q4_K their minimums, then the integer weights as
/// 8-bit pairs: pair k of output o at byte `32·k + 2·o`. Sign-extended, one pair slice is one
/// 512-bit register of 16 int16 pairs whose lane o belongs to output o (or two 256-bit registers of
/// 8), so one `vpdpwssd` against a broadcast pair of activations adds 32 products into 16 outputs,
/// and no sums across lanes are ever needed. The repacking is exact: `scale·q − minimum` is
/// `Dequantizer`'s weight (for K-quants the integer sub-block scale is folded into the float scale,
/// as `Dequantizer` computes it). Q8_0 and Q5_0 keep the file's half-precision scales (exactly the
/// file's values, in half the bytes); K-quant scales, products of two file values, are Float32.
/// Q4_K weights (0…15) are nibbles: byte `32·k + 2·o + j` holds pair slice k's weight j in its low
/// nibble and slice k + 8's in its high one, so one 32-byte load yields two slices.
///
/// It costs 1.06 bytes per weight (1.25 for Q6_K, 0.75 for Q4_K) against 0.56–1.06 in the file;
/// the decode it saves is worth more than the bytes at every batch size measured
/// (`tandem bench --projections`).
public final class IntegerTiles: @unchecked Sendable {
    public let inputs: Int
    public let outputs: Int
    /// Inputs per tile: 32, or 16 for Q6_K.
    public let tileInputs: Int
    /// Whether tiles hold minimums (Q4_K): `weight = scale·q − minimum`.
    public let hasMinimum: Bool
    /// Whether scales are Float16 (Q8_0, Q5_0: the file's own) rather than Float32 (K-quants): the
    /// 32-input tiles without minimums, the layout the kernels read as `Pairs16`.
    @inlinable public var halfScales: Bool { tileInputs == 32 && !hasMinimum }
    /// Whether weights are nibbles, two pair slices per 32 bytes (Q4_K; always with minimums).
    @inlinable public var packedNibbles: Bool { hasMinimum }
    public let tileBytes: Int
    public let base: UnsafeMutableRawPointer

    /// Bytes before a tile's weights: 16 scales, then 16 minimums when there are any.
    @inlinable public var weightOffset: Int { Self.headerBytes(tileInputs: tileInputs, hasMinimum: hasMinimum) }

    /// Half-precision scales for 32-input tiles without minimums, else Float32 scales and minimums.
    @inlinable @usableFromInline static func headerBytes(tileInputs: Int, hasMinimum: Bool) -> Int {
        tileInputs == 32 && !hasMinimum ? 32 : hasMinimum ? 128 : 64
    }
    @inlinable public var groups: Int { outputs / 16 }
    @inlinable public var tilesPerGroup: Int { inputs / tileInputs }

    /// Whether a matrix of this type and shape can be repacked.
    public static func supports(_ type: GGMLType, inputs: Int, outputs: Int) -> Bool {
        guard outputs % 16 == 0, inputs > 0 else { return false }
        switch type {
        case .q8_0, .q5_0: return inputs % 32 == 0
        case .q4_K, .q6_K: return inputs % 256 == 0
        default: return false
        }
    }

    /// Repacks the blocks of `type` (rows of `inputs`, `outputs` rows) using every core. `repacked` is
    /// told each stretch of `blocks` (start, bytes) once its rows are in tiles, so the caller can let
    /// the file's pages go while the rest is repacked (else a large matrix is resident twice at load).
    public init(_ type: GGMLType, _ blocks: UnsafeRawPointer, inputs: Int, outputs: Int,
                repacked: (@Sendable (UnsafeRawPointer, Int) -> Void)? = nil) {
        precondition(Self.supports(type, inputs: inputs, outputs: outputs))
        self.inputs = inputs
        self.outputs = outputs
        tileInputs = type == .q6_K ? 16 : 32
        hasMinimum = type == .q4_K
        let weightBytes = tileInputs * (hasMinimum ? 8 : 16)
        tileBytes = Self.headerBytes(tileInputs: tileInputs, hasMinimum: hasMinimum) + weightBytes
        base = .allocate(byteCount: outputs / 16 * (inputs / tileInputs) * tileBytes, alignment: 64)
        let rowBytes = inputs / type.blockSize * type.blockBytes
        let groups = outputs / 16, parts = min(groups, 64)
        let shared = UnsafeShared((self, blocks))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let (tiles, blocks) = shared.value
            var decoded = DecodedRow(inputs: inputs, tileInputs: tiles.tileInputs)
            let range = groups * part / parts..<groups * (part + 1) / parts
            for g in range {
                for lane in 0..<16 {
                    decoded.decode(type, blocks + (g * 16 + lane) * rowBytes)
                    tiles.store(decoded, group: g, lane: lane)
                }
            }
            repacked?(blocks + range.lowerBound * 16 * rowBytes, range.count * 16 * rowBytes)
        }
    }

    deinit { base.deallocate() }

    /// `groups` cut into stretches of about 128 KB of tiles each, which stay in a core's cache while
    /// every row of a batch passes over them.
    @inlinable public func cacheSizedStretches(of groups: Range<Int>) -> LazyMapSequence<StrideTo<Int>, Range<Int>> {
        let size = max(1, (1 << 17) / (tilesPerGroup * tileBytes))
        return stride(from: groups.lowerBound, to: groups.upperBound, by: size).lazy.map {
            $0..<min($0 + size, groups.upperBound)
        }
    }

    /// Output `lane`'s scale in `tile`.
    @inlinable @inline(__always) public func scale(_ tile: UnsafeRawPointer, lane: Int) -> Float {
        halfScales ? Float(tile.load(fromByteOffset: 2 * lane, as: Float16.self))
                   : tile.load(fromByteOffset: 4 * lane, as: Float.self)
    }

    /// Tile `t` of output group `g`.
    @inlinable @inline(__always) public func tile(group g: Int, _ t: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(base + (g * tilesPerGroup + t) * tileBytes)
    }

    private func store(_ row: DecodedRow, group g: Int, lane: Int) {
        for t in 0..<tilesPerGroup {
            let tile = base + (g * tilesPerGroup + t) * tileBytes
            if halfScales {
                tile.storeBytes(of: Float16(row.scales[t]), toByteOffset: 2 * lane, as: Float16.self)
            } else {
                tile.storeBytes(of: row.scales[t], toByteOffset: 4 * lane, as: Float.self)
            }
            if hasMinimum { tile.storeBytes(of: -row.minimums[t], toByteOffset: 64 + 4 * lane, as: Float.self) }
            let weights = tile + weightOffset
            if packedNibbles {
                for k in 0..<tileInputs / 4 {
                    for j in 0..<2 {
                        let low = UInt8(row.q[t * tileInputs + 2 * k + j])
                        let high = UInt8(row.q[t * tileInputs + 2 * k + 16 + j])
                        weights.storeBytes(of: low | high << 4, toByteOffset: 32 * k + 2 * lane + j, as: UInt8.self)
                    }
                }
                continue
            }
            for k in 0..<tileInputs / 2 {
                weights.storeBytes(of: row.q[t * tileInputs + 2 * k], toByteOffset: 32 * k + 2 * lane, as: Int8.self)
                weights.storeBytes(of: row.q[t * tileInputs + 2 * k + 1], toByteOffset: 32 * k + 2 * lane + 1,
                                   as: Int8.self)
            }
        }
    }
}

/// One output row decoded to integers: weight i = `scales[i / tileInputs]·q[i] − minimums[...]`.
private struct DecodedRow {
    var q: [Int8]
    var scales: [Float]
    var minimums: [Float]

    init(inputs: Int, tileInputs: Int) {
        q = [Int8](repeating: 0, count: inputs)
        scales = [Float](repeating: 0, count: inputs / tileInputs)
        minimums = scales
    }

    mutating func decode(_ type: GGMLType, _ row: UnsafeRawPointer) {
        let byte = { (p: UnsafeRawPointer, i: Int) in p.load(fromByteOffset: i, as: UInt8.self) }
        let half = { (p: UnsafeRawPointer, i: Int) in
            Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: i, as: UInt16.self)))
        }
        switch type {
        case .q8_0:
            for b in 0..<q.count / 32 {
                let block = row + b * 34
                scales[b] = half(block, 0)
                for i in 0..<32 { q[b * 32 + i] = block.load(fromByteOffset: 2 + i, as: Int8.self) }
            }
        case .q5_0:
            for b in 0..<q.count / 32 {
                let block = row + b * 22
                scales[b] = half(block, 0)
                let high = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                for j in 0..<16 {
                    let nibbles = byte(block, 6 + j)
                    q[b * 32 + j] = Int8(Int(nibbles & 0x0F) | Int((high >> UInt32(j)) & 1) << 4) - 16
                    q[b * 32 + j + 16] = Int8(Int(nibbles >> 4) | Int((high >> UInt32(j + 16)) & 1) << 4) - 16
                }
            }
        case .q4_K:
            for s in 0..<q.count / 256 {
                let block = row + s * 144
                let d = half(block, 0), dmin = half(block, 2)
                for pair in 0..<4 {
                    let nibbles = block + 16 + 32 * pair
                    for half in 0..<2 {
                        let sub = 2 * pair + half
                        let (sc, m) = Dequantizer.scaleMin(sub, block + 4)
                        scales[s * 8 + sub] = d * sc
                        minimums[s * 8 + sub] = dmin * m
                        for l in 0..<32 {
                            q[s * 256 + sub * 32 + l] = Int8(half == 0 ? byte(nibbles, l) & 0x0F
                                                                       : byte(nibbles, l) >> 4)
                        }
                    }
                }
            }
        case .q6_K:
            for s in 0..<q.count / 256 {
                let block = row + s * 210
                let d = half(block, 208)
                for e in 0..<256 {
                    // Element e: half n, quarter (which nibble / 2-bit field), position l in 0..<32.
                    let n = e / 128, quarter = (e % 128) / 32, l = e % 32
                    let low = byte(block, n * 64 + l + (quarter % 2) * 32)
                    let nibble = quarter < 2 ? low & 0x0F : low >> 4
                    let high = (byte(block, 128 + n * 32 + l) >> UInt8(2 * quarter)) & 3
                    q[s * 256 + e] = Int8(nibble | high << 4) - 32
                }
                for sub in 0..<16 {
                    let e = sub * 16, n = e / 128, quarter = (e % 128) / 32, l = e % 32
                    scales[s * 16 + sub] = d * Float(block.load(fromByteOffset: 192 + n * 8 + quarter * 2 + l / 16,
                                                                as: Int8.self))
                }
            }
        default:
            preconditionFailure("no integer tiles for \(type.name)")
        }
    }
}

extension IntegerTiles {
    /// Row `o` of the weights as Float32 (`inputs` values), e.g. one token's embedding: read from the
    /// tiles, so the file's pages of a repacked matrix are never faulted back in.
    public func row(_ o: Int, into out: UnsafeMutablePointer<Float>) {
        let g = o / 16, lane = o % 16, offset = weightOffset
        for t in 0..<tilesPerGroup {
            let tile = self.tile(group: g, t)
            let scale = self.scale(tile, lane: lane)
            let minimum = hasMinimum ? tile.load(fromByteOffset: 64 + 4 * lane, as: Float.self) : 0
            let row = out + t * tileInputs
            for k in 0..<tileInputs / 2 {
                // Q4_K: slice k is in the low nibbles of slice k mod 8's bytes for k < 8, else the high.
                let q = packedNibbles
                    ? SIMD2<Int8>(truncatingIfNeeded: tile.load(fromByteOffset: offset + 32 * (k % 8) + 2 * lane,
                                                               as: SIMD2<UInt8>.self) &>> UInt8(k < 8 ? 0 : 4) & 0x0F)
                    : tile.load(fromByteOffset: offset + 32 * k + 2 * lane, as: SIMD2<Int8>.self)
                row[2 * k] = scale * Float(q.x) + minimum
                row[2 * k + 1] = scale * Float(q.y) + minimum
            }
        }
    }
}

import _Builtin_intrinsics.intel
import GGUF
import Parallel
import QuantTiles

/// `y[rows × outputs] = x[rows × inputs] · Wᵀ` with 16-bit integer activations and AVX2 integer dot
/// products (`vpmaddwd`: 16 int16 products summed in pairs into 8 int32 lanes), for CPUs without
/// AVX-512. The AVX-VNNI path builds this file too, with `vpdpwssd` on 8 lanes in place of
/// `vpmaddwd` and its add.
///
/// The weights are `IntegerTiles` (16 outputs × 32 inputs per tile), read one half of 8 outputs at
/// a time: per pair of inputs, one sign-extending load of 8 outputs' weights serves up to 4 rows,
/// each one `vpmaddwd` against a broadcast pair of activations and one add. Even and odd slices sum
/// apart, so each row has two short chains of additions (a `vpdpwssd` adds in place, and one chain
/// would wait on each). Per tile and row, one conversion and one FMA fold the integer sums into
/// Float32 with the scales.
public enum IntegerDotKernel: TileKernel {
    /// `i + Σ pairs of w·x` in 8 int32 lanes: one `vpdpwssd` with AVX-VNNI; `vpmaddwd` and an add without.
    @inline(__always)
    static func dot(_ i: SIMD4<Int64>, _ w: SIMD4<Int64>, _ x: SIMD4<Int64>) -> SIMD4<Int64> {
        #if TANDEM_AVX_VNNI
        _mm256_dpwssd_avx_epi32(i, w, x)
        #else
        _mm256_add_epi32(i, _mm256_madd_epi16(w, x))
        #endif
    }

    /// Output groups `groups` of one product, every row (`IntegerProduct` rounds `x` and splits the
    /// groups across the cores).
    public static func run(_ tiles: IntegerTiles, groups: Range<Int>, x: Int16Activations,
                           y: UnsafeMutablePointer<Float>) {
        switch (tiles.tileInputs, tiles.hasMinimum) {
        case (16, _): run(Pairs8.self, tiles, groups: groups, x: x, y: y)
        case (_, true): run(Pairs16WithMinimum.self, tiles, groups: groups, x: x, y: y)
        default: run(Pairs16.self, tiles, groups: groups, x: x, y: y)
        }
    }

    /// Output groups `groups` of one product, every row, in groups of 4, 2 and 1 rows (each size its
    /// own specialisation, accumulators in registers).
    static func run<L: TileLayout>(_: L.Type, _ tiles: IntegerTiles, groups: Range<Int>, x: Int16Activations,
                                   y: UnsafeMutablePointer<Float>) {
        // Every row's pass over a cache-sized stretch of output groups before the next stretch: the
        // weights come from memory once per product, not once per group of rows.
        for stretch in tiles.cacheSizedStretches(of: groups) {
            var first = 0
            for size in [4, 2, 1] {
                while x.rows - first >= size {
                    switch size {
                    case 4: kernel(L.self, Rows4.self, tiles, groups: stretch, x: x, first: first, y: y)
                    case 2: kernel(L.self, Rows2.self, tiles, groups: stretch, x: x, first: first, y: y)
                    default: kernel(L.self, Rows1.self, tiles, groups: stretch, x: x, first: first, y: y)
                    }
                    first += size
                }
            }
        }
    }

    /// For each output group, half and tile: per row, `Σ q_x·q_w` in 8 int32 lanes (one per output),
    /// then `acc += lanes · (scale_w · dx)` and, with a minimum, `acc += −min_w · dx·Σq_x`.
    @inline(__always)
    static func kernel<L: TileLayout, R: RowCount>(_: L.Type, _: R.Type, _ tiles: IntegerTiles, groups: Range<Int>,
                                                   x: Int16Activations, first: Int, y: UnsafeMutablePointer<Float>) {
        let rows = R.value, inputs = x.inputs, blocks = x.blocks, outputs = tiles.outputs
        let tileInputs = L.pairs * 2, weightOffset = tiles.weightOffset
        let values = UnsafeRawPointer(x.values + first * inputs), rowBytes = inputs * 2
        let scales = x.scales + first * blocks
        let sums = L.hasMinimum ? x.sums! + first * blocks : x.scales
        for g in groups {
            for half in 0..<2 {
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                for t in 0..<tiles.tilesPerGroup {
                    let tile = tiles.tile(group: g, t)
                    let s = L.halfScales ? _mm256_cvtph_ps(tile.load(fromByteOffset: 16 * half, as: SIMD2<Int64>.self))
                                         : tile.load(fromByteOffset: 32 * half, as: SIMD8<Float>.self)
                    let w = tile + weightOffset + 16 * half
                    let p = values + t * tileInputs * 2
                    @inline(__always) func pair(_ r: Int, _ k: Int) -> SIMD4<Int64> {
                        _mm256_set1_epi32(p.load(fromByteOffset: r * rowBytes + 4 * k, as: Int32.self))
                    }
                    var i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0
                    var j0 = i0, j1 = i0, j2 = i0, j3 = i0
                    @inline(__always) func add(_ k: Int, _ wk: SIMD4<Int64>) {
                        i0 = dot(i0, wk, pair(0, k))
                        if rows > 1 { i1 = dot(i1, wk, pair(1, k)) }
                        if rows > 2 { i2 = dot(i2, wk, pair(2, k)) }
                        if rows > 3 { i3 = dot(i3, wk, pair(3, k)) }
                    }
                    @inline(__always) func addOther(_ k: Int, _ wk: SIMD4<Int64>) {
                        j0 = dot(j0, wk, pair(0, k))
                        if rows > 1 { j1 = dot(j1, wk, pair(1, k)) }
                        if rows > 2 { j2 = dot(j2, wk, pair(2, k)) }
                        if rows > 3 { j3 = dot(j3, wk, pair(3, k)) }
                    }
                    if L.hasMinimum {
                        // Nibbles (Q4_K): one load holds slices k (low) and k + 8 (high).
                        let low = _mm_set1_epi8(0x0F)
                        for k in 0..<L.pairs / 2 {
                            let b = w.load(fromByteOffset: 32 * k, as: SIMD2<Int64>.self)
                            add(k, _mm256_cvtepu8_epi16(_mm_and_si128(b, low)))
                            addOther(k + 8, _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(b, 4), low)))
                        }
                    } else {
                        for k in stride(from: 0, to: L.pairs, by: 2) {
                            add(k, _mm256_cvtepi8_epi16(w.load(fromByteOffset: 32 * k, as: SIMD2<Int64>.self)))
                            addOther(k + 1, _mm256_cvtepi8_epi16(w.load(fromByteOffset: 32 * k + 32,
                                                                          as: SIMD2<Int64>.self)))
                        }
                    }
                    i0 = _mm256_add_epi32(i0, j0)
                    if rows > 1 { i1 = _mm256_add_epi32(i1, j1) }
                    if rows > 2 { i2 = _mm256_add_epi32(i2, j2) }
                    if rows > 3 { i3 = _mm256_add_epi32(i3, j3) }
                    let block = t * tileInputs / 32
                    let m = L.hasMinimum ? tile.load(fromByteOffset: 64 + 32 * half, as: SIMD8<Float>.self)
                                         : SIMD8<Float>()
                    @inline(__always) func fold(_ acc: inout SIMD8<Float>, _ i: SIMD4<Int64>, _ r: Int) {
                        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), s * scales[r * blocks + block], acc)
                        if L.hasMinimum { acc = _mm256_fmadd_ps(m, SIMD8(repeating: sums[r * blocks + block]), acc) }
                    }
                    fold(&a0, i0, 0)
                    if rows > 1 { fold(&a1, i1, 1) }
                    if rows > 2 { fold(&a2, i2, 2) }
                    if rows > 3 { fold(&a3, i3, 3) }
                }
                let out = UnsafeMutableRawPointer(y + first * outputs + g * 16 + 8 * half), stride = outputs * 4
                out.storeBytes(of: a0, as: SIMD8<Float>.self)
                if rows > 1 { out.storeBytes(of: a1, toByteOffset: stride, as: SIMD8<Float>.self) }
                if rows > 2 { out.storeBytes(of: a2, toByteOffset: 2 * stride, as: SIMD8<Float>.self) }
                if rows > 3 { out.storeBytes(of: a3, toByteOffset: 3 * stride, as: SIMD8<Float>.self) }
            }
        }
    }
}

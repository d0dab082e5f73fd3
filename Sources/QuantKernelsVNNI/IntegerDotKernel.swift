import _Builtin_intrinsics.intel
import GGUF
import Parallel
import QuantTiles

/// `y[rows × outputs] = x[rows × inputs] · Wᵀ` with 16-bit integer activations and integer dot
/// products (AVX-512 VNNI `vpdpwssd`: 32 int16 products summed in pairs per instruction). The
/// AVX-512 path without VNNI builds this file too, with `vpmaddwd` and an add in its place.
///
/// The weights are `IntegerTiles`: 16 outputs × 32 inputs per tile. Each of a tile's 16 weight
/// registers is sign-extended once and used for up to 8 rows held in registers. Per row and tile: 16
/// `vpdpwssd`, each against one broadcast pair of activations (folded into the instruction as a
/// memory operand), then one conversion, one multiply of scales and one FMA — 512 products for 19
/// instructions, and 16 finished outputs at the end with no sums across lanes.
public enum IntegerDotKernel: TileKernel {
    /// `i + Σ pairs of w·x` in 16 int32 lanes: one `vpdpwssd` with VNNI; `vpmaddwd` and an add without.
    @inline(__always)
    static func dot(_ i: SIMD8<Int64>, _ w: SIMD8<Int64>, _ x: SIMD8<Int64>) -> SIMD8<Int64> {
        #if TANDEM_VNNI
        _mm512_dpwssd_epi32(i, w, x)
        #else
        _mm512_add_epi32(i, _mm512_madd_epi16(w, x))
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

    /// Output groups `groups` of one product, every row.
    static func run<L: TileLayout>(_: L.Type, _ tiles: IntegerTiles, groups: Range<Int>, x: Int16Activations,
                                   y: UnsafeMutablePointer<Float>) {
        // A stretch of output groups small enough to stay in cache serves every row before the next
        // is read: the weights come from memory once per product, not once per group of rows.
        for stretch in tiles.cacheSizedStretches(of: groups) {
            // Groups of 8, 4, 2 and 1 rows: each size is its own specialisation, with its
            // accumulators in registers and no per-row branches.
            var first = 0
            for size in [8, 4, 2, 1] {
                while x.rows - first >= size {
                    switch size {
                    case 8: kernel(L.self, Rows8.self, tiles, groups: stretch, x: x, first: first, y: y)
                    case 4: kernel(L.self, Rows4.self, tiles, groups: stretch, x: x, first: first, y: y)
                    case 2: kernel(L.self, Rows2.self, tiles, groups: stretch, x: x, first: first, y: y)
                    default: kernel(L.self, Rows1.self, tiles, groups: stretch, x: x, first: first, y: y)
                    }
                    first += size
                }
            }
        }
    }

    /// For each output group and tile: per row, `Σ q_x·q_w` in 16 int32 lanes (one per output),
    /// then `acc += lanes · (scale_w · dx)` and, with a minimum, `acc += −min_w · dx·Σq_x`.
    /// Pairs are the outer loop and rows the inner one, so each sign-extended weight register serves
    /// every row at once and the rows' sums are independent chains the core overlaps.
    @inline(__always)
    static func kernel<L: TileLayout, R: RowCount>(_: L.Type, _: R.Type, _ tiles: IntegerTiles, groups: Range<Int>,
                                                   x: Int16Activations, first: Int, y: UnsafeMutablePointer<Float>) {
        let rows = R.value, inputs = x.inputs, blocks = x.blocks, outputs = tiles.outputs
        let tileInputs = L.pairs * 2, weightOffset = tiles.weightOffset
        let values = UnsafeRawPointer(x.values + first * inputs), rowBytes = inputs * 2
        let scales = x.scales + first * blocks
        let sums = L.hasMinimum ? x.sums! + first * blocks : x.scales
        for g in groups {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            for t in 0..<tiles.tilesPerGroup {
                let tile = tiles.tile(group: g, t)
                let p = values + t * tileInputs * 2
                @inline(__always) func pair(_ r: Int, _ k: Int) -> SIMD8<Int64> {
                    _mm512_set1_epi32(p.load(fromByteOffset: r * rowBytes + 4 * k, as: Int32.self))
                }
                var i0 = _mm512_setzero_si512(), i1 = i0, i2 = i0, i3 = i0, i4 = i0, i5 = i0, i6 = i0, i7 = i0
                /// Slice k's products into each row's sum; up to 4 rows, odd slices go to a second
                /// sum per row, halving each chain.
                @inline(__always) func add(_ k: Int, _ w: SIMD8<Int64>) {
                    if rows <= 4 && k % 2 == 1 {
                        i4 = dot(i4, w, pair(0, k))
                        if rows > 1 { i5 = dot(i5, w, pair(1, k)) }
                        if rows > 2 { i6 = dot(i6, w, pair(2, k)) }
                        if rows > 3 { i7 = dot(i7, w, pair(3, k)) }
                        return
                    }
                    i0 = dot(i0, w, pair(0, k))
                    if rows > 1 { i1 = dot(i1, w, pair(1, k)) }
                    if rows > 2 { i2 = dot(i2, w, pair(2, k)) }
                    if rows > 3 { i3 = dot(i3, w, pair(3, k)) }
                    if rows > 4 { i4 = dot(i4, w, pair(4, k)) }
                    if rows > 5 { i5 = dot(i5, w, pair(5, k)) }
                    if rows > 6 { i6 = dot(i6, w, pair(6, k)) }
                    if rows > 7 { i7 = dot(i7, w, pair(7, k)) }
                }
                if L.hasMinimum {
                    // Nibbles (Q4_K): one load holds slices k (low) and k + 8 (high).
                    let low = _mm256_set1_epi8(0x0F)
                    for k in 0..<L.pairs / 2 {
                        let b = tile.load(fromByteOffset: weightOffset + 32 * k, as: SIMD4<Int64>.self)
                        add(k, _mm512_cvtepu8_epi16(_mm256_and_si256(b, low)))
                        add(k + 8, _mm512_cvtepu8_epi16(_mm256_and_si256(_mm256_srli_epi16(b, 4), low)))
                    }
                } else {
                    for k in 0..<L.pairs {
                        add(k, _mm512_cvtepi8_epi16(tile.load(fromByteOffset: weightOffset + 32 * k,
                                                              as: SIMD4<Int64>.self)))
                    }
                }
                if rows <= 4 {
                    i0 = _mm512_add_epi32(i0, i4)
                    if rows > 1 { i1 = _mm512_add_epi32(i1, i5) }
                    if rows > 2 { i2 = _mm512_add_epi32(i2, i6) }
                    if rows > 3 { i3 = _mm512_add_epi32(i3, i7) }
                }
                let s = L.halfScales ? _mm512_cvtph_ps(tile.load(as: SIMD4<Int64>.self))
                                     : tile.load(as: SIMD16<Float>.self)
                let m = L.hasMinimum ? tile.load(fromByteOffset: 64, as: SIMD16<Float>.self) : SIMD16<Float>()
                let block = t * tileInputs / 32
                @inline(__always) func fold(_ acc: inout SIMD16<Float>, _ i: SIMD8<Int64>, _ r: Int) {
                    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), s * _mm512_set1_ps(scales[r * blocks + block]), acc)
                    if L.hasMinimum { acc = _mm512_fmadd_ps(m, _mm512_set1_ps(sums[r * blocks + block]), acc) }
                }
                fold(&a0, i0, 0)
                if rows > 1 { fold(&a1, i1, 1) }
                if rows > 2 { fold(&a2, i2, 2) }
                if rows > 3 { fold(&a3, i3, 3) }
                if rows > 4 { fold(&a4, i4, 4) }
                if rows > 5 { fold(&a5, i5, 5) }
                if rows > 6 { fold(&a6, i6, 6) }
                if rows > 7 { fold(&a7, i7, 7) }
            }
            let out = UnsafeMutableRawPointer(y + first * outputs + g * 16), stride = outputs * 4
            out.storeBytes(of: a0, as: SIMD16<Float>.self)
            if rows > 1 { out.storeBytes(of: a1, toByteOffset: stride, as: SIMD16<Float>.self) }
            if rows > 2 { out.storeBytes(of: a2, toByteOffset: 2 * stride, as: SIMD16<Float>.self) }
            if rows > 3 { out.storeBytes(of: a3, toByteOffset: 3 * stride, as: SIMD16<Float>.self) }
            if rows > 4 { out.storeBytes(of: a4, toByteOffset: 4 * stride, as: SIMD16<Float>.self) }
            if rows > 5 { out.storeBytes(of: a5, toByteOffset: 5 * stride, as: SIMD16<Float>.self) }
            if rows > 6 { out.storeBytes(of: a6, toByteOffset: 6 * stride, as: SIMD16<Float>.self) }
            if rows > 7 { out.storeBytes(of: a7, toByteOffset: 7 * stride, as: SIMD16<Float>.self) }
        }
    }
}

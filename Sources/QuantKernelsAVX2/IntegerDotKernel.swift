import _Builtin_intrinsics.intel
import CPrefetch
import GGUF
import Parallel
import QuantTiles

/// `y[rows × outputs] = x[rows × inputs] · Wᵀ` with 16-bit integer activations and AVX2 integer dot
/// products (`vpmaddwd`: 16 int16 products summed in pairs into 8 int32 lanes), for CPUs without
/// AVX-512. The AVX-VNNI path builds this file too, with `vpdpwssd` on 8 lanes in place of
/// `vpmaddwd` and its add.
///
/// The weights are `IntegerTiles` (16 outputs × 32 inputs per tile), read a whole tile at a time:
/// per pair of inputs, two sign-extending loads (outputs 0…7 and 8…15) serve up to 4 rows, each
/// row one broadcast pair of activations and two `vpmaddwd` and adds (so each broadcast serves 16
/// outputs, not 8, and a tile is read in one pass). Each row's two sums are its two chains of
/// additions (a `vpdpwssd` adds in place, and one chain would wait on each). Per tile and row,
/// conversions and FMAs fold the integer sums into Float32 with the scales.
public enum IntegerDotKernel: TileKernel {
    /// How far ahead of the tile being read the first pass over a stretch asks for the weights: with
    /// few rows a product waits on memory, and the hardware prefetcher alone keeps too few lines in
    /// flight (`tandem bench`, bench/README.md). A prefetch past the last tile never faults.
    static let prefetchDistance = 2048
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

    /// For each output group and tile: per row, `Σ q_x·q_w` in two registers of 8 int32 lanes (one
    /// lane per output, both halves of the group at once, so each broadcast pair of activations
    /// serves 16 outputs), then `y += lanes · (scale_w · dx)` and, with a minimum,
    /// `y += −min_w · dx·Σq_x`. The float sums live in `y` (a load and a store per tile and row),
    /// which leaves the 16 registers to the 8 integer sums, the weights and the broadcasts.
    @inline(__always)
    static func kernel<L: TileLayout, R: RowCount>(_: L.Type, _: R.Type, _ tiles: IntegerTiles, groups: Range<Int>,
                                                   x: Int16Activations, first: Int, y: UnsafeMutablePointer<Float>) {
        let rows = R.value, inputs = x.inputs, blocks = x.blocks, outputs = tiles.outputs
        let tileInputs = L.pairs * 2, weightOffset = tiles.weightOffset, tileBytes = tiles.tileBytes
        let values = UnsafeRawPointer(x.values + first * inputs), rowBytes = inputs * 2
        let scales = x.scales + first * blocks
        let sums = L.hasMinimum ? x.sums! + first * blocks : x.scales
        for g in groups {
            let out = UnsafeMutableRawPointer(y + first * outputs + g * 16), stride = outputs * 4
            for r in 0..<rows {
                out.storeBytes(of: SIMD8<Float>(), toByteOffset: r * stride, as: SIMD8<Float>.self)
                out.storeBytes(of: SIMD8<Float>(), toByteOffset: r * stride + 32, as: SIMD8<Float>.self)
            }
            for t in 0..<tiles.tilesPerGroup {
                let tile = tiles.tile(group: g, t)
                // The first rows' pass reads the stretch from memory; the other rows find it in the cache.
                if first == 0 {
                    for line in Swift.stride(from: 0, to: tileBytes, by: 64) {
                        tandem_prefetch(tile + prefetchDistance + line)
                    }
                }
                let w = tile + weightOffset
                let p = values + t * tileInputs * 2
                @inline(__always) func pair(_ r: Int, _ k: Int) -> SIMD4<Int64> {
                    _mm256_set1_epi32(p.load(fromByteOffset: r * rowBytes + 4 * k, as: Int32.self))
                }
                var i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0
                var j0 = i0, j1 = i0, j2 = i0, j3 = i0
                /// Pair slice `k` of outputs 0…7 (`low`) and 8…15 (`high`) into every row's sums.
                @inline(__always) func add(_ k: Int, _ low: SIMD4<Int64>, _ high: SIMD4<Int64>) {
                    let x0 = pair(0, k)
                    i0 = dot(i0, low, x0)
                    j0 = dot(j0, high, x0)
                    if rows > 1 { let x1 = pair(1, k); i1 = dot(i1, low, x1); j1 = dot(j1, high, x1) }
                    if rows > 2 { let x2 = pair(2, k); i2 = dot(i2, low, x2); j2 = dot(j2, high, x2) }
                    if rows > 3 { let x3 = pair(3, k); i3 = dot(i3, low, x3); j3 = dot(j3, high, x3) }
                }
                if L.hasMinimum {
                    // Nibbles (Q4_K): one load of 8 outputs holds slices k (low) and k + 8 (high).
                    let mask = _mm_set1_epi8(0x0F)
                    for k in 0..<L.pairs / 2 {
                        let b0 = w.load(fromByteOffset: 32 * k, as: SIMD2<Int64>.self)
                        let b1 = w.load(fromByteOffset: 32 * k + 16, as: SIMD2<Int64>.self)
                        add(k, _mm256_cvtepu8_epi16(_mm_and_si128(b0, mask)),
                            _mm256_cvtepu8_epi16(_mm_and_si128(b1, mask)))
                        add(k + 8, _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(b0, 4), mask)),
                            _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(b1, 4), mask)))
                    }
                } else {
                    for k in 0..<L.pairs {
                        add(k, _mm256_cvtepi8_epi16(w.load(fromByteOffset: 32 * k, as: SIMD2<Int64>.self)),
                            _mm256_cvtepi8_epi16(w.load(fromByteOffset: 32 * k + 16, as: SIMD2<Int64>.self)))
                    }
                }
                let block = t * tileInputs / 32
                let s0 = L.halfScales ? _mm256_cvtph_ps(tile.load(as: SIMD2<Int64>.self))
                                      : tile.load(as: SIMD8<Float>.self)
                let s1 = L.halfScales ? _mm256_cvtph_ps(tile.load(fromByteOffset: 16, as: SIMD2<Int64>.self))
                                      : tile.load(fromByteOffset: 32, as: SIMD8<Float>.self)
                let m0 = L.hasMinimum ? tile.load(fromByteOffset: 64, as: SIMD8<Float>.self) : SIMD8<Float>()
                let m1 = L.hasMinimum ? tile.load(fromByteOffset: 96, as: SIMD8<Float>.self) : SIMD8<Float>()
                @inline(__always) func fold(_ low: SIMD4<Int64>, _ high: SIMD4<Int64>, _ r: Int) {
                    let dx = SIMD8<Float>(repeating: scales[r * blocks + block])
                    var a0 = out.loadUnaligned(fromByteOffset: r * stride, as: SIMD8<Float>.self)
                    var a1 = out.loadUnaligned(fromByteOffset: r * stride + 32, as: SIMD8<Float>.self)
                    a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(low), s0 * dx, a0)
                    a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(high), s1 * dx, a1)
                    if L.hasMinimum {
                        let sum = SIMD8<Float>(repeating: sums[r * blocks + block])
                        a0 = _mm256_fmadd_ps(m0, sum, a0)
                        a1 = _mm256_fmadd_ps(m1, sum, a1)
                    }
                    out.storeBytes(of: a0, toByteOffset: r * stride, as: SIMD8<Float>.self)
                    out.storeBytes(of: a1, toByteOffset: r * stride + 32, as: SIMD8<Float>.self)
                }
                fold(i0, j0, 0)
                if rows > 1 { fold(i1, j1, 1) }
                if rows > 2 { fold(i2, j2, 2) }
                if rows > 3 { fold(i3, j3, 3) }
            }
        }
    }
}

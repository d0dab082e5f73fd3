/// Keys and values of one sequence: per layer, a table of pages from a shared `KVPagePool`.
///
/// Positions `p` of layer `l` live in page `pages[l][p / pageSize]`, row `p % pageSize`. Sliding-
/// window layers give back pages that fell out of their window, so a long sequence holds only
/// about `window / pageSize` pages on those layers (their table entries become -1). Leading pages
/// may be adopted from the prefix cache; pages are released when the cache is freed.
public final class KVCache: @unchecked Sendable {
    public let layerCount: Int
    public let kvDim: Int
    public let maxPositions: Int
    public let pool: KVPagePool
    /// Number of positions written (the next row must be at this position).
    public private(set) var count = 0
    /// Per layer: the sliding window in positions, or nil for full attention.
    let windows: [Int?]
    /// Per layer: page ids by page index; -1 for a page given back (out of the window).
    private(set) var pages: [[Int32]]
    let pageShift: Int

    /// A cache drawing pages from `pool`.
    public init(layerCount: Int, kvDim: Int, maxPositions: Int, windows: [Int?], pool: KVPagePool) {
        precondition(pool.kvDim == kvDim && windows.count == layerCount)
        self.layerCount = layerCount
        self.kvDim = kvDim
        self.maxPositions = maxPositions
        self.windows = windows
        self.pool = pool
        pages = Array(repeating: [], count: layerCount)
        pageShift = pool.pageSize.trailingZeroBitCount
    }

    deinit {
        for table in pages { for page in table where page >= 0 { pool.release(page) } }
    }

    public var pageSize: Int { pool.pageSize }

    /// The most pages a sequence of `positions` positions ever holds at once when it runs in chunks
    /// of at most `chunk` rows: every page on full-attention layers, on sliding layers the window
    /// plus one chunk (rows of a chunk look back a whole window) plus the partial pages at each end.
    public static func worstCasePages(positions: Int, chunk: Int, pageSize: Int, windows: [Int?]) -> Int {
        let all = (positions + pageSize - 1) / pageSize
        return windows.reduce(0) { total, window in
            guard let window else { return total + all }
            return total + min(all, (window + chunk + pageSize - 1) / pageSize + 1)
        }
    }

    /// Makes room for positions `count..<n` (the rows about to run) and gives back sliding-window
    /// pages that no row from `count` on can see. Throws when `n` exceeds `maxPositions` or the pool
    /// has no page left.
    func reserve(_ n: Int) throws {
        guard n <= maxPositions else { throw ModelError.contextFull(position: n - 1, capacity: maxPositions) }
        let needed = (n + pool.pageSize - 1) >> pageShift
        for layer in 0..<layerCount {
            if let window = windows[layer] {
                // The first new row (at `count`) attends back to `count - window + 1`.
                let firstVisible = max(0, count - window + 1) >> pageShift
                for i in 0..<min(firstVisible, pages[layer].count) where pages[layer][i] >= 0 {
                    pool.release(pages[layer][i])
                    pages[layer][i] = -1
                }
            }
            while pages[layer].count < needed {
                guard let page = pool.allocate() else {
                    throw ModelError.kvCacheFull(pages: pool.pageCount)
                }
                pages[layer].append(page)
            }
        }
    }

    /// Marks positions `0..<n` as written (after a forward pass stored them).
    func advance(to n: Int) { count = max(count, n) }

    /// Takes over the pages of a cached prefix: `blocks[b][layer]` is the page holding positions
    /// `b·pageSize ..< (b+1)·pageSize` of `layer` (-1 where a sliding layer no longer needs it).
    /// Only for an empty cache; the pages gain a holder.
    public func adopt(prefix blocks: [[Int32]]) {
        precondition(count == 0 && pages.allSatisfy(\.isEmpty), "a prefix can only be adopted by an empty cache")
        for block in blocks {
            for layer in 0..<layerCount {
                let page = block[layer]
                if page >= 0 { pool.retain(page) }
                pages[layer].append(page)
            }
        }
        count = blocks.count * pool.pageSize
    }

    /// The pages of every full page-sized block of written positions: `[block][layer]`.
    public func fullBlocks() -> [[Int32]] {
        (0..<(count >> pageShift)).map { b in (0..<layerCount).map { pages[$0][b] } }
    }

    /// Where position `position`'s keys of layer `layer` start (`kvDim` values of `pool.precision`).
    @inline(__always) func keys(layer: Int, position: Int) -> UnsafeMutableRawPointer {
        pool.keys(page: pages[layer][position >> pageShift])
            + (position & (pool.pageSize - 1)) * kvDim * pool.precision.bytes
    }

    @inline(__always) func values(layer: Int, position: Int) -> UnsafeMutableRawPointer {
        pool.values(page: pages[layer][position >> pageShift])
            + (position & (pool.pageSize - 1)) * kvDim * pool.precision.bytes
    }
}

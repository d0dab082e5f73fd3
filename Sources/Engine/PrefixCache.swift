import Model

/// KV pages of prompt prefixes already computed, reused by later sequences that start with the same
/// tokens under the same adapter: a role's system prompt or a growing chat history is paid once.
///
/// The unit is a block of `pageSize` tokens: block `i` of a sequence is keyed by a hash chained over
/// blocks `0...i` and the adapter key (adapter name, version and `lora_scale`, since KV computed
/// under one adapter is wrong under any other), and stores that block's page on every layer. An
/// entry holds a reference on its pages; unused entries are evicted least recently used first when
/// the pool needs pages. Engine thread only.
final class PrefixCache {
    struct Entry {
        var parent: Int?
        var tokens: ArraySlice<Int32>
        var pages: [Int32]
        var lastUsed: Int
    }

    struct Stats: Sendable, Equatable {
        /// Prompt tokens looked up, and those found in the cache.
        var queriedTokens = 0
        var hitTokens = 0
        var entries = 0
    }

    let pool: KVPagePool
    let windows: [Int?]
    private var entries: [Int: Entry] = [:]
    private var clock = 0
    private(set) var stats = Stats()

    init(pool: KVPagePool, windows: [Int?]) {
        self.pool = pool
        self.windows = windows
    }

    var pageSize: Int { pool.pageSize }

    /// The chained key of every full block of `tokens`.
    private func keys(adapterKey: String, tokens: ArraySlice<Int32>, blocks: Int) -> [Int] {
        var keys: [Int] = []
        var previous: Int?
        for b in 0..<blocks {
            var hasher = Hasher()
            hasher.combine(adapterKey)
            hasher.combine(previous)
            let start = tokens.startIndex + b * pageSize
            for t in tokens[start..<start + pageSize] { hasher.combine(t) }
            let key = hasher.finalize()
            keys.append(key)
            previous = key
        }
        return keys
    }

    /// The longest cached prefix of `prompt` that leaves at least one prompt token to run (its logits
    /// are needed) and whose pages cover every sliding window the next position looks into.
    /// Returns `[block][layer]` pages to adopt.
    func lookup(adapterKey: String, prompt: [Int32]) -> [[Int32]] {
        let maxBlocks = (prompt.count - 1) / pageSize
        stats.queriedTokens += prompt.count
        guard maxBlocks > 0 else { return [] }
        clock += 1
        var found: [[Int32]] = [], foundKeys: [Int] = []
        var previous: Int?
        for (b, key) in keys(adapterKey: adapterKey, tokens: prompt[...], blocks: maxBlocks).enumerated() {
            let start = b * pageSize
            guard let entry = entries[key], entry.parent == previous,
                  entry.tokens.elementsEqual(prompt[start..<start + pageSize]) else { break }
            found.append(entry.pages)
            foundKeys.append(key)
            previous = key
        }
        // Sliding layers may have given back early pages; the next position needs the last window.
        while !found.isEmpty && !coversWindows(found) { found.removeLast() }
        for key in foundKeys.prefix(found.count) { entries[key]?.lastUsed = clock }
        stats.hitTokens += found.count * pageSize
        return found
    }

    private func coversWindows(_ blocks: [[Int32]]) -> Bool {
        let next = blocks.count * pageSize
        for (layer, window) in windows.enumerated() {
            let firstBlock = window.map { max(0, next - $0 + 1) / pageSize } ?? 0
            for b in firstBlock..<blocks.count where blocks[b][layer] < 0 { return false }
        }
        return true
    }

    /// Records the full blocks of `cache` (whose positions hold `tokens`) under `adapterKey`.
    func insert(adapterKey: String, tokens: [Int32], cache: KVCache) {
        let blocks = cache.fullBlocks()
        guard !blocks.isEmpty, tokens.count >= blocks.count * pageSize else { return }
        clock += 1
        var previous: Int?
        for (b, key) in keys(adapterKey: adapterKey, tokens: tokens[...], blocks: blocks.count).enumerated() {
            defer { previous = key }
            if entries[key] != nil {
                entries[key]!.lastUsed = clock
                continue
            }
            // A block whose early sliding pages are gone is still useful as a link of the chain.
            for page in blocks[b] where page >= 0 { pool.retain(page) }
            let start = b * pageSize
            entries[key] = Entry(parent: previous, tokens: tokens[start..<start + pageSize], pages: blocks[b],
                                 lastUsed: clock)
        }
        stats.entries = entries.count
    }

    /// Drops least recently used entries until at least `pages` pool pages are free or nothing
    /// more can be freed. Entries whose pages running sequences share free nothing now but are
    /// dropped too, in LRU order, as they would otherwise pin pages later.
    func evict(untilFree pages: Int) {
        guard pool.freeCount < pages, !entries.isEmpty else { return }
        for (key, entry) in entries.sorted(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            if pool.freeCount >= pages { break }
            for page in entry.pages where page >= 0 { pool.release(page) }
            entries[key] = nil
        }
        stats.entries = entries.count
    }

}

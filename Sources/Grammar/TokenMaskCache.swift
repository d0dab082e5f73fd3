import Foundation

/// The set of tokens a grammar state accepts, kept small: most states outside strings allow only
/// a few tokens, so those keep a list of ids and the rest a bitmap.
public struct TokenMask: Sendable {
    /// Allowed ids, when there are at most `listLimit`.
    public let allowed: [Int32]?
    /// One bit per token id (bit id % 64 of word id / 64), when there are more.
    public let words: [UInt64]?

    static let listLimit = 2048

    public init(words: [UInt64]) {
        var ids: [Int32] = []
        for (w, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 && ids.count <= Self.listLimit {
                ids.append(Int32(w << 6 + bits.trailingZeroBitCount))
                bits &= bits - 1
            }
            if ids.count > Self.listLimit { break }
        }
        (allowed, self.words) = ids.count <= Self.listLimit ? (ids, nil) : (nil, words)
    }

    public func contains(_ token: Int32) -> Bool {
        if let allowed { return allowed.contains(token) }
        let id = Int(token)
        return id >= 0 && id >> 6 < words!.count && words![id >> 6] & (1 << UInt64(id & 63)) != 0
    }

    /// Bytes held, for the cache's budget.
    var byteCount: Int { (allowed?.count ?? 0) * 4 + (words?.count ?? 0) * 8 + 64 }

    /// Sets every logit outside the mask to −∞.
    public func apply(to logits: UnsafeMutableBufferPointer<Float>) {
        if let allowed {
            let kept = allowed.map { Int($0) < logits.count ? logits[Int($0)] : -.infinity }
            logits.update(repeating: -.infinity)
            for (id, value) in zip(allowed, kept) where Int(id) < logits.count { logits[Int(id)] = value }
            return
        }
        for (w, word) in words!.enumerated() where word != ~0 {
            let base = w << 6
            for bit in 0..<64 where word & (1 << UInt64(bit)) == 0 && base + bit < logits.count {
                logits[base + bit] = -.infinity
            }
        }
    }
}

/// Token masks of the grammar states seen so far, over one vocabulary trie. A state's mask never
/// changes, so each is computed once; the cache holds at most `maxBytes` and starts over when full.
public final class TokenMaskCache<State: ByteRecognizer>: @unchecked Sendable {
    public let trie: TokenTrie
    let maxBytes: Int
    private let lock = NSLock()
    private var masks: [State: TokenMask] = [:]
    private var verdicts: [State: [Bool]] = [:]
    private var bytes = 0

    /// Shortcut masks inside strings, for states that can use them.
    let strings: StringTokenTable?

    public init(trie: TokenTrie, strings: StringTokenTable? = nil, maxBytes: Int = 16 << 20) {
        self.trie = trie
        self.strings = strings
        self.maxBytes = maxBytes
    }

    public func mask(for state: State) -> TokenMask {
        if let cached = lock.withLock({ masks[state] }) { return cached }
        let mask = TokenMask(words: computeWords(for: state))
        lock.withLock {
            if bytes + mask.byteCount > maxBytes {
                masks.removeAll(keepingCapacity: true)
                bytes = 0
            }
            masks[state] = mask
            bytes += mask.byteCount
        }
        return mask
    }

    /// The mask's bits, by the string table where it applies, else by a walk over the trie.
    public func computeWords(for state: State) -> [UInt64] {
        if let strings, let position = state as? any StringPosition, let room = position.plainString {
            var words = strings.inside(remaining: room.room)
            guard let closed = position.closingString() as? State else { return words }
            let continues = closingVerdicts(after: closed, strings: strings)
            for (id, chars, suffix) in strings.closing
            where chars <= room.room && Int(chars) >= room.missing && continues[Int(suffix)] {
                words[Int(id) >> 6] |= 1 << UInt64(id & 63)
            }
            return words
        }
        var words = [UInt64](repeating: 0, count: (trie.tokenBytes.count + 63) / 64)
        if let schema = state as? SchemaRecognizer, let position = schema.patternString {
            trie.acceptedPatternTokens(from: schema, at: position, into: &words)
        } else {
            trie.acceptedTokens(from: state, into: &words)
        }
        return words
    }

    /// Whether each ending of the closing tokens (`StringTokenTable.suffixes`) continues the
    /// document after the quote, for the state `closed` that the quote leads to. Every position of
    /// one string closes into the same state, so this is worked out once per string, not per mask.
    func closingVerdicts(after closed: State, strings: StringTokenTable) -> [Bool] {
        if let known = lock.withLock({ verdicts[closed] }) { return known }
        let made = strings.suffixes.map { suffix in
            var next = closed
            return next.feed(suffix)
        }
        lock.withLock {
            if verdicts.count >= Self.maxVerdicts { verdicts.removeAll(keepingCapacity: true) }
            verdicts[closed] = made
        }
        return made
    }

    static var maxVerdicts: Int { 4096 }

    public var count: Int { lock.withLock { masks.count } }
}

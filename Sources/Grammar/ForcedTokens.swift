import Foundation

extension ByteRecognizer {
    /// The bytes this state must read next whatever is sampled: the run of states that each accept
    /// exactly one byte (a key and its colon in a strict schema, say), at most `limit` of them.
    /// Empty when the next byte is open.
    public func forcedBytes(limit: Int = 256) -> [UInt8] { forcedRun(limit: limit).bytes }

    /// The forced bytes with the state before each of them, and the state after the last.
    func forcedRun(limit: Int = 256) -> (bytes: [UInt8], states: [Self], end: Self) {
        var state = self, bytes: [UInt8] = [], states: [Self] = []
        while bytes.count < limit, let only = state.onlyNextByte() {
            states.append(state)
            _ = state.feed(only)
            bytes.append(only)
        }
        return (bytes, states, state)
    }

    /// The one byte this state accepts, or nil when it accepts none or several. Bytes of JSON
    /// punctuation and letters are tried first, so an open state is told apart in a few feeds.
    func onlyNextByte() -> UInt8? {
        var found: UInt8?
        for byte in possibleNextBytes() ?? ForcedByteOrder.bytes {
            var next = self
            guard next.feed(byte) else { continue }
            guard found == nil else { return nil }
            found = byte
        }
        return found
    }
}

/// Every byte once, the likely ones of a JSON document first.
enum ForcedByteOrder {
    static let bytes: [UInt8] = {
        let first = Array("\",:}]{[0123456789aeinorstlu-.tfnE ".utf8)
        var seen = Set<UInt8>(), order: [UInt8] = []
        for b in first + (0...255).map(UInt8.init) where seen.insert(b).inserted { order.append(b) }
        return order
    }()
}

/// The tokens a grammar forces from each state, found once per state: the forced bytes as the
/// tokenizer would write them. The last token is left out (it is sampled under the mask instead)
/// when a longer token starts with it, because that token may run past the forced bytes into what
/// the model chooses next, and forcing the short one would give a tokenization the tokenizer
/// never makes; it is kept when no token extends it or the document ends there.
public final class ForcedTokenCache<State: DocumentRecognizer>: @unchecked Sendable {
    /// Plain text to token ids (no special tokens), nil when it cannot be encoded.
    public typealias Encoder = @Sendable ([UInt8]) -> [Int32]?

    let trie: TokenTrie
    let encode: Encoder
    let maxEntries: Int
    private let lock = NSLock()
    private var known: [State: [Int32]] = [:]
    private var runs: [State: [UInt8]] = [:]

    public init(trie: TokenTrie, maxEntries: Int = 8192, encode: @escaping Encoder) {
        self.trie = trie
        self.maxEntries = maxEntries
        self.encode = encode
    }

    public func tokens(after state: State) -> [Int32] {
        if let cached = lock.withLock({ known[state] }) { return cached }
        let tokens = compute(after: state)
        lock.withLock {
            if known.count >= maxEntries { known.removeAll(keepingCapacity: true) }
            known[state] = tokens
        }
        return tokens
    }

    /// The forced bytes from `state`. A walk passes through the states of its own run, so each of
    /// those learns its rest of the run too (the next lookup usually starts at one of them).
    func forcedBytes(after state: State) -> [UInt8] {
        if let known = lock.withLock({ runs[state] }) { return known }
        let (bytes, states, walked) = state.forcedRun()
        lock.withLock {
            if runs.count + states.count >= maxEntries { runs.removeAll(keepingCapacity: true) }
            for (i, s) in states.enumerated() { runs[s] = Array(bytes[i...]) }
            runs[walked] = []
        }
        return bytes
    }

    func compute(after state: State) -> [Int32] {
        var bytes = forcedBytes(after: state)
        // A run that stops inside a character is cut back to the character's start.
        while !bytes.isEmpty, String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        guard !bytes.isEmpty, var tokens = encode(bytes) else { return [] }
        // Each token must spell the forced bytes in order and keep the document valid.
        var next = state, spelled = 0, accepted: [Int32] = []
        for token in tokens {
            guard token >= 0, Int(token) < trie.tokenBytes.count else { break }
            let piece = trie.tokenBytes[Int(token)]
            guard !piece.isEmpty, spelled + piece.count <= bytes.count,
                  Array(bytes[spelled..<spelled + piece.count]) == piece,
                  piece.allSatisfy({ next.feed($0) }) else { break }
            spelled += piece.count
            accepted.append(token)
        }
        tokens = accepted
        if let last = tokens.last, !next.isComplete, trie.isProperPrefix(trie.tokenBytes[Int(last)]) {
            tokens.removeLast()
        }
        return tokens
    }

    public var count: Int { lock.withLock { known.count } }
}

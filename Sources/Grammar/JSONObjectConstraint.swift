import Foundation
import Sampling

/// What `response_format: {"type": "json_object"}` needs, shared by every request that asks for it:
/// the token trie of the vocabulary and the token masks of recognizer states already seen (a
/// state's mask never changes, so each is computed once; at most `maxCachedMasks` are kept).
public final class JSONGrammar: @unchecked Sendable {
    public let trie: TokenTrie
    public static let maxCachedMasks = 512
    private let lock = NSLock()
    private var masks: [JSONRecognizer: [UInt64]] = [:]

    public init(tokenBytes: [[UInt8]]) {
        trie = TokenTrie(tokenBytes: tokenBytes)
    }

    /// One bit per token id: set when the token's bytes can continue a document in `state`.
    public func mask(for state: JSONRecognizer) -> [UInt64] {
        lock.lock()
        if let cached = masks[state] {
            lock.unlock()
            return cached
        }
        lock.unlock()
        var mask = [UInt64](repeating: 0, count: (trie.tokenBytes.count + 63) / 64)
        trie.acceptedTokens(from: state, into: &mask)
        lock.lock()
        if masks.count >= Self.maxCachedMasks { masks.removeAll(keepingCapacity: true) }
        masks[state] = mask
        lock.unlock()
        return mask
    }
}

/// Constrains one sequence to a single JSON object: each step masks the tokens whose bytes cannot
/// continue a valid document; the sequence is finished when the object closes. End tokens have no
/// bytes, so they can never cut a document short.
public struct JSONObjectConstraint: LogitsProcessor {
    let grammar: JSONGrammar
    public private(set) var state = JSONRecognizer()

    public init(grammar: JSONGrammar) { self.grammar = grammar }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) {
        let mask = grammar.mask(for: state)
        for (w, word) in mask.enumerated() where word != ~0 {
            let base = w << 6
            for bit in 0..<64 where word & (1 << UInt64(bit)) == 0 && base + bit < logits.count {
                logits[base + bit] = -.infinity
            }
        }
    }

    public mutating func didSample(_ token: Int32) {
        guard token >= 0, Int(token) < grammar.trie.tokenBytes.count else { return }
        _ = state.feed(grammar.trie.tokenBytes[Int(token)])
    }

    public var isFinished: Bool { state.isComplete }
    public var isConstraint: Bool { true }
}

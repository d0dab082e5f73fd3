import Sampling

/// A recognizer that can also tell when its document is complete.
public protocol DocumentRecognizer: ByteRecognizer {
    var isComplete: Bool { get }
}

extension JSONRecognizer: DocumentRecognizer {}
extension SchemaRecognizer: DocumentRecognizer {}

/// Constrains one sequence to the documents of a grammar: each step masks the tokens whose bytes
/// cannot continue a valid document; the sequence is finished when the document closes. End
/// tokens have no bytes, so they can never cut a document short. With `forced`, the text the
/// grammar leaves no choice about is offered as tokens to append without sampling.
public struct GrammarConstraint<State: DocumentRecognizer>: LogitsProcessor {
    let masks: TokenMaskCache<State>
    let forced: ForcedTokenCache<State>?
    public private(set) var state: State

    public init(masks: TokenMaskCache<State>, start: State, forced: ForcedTokenCache<State>? = nil) {
        self.masks = masks
        self.forced = forced
        state = start
    }

    public var forcedTokens: [Int32] { forced?.tokens(after: state) ?? [] }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) {
        masks.mask(for: state).apply(to: logits)
    }

    public mutating func didSample(_ token: Int32) {
        guard token >= 0, Int(token) < masks.trie.tokenBytes.count else { return }
        _ = state.feed(masks.trie.tokenBytes[Int(token)])
    }

    public var isFinished: Bool { state.isComplete }
    public var isConstraint: Bool { true }
}

/// `response_format: {"type": "json_object"}`: any one JSON object.
public typealias JSONObjectConstraint = GrammarConstraint<JSONRecognizer>

extension GrammarConstraint where State == JSONRecognizer {
    public init(masks: TokenMaskCache<JSONRecognizer>) { self.init(masks: masks, start: JSONRecognizer()) }
}

/// A compiled `json_schema` with the masks of its states, shared by every request that sends it.
public final class CompiledSchema: Sendable {
    public let grammar: SchemaGrammar
    public let masks: TokenMaskCache<SchemaRecognizer>

    public let forced: ForcedTokenCache<SchemaRecognizer>?

    public init(grammar: SchemaGrammar, trie: TokenTrie, strings: StringTokenTable? = nil,
                maxMaskBytes: Int = 16 << 20, encode: ForcedTokenCache<SchemaRecognizer>.Encoder? = nil) {
        self.grammar = grammar
        masks = TokenMaskCache(trie: trie, strings: strings, maxBytes: maxMaskBytes)
        forced = encode.map { ForcedTokenCache(trie: trie, encode: $0) }
    }

    public func constraint() -> GrammarConstraint<SchemaRecognizer> {
        GrammarConstraint(masks: masks, start: SchemaRecognizer(grammar: grammar), forced: forced)
    }
}

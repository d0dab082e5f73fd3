import Engine
import Foundation
import Grammar
import Testing
import Tokenizer

/// The mask shortcuts (the string table inside plain strings, the automaton-only walk inside
/// pattern and format strings) against the plain trie walk that feeds every byte to the
/// recognizer, on the model's whole vocabulary, at every state of documents that use them.
struct MaskShortcutTests {
    static let schema = ##"""
        {"type":"object","properties":{"id":{"type":"string","format":"uuid"},
        "sku":{"type":"string","pattern":"^[A-Z]{3}-\\d{4}$"},"when":{"type":"string","format":"date-time"},
        "name":{"type":"string","minLength":2,"maxLength":12},"code":{"type":"string","pattern":"^(é|[a-c]x)+$",
        "maxLength":6}},"required":["id","sku","when","name","code"],"additionalProperties":false}
        """##
    static let documents = [
        #"{"id":"0b7e1a52-3c4d-4e5f-8a9b-0c1d2e3f4a5b","sku":"ABC-1234","when":"2026-11-30T09:15:00Z","#
            + #""name":"Ada Lovelace","code":"éaxé"}"#,
        #"{"id":"00000000-0000-0000-0000-000000000000","sku":"ZZZ-0000","when":"1999-01-01T00:00:00.5+01:00","#
            + #""name":"Bo","code":"cx"}"#,
    ]

    @Test("shortcut masks equal the plain trie walk at every state", arguments: documents)
    func shortcutsAgreeWithTheTrieWalk(_ document: String) throws {
        let library = ForcedTokensTests.library(forcing: false)
        let compiled = try library.schema(JSONTree.parse(Array(Self.schema.utf8)))
        var state = SchemaRecognizer(grammar: compiled.grammar)
        var checked = 0
        for byte in document.utf8 {
            var plain = [UInt64](repeating: 0, count: (library.trie.tokenBytes.count + 63) / 64)
            library.trie.acceptedTokens(from: state, into: &plain)
            let fast = compiled.masks.computeWords(for: state)
            var differing: [Int] = []
            for w in plain.indices where fast[w] != plain[w] {
                let bits = fast[w] ^ plain[w]
                for bit in 0..<64 where bits >> UInt64(bit) & 1 == 1 { differing.append(w * 64 + bit) }
            }
            #expect(differing.isEmpty, "tokens \(differing.prefix(8)) differ after \(checked) bytes of \(document)")
            checked += 1
            let fed = state.feed(byte)
            #expect(fed)
        }
        #expect(state.isComplete)
    }
}

import Foundation
import GGUF
import Testing
import Tokenizer

/// Loads the default model's tokenizer once for every tokenizer test.
enum DefaultTokenizer {
    static let modelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/gemma-3-270m-q4_k_m.gguf").standardized.path
    static let shared: SentencePieceTokenizer = try! SentencePieceTokenizer(gguf: GGUFFile(path: modelPath))
}

/// Encode/decode against `transformers` loading the same GGUF (Fixtures/make_tokenizer_fixtures.py).
struct TokenizerGoldenTests {
    struct Case: Decodable, CustomTestStringConvertible {
        let text: String
        let ids: [Int32]
        let decoded: String
        /// The Python `sentencepiece` library's ids from the same vocabulary.
        let sentencepiece_ids: [Int32]
        var testDescription: String { text.debugDescription.prefix(40).description }
    }

    struct Fixture: Decodable {
        let cases: [Case]
    }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer_golden.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    var tokenizer: SentencePieceTokenizer { DefaultTokenizer.shared }

    /// For runs of 32+ spaces `transformers`' BPE merges split the whitespace pieces differently
    /// (16+16) from SentencePiece's longest-match of user-defined pieces (31+1). Both decode to the
    /// same text; Tandem follows SentencePiece, whose format this is, and the test pins both facts.
    @Test("encode matches the reference", arguments: fixture.cases)
    func encode(_ c: Case) throws {
        let ours = try tokenizer.encode(c.text)
        #expect(ours == c.sentencepiece_ids)
        if c.ids != c.sentencepiece_ids {
            #expect(c.text.contains(String(repeating: " ", count: 32)), "divergence from transformers outside long space runs")
            #expect(try tokenizer.decode(ours) == (try tokenizer.decode(c.ids)))
        } else {
            #expect(ours == c.ids)
        }
    }

    @Test("decode matches the reference", arguments: fixture.cases)
    func decode(_ c: Case) throws {
        #expect(try tokenizer.decode(c.ids, includeSpecial: true) == c.decoded)
    }

    @Test("streaming decode equals whole decode and never emits half a character", arguments: fixture.cases)
    func streaming(_ c: Case) throws {
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var streamed = ""
        for id in c.ids {
            let piece = try detokenizer.append(id)
            #expect(!piece.unicodeScalars.contains("\u{FFFD}") || c.decoded.unicodeScalars.contains("\u{FFFD}"))
            streamed += piece
        }
        streamed += detokenizer.finish()
        #expect(streamed == (try tokenizer.decode(c.ids)))
    }

    @Test func designFacts() throws {
        #expect(try tokenizer.encode("Hello world!") == [9259, 1902, 236888])
        #expect(try tokenizer.encode("Hello  world") == [9259, 138, 12392])
        #expect(try tokenizer.encode("<start_of_turn>user\n") .prefix(1) == [105])
        #expect(try tokenizer.encode("<start_of_turn>", parseSpecial: false) != [105])
        #expect(try tokenizer.encode("Hi", addBOS: true) .first == 2)
        #expect(tokenizer.vocabulary.bosID == 2)
        #expect(tokenizer.vocabulary.eosID == 1)
        #expect(tokenizer.vocabulary.count == 262_144)
    }

    @Test func outOfRangeIdIsAnError() {
        #expect(throws: TokenizerError.tokenOutOfRange(300_000, vocabularySize: 262_144)) { try tokenizer.decode([300_000]) }
    }
}

struct StreamingDetokenizerTests {
    @Test func byteFallbackEmojiIsHeldUntilComplete() throws {
        let t = DefaultTokenizer.shared
        // U+1F9EA (test tube) is four byte-fallback pieces if the vocabulary lacks it; whatever the
        // pieces, no prefix of the stream may contain a replacement character.
        let ids = try t.encode("a\u{1F9EA}\u{E000}b")
        var d = StreamingDetokenizer(tokenizer: t)
        var out = ""
        for id in ids {
            let piece = try d.append(id)
            #expect(!piece.contains("\u{FFFD}"))
            out += piece
        }
        out += d.finish()
        #expect(out == "a\u{1F9EA}\u{E000}b")
    }

    @Test func unfinishedCharacterBecomesReplacementAtTheEnd() throws {
        let t = DefaultTokenizer.shared
        let byteF0 = try #require(t.vocabulary.id(of: "<0xF0>"))
        var d = StreamingDetokenizer(tokenizer: t)
        #expect(try d.append(byteF0) == "")
        #expect(d.finish() == "\u{FFFD}")
    }
}

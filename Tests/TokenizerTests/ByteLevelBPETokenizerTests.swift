import Foundation
import GGUF
import Testing
import Tokenizer

/// llama.cpp's vocabulary-only GGUFs (scripts/fetch_vocab_ggufs.sh): in $TANDEM_VOCAB_DIR, else in
/// .build-vocab/ at the repository root. Tests that need one are skipped when it is absent.
enum VocabGGUFs {
    static let directory: String = ProcessInfo.processInfo.environment["TANDEM_VOCAB_DIR"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build-vocab").standardized.path

    static func path(_ name: String) -> String { "\(directory)/ggml-vocab-\(name).gguf" }
    static func present(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    /// Each byte-level vocabulary, loaded once for all tests.
    static let loaded: [String: Result<ByteLevelBPETokenizer, any Error>] = Dictionary(
        uniqueKeysWithValues: ["llama-bpe", "qwen2", "gpt-2"].filter(VocabGGUFs.present).map { name in
            (name, Result { try ByteLevelBPETokenizer(gguf: GGUFFile(path: VocabGGUFs.path(name))) })
        })

    static func tokenizer(_ name: String) throws -> ByteLevelBPETokenizer {
        try #require(loaded[name], "ggml-vocab-\(name).gguf not in \(directory)").get()
    }
}

/// Tests/TokenizerTests/Fixtures/bpe_cases.json (Fixtures/make_bpe_fixtures.py): transformers' ids
/// for llama.cpp's test strings and hostile ones, cross-checked against llama.cpp's .out files.
struct BPEFixture: Decodable, Sendable {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        let text: String
        let source: String
        let ids: [Int32]
        /// Ids with special-token parsing off; nil when they equal `ids`.
        let ids_no_special: [Int32]?
        let decoded: String
        let llamacpp_ids: [Int32]?
        var testDescription: String { text.debugDescription.prefix(40).description }
    }

    struct Vocab: Decodable, Sendable {
        let file: String
        let pre: String
        let bos_id: Int32
        let eos_id: Int32
        let vocab_size: Int
        let llamacpp_disagreements: [Int]
        let cases: [Case]
    }

    let vocabs: [String: Vocab]

    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bpe_cases.json")
    static let loaded: Result<BPEFixture, any Error> = Result {
        try JSONDecoder().decode(BPEFixture.self, from: Data(contentsOf: url))
    }

    static func cases(_ vocab: String) -> [Case] { (try? loaded.get())?.vocabs[vocab]?.cases ?? [] }
}

struct ByteLevelBPEGoldenTests {
    @Test func fixtureIsPresentAndComplete() throws {
        let fixture = try BPEFixture.loaded.get()
        for name in ["llama-bpe", "qwen2", "gpt-2"] {
            let vocab = try #require(fixture.vocabs[name])
            #expect(vocab.cases.count >= 90)
            #expect(vocab.llamacpp_disagreements.isEmpty, "transformers and llama.cpp disagree for \(name)")
        }
    }

    @Test("llama-bpe (Llama 3)", .enabled(if: VocabGGUFs.present("llama-bpe")),
          arguments: BPEFixture.cases("llama-bpe"))
    func llamaBPE(_ c: BPEFixture.Case) throws { try check(c, VocabGGUFs.tokenizer("llama-bpe")) }

    @Test("qwen2", .enabled(if: VocabGGUFs.present("qwen2")), arguments: BPEFixture.cases("qwen2"))
    func qwen2(_ c: BPEFixture.Case) throws { try check(c, VocabGGUFs.tokenizer("qwen2")) }

    @Test("gpt-2", .enabled(if: VocabGGUFs.present("gpt-2")), arguments: BPEFixture.cases("gpt-2"))
    func gpt2(_ c: BPEFixture.Case) throws { try check(c, VocabGGUFs.tokenizer("gpt-2")) }

    /// Encode with and without special-token parsing, decode back to the text, and stream the ids.
    func check(_ c: BPEFixture.Case, _ tokenizer: ByteLevelBPETokenizer) throws {
        #expect(try tokenizer.encode(c.text) == c.ids)
        #expect(try tokenizer.encode(c.text, parseSpecial: false) == (c.ids_no_special ?? c.ids))
        #expect(try tokenizer.decode(c.ids, includeSpecial: true) == c.decoded)
        #expect(try tokenizer.decode(c.ids, includeSpecial: true) == c.text)

        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var streamed = ""
        for id in c.ids {
            let piece = try detokenizer.append(id)
            #expect(!piece.unicodeScalars.contains("\u{FFFD}"), "half a character emitted")
            streamed += piece
        }
        streamed += detokenizer.finish()
        #expect(streamed == (try tokenizer.decode(c.ids)))
    }

    @Test(.enabled(if: ["llama-bpe", "qwen2", "gpt-2"].allSatisfy(VocabGGUFs.present)))
    func vocabularyFacts() throws {
        let fixture = try BPEFixture.loaded.get()
        for (name, endOfTurn, addsBOS) in [("llama-bpe", "<|eot_id|>", true), ("qwen2", "<|im_end|>", false),
                                           ("gpt-2", "<|endoftext|>", false)] {
            let t = try VocabGGUFs.tokenizer(name)
            let vocab = try #require(fixture.vocabs[name])
            #expect(t.vocabularySize == vocab.vocab_size)
            #expect(t.bosID == vocab.bos_id)
            #expect(t.eosID == vocab.eos_id)
            #expect(t.preTokenizerName == vocab.pre)
            #expect(t.addsBOS == addsBOS)
            #expect(t.id(ofPiece: "\n") == 198)
            #expect(t.id(ofPiece: endOfTurn) != nil)
            #expect(try t.encode("Hi", addBOS: true).first == t.bosID)
            #expect(try t.bytes(of: t.eosID).isEmpty)
            #expect(try !t.bytes(of: t.eosID, includeSpecial: true).isEmpty)
            let size = Int32(t.vocabularySize)
            #expect(throws: TokenizerError.tokenOutOfRange(size, vocabularySize: t.vocabularySize)) {
                try t.decode([size])
            }
        }
        #expect(try VocabGGUFs.tokenizer("llama-bpe").id(ofPiece: "<|eot_id|>") == 128_009)
        #expect(try VocabGGUFs.tokenizer("llama-bpe").encode("Hello world") == [9906, 1917])
        #expect(try VocabGGUFs.tokenizer("gpt-2").encode(" Hello") == [18435])
    }

    @Test(.enabled(if: VocabGGUFs.present("phi-3")))
    func sentencePieceVocabularyIsRefused() throws {
        let path = VocabGGUFs.path("phi-3")
        #expect(throws: TokenizerError.unsupportedModel(file: path, model: "llama")) {
            try ByteLevelBPETokenizer(gguf: GGUFFile(path: path))
        }
    }
}

/// The merge loop, special tokens and byte decoding on a vocabulary small enough to reason about;
/// these need no GGUF.
struct ByteLevelBPEUnitTests {
    /// GPT-2's bytes_to_unicode, written out again here as an independent reference.
    static let alphabet: [String] = {
        var shifted: UInt32 = 256
        return (0..<256).map { b -> String in
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                return String(UnicodeScalar(UInt8(b)))
            }
            defer { shifted += 1 }
            return String(UnicodeScalar(shifted)!)
        }
    }()

    // Ids 0…255 are the bytes, then: 256 "he", 257 "Ġt", 258 "Ġthe", 259 "<|end|>" (control),
    // 260 "<think>" (user-defined), 261 "Ġxyz" (no merge leads to it).
    static let extra = ["he", "Ġt", "Ġthe", "<|end|>", "<think>", "Ġxyz"]
    static let extraTypes: [PieceType] = [.normal, .normal, .normal, .control, .userDefined, .normal]

    static func tokenizer(pre: String = "gpt-2", addBOS: Bool? = nil) throws -> ByteLevelBPETokenizer {
        try ByteLevelBPETokenizer(tokens: alphabet + extra,
                                  types: [PieceType](repeating: .normal, count: 256) + extraTypes,
                                  merges: ["h e", "Ġ t", "Ġt he"], preTokenizer: pre,
                                  bosID: 259, eosID: 259, addBOS: addBOS)
    }

    @Test func mergesFollowRank() throws {
        let t = try Self.tokenizer()
        #expect(try t.encode(" the") == [258])
        #expect(try t.encode("the") == [116, 256])
        #expect(try t.encode(" the the") == [258, 258])
        #expect(try t.decode([258, 258]) == " the the")
    }

    @Test func wholeWordTokensOnlyWithIgnoreMerges() throws {
        #expect(try Self.tokenizer(pre: "llama-bpe").encode(" xyz") == [261])
        #expect(try Self.tokenizer(pre: "gpt-2").encode(" xyz") == [32, 120, 121, 122])
        #expect(try Self.tokenizer(pre: "qwen2").encode(" xyz") == [32, 120, 121, 122])
    }

    @Test func bytesAreRawAndStreamedWhole() throws {
        let t = try Self.tokenizer()
        #expect(try t.encode("é") == [0xC3, 0xA9])
        #expect(try t.bytes(of: 0xC3) == [0xC3])
        #expect(try t.bytes(of: 32) == [0x20])
        #expect(try t.decode([0xC3]) == "\u{FFFD}")
        var d = StreamingDetokenizer(tokenizer: t)
        #expect(try d.append(0xC3) == "")
        #expect(try d.append(0xA9) == "é")
        #expect(d.finish() == "")
    }

    @Test func specialTokens() throws {
        let t = try Self.tokenizer()
        #expect(try t.encode("a<|end|>b") == [97, 259, 98])
        #expect(try t.encode("a<|end|>b", parseSpecial: false) == Array("a<|end|>b".utf8).map { Int32($0) })
        #expect(try t.encode("<think>", parseSpecial: false) == [260])
        #expect(try t.bytes(of: 259).isEmpty)
        #expect(try t.bytes(of: 259, includeSpecial: true) == Array("<|end|>".utf8))
        #expect(try t.bytes(of: 260) == Array("<think>".utf8))
        #expect(t.id(ofPiece: "<|end|>") == 259)
        #expect(t.id(ofPiece: " the") == 258)
    }

    @Test func beginningOfSequence() throws {
        #expect(try Self.tokenizer(pre: "llama-bpe").addsBOS)
        #expect(try !Self.tokenizer(pre: "gpt-2").addsBOS)
        #expect(try !Self.tokenizer(pre: "llama-bpe", addBOS: false).addsBOS)
        #expect(try Self.tokenizer().encode("a", addBOS: true) == [259, 97])
    }

    @Test func unknownPreTokenizerIsNamed() {
        #expect(throws: TokenizerError.unsupportedPreTokenizer(file: "<memory>", name: "no-such-pre")) {
            try Self.tokenizer(pre: "no-such-pre")
        }
        #expect(TokenizerError.unsupportedPreTokenizer(file: "m.gguf", name: "no-such-pre").description
            .contains("'no-such-pre'"))
    }

    @Test func outOfRangeIdIsAnError() throws {
        let t = try Self.tokenizer()
        #expect(throws: TokenizerError.tokenOutOfRange(262, vocabularySize: 262)) { try t.bytes(of: 262) }
    }
}

import Engine
import Foundation
import Grammar
import Model
import Sampling
import Testing
import Tokenizer

/// Fast-forward of the tokens a strict schema forces (its keys and punctuation): they are the
/// tokenizer's own tokens for that text, they are appended without sampling and fed as one chunk,
/// and the documents stay valid.
@Suite(.serialized)
struct ForcedTokensTests {
    static let loaded = InferenceEngineTests.loaded
    static var tokenizer: any TextTokenizer { loaded.tokenizer }

    static let schemaText = """
        {"type":"object","properties":{"category":{"enum":["billing","bug report"]},\
        "priority":{"enum":["low","high"]},"title":{"type":"string","maxLength":40}},\
        "required":["category","priority","title"],"additionalProperties":false}
        """

    static func library(forcing: Bool) -> GrammarLibrary {
        let t = tokenizer
        let bytes: @Sendable () -> [[UInt8]] = {
            (0..<t.vocabularySize).map { (try? t.bytes(of: Int32($0))) ?? [] }
        }
        let encode: ForcedTokenCache<SchemaRecognizer>.Encoder = { text in
            try? t.encode(String(decoding: text, as: UTF8.self), parseSpecial: false)
        }
        return GrammarLibrary(tokenBytes: bytes, encode: forcing ? encode : nil)
    }

    /// Feeds `text` to `state`; false when a byte is refused.
    static func feed(_ state: inout SchemaRecognizer, _ text: String) -> Bool { state.feed(Array(text.utf8)) }

    static let forcing = library(forcing: true)

    static func compiled(_ library: GrammarLibrary = forcing) throws -> CompiledSchema {
        try library.schema(JSONTree.parse(Array(schemaText.utf8)))
    }

    @Test("the bytes a state forces stop where the schema gives a choice")
    func forcedBytesStopAtAChoice() throws {
        let grammar = try Self.compiled().grammar
        var state = SchemaRecognizer(grammar: grammar)
        #expect(String(decoding: state.forcedBytes(), as: UTF8.self) == #"{"category":"b"#)
        let b = Self.feed(&state, #"{"category":"b"#)
        #expect(b)
        #expect(state.forcedBytes().isEmpty)
        let rest = Self.feed(&state, "ug report")
        #expect(rest)
        #expect(String(decoding: state.forcedBytes(), as: UTF8.self) == #"","priority":""#)
        let end = Self.feed(&state, #"","priority":"high","title":"x"}"#)
        #expect(end && state.isComplete)
        #expect(state.forcedBytes().isEmpty)
    }

    @Test("forced tokens are the tokenizer's tokens for the forced text, all but the last")
    func forcedTokensAreTheTokenizersOwn() throws {
        let schema = try Self.compiled()
        var state = SchemaRecognizer(grammar: schema.grammar)
        let start = Self.feed(&state, #"{"category":"bug report"#)
        #expect(start)
        let forced = try #require(schema.forced).tokens(after: state)
        let reference = try Self.tokenizer.encode(#"","priority":""#, parseSpecial: false)
        #expect(reference.count >= 2)
        #expect(forced == Array(reference.dropLast()))
        // The document's last bytes are forced whole: nothing can follow them.
        let title = Self.feed(&state, #"","priority":"low","title":"x""#)
        #expect(title)
        #expect(String(decoding: state.forcedBytes(), as: UTF8.self) == "}")
        #expect(try #require(schema.forced).tokens(after: state) == Self.tokenizer.encode("}", parseSpecial: false))
    }

    func run(_ e: InferenceEngine, library: GrammarLibrary, logprobs: Int? = nil)
        async throws -> (text: String, tokens: [Int32], logprobs: [Float], finish: FinishReason?) {
        let prompt = try Self.tokenizer.encode("<start_of_turn>user\nFile a ticket: I was charged twice.<end_of_turn>\n"
                                               + "<start_of_turn>model\n", addBOS: true)
        let request = EngineRequest(promptIDs: prompt, maxTokens: 60, stopTokenIDs: [1, 106], topLogprobs: logprobs,
                                    processors: [try Self.compiled(library).constraint()])
        var text = "", tokens: [Int32] = [], probs: [Float] = [], finish: FinishReason?
        for await event in try e.submit(request) {
            switch event {
            case let .token(id, piece, logprob):
                text += piece
                tokens.append(id)
                if let logprob { probs.append(logprob.logprob) }
            case let .finished(reason, _, _, _): finish = reason
            case .failed(let message): Issue.record("failed: \(message)")
            }
        }
        return (text, tokens, probs, finish)
    }

    @Test("forced tokens skip sampling steps; the document is complete and valid, and their logprob is 0")
    func fastForwardSavesSteps() async throws {
        let e = InferenceEngine(model: Self.loaded.model, tokenizer: Self.tokenizer,
                                configuration: .init(maxSequenceLength: 512, kvCacheMegabytes: 64))
        e.start()
        let slow = try await run(e, library: Self.library(forcing: false))
        let stepsBefore = e.snapshot.steps
        let fast = try await run(e, library: Self.forcing, logprobs: 0)
        let fastSteps = e.snapshot.steps - stepsBefore
        await e.shutdown(timeout: .seconds(5))
        for result in [slow, fast] {
            #expect(result.finish == .stop)
            var check = SchemaRecognizer(grammar: try Self.compiled().grammar)
            let valid = Self.feed(&check, result.text)
            #expect(valid && check.isComplete, "\(result.text)")
        }
        // Fewer steps than tokens: forced runs went in as chunks.
        #expect(fastSteps < fast.tokens.count - 4, "\(fastSteps) steps for \(fast.tokens.count) tokens")
        #expect(fast.logprobs.count == fast.tokens.count && fast.logprobs.filter { $0 == 0 }.count >= 4)
        // The forced keys are the canonical tokens, so the greedy documents agree.
        // The document opens with the tokenizer's tokens for its forced start, the first one included.
        let start = try Self.tokenizer.encode(#"{"category":"b"#, parseSpecial: false).dropLast()
        #expect(fast.tokens.starts(with: start), "\(fast.tokens)")
        #expect(!slow.tokens.starts(with: start), "the model alone writes other tokens: then the test shows nothing")
    }

    @Test("the one-sequence generator fast-forwards the same way and writes the same document")
    func generatorAgreesWithEngine() async throws {
        let e = InferenceEngine(model: Self.loaded.model, tokenizer: Self.tokenizer,
                                configuration: .init(maxSequenceLength: 512, kvCacheMegabytes: 64))
        e.start()
        let batched = try await run(e, library: Self.forcing)
        await e.shutdown(timeout: .seconds(5))
        let prompt = try Self.tokenizer.encode("<start_of_turn>user\nFile a ticket: I was charged twice.<end_of_turn>\n"
                                               + "<start_of_turn>model\n", addBOS: true)
        let alone = try TextGenerator(model: Self.loaded.model, tokenizer: Self.tokenizer).generate(
            EngineRequest(promptIDs: prompt, maxTokens: 60, stopTokenIDs: [1, 106],
                          processors: [try Self.compiled().constraint()]))
        #expect(alone.tokenIDs == batched.tokens)
        #expect(alone.text == batched.text)
    }
}

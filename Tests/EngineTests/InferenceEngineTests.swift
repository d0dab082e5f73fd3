import Engine
import Foundation
import GGUF
import Model
import Testing
import Tokenizer

/// The batching engine against the one-sequence generator on the default model.
@Suite(.serialized)
struct InferenceEngineTests {
    static let loaded: LoadedModel = try! LoadedModel.load(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/gemma-3-270m-q4_k_m.gguf").standardized.path)

    func engine(maxRunning: Int = 16, maxQueue: Int = 64, prefill: Int = 512) -> InferenceEngine {
        let e = InferenceEngine(model: Self.loaded.model, tokenizer: Self.loaded.tokenizer, configuration: .init(
            limits: .init(maxRunning: maxRunning, maxPrefillTokensPerStep: prefill), maxQueue: maxQueue, maxSequenceLength: 1024))
        e.start()
        return e
    }

    func tokens(_ stream: AsyncStream<GenerationEvent>) async -> (ids: [Int32], text: String, finish: FinishReason?) {
        var ids: [Int32] = [], text = "", finish: FinishReason?
        for await event in stream {
            switch event {
            case let .token(id, piece, _):
                ids.append(id)
                text += piece
            case let .finished(reason, _, _): finish = reason
            case .failed: break
            }
        }
        return (ids, text, finish)
    }

    @Test("concurrent greedy requests produce exactly what each produces alone")
    func batchedEqualsAlone() async throws {
        let prompts = ["The capital of France is", "def fibonacci(n):", "Once upon a time", "1, 2, 3,", "Water boils at", "The quick brown fox"]
        let generator = TextGenerator(model: Self.loaded.model, tokenizer: Self.loaded.tokenizer)
        var expected: [[Int32]] = []
        for p in prompts {
            let ids = try Self.loaded.tokenizer.encode(p, addBOS: true)
            expected.append(try generator.generate(GenerationRequest(promptIDs: ids, maxTokens: 12)).tokenIDs)
        }
        // A small prefill budget forces prompts to be chunked across steps while others decode.
        let e = engine(prefill: 7)
        let streams = try prompts.map { try e.submit(EngineRequest(promptIDs: try Self.loaded.tokenizer.encode($0, addBOS: true), maxTokens: 12)) }
        var results: [[Int32]] = []
        for s in streams { results.append(await tokens(s).ids) }
        #expect(results == expected)
        await e.shutdown(timeout: .seconds(5))
    }

    @Test func stopStringsAndStopTokensEndTheSequence() async throws {
        let e = engine()
        let ids = try Self.loaded.tokenizer.encode("The capital of France is", addBOS: true)
        let full = await tokens(try e.submit(EngineRequest(promptIDs: ids, maxTokens: 12)))
        #expect(full.finish == .length && full.ids.count == 12)
        let cut = await tokens(try e.submit(EngineRequest(promptIDs: ids, maxTokens: 12, stopStrings: ["France"])))
        #expect(cut.finish == .stop)
        #expect(!cut.text.contains("France") && full.text.hasPrefix(cut.text))
        let stopAt = full.ids[3]
        let byToken = await tokens(try e.submit(EngineRequest(promptIDs: ids, maxTokens: 12, stopTokenIDs: [stopAt])))
        #expect(byToken.finish == .stop && byToken.ids == Array(full.ids.prefix(full.ids.firstIndex(of: stopAt)! + 1)))
        let ignoring = await tokens(try e.submit(EngineRequest(promptIDs: ids, maxTokens: 12, stopTokenIDs: [stopAt], ignoreEOS: true)))
        #expect(ignoring.ids == full.ids)
        await e.shutdown(timeout: .seconds(5))
    }

    @Test func droppingTheStreamCancelsTheSequence() async throws {
        let e = engine()
        let ids = try Self.loaded.tokenizer.encode("Tell me a story", addBOS: true)
        let task = Task {
            var n = 0
            for await event in try e.submit(EngineRequest(promptIDs: ids, maxTokens: 1000, ignoreEOS: true)) {
                if case .token = event { n += 1 }
                if n == 3 { break }
            }
        }
        try await task.value
        let deadline = ContinuousClock.now + .seconds(5)
        while e.snapshot.running > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(e.snapshot.running == 0)
        await e.shutdown(timeout: .seconds(5))
    }

    @Test func refusesWhatItCannotRun() async throws {
        let e = engine(maxRunning: 1, maxQueue: 1)
        #expect(throws: EngineError.emptyPrompt) { try e.submit(EngineRequest(promptIDs: [], maxTokens: 4)) }
        #expect(throws: EngineError.self) { try e.submit(EngineRequest(promptIDs: [2, 3], maxTokens: 5000)) }
        // One running, one waiting, the third is refused.
        let ids = try Self.loaded.tokenizer.encode("Hello", addBOS: true)
        var accepted: [AsyncStream<GenerationEvent>] = []
        var refused = 0
        for _ in 0..<6 {
            do { accepted.append(try e.submit(EngineRequest(promptIDs: ids, maxTokens: 200, ignoreEOS: true))) } catch EngineError.queueFull { refused += 1 }
        }
        #expect(refused >= 1)
        accepted.removeAll()
        await e.shutdown(timeout: .seconds(5))
        #expect(throws: EngineError.shuttingDown) { try e.submit(EngineRequest(promptIDs: ids, maxTokens: 4)) }
    }
}

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

    func engine(maxRunning: Int = 16, maxQueue: Int = 64, prefill: Int = 512, kvCacheMB: Int = 256, prefixCaching: Bool = true) -> InferenceEngine {
        let e = InferenceEngine(model: Self.loaded.model, tokenizer: Self.loaded.tokenizer, configuration: .init(
            limits: .init(maxRunning: maxRunning, maxPrefillTokensPerStep: prefill), maxQueue: maxQueue, maxSequenceLength: 1024,
            kvCacheMegabytes: kvCacheMB, prefixCaching: prefixCaching))
        e.start()
        return e
    }

    func tokens(_ stream: AsyncStream<GenerationEvent>) async -> (ids: [Int32], text: String, finish: FinishReason?, cached: Int) {
        var ids: [Int32] = [], text = "", finish: FinishReason?, cached = -1
        for await event in stream {
            switch event {
            case let .token(id, piece, _):
                ids.append(id)
                text += piece
            case let .finished(reason, _, _, cachedTokens):
                finish = reason
                cached = cachedTokens
            case .failed: break
            }
        }
        return (ids, text, finish, cached)
    }

    @Test("concurrent greedy requests produce exactly what each produces alone")
    func batchedEqualsAlone() async throws {
        let prompts = ["The capital of France is", "def fibonacci(n):", "Once upon a time", "1, 2, 3,", "Water boils at", "The quick brown fox"]
        let generator = TextGenerator(model: Self.loaded.model, tokenizer: Self.loaded.tokenizer)
        var expected: [[Int32]] = []
        for p in prompts {
            let ids = try Self.loaded.tokenizer.encode(p, addBOS: true)
            expected.append(try generator.generate(EngineRequest(promptIDs: ids, maxTokens: 12)).tokenIDs)
        }
        // A small prefill budget forces prompts to be chunked across steps while others decode.
        let e = engine(prefill: 7)
        let streams = try prompts.map { try e.submit(EngineRequest(promptIDs: try Self.loaded.tokenizer.encode($0, addBOS: true), maxTokens: 12)) }
        var results: [[Int32]] = []
        for s in streams { results.append(await tokens(s).ids) }
        #expect(results == expected)
        await e.shutdown(timeout: .seconds(5))
    }

    @Test("--kv-cache-tokens sizes the pool in positions per layer; an f16 pool of half the bytes gives the f32 tokens")
    func tokenSizedHalfPrecisionPool() async throws {
        let model = Self.loaded.model, layers = model.config.layerCount
        let pool = model.makePagePool(tokens: 1000)
        #expect(pool.pageCount == layers * 63, "1000 positions: 63 pages of 16 on each of \(layers) layers")
        #expect(KVPagePool.pageBytes(pageSize: 16, kvDim: pool.kvDim, precision: .float16) * 2
                == KVPagePool.pageBytes(pageSize: 16, kvDim: pool.kvDim))
        let prompts = ["The capital of France is", "def fibonacci(n):", "Once upon a time", "Water boils at"]
        var runs: [[[Int32]]] = []
        for precision in KVPrecision.allCases {
            var configuration = InferenceEngine.Configuration(limits: .init(maxRunning: 4), maxSequenceLength: 256)
            configuration.kvCacheTokens = 4 * 256
            configuration.kvCachePrecision = precision
            let e = InferenceEngine(model: model, tokenizer: Self.loaded.tokenizer, configuration: configuration)
            e.start()
            #expect(e.pages.precision == precision && e.pages.pageCount == layers * 64)
            let streams = try prompts.map {
                try e.submit(EngineRequest(promptIDs: try Self.loaded.tokenizer.encode($0, addBOS: true), maxTokens: 16))
            }
            var results: [[Int32]] = []
            for s in streams { results.append(await tokens(s).ids) }
            runs.append(results)
            await e.shutdown(timeout: .seconds(5))
        }
        #expect(runs[0].allSatisfy { $0.count == 16 })
        // Greedy ids of these prompts have no near-ties at f16's rounding (the golden test bounds it).
        #expect(runs[0] == runs[1])
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
        // ignore_eos: the stop token is never sampled; up to where it came, the tokens are the same.
        let ignoring = await tokens(try e.submit(EngineRequest(promptIDs: ids, maxTokens: 12, stopTokenIDs: [stopAt], ignoreEOS: true)))
        let before = full.ids.firstIndex(of: stopAt)!
        #expect(ignoring.finish == .length && ignoring.ids.count == 12 && !ignoring.ids.contains(stopAt))
        #expect(Array(ignoring.ids.prefix(before)) == Array(full.ids.prefix(before)))
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

    @Test("a prefix-cache hit gives exactly the tokens of a cold run, also for a longer follow-up prompt")
    func prefixCacheHitEqualsColdRun() async throws {
        let system = "You are a careful assistant. Answer in one short sentence, plainly, without lists. "
        let first = try Self.loaded.tokenizer.encode(system + "What is the capital of France?", addBOS: true)
        let followUp = try Self.loaded.tokenizer.encode(system + "What is the capital of France? And of Spain?", addBOS: true)
        let cold = engine(prefixCaching: false)
        let expectedFirst = await tokens(try cold.submit(EngineRequest(promptIDs: first, maxTokens: 10))).ids
        let expectedFollowUp = await tokens(try cold.submit(EngineRequest(promptIDs: followUp, maxTokens: 10))).ids
        await cold.shutdown(timeout: .seconds(5))

        let e = engine()
        let a = await tokens(try e.submit(EngineRequest(promptIDs: first, maxTokens: 10)))
        #expect(a.ids == expectedFirst && a.cached == 0)
        let b = await tokens(try e.submit(EngineRequest(promptIDs: first, maxTokens: 10)))
        #expect(b.ids == expectedFirst)
        #expect(b.cached == (first.count - 1) / 16 * 16 && b.cached > 0)
        let c = await tokens(try e.submit(EngineRequest(promptIDs: followUp, maxTokens: 10)))
        #expect(c.ids == expectedFollowUp && c.cached >= 16)
        let s = e.snapshot
        #expect(s.prefixHitTokens == b.cached + c.cached && s.prefixEntries > 0)
        await e.shutdown(timeout: .seconds(5))
    }

    @Test("KV pages stay within the budget: requests wait for pages, all finish, and a request larger than the cache is refused")
    func memoryStaysWithinTheBudget() async throws {
        // 3 MB of 32 KB pages = 96 pages; each request below (up to 28 positions) needs 2 pages × 18 layers = 36, so two run at once.
        let e = engine(kvCacheMB: 3, prefixCaching: false)
        #expect(e.pages.pageCount == 96)
        let prompts = ["The capital of France is", "Once upon a time", "1, 2, 3,", "Water boils at", "The quick brown fox", "def f(x):"]
        let generator = TextGenerator(model: Self.loaded.model, tokenizer: Self.loaded.tokenizer)
        var expected: [[Int32]] = []
        var streams: [AsyncStream<GenerationEvent>] = []
        for p in prompts {
            let ids = try Self.loaded.tokenizer.encode(p, addBOS: true)
            expected.append(try generator.generate(EngineRequest(promptIDs: ids, maxTokens: 20)).tokenIDs)
            streams.append(try e.submit(EngineRequest(promptIDs: ids, maxTokens: 20)))
        }
        let watcher = Task {
            var worst = (running: 0, used: 0, committed: 0)
            while !Task.isCancelled {
                let s = e.snapshot
                worst = (max(worst.running, s.running), max(worst.used, s.kvPagesUsed), max(worst.committed, s.kvPagesCommitted))
                try? await Task.sleep(for: .milliseconds(2))
            }
            return worst
        }
        var results: [[Int32]] = []
        for s in streams { results.append(await tokens(s).ids) }
        watcher.cancel()
        let worst = await watcher.value
        #expect(results == expected)
        #expect(worst.running <= 2 && worst.used <= 96 && worst.committed <= 96)
        // The snapshot is written at the end of the step whose tokens finished the streams; give it that step.
        var released = e.snapshot
        for _ in 0..<200 where released.kvPagesUsed != 0 || released.running != 0 {
            try await Task.sleep(for: .milliseconds(10))
            released = e.snapshot
        }
        #expect(released.kvPagesUsed == 0 && released.running == 0)
        // 60 prompt + 40 completion positions need more than 96 pages: refused up front.
        #expect(throws: EngineError.kvCacheTooSmall(pagesNeeded: 7 * 18, pagesTotal: 96)) {
            try e.submit(EngineRequest(promptIDs: Array(repeating: 2, count: 60), maxTokens: 40))
        }
        await e.shutdown(timeout: .seconds(5))
    }
}

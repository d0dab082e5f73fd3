import Adapters
import Engine
import Foundation
import Model
import Sampling
import Testing

/// A processor takes effect for its own sequence only, inside a batch that mixes the base model, a
/// LoRA adapter and a sequence with the processor.
@Suite(.serialized)
struct LogitsProcessorTests {
    static let loaded = InferenceEngineTests.loaded
    static let adapter: LoRAAdapter = try! PEFTLoader.load(
        name: "ticket-triage",
        folder: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../adapters/ticket-triage").standardized.path,
        base: loaded.model.config, maxRank: 64, version: 1)

    func engine() -> InferenceEngine {
        let e = InferenceEngine(model: Self.loaded.model, tokenizer: Self.loaded.tokenizer, configuration: .init(
            maxSequenceLength: 1024, kvCacheMegabytes: 256, prefixCaching: false))
        e.start()
        return e
    }

    func ids(_ stream: AsyncStream<GenerationEvent>) async -> [Int32] {
        var ids: [Int32] = []
        for await case let .token(id, _, _) in stream { ids.append(id) }
        return ids
    }

    @Test("a token ban changes one sequence of a mixed-adapter batch and no other")
    func banTakesEffectForOneSequenceOnly() async throws {
        let prompt = try Self.loaded.tokenizer.encode("The capital of France is", addBOS: true)
        let base = EngineRequest(promptIDs: prompt, maxTokens: 10)
        let onAdapter = EngineRequest(promptIDs: prompt, maxTokens: 10, adapter: Self.adapter)
        let e = engine()
        let baseAlone = await ids(try e.submit(base))
        let adapterAlone = await ids(try e.submit(onAdapter))
        let banned = Set(baseAlone.prefix(3))
        var withBan = base
        withBan.processors = [BannedTokens(banned)]

        let streams = try [base, withBan, onAdapter].map { try e.submit($0) }
        var together: [[Int32]] = []
        for s in streams { together.append(await ids(s)) }
        await e.shutdown(timeout: .seconds(5))

        #expect(together[0] == baseAlone)
        #expect(together[2] == adapterAlone)
        #expect(adapterAlone != baseAlone, "the adapter should change the greedy text")
        #expect(together[1].count == 10 && banned.isDisjoint(with: together[1]))
        #expect(together[1] != baseAlone)
    }

    /// Stops its sequence once it has seen `count` tokens, the way a grammar ends a document.
    struct FinishAfter: LogitsProcessor {
        let count: Int
        var seen = 0
        func process(_ logits: UnsafeMutableBufferPointer<Float>) {}
        mutating func didSample(_ token: Int32) { seen += 1 }
        var isFinished: Bool { seen >= count }
    }

    @Test("a processor that says it is finished ends its sequence with finish reason stop")
    func finishedProcessorStopsTheSequence() async throws {
        let prompt = try Self.loaded.tokenizer.encode("Once upon a time", addBOS: true)
        var request = EngineRequest(promptIDs: prompt, maxTokens: 20)
        request.processors = [FinishAfter(count: 4)]
        let e = engine()
        var tokens = 0, finish: FinishReason?
        for await event in try e.submit(request) {
            if case .token = event { tokens += 1 }
            if case let .finished(reason, _, _, _) = event { finish = reason }
        }
        await e.shutdown(timeout: .seconds(5))
        #expect(tokens == 4 && finish == .stop)
    }
}

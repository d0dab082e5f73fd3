import Engine
import Foundation
import GGUF
import Model
import Sampling
import Testing

/// Properties every architecture must have, run over each one.
@Suite(.serialized)
struct ConformanceTests {
    static let models: [String: any LanguageModel] = [
        "gemma3": Gemma3GoldenTests.model,
        "gemma3-int16": Int16GoldenTests.model,
        "llama": LlamaGoldenTests.model,
    ]

    static let tolerance: Float = 2e-3

    func ids(_ n: Int, vocabulary: Int, seed: Int) -> [Int32] {
        (0..<n).map { Int32(3 + ($0 * 7919 + seed * 104_729) % (min(vocabulary, 30_000) - 3)) }
    }

    func maxDifference(_ a: UnsafeMutableBufferPointer<Float>, _ b: UnsafeMutableBufferPointer<Float>) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test("prefill of N tokens equals N single steps", arguments: ["gemma3", "gemma3-int16", "llama"])
    func prefillEqualsSteps(_ name: String) throws {
        let model = Self.models[name]!
        let tokens = ids(12, vocabulary: model.config.vocabularySize, seed: 1)
        let a = model.makeCache(maxPositions: 64), b = model.makeCache(maxPositions: 64)
        let all = try model.forward(ForwardBatch(tokens: tokens, positions: Array(0..<12), caches: Array(repeating: a, count: 12), logitRows: Array(0..<12)))
        for (i, t) in tokens.enumerated() {
            let one = try model.forward(ForwardBatch(tokens: [t], positions: [i], caches: [b], logitRows: [0]))
            #expect(maxDifference(all.row(i), one.row(0)) <= Self.tolerance, "\(name) row \(i)")
        }
        #expect(a.count == 12 && b.count == 12)
    }

    @Test("a batch of two sequences equals each alone, in prefill and decode", arguments: ["gemma3", "gemma3-int16", "llama"])
    func batchEqualsSingles(_ name: String) throws {
        let model = Self.models[name]!
        let v = model.config.vocabularySize
        let promptA = ids(9, vocabulary: v, seed: 2), promptB = ids(5, vocabulary: v, seed: 3)

        // Alone: prefill then three greedy steps.
        func alone(_ prompt: [Int32]) throws -> [[Float]] {
            let cache = model.makeCache(maxPositions: 64)
            var logits = try model.forward(ForwardBatch(tokens: prompt, positions: Array(0..<prompt.count), caches: Array(repeating: cache, count: prompt.count), logitRows: [prompt.count - 1]))
            var out = [Array(logits.row(0))]
            for _ in 0..<3 {
                let next = Sampler.argmax(logits.row(0))
                logits = try model.forward(ForwardBatch(tokens: [next], positions: [cache.count], caches: [cache], logitRows: [0]))
                out.append(Array(logits.row(0)))
            }
            return out
        }
        let expectedA = try alone(promptA), expectedB = try alone(promptB)

        // Together: one prefill batch with both prompts, then decode steps with two rows.
        let ca = model.makeCache(maxPositions: 64), cb = model.makeCache(maxPositions: 64)
        var logits = try model.forward(ForwardBatch(
            tokens: promptA + promptB, positions: Array(0..<9) + Array(0..<5),
            caches: Array(repeating: ca, count: 9) + Array(repeating: cb, count: 5), logitRows: [8, 13]))
        for step in 0..<4 {
            var a = expectedA[step], b = expectedB[step]
            let da = a.withUnsafeMutableBufferPointer { maxDifference($0, logits.row(0)) }
            let db = b.withUnsafeMutableBufferPointer { maxDifference($0, logits.row(1)) }
            #expect(da <= Self.tolerance && db <= Self.tolerance, "\(name) step \(step): \(da), \(db)")
            guard step < 3 else { break }
            let next = [Sampler.argmax(logits.row(0)), Sampler.argmax(logits.row(1))]
            logits = try model.forward(ForwardBatch(tokens: next, positions: [ca.count, cb.count], caches: [ca, cb], logitRows: [0, 1]))
        }
    }

    @Test("rows that skip a position are refused", arguments: ["gemma3", "gemma3-int16", "llama"])
    func invalidBatch(_ name: String) throws {
        let model = Self.models[name]!
        let cache = model.makeCache(maxPositions: 8)
        #expect(throws: ModelError.self) { try model.forward(ForwardBatch(tokens: [5], positions: [3], caches: [cache], logitRows: [0])) }
        #expect(throws: ModelError.self) { try model.forward(ForwardBatch(tokens: [-1], positions: [0], caches: [cache], logitRows: [0])) }
        let full = model.makeCache(maxPositions: 2)
        #expect(throws: ModelError.self) { try model.forward(ForwardBatch(tokens: [5, 6, 7], positions: [0, 1, 2], caches: [full, full, full], logitRows: [2])) }
        #expect(cache.count == 0 && full.count == 0)
    }
}

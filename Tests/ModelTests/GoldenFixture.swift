import Engine
import Foundation
import GGUF
import Model
import Sampling
import Testing

/// A reference run: prompt ids, the reference's greedy continuation and its top-5 logits per step.
struct GoldenCase: Decodable, CustomTestStringConvertible {
    let name: String?
    let prompt_ids: [Int32]
    let greedy_ids: [Int32]
    /// Per step: five `[id, logit]` pairs, best first.
    let top5: [[[Double]]]
    var testDescription: String { name ?? "\(prompt_ids.count) prompt tokens" }
}

struct GoldenFile: Decodable {
    let cases: [GoldenCase]
}

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let defaultModelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/gemma-3-270m-q4_k_m.gguf").standardized.path

    static func golden(_ name: String) -> [GoldenCase] {
        let data = try! Data(contentsOf: directory.appendingPathComponent(name))
        return try! JSONDecoder().decode(GoldenFile.self, from: data).cases
    }

    static func model(at path: String, precision: KernelPrecision = .float32,
                      kernels: KernelPath = .detected) throws -> any LanguageModel {
        try ModelLoader.load(GGUFFile(path: path), precision: precision, kernels: kernels)
    }
}

/// Runs `c` through `model` with teacher forcing (the reference's own tokens are fed back, so one
/// near-tie cannot cascade) and checks greedy ids and top-5 logits at every step.
/// Returns the largest absolute logit difference seen.
@discardableResult
func checkGolden(_ c: GoldenCase, model: any LanguageModel, tolerance: Float,
                 kvPrecision: KVPrecision = .float32) throws -> Float {
    let positions = c.prompt_ids.count + c.greedy_ids.count
    let cache = model.makeCache(maxPositions: positions,
                                pool: model.makePagePool(tokens: positions, precision: kvPrecision))
    let n = c.prompt_ids.count
    var logits = try model.forward(ForwardBatch(tokens: c.prompt_ids, positions: Array(0..<n), caches: Array(repeating: cache, count: n), logitRows: [n - 1]))
    var worst: Float = 0
    for (step, expected) in c.greedy_ids.enumerated() {
        let row = logits.row(0)
        #expect(Sampler.argmax(row) == expected, "step \(step): greedy id differs")
        for pair in c.top5[step] {
            let id = Int(pair[0]), reference = Float(pair[1])
            let difference = abs(row[id] - reference)
            worst = max(worst, difference)
            #expect(difference <= tolerance, "step \(step), token \(id): \(row[id]) vs reference \(reference)")
        }
        if step + 1 < c.greedy_ids.count {
            logits = try model.forward(ForwardBatch(tokens: [expected], positions: [cache.count], caches: [cache], logitRows: [0]))
        }
    }
    return worst
}

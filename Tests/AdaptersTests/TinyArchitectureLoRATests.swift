import Adapters
import Foundation
import GGUF
import Model
import Sampling
import Testing

/// Random PEFT adapters (r 4) on the tiny Qwen 2, Qwen 3, Llama 3 and Phi-3 models against peft
/// (ModelTests/Fixtures/make_tiny_bpe_models.py): Hugging Face module names, q/k rows permuted for
/// Llama's interleaved RoPE, Phi-3's fused qkv_proj / gate_up_proj split into their sites.
@Suite(.serialized)
struct TinyArchitectureLoRATests {
    struct Golden: Decodable {
        struct Case: Decodable {
            let prompt_ids: [Int32]
            let greedy_ids: [Int32]
            let top5: [[[Double]]]
        }
        struct LoRA: Decodable { let cases: [Case] }
        let cases: [Case]
        let lora: LoRA
    }

    static let architectures = ["qwen2", "qwen3", "llama3", "phi3"]
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../ModelTests/Fixtures").standardized

    static func load(_ arch: String) throws -> (any LanguageModel, LoRAAdapter, Golden) {
        let model = try ModelLoader.load(GGUFFile(path: models.appendingPathComponent("tiny_\(arch).gguf").path),
                                         precision: .float32)
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tiny-\(arch)-r4").path
        let adapter = try PEFTLoader.load(name: arch, folder: folder, base: model.config, maxRank: 64, version: 1)
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: models.appendingPathComponent(
            "tiny_\(arch)_golden.json")))
        return (model, adapter, golden)
    }

    @Test("every projection of every layer is adapted", arguments: architectures)
    func sites(_ arch: String) throws {
        let (model, adapter, _) = try Self.load(arch)
        #expect(adapter.weights.count == 7 * model.config.layerCount)
    }

    /// Teacher-forced greedy decoding of one case; the adapter on the rows it is given.
    func check(_ c: Golden.Case, model: any LanguageModel, adapter: LoRAAdapter?) throws -> Float {
        let cache = model.makeCache(maxPositions: 64)
        func delta(_ rows: Int) -> LoRABatchDelta? {
            LoRABatchDelta(rowAdapters: Array(repeating: adapter.map { ($0, 1) }, count: rows))
        }
        let n = c.prompt_ids.count
        var logits = try model.forward(ForwardBatch(tokens: c.prompt_ids, positions: Array(0..<n),
                                                    caches: Array(repeating: cache, count: n), logitRows: [n - 1],
                                                    delta: delta(n)))
        var worst: Float = 0
        for (step, expected) in c.greedy_ids.enumerated() {
            let row = logits.row(0)
            #expect(Sampler.argmax(row) == expected, "step \(step)")
            for pair in c.top5[step] {
                worst = max(worst, abs(row[Int(pair[0])] - Float(pair[1])))
            }
            if step + 1 < c.greedy_ids.count {
                logits = try model.forward(ForwardBatch(tokens: [expected], positions: [cache.count], caches: [cache],
                                                        logitRows: [0], delta: delta(1)))
            }
        }
        return worst
    }

    @Test("greedy ids and top-5 logits match peft", arguments: architectures)
    func golden(_ arch: String) throws {
        let (model, adapter, golden) = try Self.load(arch)
        for c in golden.lora.cases {
            let worst = try check(c, model: model, adapter: adapter)
            #expect(worst <= 1e-3, "\(arch) \(c.prompt_ids.count) prompt tokens: max |Δlogit| \(worst)")
        }
    }

    @Test("a batch mixing the adapter and the base gives each its own reference logits", arguments: architectures)
    func mixedBatch(_ arch: String) throws {
        let (model, adapter, golden) = try Self.load(arch)
        let adapted = golden.lora.cases[1], base = golden.cases[2]
        let caches = [model.makeCache(maxPositions: 64), model.makeCache(maxPositions: 64)]
        let prompts = [adapted.prompt_ids, base.prompt_ids]
        var rowAdapters: [(adapter: LoRAAdapter, scale: Float)?] = []
        var rowCaches: [KVCache] = []
        for (i, prompt) in prompts.enumerated() {
            rowAdapters += Array(repeating: i == 0 ? (adapter, 1) : nil, count: prompt.count)
            rowCaches += Array(repeating: caches[i], count: prompt.count)
        }
        let logits = try model.forward(ForwardBatch(
            tokens: prompts[0] + prompts[1], positions: Array(0..<prompts[0].count) + Array(0..<prompts[1].count),
            caches: rowCaches, logitRows: [prompts[0].count - 1, prompts[0].count + prompts[1].count - 1],
            delta: LoRABatchDelta(rowAdapters: rowAdapters)))
        for (row, reference) in [adapted.top5[0], base.top5[0]].enumerated() {
            for pair in reference {
                #expect(abs(logits.row(row)[Int(pair[0])] - Float(pair[1])) <= 1e-3, "row \(row) token \(pair[0])")
            }
        }
    }
}

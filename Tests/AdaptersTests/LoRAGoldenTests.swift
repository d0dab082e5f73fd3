import Adapters
import Foundation
import GGUF
import Model
import Sampling
import Testing

/// LoRA deltas against `transformers` + `peft` on the default model (Fixtures/make_lora_fixtures.py):
/// random adapters of rank 4 (F32), 8 (F16, rsLoRA) and 16 (BF16) on all seven projections, and an
/// all-zero adapter.
@Suite(.serialized)
struct LoRAGoldenTests {
    struct Case: Decodable, CustomTestStringConvertible {
        let adapter: String
        let name: String
        let prompt_ids: [Int32]
        let greedy_ids: [Int32]
        let top5: [[[Double]]]
        var testDescription: String { "\(adapter) / \(name)" }
    }

    struct Probe: Decodable {
        let layer: Int
        let module: String
        let in_features: Int
        let out_features: Int
        let first: [Double]
        let l2: Double
    }

    struct AdapterInfo: Decodable {
        let name: String
        let scaling: Double
        let delta_probe: [Probe]
    }

    struct Fixture: Decodable {
        let cases: [Case]
        let adapters: [AdapterInfo]
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let fixture = try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtures.appendingPathComponent("lora_golden.json")))
    static let modelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/gemma-3-270m-q4_k_m.gguf").standardized.path
    static let model: any LanguageModel = try! ModelLoader.load(GGUFFile(path: modelPath), precision: .float32)

    /// `NAME` is a PEFT fixture folder; `NAME-gguf` the same adapter converted to llama.cpp's GGUF
    /// LoRA format by tools/peft_to_gguf_lora.py (so it must give the same goldens).
    static func adapter(_ name: String) throws -> LoRAAdapter? {
        if name == "base" { return nil }
        if name.hasSuffix("-gguf") {
            return try GGUFLoRALoader.load(name: name, file: fixtures.appendingPathComponent(name + "/adapter.gguf").path, base: model.config, maxRank: 64, version: 1)
        }
        return try PEFTLoader.load(name: name, folder: fixtures.appendingPathComponent(name).path, base: model.config, maxRank: 64, version: 1)
    }

    /// Golden cases, plus the random-r4 ones again through its GGUF LoRA copy.
    static let cases = fixture.cases + fixture.cases.filter { $0.adapter == "random-r4" }.map {
        Case(adapter: "random-r4-gguf", name: $0.name, prompt_ids: $0.prompt_ids, greedy_ids: $0.greedy_ids, top5: $0.top5)
    }

    /// Same bound as the base model's golden test: fp32 summation order only.
    static let tolerance: Float = 2e-3

    @Test("greedy ids and top-5 logits match peft", arguments: cases)
    func golden(_ c: Case) throws {
        let adapter = try Self.adapter(c.adapter)
        let model = Self.model
        let cache = model.makeCache(maxPositions: 64)
        func delta(_ rows: Int) -> LoRABatchDelta? { LoRABatchDelta(rowAdapters: Array(repeating: adapter.map { ($0, 1) }, count: rows)) }
        let n = c.prompt_ids.count
        var logits = try model.forward(ForwardBatch(tokens: c.prompt_ids, positions: Array(0..<n), caches: Array(repeating: cache, count: n),
                                                    logitRows: [n - 1], delta: delta(n)))
        var worst: Float = 0
        for (step, expected) in c.greedy_ids.enumerated() {
            let row = logits.row(0)
            #expect(Sampler.argmax(row) == expected, "step \(step)")
            for pair in c.top5[step] {
                let difference = abs(row[Int(pair[0])] - Float(pair[1]))
                worst = max(worst, difference)
                #expect(difference <= Self.tolerance, "step \(step), token \(Int(pair[0])): \(row[Int(pair[0])]) vs \(pair[1])")
            }
            if step + 1 < c.greedy_ids.count {
                logits = try model.forward(ForwardBatch(tokens: [expected], positions: [cache.count], caches: [cache], logitRows: [0], delta: delta(1)))
            }
        }
        print("lora \(c.testDescription): max |Δlogit| = \(worst)")
    }

    @Test("the delta of one projection equals scaling · B·(A·x)",
          arguments: fixture.adapters.filter { $0.name != "zero-r8" }.map { ($0, $0.name) } + fixture.adapters.filter { $0.name == "random-r4" }.map { ($0, "random-r4-gguf") })
    func deltaProbe(_ info: AdapterInfo, _ source: String) throws {
        let adapter = try #require(try Self.adapter(source))
        let delta = try #require(LoRABatchDelta(rowAdapters: [(adapter: adapter, scale: Float(1))]))
        let sites: [String: ProjectionSite] = ["self_attn.q_proj": .q, "self_attn.v_proj": .v, "mlp.down_proj": .down]
        for probe in info.delta_probe {
            let x = (0..<probe.in_features).map { Float(($0 % 7) - 3) / 4 }
            var y = [Float](repeating: 0, count: probe.out_features)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer {
                    delta.addDelta(site: sites[probe.module]!, layer: probe.layer, input: xp.baseAddress!, inputs: probe.in_features,
                                   output: $0.baseAddress!, outputs: probe.out_features, rows: 1)
                }
            }
            for (i, v) in probe.first.enumerated() { #expect(abs(Double(y[i]) - v) < 1e-5, "\(info.name) \(probe.module)[\(i)]") }
            let l2 = y.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(l2 - probe.l2) < 1e-4 * max(1, probe.l2))
        }
    }

    @Test("a mixed batch of base + three adapters equals each sequence alone")
    func mixedBatch() throws {
        let model = Self.model
        let names = ["base", "random-r4", "random-r8", "random-r16"]
        let adapters = try names.map { try Self.adapter($0) }
        let prompts: [[Int32]] = [[2, 818, 5279, 529, 7001, 563], [2, 2063, 139, 1511, 9264, 236769, 236749, 1473], [2, 818, 5279], [2, 4368, 563, 506, 1623]]

        func alone(_ i: Int) throws -> [[Float]] {
            let cache = model.makeCache(maxPositions: 32)
            let d = { (n: Int) in LoRABatchDelta(rowAdapters: Array(repeating: adapters[i].map { ($0, 1) }, count: n)) }
            var logits = try model.forward(ForwardBatch(tokens: prompts[i], positions: Array(0..<prompts[i].count),
                                                        caches: Array(repeating: cache, count: prompts[i].count), logitRows: [prompts[i].count - 1], delta: d(prompts[i].count)))
            var out = [Array(logits.row(0))]
            for _ in 0..<3 {
                logits = try model.forward(ForwardBatch(tokens: [Sampler.argmax(logits.row(0))], positions: [cache.count], caches: [cache], logitRows: [0], delta: d(1)))
                out.append(Array(logits.row(0)))
            }
            return out
        }
        let expected = try (0..<4).map(alone)

        let caches = (0..<4).map { _ in model.makeCache(maxPositions: 32) }
        var tokens: [Int32] = [], positions: [Int] = [], rowCaches: [KVCache] = [], rowAdapters: [(adapter: LoRAAdapter, scale: Float)?] = [], logitRows: [Int] = []
        for i in 0..<4 {
            tokens += prompts[i]
            positions += Array(0..<prompts[i].count)
            rowCaches += Array(repeating: caches[i], count: prompts[i].count)
            rowAdapters += Array(repeating: adapters[i].map { ($0, 1) }, count: prompts[i].count)
            logitRows.append(tokens.count - 1)
        }
        var logits = try model.forward(ForwardBatch(tokens: tokens, positions: positions, caches: rowCaches, logitRows: logitRows, delta: LoRABatchDelta(rowAdapters: rowAdapters)))
        // Decode rows in a shuffled order so adapter groups are not contiguous.
        let order = [2, 0, 3, 1]
        for step in 0..<4 {
            for (j, i) in (step == 0 ? Array(0..<4) : order).enumerated() {
                var e = expected[i][step]
                let difference = e.withUnsafeMutableBufferPointer { ep in zip(ep, logits.row(j)).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) } }
                #expect(difference <= Self.tolerance, "\(names[i]) step \(step): \(difference)")
            }
            guard step < 3 else { break }
            let previous = step == 0 ? Array(0..<4) : order
            var next = [Int32](repeating: 0, count: 4)
            for (j, i) in previous.enumerated() { next[i] = Sampler.argmax(logits.row(j)) }
            logits = try model.forward(ForwardBatch(tokens: order.map { next[$0] }, positions: order.map { caches[$0].count }, caches: order.map { caches[$0] },
                                                    logitRows: Array(0..<4), delta: LoRABatchDelta(rowAdapters: order.map { adapters[$0].map { ($0, 1) } })))
        }
    }

    @Test func zeroAdapterEqualsBase() throws {
        let zero = try #require(try Self.adapter("zero-r8"))
        let model = Self.model
        let prompt: [Int32] = [2, 818, 5279, 529, 7001, 563]
        let a = model.makeCache(maxPositions: 16), b = model.makeCache(maxPositions: 16)
        let base = try model.forward(ForwardBatch(tokens: prompt, positions: Array(0..<6), caches: Array(repeating: a, count: 6), logitRows: [5]))
        let withZero = try model.forward(ForwardBatch(tokens: prompt, positions: Array(0..<6), caches: Array(repeating: b, count: 6), logitRows: [5],
                                                      delta: LoRABatchDelta(rowAdapters: Array(repeating: (zero, 1), count: 6))))
        #expect(Array(base.row(0)) == Array(withZero.row(0)))
    }

    @Test func loraScaleZeroEqualsBase() throws {
        let r4 = try #require(try Self.adapter("random-r4"))
        let model = Self.model
        let prompt: [Int32] = [2, 818, 5279]
        let a = model.makeCache(maxPositions: 8), b = model.makeCache(maxPositions: 8)
        let base = try model.forward(ForwardBatch(tokens: prompt, positions: [0, 1, 2], caches: [a, a, a], logitRows: [2]))
        let scaled = try model.forward(ForwardBatch(tokens: prompt, positions: [0, 1, 2], caches: [b, b, b], logitRows: [2],
                                                    delta: LoRABatchDelta(rowAdapters: Array(repeating: (r4, 0), count: 3))))
        #expect(Array(base.row(0)) == Array(scaled.row(0)))
    }
}

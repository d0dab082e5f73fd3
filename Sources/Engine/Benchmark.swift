import Dispatch
import Model
import Sampling
import Sampling

/// Throughput of the raw engine: prompt processing of one sequence, and aggregate decode with
/// several sequences sharing every forward step (what the server's batching does).
public struct Benchmark {
    public struct Row: Sendable {
        public let name: String
        public let tokens: Int
        public let seconds: Double
        public var tokensPerSecond: Double { Double(tokens) / seconds }
    }

    public let model: any LanguageModel

    public init(model: any LanguageModel) {
        self.model = model
    }

    /// Deterministic, non-trivial token ids (no specials: ids from the middle of the vocabulary).
    func tokens(_ count: Int, seed: Int) -> [Int32] {
        var rng = SplitMix64(seed: UInt64(seed))
        let low = min(1000, model.config.vocabularySize / 4), high = min(200_000, model.config.vocabularySize)
        return (0..<count).map { _ in Int32(low + Int(rng.next() % UInt64(high - low))) }
    }

    /// Prefill of `count` tokens in one forward call (the best of `repeats`).
    public func promptProcessing(tokens count: Int, repeats: Int = 2) throws -> Row {
        var best = Double.infinity
        for r in 0..<repeats {
            let cache = model.makeCache(maxPositions: count)
            let ids = tokens(count, seed: r)
            let start = DispatchTime.now()
            _ = try model.forward(ForwardBatch(tokens: ids, positions: Array(0..<count),
                                               caches: Array(repeating: cache, count: count), logitRows: [count - 1]))
            best = min(best, seconds(since: start))
        }
        return Row(name: "pp\(count)", tokens: count, seconds: best)
    }

    /// `sequences` sequences each prefilled with `promptTokens`, then `steps` decode steps in which
    /// every sequence gets one token (greedy); the time of the decode steps only.
    public func decode(sequences: Int, promptTokens: Int, steps: Int) throws -> Row {
        let caches = (0..<sequences).map { _ in model.makeCache(maxPositions: promptTokens + steps + 1) }
        var rows: [Int32] = [], positions: [Int] = [], rowCaches: [KVCache] = [], logitRows: [Int] = []
        for s in 0..<sequences {
            rows += tokens(promptTokens, seed: 100 + s)
            positions += Array(0..<promptTokens)
            rowCaches += Array(repeating: caches[s], count: promptTokens)
            logitRows.append(rows.count - 1)
        }
        var logits = try model.forward(ForwardBatch(tokens: rows, positions: positions, caches: rowCaches,
                                                    logitRows: logitRows))
        let start = DispatchTime.now()
        for _ in 0..<steps {
            let next = (0..<sequences).map { Sampler.argmax(logits.row($0)) }
            logits = try model.forward(ForwardBatch(tokens: next, positions: caches.map(\.count), caches: caches,
                                                    logitRows: Array(0..<sequences)))
        }
        return Row(name: "tg\(steps) × \(sequences) seq", tokens: steps * sequences, seconds: seconds(since: start))
    }

    /// Milliseconds per token of `Sampler.sample` at common settings, over the logits the model
    /// gives after a short prompt (a real distribution, not noise); the mean of `draws` draws.
    public func sampling(draws: Int = 200) throws -> [(name: String, milliseconds: Double)] {
        let ids = tokens(32, seed: 7)
        let cache = model.makeCache(maxPositions: ids.count)
        let logits = try model.forward(ForwardBatch(tokens: ids, positions: Array(0..<ids.count),
                                                    caches: Array(repeating: cache, count: ids.count),
                                                    logitRows: [ids.count - 1]))
        let reference = Array(logits.row(0))
        let settings: [(String, SamplingParameters)] = [
            ("greedy", .init()), ("temperature 1", .init(temperature: 1)),
            ("temperature 0.8, top_p 0.95", .init(temperature: 0.8, topP: 0.95)),
            ("temperature 1, top_k 40", .init(temperature: 1, topK: 40)),
            ("temperature 1, min_p 0.05", .init(temperature: 1, minP: 0.05)),
            ("temperature 1.5, top_p 0.99", .init(temperature: 1.5, topP: 0.99)),
        ]
        var row = reference
        return settings.map { name, parameters in
            var sampler = Sampler(parameters: parameters)
            var elapsed = 0.0
            for _ in 0..<draws {
                _ = row.withUnsafeMutableBufferPointer { $0.update(fromContentsOf: reference) }
                let start = DispatchTime.now()
                _ = row.withUnsafeMutableBufferPointer { sampler.sample($0) }
                elapsed += seconds(since: start)
            }
            return (name, elapsed / Double(draws) * 1000)
        }
    }
}

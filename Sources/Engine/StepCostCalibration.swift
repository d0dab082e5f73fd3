import Dispatch
import Model

/// Times a few steps of placeholder tokens before the engine serves, so the step cost model knows
/// a step of many decode rows before the first burst of requests has to be admitted beside one.
enum StepCostCalibration {
    typealias Observation = (decodeRows: Int, promptTokens: Int, seconds: Double)

    /// A prompt of `promptTokens`, a step of one decode row and a step of `rows` decode rows, each
    /// run twice (the first run of a shape sizes scratch and warms caches); the second runs, as
    /// observations. Empty when the pool has no room for them: the steps of requests teach the model.
    static func measure(model: any LanguageModel, pool: KVPagePool, rows: Int,
                        promptTokens: Int = 64) -> [Observation] {
        let shapes: [(decodeRows: Int, lengths: [Int])] = [(0, [promptTokens]), (1, [1]),
                                                           (rows, Array(repeating: 1, count: rows))]
        var observations: [Observation] = []
        do {
            for shape in shapes {
                _ = try time(model: model, pool: pool, lengths: shape.lengths)
                let seconds = try time(model: model, pool: pool, lengths: shape.lengths)
                observations.append((shape.decodeRows, shape.decodeRows == 0 ? promptTokens : 0, seconds))
            }
        } catch {
            return []
        }
        return observations
    }

    /// Seconds of one forward over fresh sequences of `lengths` tokens, logits for each one's last.
    private static func time(model: any LanguageModel, pool: KVPagePool, lengths: [Int]) throws -> Double {
        var tokens: [Int32] = [], positions: [Int] = [], caches: [KVCache] = [], logitRows: [Int] = []
        let vocabulary = model.config.vocabularySize
        for n in lengths {
            let cache = model.makeCache(maxPositions: n, pool: pool)
            for p in 0..<n {
                tokens.append(Int32(1 + p % max(vocabulary - 1, 1)))
                positions.append(p)
                caches.append(cache)
            }
            logitRows.append(tokens.count - 1)
        }
        let start = DispatchTime.now()
        _ = try model.forward(ForwardBatch(tokens: tokens, positions: positions, caches: caches, logitRows: logitRows))
        return seconds(since: start)
    }
}

import Dispatch
import Model

/// Times a few steps of placeholder tokens before the engine serves, so the step cost model knows
/// a step of many decode rows before the first burst of requests has to be admitted beside one.
enum StepCostCalibration {
    typealias Observation = (decodeRows: Int, promptTokens: Int, seconds: Double)

    /// A prompt of `promptTokens`, a step of one decode row and a step of `rows` decode rows, each
    /// run twice (the first run of a shape sizes scratch and warms caches); the second runs, as
    /// observations. The decode rows are consecutive tokens of one sequence, each with its logits:
    /// what a decode row costs (blocks and output head), with one KV page per layer instead of one
    /// per row. Empty when the pool has no room for them: the steps of requests teach the model.
    static func measure(model: any LanguageModel, pool: KVPagePool, rows: Int,
                        promptTokens: Int = 64) -> [Observation] {
        let shapes: [(tokens: Int, decodeRows: Int)] = [(promptTokens, 0), (1, 1), (rows, rows)]
        var observations: [Observation] = []
        do {
            for shape in shapes {
                _ = try time(model: model, pool: pool, tokens: shape.tokens, logits: max(shape.decodeRows, 1))
                let seconds = try time(model: model, pool: pool, tokens: shape.tokens,
                                       logits: max(shape.decodeRows, 1))
                observations.append((shape.decodeRows, shape.decodeRows == 0 ? promptTokens : 0, seconds))
            }
        } catch {
            return []
        }
        return observations
    }

    /// Seconds of one forward over a fresh sequence of `tokens` tokens, logits for its last `logits`.
    private static func time(model: any LanguageModel, pool: KVPagePool, tokens: Int, logits: Int) throws -> Double {
        let cache = model.makeCache(maxPositions: tokens, pool: pool)
        let vocabulary = model.config.vocabularySize
        let batch = ForwardBatch(tokens: (0..<tokens).map { Int32(1 + $0 % max(vocabulary - 1, 1)) },
                                 positions: Array(0..<tokens), caches: Array(repeating: cache, count: tokens),
                                 logitRows: Array(tokens - logits..<tokens))
        let start = DispatchTime.now()
        _ = try model.forward(batch)
        return seconds(since: start)
    }
}

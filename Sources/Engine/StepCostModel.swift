/// What an engine step costs, learned from the steps that ran: seconds ≈ base + perRow × decode
/// rows + perPromptToken × prompt tokens. The scheduler asks it how many prompt tokens fit beside
/// the decode rows within a time budget, so a burst of prompts is admitted as fast as the host
/// allows (more tokens on a fast host, fewer on a slow one) while the streams already decoding see
/// each step take at most `1 + prefillShare` times a plain decode step.
///
/// Decode-only steps fit the line through (rows, seconds) by exponentially weighted least squares;
/// steps with prompt tokens then give the cost per prompt token as what they took beyond that line.
public struct StepCostModel: Sendable {
    /// Weight of the past per new step (the model follows a host that slows down within ~50 steps).
    static let decay = 0.95

    // Weighted sums over decode-only steps: weight, rows, seconds, rows², rows × seconds.
    private var w = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
    /// Seconds per prompt token beside decode rows, once a step with prompt tokens ran.
    public private(set) var perPromptToken: Double?

    public init() {}

    /// Learns from one step that ran `decodeRows` decode rows and `promptTokens` prompt tokens.
    public mutating func observe(decodeRows: Int, promptTokens: Int, seconds: Double) {
        guard seconds > 0, decodeRows + promptTokens > 0 else { return }
        if promptTokens == 0 {
            let x = Double(decodeRows)
            w = w * Self.decay + 1
            sx = sx * Self.decay + x
            sy = sy * Self.decay + seconds
            sxx = sxx * Self.decay + x * x
            sxy = sxy * Self.decay + x * seconds
            return
        }
        let beyond = seconds - (decodeSeconds(rows: decodeRows) ?? 0)
        let sample = max(beyond, 0) / Double(promptTokens)
        perPromptToken = perPromptToken.map { $0 * Self.decay + sample * (1 - Self.decay) } ?? sample
    }

    /// The expected seconds of a decode-only step with `rows` rows; nil before any was seen.
    public func decodeSeconds(rows: Int) -> Double? {
        guard w > 0 else { return nil }
        let meanX = sx / w, meanY = sy / w
        let varianceX = sxx / w - meanX * meanX
        // One row count seen so far: the cost is proportional to the rows.
        guard varianceX > 1e-9 else { return meanX > 0 ? meanY * Double(rows) / meanX : meanY }
        let slope = max((sxy / w - meanX * meanY) / varianceX, 0)
        return max(meanY + slope * (Double(rows) - meanX), 0)
    }

    /// Prompt tokens that fit beside `decodeRows` decode rows in `prefillShare` × the decode step's
    /// own time; nil until the model has seen both kinds of step.
    public func promptTokens(besideDecodeRows decodeRows: Int, prefillShare: Double) -> Int? {
        guard decodeRows > 0, let perToken = perPromptToken, perToken > 0,
              let decode = decodeSeconds(rows: decodeRows) else { return nil }
        return Int((prefillShare * decode / perToken + 1e-9).rounded(.down))
    }
}

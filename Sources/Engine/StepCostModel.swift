import Model

/// What an engine step costs, learned from the steps that ran: seconds ≈ base + perRow × decode
/// rows + perPromptToken × prompt tokens. The scheduler asks it how many prompt tokens fit beside
/// the decode rows within a time budget, so a burst of prompts is admitted as fast as the host
/// allows (more tokens on a fast host, fewer on a slow one) while the streams already decoding see
/// each step take at most `1 + prefillShare` times the decode step of all the running sequences.
///
/// The three costs are fitted jointly over all steps by exponentially weighted least squares. A
/// fresh server has seen steps of a few decode rows at most, yet a burst needs the cost of a step
/// of all its rows; so a prior holds that a decode row costs what the weights it multiplies say
/// against a prompt token (`decodeRowCost`: a prompt row skips the output head), as strong as a few
/// steps of varied rows, and the steps correct it as they come. A second, weak prior puts the base
/// at zero when the steps cannot tell it apart (a server that only ever ran one-row steps).
///
/// A step's cost is not quite linear in its rows: the large prompt-only steps of a burst weigh most
/// in the fit, and a chunk of a few dozen prompt tokens beside a decode row costs more per token
/// than they do. So the model also follows how far the steps that carried prompt tokens beside
/// decode rows overran what it predicted for them (`overrun`), and fits the next such step within
/// its bound after that correction.
public struct StepCostModel: Sendable {
    /// Weight of the past per new step (the model follows a host that slows down within ~50 steps).
    static let decay = 0.95
    /// Weights of the priors: the row cost's as about ten steps whose rows differ by one; the
    /// base's far below any step.
    static let rowCostPrior = 10.0, zeroBasePrior = 1e-8
    /// Weight of the past in `overrun` per step with prompt tokens beside decode rows (a few steps
    /// adapt it: the steps of one burst are alike), and the range it is kept in.
    static let overrunDecay = 0.7, overrunRange = 0.5...4.0

    /// What a decode row costs, in prompt tokens, by the weights each multiplies.
    public let decodeRowCost: Double

    /// Weighted sums over the steps of x xᵀ and x × seconds, x = (1, decode rows, prompt tokens).
    private var xx = [Double](repeating: 0, count: 9), xy = [Double](repeating: 0, count: 3)
    private var promptStepSeen = false

    /// Seconds over predicted seconds of the recent steps that carried prompt tokens beside decode
    /// rows (1 until one ran, or while the fit predicts them well).
    public private(set) var overrun = 1.0

    public init(decodeRowCost: Double = 1) {
        self.decodeRowCost = decodeRowCost
    }

    /// A decode row multiplies by every block matrix and by the output head; a prompt row (not a
    /// prompt's last) by the block matrices only.
    public static func decodeRowCost(of c: ModelConfig) -> Double {
        decodeRowCost(hidden: c.hiddenSize, qDim: c.qDim, kvDim: c.kvDim, feedForward: c.feedForwardSize,
                      layers: c.layerCount, vocabulary: c.vocabularySize)
    }

    public static func decodeRowCost(hidden: Int, qDim: Int, kvDim: Int, feedForward: Int, layers: Int,
                                     vocabulary: Int) -> Double {
        let attention = hidden * (qDim + 2 * kvDim) + qDim * hidden
        let blocks = Double(layers * (attention + 3 * hidden * feedForward))
        return blocks > 0 ? (blocks + Double(vocabulary * hidden)) / blocks : 1
    }

    /// Learns from one step that ran `decodeRows` decode rows and `promptTokens` prompt tokens.
    public mutating func observe(decodeRows: Int, promptTokens: Int, seconds: Double) {
        guard seconds > 0, decodeRows + promptTokens > 0 else { return }
        if decodeRows > 0, promptTokens > 0, let predicted = predictedSeconds(decodeRows: decodeRows,
                                                                            promptTokens: promptTokens) {
            let ratio = Self.overrunDecay * overrun + (1 - Self.overrunDecay) * seconds / predicted
            overrun = min(max(ratio, Self.overrunRange.lowerBound), Self.overrunRange.upperBound)
        }
        let x = [1, Double(decodeRows), Double(promptTokens)]
        for i in 0..<3 {
            xy[i] = xy[i] * Self.decay + x[i] * seconds
            for j in 0..<3 { xx[i * 3 + j] = xx[i * 3 + j] * Self.decay + x[i] * x[j] }
        }
        if promptTokens > 0 { promptStepSeen = true }
    }

    /// (base, per decode row, per prompt token) in seconds; nil before any step was seen.
    public var fitted: (base: Double, perRow: Double, perPromptToken: Double)? {
        guard xx[0] > 0 else { return nil }
        var m = xx
        // The priors' squares: zeroBasePrior × base² and rowCostPrior × (perRow − r × perPromptToken)².
        let r = decodeRowCost
        m[0] += Self.zeroBasePrior
        m[4] += Self.rowCostPrior
        m[8] += Self.rowCostPrior * r * r
        m[5] -= Self.rowCostPrior * r
        m[7] -= Self.rowCostPrior * r
        guard let c = Self.solve(m, xy) else { return nil }
        return (max(c[0], 0), max(c[1], 0), max(c[2], 0))
    }

    /// Seconds per prompt token beside decode rows, once a step with prompt tokens ran.
    public var perPromptToken: Double? { promptStepSeen ? fitted?.perPromptToken : nil }

    /// The expected seconds of a decode-only step with `rows` rows; nil before any step was seen.
    public func decodeSeconds(rows: Int) -> Double? {
        fitted.map { $0.base + $0.perRow * Double(rows) }
    }

    /// The fitted seconds of a step with `decodeRows` decode rows and `promptTokens` prompt tokens,
    /// before the `overrun` correction; nil until a step with prompt tokens was seen.
    func predictedSeconds(decodeRows: Int, promptTokens: Int) -> Double? {
        guard promptStepSeen, let c = fitted else { return nil }
        let seconds = c.base + c.perRow * Double(decodeRows) + c.perPromptToken * Double(promptTokens)
        return seconds > 0 ? seconds : nil
    }

    /// Prompt tokens that fit beside `decodeRows` decode rows so that the step, corrected by the
    /// recent `overrun`, takes at most `1 + prefillShare` times a decode step of `runningRows` rows
    /// (every running sequence, the prefilling ones included: the step the decoding streams see once
    /// the prompts are in); nil until the model has seen a step with prompt tokens.
    public func promptTokens(besideDecodeRows decodeRows: Int, runningRows: Int, prefillShare: Double) -> Int? {
        guard decodeRows > 0, promptStepSeen, let c = fitted, c.perPromptToken > 0 else { return nil }
        let decode = c.base + c.perRow * Double(decodeRows)
        let running = c.base + c.perRow * Double(max(runningRows, decodeRows))
        let spare = (1 + prefillShare) * running / overrun - decode
        return Int((max(spare, 0) / c.perPromptToken + 1e-3).rounded(.down))
    }

    /// Solves the 3 × 3 system `m` c = `v` (row-major) by elimination with partial pivoting.
    static func solve(_ m: [Double], _ v: [Double]) -> [Double]? {
        var a = m, b = v
        for col in 0..<3 {
            let pivot = (col..<3).max { abs(a[$0 * 3 + col]) < abs(a[$1 * 3 + col]) }!
            guard abs(a[pivot * 3 + col]) > 1e-300 else { return nil }
            if pivot != col {
                for k in 0..<3 { a.swapAt(pivot * 3 + k, col * 3 + k) }
                b.swapAt(pivot, col)
            }
            for r in (col + 1)..<3 {
                let f = a[r * 3 + col] / a[col * 3 + col]
                for k in col..<3 { a[r * 3 + k] -= f * a[col * 3 + k] }
                b[r] -= f * b[col]
            }
        }
        var c = [0.0, 0, 0]
        for r in stride(from: 2, through: 0, by: -1) {
            var s = b[r]
            for k in (r + 1)..<3 { s -= a[r * 3 + k] * c[k] }
            c[r] = s / a[r * 3 + r]
        }
        return c
    }
}

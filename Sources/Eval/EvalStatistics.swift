import Foundation

/// What one request to one model gave.
public struct CaseResult: Sendable {
    public var caseID: String
    public var answer: String
    public var passed: Bool
    /// nil when the expectation is not about JSON.
    public var validJSON: Bool?
    public var promptTokens: Int
    public var completionTokens: Int
    public var timeToFirstToken: Double?
    /// Seconds from the first token to the last.
    public var decodeSeconds: Double
    public var error: String?

    public init(caseID: String, answer: String, passed: Bool, validJSON: Bool?, promptTokens: Int,
                completionTokens: Int, timeToFirstToken: Double?, decodeSeconds: Double, error: String? = nil) {
        self.caseID = caseID
        self.answer = answer
        self.passed = passed
        self.validJSON = validJSON
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.timeToFirstToken = timeToFirstToken
        self.decodeSeconds = decodeSeconds
        self.error = error
    }
}

/// One row of the comparison table: a model id over the whole suite.
public struct ModelSummary: Sendable, Codable, Equatable {
    public var model: String
    public var cases: Int
    public var passed: Int
    public var accuracy: Double
    /// Wilson score interval, 95%.
    public var accuracyLow: Double
    public var accuracyHigh: Double
    /// Share of JSON-expectation answers that parsed as JSON; nil when the suite has none.
    public var validJSONRate: Double?
    public var meanPromptTokens: Double
    public var meanCompletionTokens: Double
    public var ttftP50Milliseconds: Double?
    /// Tokens after the first over the time after the first, summed over all requests.
    public var decodeTokensPerSecond: Double?
    /// Prompt + completion tokens per 1000 requests: what a per-token price is multiplied by.
    public var tokensPer1kRequests: Double
    public var errors: Int

    public init(model: String, results: [CaseResult]) {
        self.model = model
        cases = results.count
        passed = results.count { $0.passed }
        accuracy = cases == 0 ? 0 : Double(passed) / Double(cases)
        (accuracyLow, accuracyHigh) = Self.wilson(passed: passed, total: cases)
        let json = results.compactMap(\.validJSON)
        validJSONRate = json.isEmpty ? nil : Double(json.count { $0 }) / Double(json.count)
        let ok = results.filter { $0.error == nil }
        meanPromptTokens = ok.isEmpty ? 0 : Double(ok.reduce(0) { $0 + $1.promptTokens }) / Double(ok.count)
        meanCompletionTokens = ok.isEmpty ? 0 : Double(ok.reduce(0) { $0 + $1.completionTokens }) / Double(ok.count)
        ttftP50Milliseconds = Self.median(ok.compactMap(\.timeToFirstToken)).map { $0 * 1000 }
        let decodeTokens = ok.reduce(0) { $0 + max($1.completionTokens - 1, 0) },
            decodeTime = ok.reduce(0) { $0 + $1.decodeSeconds }
        decodeTokensPerSecond = decodeTime > 0 ? Double(decodeTokens) / decodeTime : nil
        tokensPer1kRequests = 1000 * (meanPromptTokens + meanCompletionTokens)
        errors = results.count - ok.count
    }

    /// The Wilson score interval for `passed` of `total` at 95% (z = 1.96): sound at small n and
    /// at 0% or 100%, where the normal approximation collapses to a point.
    public static func wilson(passed: Int, total: Int, z: Double = 1.959964) -> (low: Double, high: Double) {
        guard total > 0 else { return (0, 1) }
        let n = Double(total), p = Double(passed) / n, z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z * ((p * (1 - p) + z2 / (4 * n)) / n).squareRoot() / (1 + z2 / n)
        return (max(0, centre - half), min(1, centre + half))
    }

    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted(), mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

import Foundation
import Grammar

/// Runs every case of a suite against every model id, one request at a time (so timings are not
/// disturbed by the eval's own load), and reports progress as it goes.
public struct EvalRunner: Sendable {
    public var client: EvalClient
    /// Sent with every request unless nil (then role and server defaults apply). Default 0: the
    /// comparison is between adaptations, not between samples.
    public var temperature: Double?
    public var maxTokens: Int?

    public init(client: EvalClient, temperature: Double? = 0, maxTokens: Int? = nil) {
        self.client = client
        self.temperature = temperature
        self.maxTokens = maxTokens
    }

    /// The suffix of a model id that sends each case's `response_format` ("ticket-triage+schema").
    public static let schemaSuffix = "+schema"

    /// Runs `cases` on `model`. An id ending in `+schema` sends each case's response_format; without
    /// it, a case that has one is sent `{"type": "text"}`, so a role's bound format does not blur
    /// the comparison.
    public func run(cases: [EvalCase], model: String,
                    progress: (Int, Int) -> Void = { _, _ in }) async -> [CaseResult] {
        var results: [CaseResult] = []
        let withSchema = model.hasSuffix(Self.schemaSuffix)
        let id = withSchema ? String(model.dropLast(Self.schemaSuffix.count)) : model
        for (i, c) in cases.enumerated() {
            do {
                let format = c.responseFormat.map { withSchema ? $0 : .object([("type", .string("text"))]) }
                let a = try await client.chat(model: id, messages: c.messages, temperature: temperature,
                                              maxTokens: maxTokens, responseFormat: format)
                let (passed, validJSON) = c.check(a.text)
                results.append(CaseResult(caseID: c.id, answer: a.text, passed: passed, validJSON: validJSON,
                                          promptTokens: a.promptTokens, completionTokens: a.completionTokens,
                                          timeToFirstToken: a.timeToFirstToken, decodeSeconds: a.decodeSeconds))
            } catch {
                let validJSON: Bool? = if case .jsonFields = c.expectation { false } else { nil }
                results.append(CaseResult(caseID: c.id, answer: "", passed: false, validJSON: validJSON,
                                          promptTokens: 0, completionTokens: 0, timeToFirstToken: nil,
                                          decodeSeconds: 0, error: "\(error)"))
            }
            progress(i + 1, cases.count)
        }
        return results
    }
}

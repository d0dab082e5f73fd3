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
    /// The suffix that sends each case's `tools` and `tool_choice` ("ticket-tools+tools").
    public static let toolsSuffix = "+tools"

    /// A model id without its `+schema` / `+tools` suffixes, and which of them it had.
    public static func variant(_ model: String) -> (id: String, schema: Bool, tools: Bool) {
        var id = model, schema = false, tools = false
        while true {
            if id.hasSuffix(schemaSuffix) {
                schema = true
                id.removeLast(schemaSuffix.count)
            } else if id.hasSuffix(toolsSuffix) {
                tools = true
                id.removeLast(toolsSuffix.count)
            } else {
                return (id, schema, tools)
            }
        }
    }

    /// Runs `cases` on `model`. An id ending in `+schema` sends each case's response_format; without
    /// it, a case that has one is sent `{"type": "text"}`, so a role's bound format does not blur
    /// the comparison. An id ending in `+tools` sends the case's tools; without it none are sent
    /// and a call can only be written as text.
    public func run(cases: [EvalCase], model: String,
                    progress: (Int, Int) -> Void = { _, _ in }) async -> [CaseResult] {
        var results: [CaseResult] = []
        let (id, withSchema, withTools) = Self.variant(model)
        for (i, c) in cases.enumerated() {
            do {
                let format = c.responseFormat.map { withSchema ? $0 : .object([("type", .string("text"))]) }
                let a = try await client.chat(model: id, messages: c.messages, temperature: temperature,
                                              maxTokens: maxTokens, responseFormat: format,
                                              tools: withTools ? c.tools : nil,
                                              toolChoice: withTools ? c.toolChoice : nil)
                let (passed, validJSON) = c.check(a.text, toolCalls: a.toolCalls)
                // A reply that is only calls is reported as them.
                let shown = a.text.isEmpty && !a.toolCalls.isEmpty
                    ? a.toolCalls.map { "\($0.name)(\($0.arguments))" }.joined(separator: "; ") : a.text
                results.append(CaseResult(caseID: c.id, answer: shown, passed: passed, validJSON: validJSON,
                                          promptTokens: a.promptTokens, completionTokens: a.completionTokens,
                                          timeToFirstToken: a.timeToFirstToken, decodeSeconds: a.decodeSeconds))
            } catch {
                let validJSON: Bool? = switch c.expectation {
                case .jsonFields, .toolCall, .noToolCall: false
                default: nil
                }
                results.append(CaseResult(caseID: c.id, answer: "", passed: false, validJSON: validJSON,
                                          promptTokens: 0, completionTokens: 0, timeToFirstToken: nil,
                                          decodeSeconds: 0, error: "\(error)"))
            }
            progress(i + 1, cases.count)
        }
        return results
    }
}

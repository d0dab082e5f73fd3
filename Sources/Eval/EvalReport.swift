import Foundation

/// Renders the comparison as a Markdown table, JSON or CSV, and the failures of each model.
public enum EvalReport {
    public enum Format: String, CaseIterable, Sendable { case markdown, json, csv }

    static let columns = ["model", "kind", "accuracy", "95% CI", "valid JSON", "prompt tok/req", "TTFT p50 ms",
                          "decode tok/s", "tokens / 1k req", "errors"]

    /// What a model id tries: the three choices the articles compare.
    public static func kind(of model: String, baseID: String) -> String {
        let (id, schema, tools) = EvalRunner.variant(model)
        let parts = id.split(separator: ":", maxSplits: 1).map(String.init)
        let isBase = parts[0] == baseID
        let kind = switch (isBase, parts.count > 1) {
        case (true, true): "prompt (base + role)"
        case (true, false): "base"
        case (false, false): "fine-tune (adapter)"
        case (false, true): "hybrid (adapter + role)"
        }
        return kind + (schema ? " + schema" : "") + (tools ? " + tools" : "")
    }

    public static func render(_ rows: [ModelSummary], baseID: String, format: Format) -> String {
        func percent(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        func number(_ x: Double?, _ digits: Int = 1) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "–" }
        let cells = rows.map { r in
            [r.model, kind(of: r.model, baseID: baseID), "\(percent(r.accuracy)) (\(r.passed)/\(r.cases))",
             "\(percent(r.accuracyLow))–\(percent(r.accuracyHigh))", r.validJSONRate.map(percent) ?? "–",
             number(r.meanPromptTokens), number(r.ttftP50Milliseconds, 0), number(r.decodeTokensPerSecond),
             number(r.tokensPer1kRequests, 0), "\(r.errors)"]
        }
        switch format {
        case .markdown:
            var lines = ["| " + columns.joined(separator: " | ") + " |",
                         "|" + columns.indices.map { $0 < 2 ? "---" : "---:" }.joined(separator: "|") + "|"]
            lines += cells.map { "| " + $0.joined(separator: " | ") + " |" }
            return lines.joined(separator: "\n") + "\n"
        case .csv:
            func quote(_ s: String) -> String {
                s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
            return ([columns] + cells).map { $0.map(quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: (try? encoder.encode(rows)) ?? Data(), as: UTF8.self) + "\n"
        }
    }

    /// One block per failed case: what was expected and what came back.
    public static func failures(model: String, cases: [EvalCase], results: [CaseResult]) -> String {
        let byID = Dictionary(cases.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var lines: [String] = []
        for r in results where !r.passed {
            lines.append("✗ \(model) · \(r.caseID)")
            lines.append("  expected: \(byID[r.caseID]?.expected ?? "?")")
            lines.append("  got:      \(r.error.map { "error: \($0)" } ?? r.answer.debugDescription)")
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}

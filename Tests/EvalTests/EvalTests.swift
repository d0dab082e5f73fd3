import Eval
import Grammar
import Foundation
import Testing

/// Expectations, statistics and report formats of `tandem eval` on fixed inputs.
struct EvalTests {
    func one(_ line: String) throws -> EvalCase { try EvalCase.suite(line, file: "t.jsonl")[0] }

    @Test func everyExpectationType() throws {
        let exact = try one(#"{"id":"a","prompt":"x","exact":"Paris"}"#)
        #expect(exact.check(" Paris\n").passed && !exact.check("Paris.").passed)
        let contains = try one(#"{"prompt":"x","contains":["red","blue"]}"#)
        #expect(contains.id == "line-1" && contains.check("red and blue").passed && !contains.check("red").passed)
        let regex = try one(#"{"prompt":"x","regex":"(?i)\\barr+\\b"}"#)
        #expect(regex.check("ARRR, matey").passed && !regex.check("barrel").passed)
        let json = try one(#"{"messages":[{"role":"user","content":"x"}],"json_fields":{"category":"billing","priority":"high","n":2}}"#)
        #expect(json.check(#"{"category": "billing", "priority": "high", "n": 2.0, "extra": true}"#) == (true, true))
        #expect(json.check(#"{"category": "billing", "priority": "low", "n": 2}"#) == (false, true))
        #expect(json.check("category: billing") == (false, false))
        let choices = try one(#"{"prompt":"x","choices":["yes","no"]}"#)
        #expect(choices.check("no").passed && !choices.check("maybe").passed)
        #expect(choices.check("no").validJSON == nil)
    }

    @Test func responseFormatsComeFromTheSuiteOrTheCase() throws {
        let header = #"{"response_format":{"type":"json_schema","json_schema":{"name":"t","#
            + #""schema":{"type":"object","properties":{"z":{},"a":{}}}}}}"#
        let lines = [#"{"prompt":"before","exact":"a"}"#, header, #"{"prompt":"after","exact":"a"}"#,
                     #"{"prompt":"own","exact":"a","response_format":{"type":"json_object"}}"#]
        let suite = try EvalCase.suite(lines.joined(separator: "\n"), file: "s.jsonl")
        #expect(suite.count == 3)
        #expect(suite[0].responseFormat == nil)
        #expect(suite[1].responseFormat?["json_schema"]?["schema"]?.compactText
            == #"{"type":"object","properties":{"z":{},"a":{}}}"#, "the file's order of members is kept")
        #expect(suite[2].responseFormat?.compactText == #"{"type":"json_object"}"#)
    }

    @Test("tool cases: a call from tool_calls or from the text, the suite's tools, the +tools variant")
    func toolCalls() throws {
        let header = #"{"tools":[{"type":"function","function":{"name":"open_ticket","parameters":{}}}],"#
            + #""tool_choice":"auto"}"#
        let lines = [header,
                     #"{"prompt":"x","tool_call":{"name":"open_ticket","arguments":{"priority":"high"}}}"#,
                     #"{"prompt":"hi","no_tool_call":true}"#]
        let suite = try EvalCase.suite(lines.joined(separator: "\n"), file: "s.jsonl")
        #expect(suite.count == 2)
        #expect(suite[0].tools?.compactText.hasPrefix(#"[{"type":"function""#) == true)
        #expect(suite[1].toolChoice?.compactText == #""auto""#)
        let call = suite[0]
        let good = EvalCase.ToolCall(name: "open_ticket", arguments: #"{"category":"billing","priority":"high"}"#)
        #expect(call.check("", toolCalls: [good]) == (true, true))
        #expect(call.check("", toolCalls: [.init(name: "open_ticket", arguments: #"{"priority":"low"}"#)])
            == (false, true))
        #expect(call.check("", toolCalls: [.init(name: "close_ticket", arguments: #"{"priority":"high"}"#)])
            == (false, true))
        #expect(call.check(#"{"tool_calls":[{"name":"open_ticket","arguments":{"priority":"high"}}]}"#) == (true, true))
        #expect(call.check(#"{"name":"open_ticket","arguments":{"priority":"high"}}"#) == (true, true))
        #expect(call.check("I opened a ticket.") == (false, false))
        let words = suite[1]
        #expect(words.check("Hello!") == (true, true))
        #expect(words.check("", toolCalls: [good]).passed == false)
        #expect(words.check(#"{"name":"open_ticket","arguments":{}}"#).passed == false)
        #expect(EvalRunner.variant("ticket-tools+tools") == ("ticket-tools", false, true))
        #expect(EvalRunner.variant("base:role+schema+tools") == ("base:role", true, true))
        #expect(EvalReport.kind(of: "ticket-tools+tools", baseID: "base") == "fine-tune (adapter) + tools")
    }

    @Test("bad cases name the file and line", arguments: [
        #"{"prompt":"x"}"#, #"{"prompt":"x","exact":"a","regex":"b"}"#, #"{"exact":"a"}"#, #"{"prompt":"x","regex":"("}"#,
        #"{"prompt":"x","choices":[]}"#, "not json", "", #"{"prompt":"x","tool_call":{"arguments":{}}}"#,
        #"{"prompt":"x","no_tool_call":false}"#,
    ])
    func badCases(_ line: String) {
        do {
            _ = try EvalCase.suite("\n" + line, file: "suite.jsonl")
            Issue.record("accepted: \(line)")
        } catch {
            #expect("\(error)".hasPrefix("suite.jsonl:"), "\(error)")
        }
    }

    @Test func wilsonIntervalMatchesTheFormula() {
        // Reference values from statsmodels' proportion_confint(method="wilson").
        let (low, high) = ModelSummary.wilson(passed: 30, total: 40)
        #expect(abs(low - 0.5980) < 1e-3 && abs(high - 0.8581) < 1e-3)
        let zero = ModelSummary.wilson(passed: 0, total: 40)
        #expect(zero.low == 0 && abs(zero.high - 0.0876) < 1e-3)
        let all = ModelSummary.wilson(passed: 30, total: 30)
        #expect(abs(all.low - 0.8865) < 1e-3 && all.high == 1)
    }

    @Test func summaryAndTable() {
        func result(_ id: String, _ passed: Bool, json: Bool?, prompt: Int, completion: Int, ttft: Double) -> CaseResult {
            CaseResult(caseID: id, answer: passed ? "ok" : "bad", passed: passed, validJSON: json, promptTokens: prompt,
                       completionTokens: completion, timeToFirstToken: ttft, decodeSeconds: Double(completion - 1) * 0.01)
        }
        let rows = [
            ModelSummary(model: "base:few", results: [result("a", false, json: false, prompt: 200, completion: 10, ttft: 0.3),
                                                      result("b", true, json: true, prompt: 210, completion: 10, ttft: 0.5)]),
            ModelSummary(model: "triage", results: [result("a", true, json: true, prompt: 20, completion: 12, ttft: 0.05),
                                                    result("b", true, json: true, prompt: 30, completion: 12, ttft: 0.07)]),
        ]
        #expect(rows[0].accuracy == 0.5 && rows[0].validJSONRate == 0.5 && rows[0].meanPromptTokens == 205)
        #expect(rows[0].ttftP50Milliseconds.map { abs($0 - 400) < 1e-9 } == true)
        #expect(rows[1].decodeTokensPerSecond.map { abs($0 - 100) < 1e-9 } == true)
        #expect(rows[1].tokensPer1kRequests == 37_000)
        let table = EvalReport.render(rows, baseID: "base", format: .markdown)
        #expect(table.contains("| base:few | prompt (base + role) | 50.0% (1/2) |"))
        #expect(table.contains("| triage | fine-tune (adapter) | 100.0% (2/2) |"))
        #expect(EvalReport.kind(of: "triage:strict", baseID: "base") == "hybrid (adapter + role)")
        #expect(EvalReport.kind(of: "base:fewshot+schema", baseID: "base") == "prompt (base + role) + schema")
        let csv = EvalReport.render(rows, baseID: "base", format: .csv)
        #expect(csv.split(separator: "\n").count == 3)
        let json = EvalReport.render(rows, baseID: "base", format: .json)
        #expect((try? JSONDecoder().decode([ModelSummary].self, from: Data(json.utf8))) == rows)
    }
}

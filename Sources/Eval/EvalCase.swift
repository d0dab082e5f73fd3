import Foundation
import Grammar

/// One line of an eval suite: the conversation, and what a correct answer looks like.
///
/// `{"id": "…", "messages": [{"role": "user", "content": "…"}] | "prompt": "…",` plus exactly one of
/// `"exact"`, `"contains"` (a string or a list, all must appear), `"regex"`, `"json_fields"` (the
/// answer parsed as JSON has these fields) or `"choices"` (the answer is one of a list)`}`, and
/// optionally `"response_format"` (the request field, sent by the `+schema` variants). Tool cases
/// expect `"tool_call": {"name", "arguments": {…fields that must match}}` or `"no_tool_call": true`,
/// with the suite's `"tools"` (and `"tool_choice"`) sent by the `+tools` variants. A line that holds
/// only `response_format`, `tools` and `tool_choice` sets them for the suite's cases that follow.
public struct EvalCase: Sendable, Equatable {
    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String
    }

    public enum Expectation: Sendable, Equatable {
        case exact(String)
        case contains([String])
        case regex(String)
        case jsonFields([String: JSONValue])
        case choices([String])
        /// A call of this function whose arguments hold these fields.
        case toolCall(name: String, arguments: [String: JSONValue])
        /// An answer in words: no call.
        case noToolCall
    }

    /// A function call in a reply: from the reply's `tool_calls`, or read from its text.
    public struct ToolCall: Sendable, Equatable {
        public var name: String
        /// The arguments as the JSON text the server sent.
        public var arguments: String
        public init(name: String, arguments: String) {
            self.name = name
            self.arguments = arguments
        }
    }

    public var id: String
    public var messages: [Message]
    public var expectation: Expectation
    /// The reply's format for the `+schema` variants, members in the suite file's order.
    public var responseFormat: JSONTree?
    /// The `tools` and `tool_choice` request fields for the `+tools` variants.
    public var tools: JSONTree?
    public var toolChoice: JSONTree?

    public init(id: String, messages: [Message], expectation: Expectation, responseFormat: JSONTree? = nil) {
        self.id = id
        self.messages = messages
        self.expectation = expectation
        self.responseFormat = responseFormat
    }

    /// Parses a JSONL suite; errors name the line.
    public static func suite(_ text: String, file: String) throws -> [EvalCase] {
        var cases: [EvalCase] = []
        var suite: [String: JSONTree] = [:]
        let suiteKeys: Set = ["response_format", "tools", "tool_choice"]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            do {
                let tree = try JSONTree.parse(Array(trimmed.utf8))
                if case .object(let members) = tree, !members.isEmpty,
                   members.allSatisfy({ suiteKeys.contains($0.key) }) {
                    for (key, value) in members { suite[key] = value }
                    continue
                }
                var c = try parse(Data(trimmed.utf8), fallbackID: "line-\(index + 1)")
                c.responseFormat = tree["response_format"] ?? suite["response_format"]
                c.tools = tree["tools"] ?? suite["tools"]
                c.toolChoice = tree["tool_choice"] ?? suite["tool_choice"]
                cases.append(c)
            } catch {
                throw EvalError.invalidCase(file: file, line: index + 1, reason: "\(error)")
            }
        }
        guard !cases.isEmpty else {
            throw EvalError.invalidCase(file: file, line: 0, reason: "the suite holds no cases")
        }
        return cases
    }

    static func parse(_ data: Data, fallbackID: String) throws -> EvalCase {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EvalError.reason("a case is a JSON object")
        }
        let id = object["id"] as? String ?? fallbackID
        let messages: [Message]
        if let list = object["messages"] {
            messages = try JSONDecoder().decode([Message].self, from: JSONSerialization.data(withJSONObject: list))
        } else if let prompt = object["prompt"] as? String {
            messages = [Message(role: "user", content: prompt)]
        } else {
            throw EvalError.reason("needs \"messages\" or \"prompt\"")
        }
        let known = ["exact", "contains", "regex", "json_fields", "choices", "tool_call", "no_tool_call"]
        let kinds = known.filter { object[$0] != nil }
        guard kinds.count == 1 else {
            throw EvalError.reason("needs exactly one expectation (\(known.joined(separator: ", "))), found \(kinds)")
        }
        let value = object[kinds[0]]!
        let expectation: Expectation
        switch kinds[0] {
        case "exact": expectation = .exact(try string(value, "exact"))
        case "contains": expectation = .contains(try (value as? [String]) ?? [string(value, "contains")])
        case "regex":
            let pattern = try string(value, "regex")
            _ = try NSRegularExpression(pattern: pattern)
            expectation = .regex(pattern)
        case "json_fields":
            guard case let .object(fields) = JSONValue(value) else {
                throw EvalError.reason("json_fields must be an object")
            }
            expectation = .jsonFields(fields)
        case "tool_call":
            guard let call = value as? [String: Any], let name = call["name"] as? String,
                  case let .object(arguments) = JSONValue(call["arguments"] ?? [String: Any]()) else {
                throw EvalError.reason("tool_call must be {\"name\": string, \"arguments\": object}")
            }
            expectation = .toolCall(name: name, arguments: arguments)
        case "no_tool_call":
            guard value as? Bool == true else { throw EvalError.reason("no_tool_call must be true") }
            expectation = .noToolCall
        default:
            guard let list = value as? [String], !list.isEmpty else {
                throw EvalError.reason("choices must be a non-empty list of strings")
            }
            expectation = .choices(list)
        }
        return EvalCase(id: id, messages: messages, expectation: expectation)
    }

    private static func string(_ value: Any, _ key: String) throws -> String {
        guard let s = value as? String else { throw EvalError.reason("\(key) must be a string") }
        return s
    }

    /// Whether `answer` (with the reply's `toolCalls`) meets the expectation, and for JSON and tool
    /// expectations whether it parsed (for a tool case: whether the reply is a call or an answer in
    /// a form the model was asked for).
    public func check(_ answer: String, toolCalls: [ToolCall] = []) -> (passed: Bool, validJSON: Bool?) {
        let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        switch expectation {
        case let .toolCall(name, fields):
            guard let call = toolCalls.first ?? Self.callInText(trimmed) else { return (false, false) }
            guard let data = call.arguments.data(using: .utf8),
                  let parsed = try? JSONSerialization.jsonObject(with: data),
                  case let .object(arguments) = JSONValue(parsed) else { return (false, false) }
            return (call.name == name && fields.allSatisfy { arguments[$0.key] == $0.value }, true)
        case .noToolCall:
            return (toolCalls.isEmpty && Self.callInText(trimmed) == nil, true)
        case let .exact(text): return (trimmed == text.trimmingCharacters(in: .whitespacesAndNewlines), nil)
        case let .contains(parts): return (parts.allSatisfy { answer.contains($0) }, nil)
        case let .regex(pattern):
            let regex = try! NSRegularExpression(pattern: pattern) // validated when parsed
            return (regex.firstMatch(in: answer, range: NSRange(answer.startIndex..., in: answer)) != nil, nil)
        case let .choices(options): return (options.contains(trimmed), nil)
        case let .jsonFields(fields):
            guard let data = trimmed.data(using: .utf8), let parsed = try? JSONSerialization.jsonObject(with: data),
                  case let .object(object) = JSONValue(parsed) else { return (false, false) }
            return (fields.allSatisfy { object[$0.key] == $0.value }, true)
        }
    }

    /// A call written as text by a model asked without tools: Tandem's envelope
    /// `{"tool_calls": [{"name", "arguments"}]}` or a bare `{"name", "arguments"}` object.
    static func callInText(_ text: String) -> ToolCall? {
        guard let data = text.data(using: .utf8),
              var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        if let calls = object["tool_calls"] as? [[String: Any]], let first = calls.first { object = first }
        guard let name = object["name"] as? String, let arguments = object["arguments"],
              JSONSerialization.isValidJSONObject(arguments),
              let text = try? JSONSerialization.data(withJSONObject: arguments) else { return nil }
        return ToolCall(name: name, arguments: String(decoding: text, as: UTF8.self))
    }

    /// What the expectation asks for, for failure reports.
    public var expected: String {
        switch expectation {
        case let .toolCall(name, fields):
            return "a call of \(name) with "
                + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        case .noToolCall: return "an answer without a tool call"
        case let .exact(text): return "exactly \(text.debugDescription)"
        case let .contains(parts): return "contains \(parts.map(\.debugDescription).joined(separator: " and "))"
        case let .regex(pattern): return "matches /\(pattern)/"
        case let .choices(options): return "one of \(options.map(\.debugDescription).joined(separator: ", "))"
        case let .jsonFields(fields):
            return "JSON with "
                + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        }
    }
}

/// A JSON value compared structurally (numbers as Double), for `json_fields`.
public indirect enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case string(String), number(Double), bool(Bool), null, array([JSONValue]), object([String: JSONValue])

    init(_ any: Any) {
        switch any {
        case let s as String: self = .string(s)
        case let n as NSNumber where String(cString: n.objCType) == "c": self = .bool(n.boolValue)
        case let n as NSNumber: self = .number(n.doubleValue)
        case let a as [Any]: self = .array(a.map(JSONValue.init))
        case let o as [String: Any]: self = .object(o.mapValues(JSONValue.init))
        default: self = .null
        }
    }

    public var description: String {
        switch self {
        case let .string(s): return s.debugDescription
        case let .number(n): return n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case let .bool(b): return String(b)
        case .null: return "null"
        case let .array(a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case let .object(o):
            return "{" + o.sorted { $0.key < $1.key }.map { "\($0.key.debugDescription): \($0.value)" }
                .joined(separator: ", ") + "}"
        }
    }
}

public enum EvalError: Error, CustomStringConvertible {
    case invalidCase(file: String, line: Int, reason: String)
    case reason(String)
    case server(String)

    public var description: String {
        switch self {
        case let .invalidCase(file, line, reason): return "\(file):\(line): \(reason)"
        case let .reason(text): return text
        case let .server(text): return text
        }
    }
}

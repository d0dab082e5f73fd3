import Adapters
import Foundation
import Grammar
import OpenAIAPI
import Tokenizer

/// Function calling on a model without tool tokens (Gemma 3 has none), in one place: what the model
/// is told, the JSON envelope its reply must take, and how a reply becomes `tool_calls`.
///
/// The model sees one system turn listing the functions (name, description and the JSON Schema of
/// the arguments, one JSON object a line) and the envelope. Its reply is constrained by a schema:
/// - `tool_choice: "required"` or a named function: `{"tool_calls":[{"name":…,"arguments":{…}}]}`,
///   the name one of those offered and the arguments valid for its parameters;
/// - `"auto"` (the default with tools): that, or `{"response":"…"}` for an answer in words (or a
///   value of the request's own response_format schema).
/// One call per reply unless `parallel_tool_calls` is true (then up to `maxParallelCalls`).
/// In the history, an assistant turn with calls is rendered as the same envelope and a `tool` turn
/// as a user turn `Function result (NAME, call ID): CONTENT`.
struct ToolUse {
    let tools: [Tool]
    let required: Bool
    let parallel: Bool
    /// The schema of the answer in words under "auto".
    let responseSchema: JSONTree

    /// Calls in one reply, at most (with `parallel_tool_calls`, the default).
    static let maxParallelCalls = 8

    /// The tool use a request asks for, or nil (no tools, or `tool_choice: "none"`). A request that sends
    /// no `tools` is offered its role's, with the role's `tool_choice` and `parallel_tool_calls` as defaults;
    /// the words answer of "auto" takes the request's response_format, else the role's.
    static func resolve(tools requested: [Tool]?, choice requestedChoice: ToolChoice?,
                        parallel requestedParallel: Bool?, responseFormat requestedFormat: ResponseFormat?,
                        role: Role?) throws -> ToolUse? {
        let fromRole = requested == nil ? role?.tools : nil
        let offered = requested ?? fromRole ?? []
        let choice = requestedChoice ?? (fromRole != nil ? role?.toolChoice : nil)
        let parallel = requestedParallel ?? (fromRole != nil ? role?.parallelToolCalls : nil)
        let responseFormat = requestedFormat ?? role?.boundResponseFormat
        do {
            try Tool.validate(offered, choice: choice)
        } catch let error as InvalidTools {
            throw APIError.invalid(error.message, param: error.param, code: error.code)
        }
        guard !offered.isEmpty, choice != ToolChoice.none else { return nil }
        var chosen = offered
        if case .function(let name)? = choice { chosen = offered.filter { $0.function.name == name } }
        var response: JSONTree = .object([("type", .string("string"))])
        switch responseFormat?.type {
        case "json_schema"?: response = responseFormat?.jsonSchema?.schema ?? .object([("type", .string("object"))])
        case "json_object"?: response = .object([("type", .string("object")), ("additionalProperties", .bool(true))])
        default: break
        }
        let forced = choice == .required || { if case .function = choice { true } else { false } }()
        // Several calls in one reply only when asked: small models otherwise repeat a call until max_tokens.
        return ToolUse(tools: chosen, required: forced, parallel: parallel ?? false, responseSchema: response)
    }

    // MARK: What the model sees

    /// Offers the tools to one request: the envelope becomes the reply's format, the instructions
    /// a system turn before the conversation.
    func offer(sampling: inout SamplingFields, turns: inout [ChatTurn]) {
        sampling.responseFormat = ResponseFormat(type: "json_schema",
                                                 jsonSchema: .init(name: "tool_calls", schema: envelope))
        turns.insert(ChatTurn(role: .system, content: instructions), at: 0)
    }

    /// The system turn that offers the functions.
    var instructions: String {
        var lines = ["You can call functions. Each one is given as JSON: its name, what it does, and the JSON Schema "
                     + "of its arguments."]
        for tool in tools {
            var members: [(key: String, value: JSONTree)] = [("name", .string(tool.function.name))]
            if let d = tool.function.description { members.append(("description", .string(d))) }
            members.append(("parameters", tool.function.parameters ?? .object([("type", .string("object"))])))
            lines.append(JSONTree.object(members).compactText)
        }
        let call = #"{"tool_calls":[{"name":FUNCTION NAME,"arguments":{ARGUMENTS}}]}"#
        if required {
            lines.append("Reply with only a JSON object that calls " + (parallel ? "one or more of them: " : "one: ")
                         + call)
        } else {
            lines.append("To call a function, reply with only " + call
                         + #". To answer in words instead, reply with only {"response":YOUR ANSWER AS A JSON STRING}."#)
        }
        return lines.joined(separator: "\n")
    }

    /// A past assistant turn with calls, as the model would have written it.
    static func render(calls: [ToolCall]) -> String {
        let items = calls.map { call -> JSONTree in
            let text = call.function.arguments
            let arguments = (try? JSONTree.parse(Array(text.utf8))) ?? .string(text)
            return .object([("name", .string(call.function.name)), ("arguments", arguments)])
        }
        return JSONTree.object([("tool_calls", .array(items))]).compactText
    }

    /// A `tool` turn: the result of the call `id` (of function `name`, when the history says).
    static func render(result content: String, name: String?, id: String?) -> String {
        "Function result (\(name ?? "unknown function"), call \(id ?? "?")): \(content)"
    }

    // MARK: The envelope

    /// The schema every reply takes.
    var envelope: JSONTree {
        var defs: [(key: String, value: JSONTree)] = []
        var calls: [JSONTree] = []
        for (i, tool) in tools.enumerated() {
            let (ref, more) = Self.embed(tool.function.parameters ?? .object([("type", .string("object"))]),
                                         as: "tool\(i)")
            defs += more
            calls.append(.object([
                ("type", .string("object")),
                ("properties", .object([("name", .object([("const", .string(tool.function.name))])),
                                        ("arguments", ref)])),
                ("required", .array([.string("name"), .string("arguments")])),
                ("additionalProperties", .bool(false)),
            ]))
        }
        let callList = JSONTree.object([
            ("type", .string("array")), ("minItems", .number(1)),
            ("maxItems", .number(Double(parallel ? Self.maxParallelCalls : 1))),
            ("items", .object([("anyOf", .array(calls))])),
        ])
        let callEnvelope = Self.closedObject(["tool_calls": callList], order: ["tool_calls"])
        if required { return Self.with(defs, callEnvelope) }
        let (response, responseDefs) = Self.embed(responseSchema, as: "response")
        let answer = Self.closedObject(["response": response], order: ["response"])
        return Self.with(defs + responseDefs, .object([("anyOf", .array([callEnvelope, answer]))]))
    }

    private static func closedObject(_ properties: [String: JSONTree], order: [String]) -> JSONTree {
        .object([("type", .string("object")),
                 ("properties", .object(order.map { ($0, properties[$0]!) })),
                 ("required", .array(order.map { .string($0) })),
                 ("additionalProperties", .bool(false))])
    }

    private static func with(_ defs: [(key: String, value: JSONTree)], _ schema: JSONTree) -> JSONTree {
        guard case .object(let members) = schema, !defs.isEmpty else { return schema }
        return .object(members + [("$defs", .object(defs))])
    }

    /// `schema` moved under `#/$defs/NAME` of the envelope: its own definitions become `NAME.X` and
    /// every reference is rewritten to match, so schemas of several functions never collide.
    static func embed(_ schema: JSONTree, as name: String) -> (ref: JSONTree, defs: [(key: String, value: JSONTree)]) {
        func rebase(_ ref: String) -> String {
            if ref == "#" { return "#/$defs/\(name)" }
            for prefix in ["#/$defs/", "#/definitions/"] where ref.hasPrefix(prefix) {
                return "#/$defs/\(name)." + ref.dropFirst(prefix.count)
            }
            return ref // anything else is refused by the compiler, naming it
        }
        func rewrite(_ tree: JSONTree) -> JSONTree {
            switch tree {
            case .object(let members):
                return .object(members.map { key, value in
                    if key == "$ref", case .string(let ref) = value { return (key, .string(rebase(ref))) }
                    return (key, rewrite(value))
                })
            case .array(let items): return .array(items.map(rewrite))
            default: return tree
            }
        }
        var defs: [(key: String, value: JSONTree)] = []
        var root = schema
        if case .object(let members) = schema {
            for key in ["$defs", "definitions"] {
                guard case .object(let inner)? = schema[key] else { continue }
                defs += inner.map { ("\(name).\($0.key)", rewrite($0.value)) }
            }
            root = .object(members.filter { $0.key != "$defs" && $0.key != "definitions" })
        }
        defs.append((name, rewrite(root)))
        return (.object([("$ref", .string("#/$defs/\(name)"))]), defs)
    }

    // MARK: The reply

    static func randomID() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<24).map { _ in letters.randomElement()! })
    }
}

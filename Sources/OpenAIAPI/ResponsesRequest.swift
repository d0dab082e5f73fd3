import Grammar

/// `POST /v1/responses` body (OpenAI's Responses API, stateless): `input` as a string or a list of
/// messages and items (`function_call`, `function_call_output`), `instructions`, sampling fields,
/// `text.format` and function `tools`. Members are kept in order (`JSONTree`), since schemas
/// travel in `text.format` and `tools`.
public struct ResponsesRequest: Sendable {
    public var model: String
    public var input: [Item]
    public var instructions: String?
    public var maxOutputTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var stream: Bool
    public var format: ResponseFormat?
    public var tools: [Tool]?
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    public var store: Bool?
    public var previousResponseID: String?

    /// One input item.
    public enum Item: Sendable, Equatable {
        case message(role: String, text: String)
        case functionCall(callID: String, name: String, arguments: String)
        case functionCallOutput(callID: String, output: String)
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let message: String
        public let param: String
        public var description: String { message }
    }

    static let known: Set<String> = [
        "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "stream", "text", "tools",
        "tool_choice", "parallel_tool_calls", "store", "previous_response_id", "metadata", "user", "truncation",
        "service_tier", "reasoning", "include",
    ]

    public init(_ body: JSONTree) throws(Invalid) {
        guard case .object(let members) = body else { throw Invalid(message: "the body must be an object", param: "") }
        if let unknown = members.map(\.key).first(where: { !Self.known.contains($0) }) {
            throw Invalid(message: "'\(unknown)' is not a field of the Responses API", param: unknown)
        }
        guard case .string(let model)? = body["model"] else {
            throw Invalid(message: "'model' is required and must be a string", param: "model")
        }
        self.model = model
        switch body["input"] {
        case .string(let text)?: input = [.message(role: "user", text: text)]
        case .array(let items)?:
            input = try items.enumerated().map { i, item throws(Invalid) in try Self.item(item, i) }
        default: throw Invalid(message: "'input' must be a string or a list of items", param: "input")
        }
        instructions = try Self.optional(body, "instructions", \.string)
        maxOutputTokens = try Self.optional(body, "max_output_tokens", \.integer)
        temperature = try Self.optional(body, "temperature", \.double)
        topP = try Self.optional(body, "top_p", \.double)
        stream = try Self.optional(body, "stream", \.bool) ?? false
        store = try Self.optional(body, "store", \.bool)
        previousResponseID = try Self.optional(body, "previous_response_id", \.string)
        parallelToolCalls = try Self.optional(body, "parallel_tool_calls", \.bool)
        if let format = body["text"]?["format"] {
            guard case .string(let type)? = format["type"] else {
                throw Invalid(message: "text.format.type must be a string", param: "text.format")
            }
            var spec: ResponseFormat.JSONSchemaFormat?
            if type == "json_schema" {
                var name: String?
                if case .string(let n)? = format["name"] { name = n }
                spec = .init(name: name, schema: format["schema"])
            }
            self.format = ResponseFormat(type: type, jsonSchema: spec)
        }
        if case .array(let list)? = body["tools"] {
            tools = try list.enumerated().map { i, tool throws(Invalid) in
                guard case .string("function")? = tool["type"], case .string(let name)? = tool["name"] else {
                    throw Invalid(message: "tools[\(i)] must be {\"type\": \"function\", \"name\", …}",
                                  param: "tools[\(i)]")
                }
                var description: String?
                if case .string(let d)? = tool["description"] { description = d }
                return Tool(function: .init(name: name, description: description, parameters: tool["parameters"]))
            }
        }
        switch body["tool_choice"] {
        case nil, .null?: toolChoice = nil
        case .string("none")?: toolChoice = ToolChoice.none
        case .string("auto")?: toolChoice = .auto
        case .string("required")?: toolChoice = .required
        case let choice? where choice["type"] == .string("function"):
            guard case .string(let name)? = choice["name"] else {
                throw Invalid(message: "tool_choice needs the function's name", param: "tool_choice")
            }
            toolChoice = .function(name)
        default: throw Invalid(message: "tool_choice must be none, auto, required or a function", param: "tool_choice")
        }
    }

    private static func item(_ item: JSONTree, _ i: Int) throws(Invalid) -> Item {
        let type: String? = if case .string(let t)? = item["type"] { t } else { nil }
        switch type {
        case "function_call"?:
            guard case .string(let callID)? = item["call_id"], case .string(let name)? = item["name"],
                  case .string(let arguments)? = item["arguments"] else {
                throw Invalid(message: "input[\(i)]: a function_call needs call_id, name and arguments",
                              param: "input[\(i)]")
            }
            return .functionCall(callID: callID, name: name, arguments: arguments)
        case "function_call_output"?:
            guard case .string(let callID)? = item["call_id"], let output = item["output"] else {
                throw Invalid(message: "input[\(i)]: a function_call_output needs call_id and output",
                              param: "input[\(i)]")
            }
            if case .string(let text) = output { return .functionCallOutput(callID: callID, output: text) }
            return .functionCallOutput(callID: callID, output: output.compactText)
        case nil, "message"?:
            guard case .string(let role)? = item["role"] else {
                throw Invalid(message: "input[\(i)].role is required", param: "input[\(i)].role")
            }
            switch item["content"] {
            case .string(let text)?: return .message(role: role, text: text)
            case .array(let parts)?:
                var text = ""
                for (k, part) in parts.enumerated() {
                    guard case .string(let t)? = part["text"],
                          ["input_text", "output_text", "text"].contains(part["type"].flatMap(\.string) ?? "") else {
                        throw Invalid(message: "input[\(i)].content[\(k)]: only text parts are supported",
                                      param: "input[\(i)].content")
                    }
                    text += t
                }
                return .message(role: role, text: text)
            default: throw Invalid(message: "input[\(i)].content must be a string or parts", param: "input[\(i)]")
            }
        case let other?:
            throw Invalid(message: "input[\(i)]: items of type '\(other)' are not supported", param: "input[\(i)]")
        }
    }

    private static func optional<T>(_ body: JSONTree, _ key: String, _ read: (JSONTree) -> T?) throws(Invalid) -> T? {
        guard let value = body[key], value != .null else { return nil }
        guard let typed = read(value) else { throw Invalid(message: "'\(key)' has the wrong type", param: key) }
        return typed
    }
}

extension JSONTree {
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var double: Double? { if case .number(let n) = self { n } else { nil } }
    public var integer: Int? {
        if case .number(let n) = self, n == n.rounded(), abs(n) < 1e15 { Int(n) } else { nil }
    }
}

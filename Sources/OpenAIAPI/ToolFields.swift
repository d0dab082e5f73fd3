import Foundation
import Grammar

/// One entry of `tools`: a function the model may call.
public struct Tool: Decodable, Sendable, Equatable {
    public var type: String
    public var function: FunctionDefinition

    public struct FunctionDefinition: Decodable, Sendable, Equatable {
        public var name: String
        public var description: String?
        /// A JSON Schema of the arguments object; members in request order once restored.
        public var parameters: JSONTree?
        public var strict: Bool?

        public init(name: String, description: String? = nil, parameters: JSONTree? = nil) {
            self.name = name
            self.description = description
            self.parameters = parameters
        }
    }

    public init(function: FunctionDefinition) {
        type = "function"
        self.function = function
    }
}

/// A `tools` list that cannot be offered: what is wrong and the field it names.
public struct InvalidTools: Error, CustomStringConvertible {
    public let message: String
    /// The field, as OpenAI names it (`tools[2].function.name`).
    public let param: String
    /// `invalid_json_schema` when a parameters schema is outside the supported subset.
    public let code: String?
    public var description: String { message }

    public init(message: String, param: String, code: String?) {
        self.message = message
        self.param = param
        self.code = code
    }
}

extension Tool {
    /// Checks what a request or a role offers: function types, names (unique, 1 to 64 letters, digits,
    /// '_' or '-') and parameters schemas in the supported subset; a named `choice` must be offered.
    public static func validate(_ tools: [Tool], choice: ToolChoice?) throws {
        var names: Set<String> = []
        for (i, tool) in tools.enumerated() {
            let name = tool.function.name
            guard tool.type == "function" else {
                throw InvalidTools(message: "tools[\(i)].type must be 'function'", param: "tools[\(i)].type", code: nil)
            }
            guard (1...64).contains(name.count),
                  name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0)
                      || $0 == "_" || $0 == "-") }) else {
                throw InvalidTools(message: "tools[\(i)].function.name must be 1 to 64 letters, digits, '_' or '-'",
                                   param: "tools[\(i)].function.name", code: nil)
            }
            guard names.insert(name).inserted else {
                throw InvalidTools(message: "function '\(name)' is offered twice",
                                   param: "tools[\(i)].function.name", code: nil)
            }
            if let parameters = tool.function.parameters {
                do {
                    _ = try SchemaCompiler.compile(parameters)
                } catch {
                    throw InvalidTools(message: "tools[\(i)].function.parameters: \(error)",
                                       param: "tools[\(i)].function.parameters", code: "invalid_json_schema")
                }
            }
        }
        if case .function(let name)? = choice, !names.contains(name) {
            throw InvalidTools(message: "tool_choice names function '\(name)', which is not in tools",
                               param: "tool_choice", code: nil)
        }
        if choice == .required && tools.isEmpty {
            throw InvalidTools(message: "tool_choice 'required' needs at least one tool", param: "tool_choice",
                               code: nil)
        }
    }
}

/// `tool_choice`: `"none"`, `"auto"`, `"required"` or `{"type": "function", "function": {"name"}}`.
public enum ToolChoice: Decodable, Sendable, Equatable {
    case none, auto, required
    case function(String)

    struct Named: Decodable {
        struct Function: Decodable { var name: String }
        var type: String
        var function: Function
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let word = try? c.decode(String.self) {
            switch word {
            case "none": self = .none
            case "auto": self = .auto
            case "required": self = .required
            default:
                throw DecodingError.dataCorruptedError(in: c, debugDescription:
                    "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", ...}")
            }
            return
        }
        let named = try c.decode(Named.self)
        guard named.type == "function" else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "tool_choice.type must be \"function\"")
        }
        self = .function(named.function.name)
    }
}

/// A call the assistant made, in a reply or in the history of a request.
public struct ToolCall: Codable, Sendable, Equatable {
    public var id: String
    public var type = "function"
    public var function: Function

    public struct Function: Codable, Sendable, Equatable {
        public var name: String
        /// The arguments as a JSON text, as OpenAI sends them.
        public var arguments: String

        public init(name: String, arguments: String) {
            self.name = name
            self.arguments = arguments
        }
    }

    public init(id: String, function: Function) {
        self.id = id
        self.function = function
    }

    enum CodingKeys: String, CodingKey { case id, type, function }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? "function"
        function = try c.decode(Function.self, forKey: .function)
    }
}

/// A streamed fragment of a tool call: id, type and name in the first, arguments in pieces after.
public struct ToolCallDelta: Encodable, Sendable {
    public var index: Int
    public var id: String?
    public var type: String?
    public var function: Function

    public struct Function: Encodable, Sendable {
        public var name: String?
        public var arguments: String
    }

    public init(index: Int, id: String? = nil, name: String? = nil, arguments: String) {
        self.index = index
        self.id = id
        type = id == nil ? nil : "function"
        function = Function(name: name, arguments: arguments)
    }
}

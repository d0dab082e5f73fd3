import Foundation
import Grammar
import OpenAIAPI
import Yams

/// A role: a system prompt and sampling defaults that a request's own fields override.
public struct Role: Sendable, Equatable, Decodable {
    public var systemPrompt: String?
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var stop: [String]?
    public var isDefault: Bool
    /// The shape every reply of this role takes, whatever the request asks.
    public var responseFormat: BoundFormat?
    /// Functions every request of this role is offered, unless it sends its own `tools`.
    public var tools: [Tool]?
    /// The `tool_choice` of a request that sends none (with the role's tools: `auto` when absent).
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?

    public static let responseFormats: Set<String> = ["text", "json_object", "json_schema"]

    /// A role's `response_format`: the request field's object inline (`{type: json_schema,
    /// json_schema: {name, schema}}`), or just its type (`json_object`).
    public struct BoundFormat: Sendable, Equatable {
        public var type: String
        public var name: String?
        public var schema: JSONTree?

        public init(type: String, name: String? = nil, schema: JSONTree? = nil) {
            self.type = type
            self.name = name
            self.schema = schema
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case systemPrompt = "system_prompt", temperature, topP = "top_p", maxTokens = "max_tokens", stop,
             isDefault = "default", responseFormat = "response_format", tools, toolChoice = "tool_choice",
             parallelToolCalls = "parallel_tool_calls"
    }

    /// Any key of a role's mapping, to find the ones that are not fields.
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A role field that is not one (a typo would otherwise be dropped without a word).
    public struct UnknownField: Error, CustomStringConvertible {
        public let field: String
        public var description: String {
            "unknown role field '\(field)' (known: \(CodingKeys.allCases.map(\.stringValue).joined(separator: ", ")))"
        }
    }

    public struct InvalidResponseFormat: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "response_format: \(reason)" }
    }

    public init(systemPrompt: String? = nil, temperature: Double? = nil, topP: Double? = nil, maxTokens: Int? = nil,
                stop: [String]? = nil, isDefault: Bool = false, responseFormat: BoundFormat? = nil,
                tools: [Tool]? = nil, toolChoice: ToolChoice? = nil) {
        self.responseFormat = responseFormat
        self.tools = tools
        self.toolChoice = toolChoice
        self.systemPrompt = systemPrompt
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.stop = stop
        self.isDefault = isDefault
    }

    public init(from decoder: any Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            .sorted().first(where: { !known.contains($0) }) {
            throw UnknownField(field: unknown)
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        systemPrompt = try c.decodeIfPresent(String.self, forKey: .systemPrompt)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        if let one = try? c.decodeIfPresent(String.self, forKey: .stop) {
            stop = [one]
        } else {
            stop = try c.decodeIfPresent([String].self, forKey: .stop)
        }
        isDefault = try c.decodeIfPresent(Bool.self, forKey: .isDefault) ?? false
        responseFormat = try c.decodeIfPresent(JSONTree.self, forKey: .responseFormat).map(Self.boundFormat)
        tools = try c.decodeIfPresent([JSONTree].self, forKey: .tools).map { try $0.enumerated().map(Self.tool) }
        toolChoice = try c.decodeIfPresent(ToolChoice.self, forKey: .toolChoice)
        parallelToolCalls = try c.decodeIfPresent(Bool.self, forKey: .parallelToolCalls)
        if tools == nil && (toolChoice != nil || parallelToolCalls != nil) {
            throw InvalidTools(message: "tool_choice and parallel_tool_calls need the role's tools", param: "tools",
                               code: nil)
        }
        try Tool.validate(tools ?? [], choice: toolChoice)
    }

    /// One entry of a role's `tools`, as a request writes it; a key that is not a field is an error (a
    /// misspelt `parameters` would otherwise offer a function without arguments).
    static func tool(index: Int, tree: JSONTree) throws -> Tool {
        func refuse(_ message: String, _ field: String = "") -> InvalidTools {
            InvalidTools(message: "tools[\(index)]\(field) \(message)", param: "tools[\(index)]\(field)", code: nil)
        }
        guard case .object(let members) = tree else { throw refuse("must be a mapping") }
        if let key = members.map(\.key).first(where: { !["type", "function"].contains($0) }) {
            throw refuse("has unknown key '\(key)' (known: type, function)")
        }
        guard case .object(let fields)? = tree["function"] else { throw refuse("needs a 'function' mapping") }
        let known = ["name", "description", "parameters", "strict"]
        if let key = fields.map(\.key).first(where: { !known.contains($0) }) {
            throw refuse("has unknown key '\(key)' (known: \(known.joined(separator: ", ")))", ".function")
        }
        guard case .string(let name)? = tree["function"]?["name"] else { throw refuse("needs a name", ".function") }
        var description: String?
        if case .string(let text)? = tree["function"]?["description"] { description = text }
        let parameters = tree["function"]?["parameters"]
        var tool = Tool(function: .init(name: name, description: description, parameters: parameters))
        if case .string(let type)? = tree["type"] { tool.type = type }
        return tool
    }

    /// Checks a role's `response_format` now, so a bad schema is an error of the file, not of every request.
    static func boundFormat(_ tree: JSONTree) throws -> BoundFormat {
        let known = Self.responseFormats.sorted().joined(separator: ", ")
        let type: String
        switch tree {
        case .string(let name): type = name
        case .object(let members):
            guard case .string(let name)? = tree["type"] else {
                throw InvalidResponseFormat(reason: "'type' is missing")
            }
            type = name
            if let key = members.map(\.key).first(where: { !["type", "json_schema"].contains($0) }) {
                throw InvalidResponseFormat(reason: "unknown key '\(key)' (known: type, json_schema)")
            }
        default: throw InvalidResponseFormat(reason: "must be a type name or an object")
        }
        guard Self.responseFormats.contains(type) else {
            throw InvalidResponseFormat(reason: "type '\(type)' is not one of \(known)")
        }
        guard type == "json_schema" else { return BoundFormat(type: type) }
        guard case .object(let members)? = tree["json_schema"] else {
            throw InvalidResponseFormat(reason: "type json_schema needs a 'json_schema' object")
        }
        let allowed = ["name", "description", "strict", "schema"]
        if let key = members.map(\.key).first(where: { !allowed.contains($0) }) {
            throw InvalidResponseFormat(
                reason: "unknown key '\(key)' in json_schema (known: \(allowed.joined(separator: ", ")))")
        }
        guard let schema = tree["json_schema"]?["schema"] else {
            throw InvalidResponseFormat(reason: "json_schema needs a 'schema'")
        }
        do {
            _ = try SchemaCompiler.compile(schema)
        } catch {
            throw InvalidResponseFormat(reason: "json_schema.schema: \(error)")
        }
        var name: String?
        if case .string(let n)? = tree["json_schema"]?["name"] { name = n }
        return BoundFormat(type: type, name: name, schema: schema)
    }
}

/// A top-level key of roles.yaml other than `roles`.
struct UnknownTopLevelKey: Error, CustomStringConvertible {
    let key: String
    var description: String { "unknown top-level key '\(key)' (the only one allowed is 'roles')" }
}

/// The roles of one `roles.yaml`:
/// `roles: {name: {system_prompt, temperature, top_p, max_tokens, stop, default, response_format, tools, …}}`.
public struct RoleBook: Sendable, Equatable {
    public var roles: [String: Role]

    public init(roles: [String: Role] = [:]) {
        self.roles = roles
    }

    public var defaultRole: (name: String, role: Role)? {
        roles.sorted { $0.key < $1.key }.first { $0.value.isDefault }.map { ($0.key, $0.value) }
    }

    /// Reads `path`; a missing file is an empty book, a malformed one an error naming the file.
    public static func load(path: String) throws -> RoleBook {
        guard let data = FileManager.default.contents(atPath: path) else { return RoleBook() }
        struct File: Decodable {
            var roles: [String: Role]?

            enum CodingKeys: String, CodingKey { case roles }

            init(from decoder: any Decoder) throws {
                // A key beside `roles` is a mistake (roles written at the top level, a typo): say so.
                if let unknown = try decoder.container(keyedBy: Role.AnyKey.self).allKeys.map(\.stringValue)
                    .sorted().first(where: { $0 != "roles" }) {
                    throw UnknownTopLevelKey(key: unknown)
                }
                roles = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String: Role].self,
                                                                                     forKey: .roles)
            }
        }
        do {
            let file = try YAMLDecoder().decode(File.self, from: String(decoding: data, as: UTF8.self))
            let roles = file.roles ?? [:]
            for name in roles.keys { try AdapterError.validate(name: name) }
            guard roles.values.filter(\.isDefault).count <= 1 else {
                throw AdapterError.invalidRoles(file: path, reason: "more than one role is marked default")
            }
            return RoleBook(roles: roles)
        } catch let error as AdapterError {
            if case .invalidName(let name) = error {
                throw AdapterError.invalidRoles(
                    file: path, reason: "role name '\(name)' must use letters, digits, '.', '_' and '-' only")
            }
            throw error
        } catch {
            throw AdapterError.invalidRoles(file: path, reason: "cannot be read: \(error)")
        }
    }
}

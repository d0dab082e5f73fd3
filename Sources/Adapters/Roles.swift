import Foundation
import Yams

/// A role: a system prompt and sampling defaults that a request's own fields override.
public struct Role: Sendable, Equatable, Decodable {
    public var systemPrompt: String?
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var stop: [String]?
    public var isDefault: Bool

    enum CodingKeys: String, CodingKey {
        case systemPrompt = "system_prompt", temperature, topP = "top_p", maxTokens = "max_tokens", stop,
             isDefault = "default"
    }

    public init(systemPrompt: String? = nil, temperature: Double? = nil, topP: Double? = nil, maxTokens: Int? = nil,
                stop: [String]? = nil, isDefault: Bool = false) {
        self.systemPrompt = systemPrompt
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.stop = stop
        self.isDefault = isDefault
    }

    public init(from decoder: any Decoder) throws {
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
    }
}

/// The roles of one `roles.yaml`: `roles: {name: {system_prompt, temperature, top_p, max_tokens, stop, default}}`.
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
        struct File: Decodable { var roles: [String: Role]? }
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

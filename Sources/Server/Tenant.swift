import Crypto
import Foundation

/// Who a request's API key belongs to, and what that key may use.
public struct Tenant: Sendable, Equatable {
    /// Shown in logs and metrics; the key itself never is.
    public var name: String
    /// SHA-256 of the key.
    var keyDigest: [UInt8]
    /// Model ids this key reaches: exact ids, or patterns where `*` stands for any characters
    /// (`ticket-triage:*` is every role of ticket-triage, `*` everything).
    public var models: [String]
    /// May use the adapter admin routes.
    public var admin: Bool
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?

    /// The request's tenant, set by `TenantMiddleware` for the handler's task; nil when the server
    /// has no keys at all.
    @TaskLocal static var current: Tenant?

    /// The tenant of `--api-key`: one key that may use everything.
    static func single(key: String) -> Tenant {
        Tenant(name: "default", keyDigest: digest(key), models: ["*"], admin: true)
    }

    public static func digest(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Data(key.utf8))) }

    public func allows(_ model: String) -> Bool { models.contains { Self.matches(model, pattern: $0) } }

    /// Glob matching with `*` only.
    public static func matches(_ text: String, pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return text == pattern }
        guard text.hasPrefix(parts[0]), text.dropFirst(parts[0].count).hasSuffix(parts[parts.count - 1]),
              text.count >= parts[0].count + parts[parts.count - 1].count else { return false }
        var rest = Substring(text.dropFirst(parts[0].count).dropLast(parts[parts.count - 1].count))
        for middle in parts.dropFirst().dropLast() where !middle.isEmpty {
            guard let found = rest.range(of: middle) else { return false }
            rest = rest[found.upperBound...]
        }
        return true
    }
}

extension Optional where Wrapped == Tenant {
    /// Without keys every model is allowed.
    func allows(_ model: String) -> Bool { self?.allows(model) ?? true }
}

import Foundation
import Yams

/// The tenants of an `--api-keys` file:
///
/// ```yaml
/// keys:
///   - name: team-a
///     key: "…"              # or key_sha256: "<64 hex digits>"
///     models: ["ticket-triage", "ticket-triage:*", "gemma-3-270m"]
///     requests_per_minute: 600
///     tokens_per_minute: 200000
///   - name: ops
///     key_sha256: "…"
///     admin: true
///     models: ["*"]
/// ```
///
/// Unknown fields, duplicate names or keys, and wrong types are errors naming the entry.
public struct TenantKeys: Sendable, Equatable {
    public var tenants: [Tenant]

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    static let entryFields: Set<String> = ["name", "key", "key_sha256", "models", "admin", "requests_per_minute",
                                           "tokens_per_minute"]

    public static func parse(_ text: String, source: String) throws -> TenantKeys {
        func fail(_ message: String) -> FormatError { FormatError(description: "\(source): \(message)") }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw fail("not YAML: \(error)") }
        guard let top = root as? [String: Any] else { throw fail("expected a mapping with 'keys'") }
        if let unknown = Set(top.keys).subtracting(["keys"]).sorted().first { throw fail("unknown field '\(unknown)'") }
        guard let entries = top["keys"] as? [Any] else { throw fail("'keys' must be a list") }
        var tenants: [Tenant] = []
        for (i, raw) in entries.enumerated() {
            guard let entry = raw as? [String: Any] else { throw fail("keys[\(i)] must be a mapping") }
            let at = (entry["name"] as? String).map { "keys[\(i)] (\($0))" } ?? "keys[\(i)]"
            if let unknown = Set(entry.keys).subtracting(entryFields).sorted().first {
                throw fail("\(at): unknown field '\(unknown)'")
            }
            guard let name = entry["name"] as? String, !name.isEmpty else { throw fail("\(at): 'name' is required") }
            let digest: [UInt8]
            switch (entry["key"], entry["key_sha256"]) {
            case let (key as String, nil) where !key.isEmpty: digest = Tenant.digest(key)
            case let (nil, hex as String):
                digest = try hexDigest(hex) ?? { throw fail("\(at): key_sha256 must be 64 hex digits") }()
            default: throw fail("\(at): give exactly one of 'key' (a non-empty string) or 'key_sha256'")
            }
            guard let models = (entry["models"] ?? [String]()) as? [String] else {
                throw fail("\(at): 'models' must be a list of strings")
            }
            guard let admin = (entry["admin"] ?? false) as? Bool else {
                throw fail("\(at): 'admin' must be true or false")
            }
            func limit(_ field: String) throws -> Int? {
                guard let value = entry[field] else { return nil }
                guard let n = value as? Int, n > 0 else { throw fail("\(at): '\(field)' must be a positive integer") }
                return n
            }
            let tenant = Tenant(name: name, keyDigest: digest, models: models, admin: admin,
                                requestsPerMinute: try limit("requests_per_minute"),
                                tokensPerMinute: try limit("tokens_per_minute"))
            if tenants.contains(where: { $0.name == name }) { throw fail("\(at): the name is used twice") }
            if tenants.contains(where: { $0.keyDigest == digest }) { throw fail("\(at): the key is used twice") }
            tenants.append(tenant)
        }
        return TenantKeys(tenants: tenants)
    }

    static func hexDigest(_ hex: String) -> [UInt8]? {
        let chars = Array(hex.lowercased())
        guard chars.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(chars[i...i + 1]), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The tenant whose key is `key`. Every digest is compared in full, so the time taken says
    /// nothing about which key, or how much of one, matched.
    public func tenant(presenting key: String) -> Tenant? {
        let digest = Tenant.digest(key)
        var found: Tenant?
        for tenant in tenants where Self.constantTimeEqual(tenant.keyDigest, digest) { found = tenant }
        return found
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}

import Foundation
import Server
import Testing

struct TenantKeysTests {
    let file = """
    keys:
      - name: team-a
        key: "secret-a"
        models: ["ticket-triage", "ticket-triage:*", "gemma-3-270m"]
        requests_per_minute: 2
      - name: ops
        key_sha256: "\(Tenant.digest("secret-ops").map { String(format: "%02x", $0) }.joined())"
        admin: true
        models: ["*"]
    """

    @Test func parsesKeysDigestsAndLimits() throws {
        let keys = try TenantKeys.parse(file, source: "keys.yaml")
        #expect(keys.tenants.map(\.name) == ["team-a", "ops"])
        #expect(keys.tenant(presenting: "secret-a")?.name == "team-a")
        #expect(keys.tenant(presenting: "secret-ops")?.admin == true)
        #expect(keys.tenant(presenting: "secret-") == nil && keys.tenant(presenting: "") == nil)
        #expect(keys.tenants[0].requestsPerMinute == 2 && keys.tenants[0].tokensPerMinute == nil)
    }

    @Test func patternsReachOnlyTheirModels() throws {
        let a = try #require(try TenantKeys.parse(file, source: "k").tenant(presenting: "secret-a"))
        #expect(a.allows("ticket-triage") && a.allows("ticket-triage:strict") && a.allows("gemma-3-270m"))
        #expect(!a.allows("pirate-style") && !a.allows("gemma-3-270m:triage-fewshot") && !a.allows("ticket-triage-2"))
        #expect(Tenant.matches("a-b-c", pattern: "a*c") && Tenant.matches("ac", pattern: "a*c"))
        #expect(!Tenant.matches("a", pattern: "a*c") && Tenant.matches("x:y:z", pattern: "*:*"))
    }

    @Test("broken files are refused with a message naming the entry", arguments: [
        ("keys:\n  - name: a\n    key: k\n    colour: red\n", "keys[0] (a): unknown field 'colour'"),
        ("keys:\n  - name: a\n", "keys[0] (a): give exactly one of"),
        ("keys:\n  - name: a\n    key: k\n    key_sha256: abc\n", "give exactly one of"),
        ("keys:\n  - name: a\n    key_sha256: abc\n", "key_sha256 must be 64 hex digits"),
        ("keys:\n  - name: a\n    key: k\n  - name: a\n    key: j\n", "keys[1] (a): the name is used twice"),
        ("keys:\n  - name: a\n    key: k\n  - name: b\n    key: k\n", "keys[1] (b): the key is used twice"),
        ("keys:\n  - name: a\n    key: k\n    requests_per_minute: 0\n", "must be a positive integer"),
        ("keys:\n  - name: a\n    key: k\n    models: ticket\n", "'models' must be a list of strings"),
        ("tenants: []\n", "unknown field 'tenants'"),
        ("keys: [\n", "not YAML"),
    ])
    func brokenFilesAreRefused(_ text: String, _ message: String) {
        #expect {
            try TenantKeys.parse(text, source: "keys.yaml")
        } throws: { error in
            "\(error)".hasPrefix("keys.yaml: ") && "\(error)".contains(message)
        }
    }

    @Test func rateLimiterRefusesOverTheAllowanceAndSaysWhenToRetry() throws {
        let a = try #require(try TenantKeys.parse(file, source: "k").tenant(presenting: "secret-a"))
        let limiter = RateLimiter()
        #expect(limiter.admit(a) == nil && limiter.admit(a) == nil)
        let wait = try #require(limiter.admit(a))
        #expect(wait >= 1 && wait <= 30)
        var tokens = a
        tokens.requestsPerMinute = nil
        tokens.tokensPerMinute = 100
        #expect(limiter.admit(tokens) == nil)
        limiter.charge(tokens, tokens: 150)
        #expect(limiter.admit(tokens) != nil)
    }
}

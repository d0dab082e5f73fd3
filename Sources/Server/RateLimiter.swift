import Foundation
import Synchronization

/// Per-tenant limits on requests and tokens per minute, as token buckets that refill continuously:
/// a bucket holds at most one minute's allowance. A request needs one request and a positive token
/// balance; the tokens it used (prompt + completion) are charged when it ends, so the balance may
/// go below zero and the next request waits until it refills.
public final class RateLimiter: Sendable {
    /// The limiter of the request's tenant, set beside `Tenant.current`.
    @TaskLocal static var current: RateLimiter?

    private struct Bucket {
        var level: Double
        var updated: ContinuousClock.Instant

        mutating func refill(perMinute: Int, now: ContinuousClock.Instant) {
            let elapsed = now - updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            level = min(Double(perMinute), level + seconds * Double(perMinute) / 60)
            updated = now
        }

        /// Seconds until the level reaches `needed`.
        func wait(until needed: Double, perMinute: Int) -> Int {
            max(1, Int(((needed - level) * 60 / Double(perMinute)).rounded(.up)))
        }
    }

    private let buckets = Mutex<[String: (requests: Bucket, tokens: Bucket)]>([:])

    public init() {}

    /// Takes one request from `tenant`'s allowance; the seconds to wait when there is none left.
    public func admit(_ tenant: Tenant) -> Int? {
        guard tenant.requestsPerMinute != nil || tenant.tokensPerMinute != nil else { return nil }
        let now = ContinuousClock.now
        return buckets.withLock { all in
            var pair = all[tenant.name] ?? fresh(tenant, now)
            defer { all[tenant.name] = pair }
            if let rpm = tenant.requestsPerMinute {
                pair.requests.refill(perMinute: rpm, now: now)
                if pair.requests.level < 1 { return pair.requests.wait(until: 1, perMinute: rpm) }
            }
            if let tpm = tenant.tokensPerMinute {
                pair.tokens.refill(perMinute: tpm, now: now)
                if pair.tokens.level <= 0 { return pair.tokens.wait(until: 1, perMinute: tpm) }
            }
            if tenant.requestsPerMinute != nil { pair.requests.level -= 1 }
            return nil
        }
    }

    /// Charges the tokens a finished request used.
    public func charge(_ tenant: Tenant, tokens: Int) {
        guard let tpm = tenant.tokensPerMinute else { return }
        let now = ContinuousClock.now
        buckets.withLock { all in
            var pair = all[tenant.name] ?? fresh(tenant, now)
            pair.tokens.refill(perMinute: tpm, now: now)
            pair.tokens.level -= Double(tokens)
            all[tenant.name] = pair
        }
    }

    private func fresh(_ tenant: Tenant, _ now: ContinuousClock.Instant) -> (requests: Bucket, tokens: Bucket) {
        (Bucket(level: Double(tenant.requestsPerMinute ?? 0), updated: now),
         Bucket(level: Double(tenant.tokensPerMinute ?? 0), updated: now))
    }
}

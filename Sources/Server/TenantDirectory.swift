import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The keys the server accepts: none (open), the single `--api-key`, or the tenants of an
/// `--api-keys` file, which `TenantFileWatch` reloads when it changes. A file that fails to parse
/// keeps the previous keys in force.
final class TenantDirectory: Sendable {
    private let keys: Mutex<TenantKeys?>
    let file: String?
    /// The `--api-key` tenant, kept beside whatever the file holds.
    private let single: [Tenant]
    let limiter = RateLimiter()
    private let lastText = Mutex<String?>(nil)

    /// Reads `file` now: a server must not start open because its keys file is broken.
    init(configuration: ServerConfiguration) throws {
        file = configuration.apiKeysFile
        single = configuration.apiKey.flatMap { $0.isEmpty ? nil : [Tenant.single(key: $0)] } ?? []
        var initial: TenantKeys? = single.isEmpty ? nil : TenantKeys(tenants: single)
        if let file = configuration.apiKeysFile {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let parsed = try TenantKeys.parse(text, source: file)
            initial = TenantKeys(tenants: (initial?.tenants ?? []) + parsed.tenants)
            lastText.withLock { $0 = text }
        }
        keys = Mutex(initial)
    }

    /// Whether requests need a key at all.
    var isProtected: Bool { keys.withLock { $0 != nil } }

    func tenant(presenting key: String) -> Tenant? { keys.withLock { $0?.tenant(presenting: key) } }

    /// Re-reads the keys file when its text changed; a broken file is logged and ignored.
    func reload(logger: Logger) {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8),
              lastText.withLock({ $0 != text }) else { return }
        lastText.withLock { $0 = text }
        do {
            let parsed = try TenantKeys.parse(text, source: file)
            keys.withLock { $0 = TenantKeys(tenants: single + parsed.tenants) }
            logger.info("api keys reloaded", metadata: ["file": "\(file)", "tenants": "\(parsed.tenants.count)"])
        } catch {
            logger.error("api keys file refused; the previous keys stay in force", metadata: ["error": "\(error)"])
        }
    }
}

/// Polls the `--api-keys` file once a second.
struct TenantFileWatch: Service {
    let directory: TenantDirectory
    let logger: Logger

    func run() async throws {
        guard directory.file != nil else {
            // A service that returns ends the whole group: without a file, just wait for shutdown.
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            directory.reload(logger: logger)
        }
    }
}

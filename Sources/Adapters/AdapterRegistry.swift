import Foundation
import Model

/// Every adapter of the adapters folder: discovered by name, loaded on first use, kept in an LRU
/// bounded by count and memory, reloaded when its files change.
///
/// A running request holds its `LoRAAdapter` object, so eviction or a reload never takes weights
/// away from it: the old version is freed when its last request ends.
public final class AdapterRegistry: @unchecked Sendable {
    /// What the registry accepts and keeps. These defaults are the server's.
    public struct Limits: Sendable {
        /// Largest LoRA rank accepted.
        public var maxRank = 64
        /// Adapters kept in memory at once (least recently used dropped first).
        public var maxLoaded = 16
        /// Memory for loaded adapters.
        public var memoryBytes = 512 << 20

        /// Limits given here replace the defaults above.
        public init(maxRank: Int? = nil, maxLoaded: Int? = nil, memoryBytes: Int? = nil) {
            if let maxRank { self.maxRank = maxRank }
            if let maxLoaded { self.maxLoaded = maxLoaded }
            if let memoryBytes { self.memoryBytes = memoryBytes }
        }
    }

    /// What `GET /v1/adapters` shows of one adapter.
    public struct Status: Sendable {
        public var name: String
        public var source: String
        public var rank: Int?
        public var targets: [String]
        public var bytes: Int?
        public var loaded: Bool
        public var lastUsed: Date?
        public var loadSeconds: Double?
        public var error: String?
        public var roles: [String]
    }

    struct Entry {
        var location: AdapterLocation
        var fingerprint: String
        var roles: RoleBook
        var loaded: LoRAAdapter?
        var error: String?
        var lastUsed: Date?
        /// Registered through the admin API rather than found in the folder: rescans keep it.
        var explicit = false
    }

    public let directory: String
    public let base: ModelConfig
    public let limits: Limits
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var baseRoleBook = RoleBook()
    private var baseRolesError: String?
    private var nextVersion = 1
    /// Folders seen new or changed by the last watcher scan, by fingerprint: taken only when the
    /// next scan sees the same files (see `refresh(waitForStableFiles:)`).
    private var unsettled: [String: String] = [:]

    public init(directory: String, base: ModelConfig, limits: Limits = .init()) {
        self.directory = directory
        self.base = base
        self.limits = limits
        refresh()
    }

    /// Roles of the bare base model (`adapters/roles.yaml`).
    public var baseRoles: RoleBook { lock.withLock { baseRoleBook } }

    /// Adapter names, sorted.
    public var names: [String] { lock.withLock { entries.keys.sorted() } }

    public func roles(ofAdapter name: String) throws -> RoleBook {
        try lock.withLock {
            guard let entry = entries[name] else { throw AdapterError.notFound(name) }
            return entry.roles
        }
    }

    /// The loaded adapter `name`, loading it now if needed.
    public func adapter(named name: String) throws -> LoRAAdapter {
        try AdapterError.validate(name: name)
        lock.lock()
        guard var entry = entries[name] else {
            lock.unlock()
            throw AdapterError.notFound(name)
        }
        if let loaded = entry.loaded {
            entry.lastUsed = Date()
            entries[name] = entry
            lock.unlock()
            return loaded
        }
        let version = nextVersion
        nextVersion += 1
        lock.unlock()
        let (adapter, fingerprint): (LoRAAdapter, String)
        do {
            (adapter, fingerprint) = try Self.loadConsistently(entry.location, name: name, base: base,
                                                               maxRank: limits.maxRank, version: version)
        } catch {
            lock.withLock { entries[name]?.error = "\(error)" }
            throw error
        }
        // Files newer than the last settled scan: a copy may be under way, and the roles we hold
        // belong to the previous files. The watcher settles it within a second.
        guard entry.explicit || fingerprint == entry.fingerprint else { throw AdapterError.updating(name) }
        lock.withLock {
            entries[name]?.loaded = adapter
            entries[name]?.error = nil
            entries[name]?.lastUsed = Date()
            evictLocked(keeping: name)
        }
        return adapter
    }

    /// Rescans the folder: new adapters become servable, removed ones disappear, changed ones that
    /// were loaded are reloaded (a failed reload keeps the old version and records why).
    ///
    /// With `waitForStableFiles` (the folder watcher), a new or changed folder is taken only when
    /// two scans in a row see the same files: a writer that copies files one by one (weights, then
    /// roles) is never caught half way, which would pair one adapter's weights with another's roles.
    /// Removals take effect at once. The cost is one scan interval of latency.
    public func refresh(waitForStableFiles: Bool = false) {
        let found = scan()
        var toReload: [(String, AdapterLocation)] = []
        lock.withLock {
            for (name, entry) in entries where found[name] == nil && !entry.explicit { entries[name] = nil }
            unsettled = unsettled.filter { found[$0.key] != nil }
            for (name, item) in found {
                let changed = entries[name].map {
                    $0.fingerprint != item.fingerprint || $0.location != item.location
                } ?? true
                if waitForStableFiles && changed && unsettled[name] != item.fingerprint {
                    unsettled[name] = item.fingerprint
                    continue
                }
                unsettled[name] = nil
                if var entry = entries[name] {
                    if changed {
                        entry.location = item.location
                        entry.fingerprint = item.fingerprint
                        entry.roles = item.roles.book
                        entry.error = item.roles.error
                        if entry.loaded != nil { toReload.append((name, item.location)) }
                        entries[name] = entry
                    }
                } else {
                    entries[name] = Entry(location: item.location, fingerprint: item.fingerprint,
                                          roles: item.roles.book, error: item.roles.error)
                }
            }
            let baseRoles = Self.readRoles(directory + "/roles.yaml")
            baseRoleBook = baseRoles.book
            baseRolesError = baseRoles.error
        }
        for (name, location) in toReload {
            let version = lock.withLock { defer { nextVersion += 1 }; return nextVersion }
            do {
                let fresh = try Self.loadConsistently(location, name: name, base: base,
                                                      maxRank: limits.maxRank, version: version).adapter
                lock.withLock {
                    entries[name]?.loaded = fresh
                    entries[name]?.error = nil
                }
            } catch {
                lock.withLock { entries[name]?.error = "reload failed, still serving the previous version: \(error)" }
            }
        }
    }

    /// Registers `path` (a PEFT folder, a folder with one `.gguf`, or a `.gguf` file) as adapter
    /// `name` and loads it now, so a bad adapter is reported to the caller (the admin API) instead
    /// of on first use. Replaces an adapter of the same name.
    @discardableResult
    public func register(name: String, path: String) throws -> LoRAAdapter {
        try AdapterError.validate(name: name)
        guard let location = AdapterLocation.find(at: path) else {
            throw AdapterError.io(file: path, reason: "holds no adapter: expected a PEFT folder (adapter_config.json), "
                                      + "a folder with one .gguf LoRA, or a .gguf LoRA file")
        }
        let version = lock.withLock { defer { nextVersion += 1 }; return nextVersion }
        let adapter = try location.load(name: name, base: base, maxRank: limits.maxRank, version: version)
        let roles: (book: RoleBook, error: String?) = location.rolesPath.map(Self.readRoles) ?? (RoleBook(), nil)
        lock.withLock {
            entries[name] = Entry(location: location, fingerprint: "explicit", roles: roles.book, loaded: adapter,
                                  error: roles.error, lastUsed: Date(), explicit: true)
            evictLocked(keeping: name)
        }
        return adapter
    }

    /// Forgets an adapter registered through the admin API, or frees the weights of a folder
    /// adapter (which stays listed while its folder exists). Running requests keep their copy.
    public func unregister(name: String) throws {
        try lock.withLock {
            guard let entry = entries[name] else { throw AdapterError.notFound(name) }
            if entry.explicit { entries[name] = nil } else { entries[name]?.loaded = nil }
        }
    }

    /// Loads every discovered adapter now (`--preload`); returns the errors by name.
    public func preloadAll() -> [String: String] {
        var errors: [String: String] = [:]
        for name in names {
            do { _ = try adapter(named: name) } catch { errors[name] = "\(error)" }
        }
        return errors
    }

    public var statuses: [Status] {
        lock.withLock {
            entries.sorted { $0.key < $1.key }.map { name, e in
                Status(name: name, source: e.location.path, rank: e.loaded?.rank,
                       targets: e.loaded?.targets.map(\.rawValue) ?? [],
                       bytes: e.loaded?.byteCount, loaded: e.loaded != nil, lastUsed: e.lastUsed,
                       loadSeconds: e.loaded?.loadSeconds,
                       error: e.error, roles: e.roles.roles.keys.sorted())
            }
        }
    }

    public var baseRolesStatus: String? { lock.withLock { baseRolesError } }

    // MARK: internals

    /// Drops least recently used adapters beyond the count and memory limits (never `keeping`).
    private func evictLocked(keeping: String) {
        func loaded() -> [(String, Entry)] {
            entries.filter { $0.value.loaded != nil }.sorted {
                ($0.value.lastUsed ?? .distantPast) < ($1.value.lastUsed ?? .distantPast)
            }
        }
        var candidates = loaded()
        var bytes = candidates.reduce(0) { $0 + ($1.1.loaded?.byteCount ?? 0) }
        while candidates.count > limits.maxLoaded || bytes > limits.memoryBytes,
              let victim = candidates.first(where: { $0.0 != keeping }) {
            bytes -= victim.1.loaded?.byteCount ?? 0
            entries[victim.0]?.loaded = nil
            candidates.removeAll { $0.0 == victim.0 }
        }
    }

    /// Loads `location`, retrying when its files changed while they were read (a copy in progress),
    /// so a torn mix of two versions is never served.
    static func loadConsistently(_ location: AdapterLocation, name: String, base: ModelConfig, maxRank: Int,
                                 version: Int) throws -> (adapter: LoRAAdapter, fingerprint: String) {
        for _ in 0..<3 {
            let before = fingerprint(location)
            let adapter = try location.load(name: name, base: base, maxRank: maxRank, version: version)
            if fingerprint(location) == before {
                // The file's bytes and the tensors before conversion are freed now.
                FreedMemory.release()
                return (adapter, before)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw AdapterError.io(file: location.path,
                              reason: "its files kept changing while being read; retry once the copy is complete")
    }

    static func fingerprint(_ location: AdapterLocation) -> String {
        location.watchedFiles.map { file -> String in
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            let date = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let size = (attributes?[.size] as? Int) ?? -1
            return "\(date):\(size)"
        }.joined(separator: "|")
    }

    /// Every adapter in the folder: sub-folders (PEFT or one `.gguf`) and loose `NAME.gguf` files.
    private func scan()
        -> [String: (location: AdapterLocation, fingerprint: String, roles: (book: RoleBook, error: String?))] {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory) else { return [:] }
        var found: [String: (AdapterLocation, String, (RoleBook, String?))] = [:]
        for entry in entries {
            let name = entry.hasSuffix(".gguf") ? String(entry.dropLast(5)) : entry
            guard (try? AdapterError.validate(name: name)) != nil, found[name] == nil,
                  let location = AdapterLocation.find(at: directory + "/" + entry) else { continue }
            found[name] = (location, Self.fingerprint(location),
                           location.rolesPath.map(Self.readRoles) ?? (RoleBook(), nil))
        }
        return found
    }

    private static func readRoles(_ path: String) -> (book: RoleBook, error: String?) {
        do {
            return (try RoleBook.load(path: path), nil)
        } catch {
            return (RoleBook(), "\(error)")
        }
    }
}

import Foundation

/// Fixed-size pages of keys and values under one memory budget (`--kv-cache-mb`).
///
/// A page holds `pageSize` consecutive positions of one layer: `pageSize × kvDim` keys and as many
/// values. Sequences take pages as they grow and give them back when they end; a page shared by
/// several holders (the prefix cache and the sequences reusing a prompt prefix) is reference
/// counted and returns to the free list when its last holder lets go.
///
/// The memory is reserved once but only touched as pages are first used, so an idle server's RSS
/// does not include the whole budget. Values are Float32, or Float16 with `--kv-cache-type f16`
/// (half the memory; attention converts on load).
public final class KVPagePool: @unchecked Sendable {
    public let pageSize: Int
    public let kvDim: Int
    public let pageCount: Int
    public let precision: KVPrecision
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer
    private var references: [Int32]
    private var free: [Int32]
    // Pages change hands on the engine thread, but a cache may be freed (deinit) elsewhere.
    private let lock = NSLock()

    /// Bytes of one page (keys and values).
    public static func pageBytes(pageSize: Int, kvDim: Int, precision: KVPrecision = .float32) -> Int {
        2 * pageSize * kvDim * precision.bytes
    }

    public init(pageSize: Int, kvDim: Int, pageCount: Int, precision: KVPrecision = .float32) {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "page size must be a power of two")
        self.pageSize = pageSize
        self.kvDim = kvDim
        self.pageCount = max(pageCount, 1)
        self.precision = precision
        let bytes = self.pageCount * pageSize * kvDim * precision.bytes
        keys = .allocate(byteCount: bytes, alignment: 64)
        values = .allocate(byteCount: bytes, alignment: 64)
        references = Array(repeating: 0, count: self.pageCount)
        free = (0..<Int32(self.pageCount)).reversed()
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    public var freeCount: Int { lock.withLock { free.count } }
    public var usedCount: Int { pageCount - freeCount }

    /// A fresh page with one reference, or nil when every page is taken.
    func allocate() -> Int32? {
        lock.withLock {
            guard let page = free.popLast() else { return nil }
            references[Int(page)] = 1
            return page
        }
    }

    /// Adds a holder to `page`.
    public func retain(_ page: Int32) {
        lock.withLock { references[Int(page)] += 1 }
    }

    /// Drops a holder; the page is free again when none is left.
    public func release(_ page: Int32) {
        lock.withLock {
            references[Int(page)] -= 1
            precondition(references[Int(page)] >= 0, "KV page \(page) released more often than taken")
            if references[Int(page)] == 0 { free.append(page) }
        }
    }

    @inline(__always) func keys(page: Int32) -> UnsafeMutableRawPointer {
        keys + Int(page) * pageSize * kvDim * precision.bytes
    }
    @inline(__always) func values(page: Int32) -> UnsafeMutableRawPointer {
        values + Int(page) * pageSize * kvDim * precision.bytes
    }
}

/// How KV cache values are stored.
public enum KVPrecision: String, Sendable, CaseIterable {
    case float32 = "f32"
    /// IEEE half precision: half the memory, logits within a measured tolerance (README).
    case float16 = "f16"

    public var bytes: Int { self == .float32 ? 4 : 2 }
}

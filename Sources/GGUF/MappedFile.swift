#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Read-only bytes that outlive every view taken of them: an mmap'd file or an owned copy.
///
/// Weights are read straight out of the mapping, so a model's weights cost page cache, not heap.
public final class ByteStorage: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    private let release: () -> Void

    /// Maps `path` read-only. Throws `GGUFError.io` naming the file when it cannot be opened or mapped.
    public init(mapping path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.io(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError.io(file: path, reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        guard size > 0 else { throw GGUFError.truncated(file: path, what: "header", offset: 0) }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw GGUFError.io(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(pointer)
        count = size
        isMapped = true
        release = { munmap(pointer, size) }
    }

    /// True for a file mapping, whose pages the kernel can re-read from the file.
    public private(set) var isMapped = false

    /// Lets the kernel take back the resident pages of `count` bytes at `start` (whole pages inside
    /// the range only): data that was copied elsewhere (repacked weights) then stops counting in the
    /// process's resident memory. Reading it later faults the pages back in from the file.
    public func dropResidentPages(_ start: UnsafeRawPointer, count bytes: Int) {
        guard isMapped, start >= base, start + bytes <= base + count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + bytes) / page * page
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        madvise(pointer, end - first, Int32(MADV_DONTNEED))
    }

    /// Copies `data` into owned memory (tests, and files assembled in memory).
    public init(copying data: Data) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { bytes in
            if let source = bytes.baseAddress { buffer.copyMemory(from: source, byteCount: data.count) }
        }
        base = UnsafeRawPointer(buffer)
        count = data.count
        release = { buffer.deallocate() }
    }

    deinit { release() }
}

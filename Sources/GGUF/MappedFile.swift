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
        release = { munmap(pointer, size) }
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

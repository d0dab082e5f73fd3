import Foundation

/// A safetensors file: an 8-byte little-endian header length, a JSON header
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, then raw data.
/// Every offset and size is checked against the file before anything is read.
public struct SafetensorsFile: Sendable {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"
        var size: Int { self == .f32 ? 4 : 2 }
    }

    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    public let path: String
    public let tensors: [String: Tensor]
    private let data: Data
    private let dataStart: Int

    /// Largest header accepted: a LoRA header is a few tens of kilobytes.
    static let maximumHeaderBytes = 16 << 20

    public init(path: String) throws {
        let data: Data
        do {
            // Read, not mapped: the folder may be overwritten while we load (hot swap), and a mapped
            // file that shrinks under us is a SIGBUS, not an error. Adapters are a few megabytes.
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AdapterError.io(file: path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String) throws {
        func fail(_ reason: String) -> AdapterError { .invalidSafetensors(file: path, reason: reason) }
        guard data.count >= 8 else { throw fail("shorter than its 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(Self.maximumHeaderBytes), headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) exceeds the file or the \(Self.maximumHeaderBytes)-byte limit")
        }
        let headerData = data.subdata(in: data.startIndex + 8..<data.startIndex + 8 + Int(headerLength))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart
        var tensors: [String: Tensor] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                  offsets.count == 2 else {
                throw fail("tensor '\(name)' has a malformed entry")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)' has unsupported dtype \(dtypeName) (F32, F16, BF16)")
            }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }), shape.count <= 4 else {
                throw fail("tensor '\(name)' has an invalid shape \(shape)")
            }
            let (count, overflow) = shape.reduce((1, false)) {
                let r = $0.0.multipliedReportingOverflow(by: $1); return (r.partialValue, $0.1 || r.overflow)
            }
            guard !overflow, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw fail("tensor '\(name)' has data offsets \(offsets) outside the \(dataSize) data bytes")
            }
            guard offsets[1] - offsets[0] == count * dtype.size else {
                throw fail("tensor '\(name)' has \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtypeName)")
            }
            tensors[name] = Tensor(name: name, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.path = path
        self.tensors = tensors
        self.data = data
        self.dataStart = dataStart
    }

    /// The values of `tensor` as Float32.
    public func floats(_ tensor: Tensor) -> [Float] {
        let count = tensor.range.count / tensor.dtype.size
        return data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + tensor.range.lowerBound
            return (0..<count).map { i in
                switch tensor.dtype {
                case .f32: return Float(bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                case .f16: return Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .bf16:
                    return Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                }
            }
        }
    }
}

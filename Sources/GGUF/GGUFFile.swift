/// Where one tensor lives in a GGUF file.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: `shape[0]` is the contiguous (row) dimension.
    public let shape: [Int]
    public let type: GGMLType
    /// Absolute byte offset of the tensor's data in the file.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    /// Length of one row (`shape[0]`) and number of rows (the product of the rest).
    public var rowLength: Int { shape.first ?? 1 }
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
}

/// A parsed GGUF file (versions 2 and 3): metadata, tensor infos, and the bytes behind them.
///
/// Every read is bounds-checked against the file size, and every count is checked against the bytes
/// left before anything is allocated, so a truncated or hostile file is an error, never a crash.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: MetadataValue]
    public let tensors: [String: TensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let storage: ByteStorage

    public convenience init(path: String) throws {
        try self.init(storage: ByteStorage(mapping: path), path: path)
    }

    public init(storage: ByteStorage, path: String) throws {
        self.path = path
        self.storage = storage
        var reader = ByteReader(storage: storage, file: path)
        guard try reader.read(UInt32.self, "magic") == 0x4655_4747 else { throw GGUFError.badMagic(file: path) }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(file: path, version: version) }
        let tensorCount = try reader.readCount("tensor count", minimumBytesEach: 24)
        let metadataCount = try reader.readCount("metadata count", minimumBytesEach: 12)

        var metadata: [String: MetadataValue] = [:]
        for _ in 0..<metadataCount {
            let key = try reader.readString("metadata key")
            let type = try reader.read(UInt32.self, "type of '\(key)'")
            metadata[key] = try reader.readValue(type: type, key: key)
        }
        self.metadata = metadata

        let alignment = metadata["general.alignment"]?.int ?? 32
        guard alignment > 0, alignment % 8 == 0, alignment <= 1 << 20 else {
            throw GGUFError.invalid(file: path,
                                    reason: "general.alignment \(alignment) is not a positive multiple of 8")
        }

        var infos: [(name: String, shape: [Int], type: UInt32, offset: UInt64)] = []
        infos.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let name = try reader.readString("tensor name")
            let dims = Int(try reader.read(UInt32.self, "dimension count of '\(name)'"))
            guard (1...4).contains(dims) else {
                throw GGUFError.invalid(file: path, reason: "tensor '\(name)' has \(dims) dimensions")
            }
            var shape: [Int] = []
            for _ in 0..<dims {
                let d = try reader.read(UInt64.self, "shape of '\(name)'")
                guard d > 0, d < 1 << 40 else {
                    throw GGUFError.invalid(file: path, reason: "tensor '\(name)' has dimension \(d)")
                }
                shape.append(Int(d))
            }
            let type = try reader.read(UInt32.self, "type of '\(name)'")
            let offset = try reader.read(UInt64.self, "offset of '\(name)'")
            infos.append((name, shape, type, offset))
        }
        let dataStart = (reader.offset + alignment - 1) / alignment * alignment

        var tensors: [String: TensorInfo] = [:]
        var names: [String] = []
        for info in infos {
            guard let type = GGMLType(rawValue: info.type) else {
                throw GGUFError.unsupportedTensorType(file: path, tensor: info.name, type: info.type)
            }
            let (elements, overflow) = info.shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, let bytes = type.byteCount(elements: elements), info.shape[0] % type.blockSize == 0 else {
                throw GGUFError.invalid(
                    file: path, reason: "tensor '\(info.name)' shape \(info.shape) does not fit type \(type.name)")
            }
            guard info.offset < UInt64(Int.max / 2), dataStart + Int(info.offset) + bytes <= storage.count else {
                throw GGUFError.truncated(file: path, what: "data of tensor '\(info.name)'",
                                          offset: dataStart + Int(min(info.offset, UInt64(Int.max / 4))))
            }
            guard tensors[info.name] == nil else {
                throw GGUFError.invalid(file: path, reason: "tensor '\(info.name)' appears twice")
            }
            tensors[info.name] = TensorInfo(name: info.name, shape: info.shape, type: type,
                                            offset: dataStart + Int(info.offset), byteCount: bytes)
            names.append(info.name)
        }
        self.tensors = tensors
        self.tensorNames = names
    }

    /// The raw bytes of a tensor.
    public func bytes(of tensor: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.base + tensor.offset, count: tensor.byteCount)
    }

    public func tensor(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else { throw GGUFError.missingTensor(file: path, tensor: name) }
        return info
    }

    // MARK: typed metadata access

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key]?.int else { throw GGUFError.missingKey(file: path, key: key) }
        return v
    }

    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key]?.double else { throw GGUFError.missingKey(file: path, key: key) }
        return v
    }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key]?.string else { throw GGUFError.missingKey(file: path, key: key) }
        return v
    }

    public func array(_ key: String) throws -> MetadataArray {
        guard case let .array(a)? = metadata[key] else { throw GGUFError.missingKey(file: path, key: key) }
        return a
    }

    /// Dequantizes a whole tensor to Float32 into `output` (`elementCount` floats).
    public func dequantize(_ tensor: TensorInfo, into output: UnsafeMutablePointer<Float>) {
        Dequantizer.dequantize(bytes(of: tensor), type: tensor.type, count: tensor.elementCount, into: output)
    }

    /// Dequantizes a whole tensor into a new array.
    public func dequantized(_ tensor: TensorInfo) -> [Float] {
        [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, initialized in
            dequantize(tensor, into: buffer.baseAddress!)
            initialized = tensor.elementCount
        }
    }
}

/// A bounds-checked cursor over GGUF header bytes (little-endian, unaligned).
struct ByteReader {
    let storage: ByteStorage
    let file: String
    var offset = 0

    init(storage: ByteStorage, file: String) {
        self.storage = storage
        self.file = file
    }

    var remaining: Int { storage.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw GGUFError.truncated(file: file, what: what, offset: offset) }
        let value = storage.base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    /// Reads a UInt64 count and refuses one that could not fit in the bytes left.
    mutating func readCount(_ what: String, minimumBytesEach: Int) throws -> Int {
        let raw = try read(UInt64.self, what)
        guard raw <= UInt64(remaining / max(minimumBytesEach, 1)) else {
            throw GGUFError.invalid(file: file, reason: "\(what) \(raw) is larger than the file allows")
        }
        return Int(raw)
    }

    mutating func readString(_ what: String) throws -> String {
        let length = try readCount("length of \(what)", minimumBytesEach: 1)
        let bytes = UnsafeRawBufferPointer(start: storage.base + offset, count: length)
        offset += length
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func readFloat(_ what: String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    mutating func readValue(type: UInt32, key: String) throws -> MetadataValue {
        switch type {
        case 0: return .uint8(try read(UInt8.self, key))
        case 1: return .int8(try read(Int8.self, key))
        case 2: return .uint16(try read(UInt16.self, key))
        case 3: return .int16(try read(Int16.self, key))
        case 4: return .uint32(try read(UInt32.self, key))
        case 5: return .int32(try read(Int32.self, key))
        case 6: return .float32(try readFloat(key))
        case 7: return .bool(try read(UInt8.self, key) != 0)
        case 8: return .string(try readString(key))
        case 9: return .array(try readArray(key: key, depth: 0))
        case 10: return .uint64(try read(UInt64.self, key))
        case 11: return .int64(try read(Int64.self, key))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, key)))
        default: throw GGUFError.invalid(file: file, reason: "metadata '\(key)' has unknown value type \(type)")
        }
    }

    mutating func readArray(key: String, depth: Int) throws -> MetadataArray {
        guard depth < 4 else {
            throw GGUFError.invalid(file: file, reason: "metadata '\(key)' nests arrays too deeply")
        }
        let elementType = try read(UInt32.self, "element type of '\(key)'")
        let elementBytes: [UInt32: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8,
                                           11: 8, 12: 8]
        guard let minimum = elementBytes[elementType] else {
            throw GGUFError.invalid(file: file, reason: "metadata '\(key)' has unknown element type \(elementType)")
        }
        let count = try readCount("length of '\(key)'", minimumBytesEach: minimum)
        switch elementType {
        case 8:
            var strings: [String] = []
            strings.reserveCapacity(count)
            for _ in 0..<count { strings.append(try readString(key)) }
            return .strings(strings)
        case 6:
            var values: [Double] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(Double(try readFloat(key))) }
            return .floats(values)
        case 12:
            var values: [Double] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(Double(bitPattern: try read(UInt64.self, key))) }
            return .floats(values)
        case 7:
            var values: [Bool] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try read(UInt8.self, key) != 0) }
            return .bools(values)
        case 9:
            var values: [MetadataArray] = []
            for _ in 0..<count { values.append(try readArray(key: key, depth: depth + 1)) }
            return .arrays(values)
        default:
            var values: [Int] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                guard let v = try readValue(type: elementType, key: key).int else {
                    throw GGUFError.invalid(file: file, reason: "metadata '\(key)' has an integer that does not fit")
                }
                values.append(v)
            }
            return .integers(values)
        }
    }
}

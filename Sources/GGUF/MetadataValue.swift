/// One GGUF metadata value. Arrays keep their element type so a 262,144-entry vocabulary stays a
/// typed Swift array rather than an array of enums.
public enum MetadataValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool), string(String)
    case array(MetadataArray)

    /// Any integer value as Int (nil for non-integers or values that do not fit).
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// Any numeric value as Double.
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }
}

/// A typed GGUF array.
public enum MetadataArray: Sendable, Equatable {
    case integers([Int])
    case floats([Double])
    case bools([Bool])
    case strings([String])
    case arrays([MetadataArray])

    public var count: Int {
        switch self {
        case let .integers(a): return a.count
        case let .floats(a): return a.count
        case let .bools(a): return a.count
        case let .strings(a): return a.count
        case let .arrays(a): return a.count
        }
    }
}

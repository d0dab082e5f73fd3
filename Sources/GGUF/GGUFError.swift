/// Everything that can be wrong with a GGUF file. Each case names the file, and the tensor or key
/// where there is one, so a user can tell which download is broken.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case io(file: String, reason: String)
    case badMagic(file: String)
    case unsupportedVersion(file: String, version: UInt32)
    case truncated(file: String, what: String, offset: Int)
    case invalid(file: String, reason: String)
    case unsupportedTensorType(file: String, tensor: String, type: UInt32)
    case missingKey(file: String, key: String)
    case missingTensor(file: String, tensor: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .io(file, reason): return "\(file): cannot read: \(reason)"
        case let .badMagic(file): return "\(file): not a GGUF file (bad magic)"
        case let .unsupportedVersion(file, version):
            return "\(file): unsupported GGUF version \(version) (2 and 3 are supported)"
        case let .truncated(file, what, offset): return "\(file): truncated while reading \(what) at byte \(offset)"
        case let .invalid(file, reason): return "\(file): invalid GGUF: \(reason)"
        case let .unsupportedTensorType(file, tensor, type):
            return "\(file): tensor '\(tensor)' has unsupported type \(GGMLType.name(of: type))"
        case let .missingKey(file, key): return "\(file): metadata key '\(key)' is missing"
        case let .missingTensor(file, tensor): return "\(file): tensor '\(tensor)' is missing"
        case let .shapeMismatch(file, tensor, expected, actual):
            return "\(file): tensor '\(tensor)' has shape \(actual), expected \(expected)"
        }
    }
}

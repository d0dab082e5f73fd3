/// Why an adapter could not be used. Every case names the file, and the tensor where there is one.
public enum AdapterError: Error, CustomStringConvertible, Equatable {
    case invalidName(String)
    case notFound(String)
    case io(file: String, reason: String)
    case invalidSafetensors(file: String, reason: String)
    case invalidConfig(file: String, reason: String)
    case incompatible(file: String, tensor: String, reason: String)
    case rankTooLarge(file: String, tensor: String, rank: Int, limit: Int)
    case unknownTarget(file: String, module: String)
    case nonFinite(file: String, tensor: String)
    case invalidRoles(file: String, reason: String)
    /// The adapter's files changed since the folder was last scanned (a copy in progress).
    case updating(String)

    public var description: String {
        switch self {
        case let .invalidName(name): return "invalid adapter name '\(name)': use letters, digits, '.', '_' and '-' only"
        case let .notFound(name): return "adapter '\(name)' does not exist"
        case let .io(file, reason): return "\(file): \(reason)"
        case let .invalidSafetensors(file, reason): return "\(file): not a valid safetensors file: \(reason)"
        case let .invalidConfig(file, reason): return "\(file): \(reason)"
        case let .incompatible(file, tensor, reason):
            return "\(file): tensor '\(tensor)' does not fit the base model: \(reason)"
        case let .rankTooLarge(file, tensor, rank, limit):
            return "\(file): tensor '\(tensor)' has rank \(rank), over the limit of \(limit) (--max-lora-rank)"
        case let .unknownTarget(file, module):
            return "\(file): target module '\(module)' is not a projection of this model (q, k, v, o, gate, up, down)"
        case let .nonFinite(file, tensor): return "\(file): tensor '\(tensor)' contains NaN or infinite values"
        case let .invalidRoles(file, reason): return "\(file): \(reason)"
        case let .updating(name): return "adapter '\(name)' is being updated on disk; retry in a moment"
        }
    }

    /// Plain folder names only: no path separators, no `..`, nothing outside `[A-Za-z0-9._-]`.
    public static func validate(name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, name.count <= 128, name.allSatisfy(allowed.contains),
              !name.hasPrefix("."), !name.contains("..") else {
            throw AdapterError.invalidName(name)
        }
    }
}

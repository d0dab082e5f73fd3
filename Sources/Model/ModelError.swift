import GGUF

/// Why a model could not be loaded or run.
public enum ModelError: Error, CustomStringConvertible {
    case unsupportedArchitecture(file: String, architecture: String)
    case invalidConfig(file: String, reason: String)
    case gguf(GGUFError)
    case invalidBatch(String)
    case contextFull(position: Int, capacity: Int)
    case kvCacheFull(pages: Int)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(file, architecture):
            return "\(file): architecture '\(architecture)' is not supported "
                + "(supported: \(ModelLoader.architectures.joined(separator: ", ")))"
        case let .invalidConfig(file, reason): return "\(file): \(reason)"
        case let .gguf(error): return error.description
        case let .invalidBatch(reason): return "invalid batch: \(reason)"
        case let .contextFull(position, capacity):
            return "position \(position) is beyond the KV cache capacity \(capacity)"
        case let .kvCacheFull(pages): return "the KV cache is full (all \(pages) pages are in use)"
        }
    }
}

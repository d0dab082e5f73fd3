import GGUF

/// A decoder-only transformer that runs batched forward steps. One owner calls it at a time.
public protocol LanguageModel: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// Runs every row of `batch` through the model, writes their keys and values into their caches,
    /// and returns the logits of `batch.logitRows`.
    func forward(_ batch: ForwardBatch) throws -> Logits
}

extension LanguageModel {
    /// A cache for one sequence of up to `maxPositions` tokens.
    public func makeCache(maxPositions: Int? = nil) -> KVCache {
        KVCache(layerCount: config.layerCount, kvDim: config.kvDim, maxPositions: min(maxPositions ?? config.contextLength, config.contextLength))
    }

    /// Bytes of KV cache per token of one sequence.
    public var kvBytesPerToken: Int { 2 * config.layerCount * config.kvDim * 4 }
}

/// Chooses the architecture of a GGUF file. A new architecture is one file plus one line here.
public enum ModelLoader {
    static let registry: [String: @Sendable (GGUFFile) throws -> any LanguageModel] = [
        "gemma3": { try Gemma3Model(gguf: $0) },
        "llama": { try LlamaModel(gguf: $0) },
    ]

    public static var architectures: [String] { registry.keys.sorted() }

    public static func load(_ gguf: GGUFFile) throws -> any LanguageModel {
        let architecture = (try? gguf.string("general.architecture")) ?? "missing"
        guard let make = registry[architecture] else {
            throw ModelError.unsupportedArchitecture(file: gguf.path, architecture: architecture)
        }
        do {
            return try make(gguf)
        } catch let error as GGUFError {
            throw ModelError.gguf(error)
        }
    }
}

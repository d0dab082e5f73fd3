import GGUF

/// A decoder-only transformer that runs batched forward steps. One owner calls it at a time.
public protocol LanguageModel: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// What the architecture declares about itself (see `ArchitectureTraits`).
    var traits: ArchitectureTraits { get }
    /// Runs every row of `batch` through the model, writes their keys and values into their caches,
    /// and returns the logits of `batch.logitRows`.
    func forward(_ batch: ForwardBatch) throws -> Logits
}

extension LanguageModel {
    /// A cache for one sequence of up to `maxPositions` tokens, drawing pages from `pool`; without a
    /// pool it gets a private one just large enough (tools and tests that run one sequence).
    public func makeCache(maxPositions: Int? = nil, pool: KVPagePool? = nil) -> KVCache {
        let positions = min(maxPositions ?? config.contextLength, config.contextLength)
        let pool = pool ?? KVPagePool(pageSize: Self.defaultPageSize, kvDim: config.kvDim,
                                      pageCount: KVCache.worstCasePages(positions: positions, chunk: positions,
                                                                        pageSize: Self.defaultPageSize,
                                                                        windows: slidingWindows))
        return KVCache(layerCount: config.layerCount, kvDim: config.kvDim, maxPositions: positions,
                       windows: slidingWindows, pool: pool)
    }

    /// A page pool of `megabytes` for the engine's sequences and prefix cache.
    public func makePagePool(megabytes: Int, precision: KVPrecision = .float32,
                             pageSize: Int = Self.defaultPageSize) -> KVPagePool {
        let pageBytes = KVPagePool.pageBytes(pageSize: pageSize, kvDim: config.kvDim, precision: precision)
        return KVPagePool(pageSize: pageSize, kvDim: config.kvDim, pageCount: max(1, (megabytes << 20) / pageBytes),
                          precision: precision)
    }

    /// A page pool with room for `tokens` positions on every layer.
    public func makePagePool(tokens: Int, precision: KVPrecision = .float32,
                             pageSize: Int = Self.defaultPageSize) -> KVPagePool {
        KVPagePool(pageSize: pageSize, kvDim: config.kvDim,
                   pageCount: config.layerCount * max(1, (tokens + pageSize - 1) / pageSize), precision: precision)
    }

    /// Positions per KV page: small enough that a short prompt wastes little, large enough that
    /// attention runs over long contiguous stretches.
    public static var defaultPageSize: Int { 16 }

    /// Per layer, its sliding window (nil for full attention).
    public var slidingWindows: [Int?] { config.layerWindows }
}

/// Chooses the architecture of a GGUF file. A new architecture is one file plus one line here.
public enum ModelLoader {
    static let registry: [any ArchitectureModel.Type] = [
        Gemma3Model.self,
        LlamaModel.self,
        Phi3Model.self,
        Qwen2Model.self,
        Qwen3Model.self,
    ]

    public static var architectures: [String] { registry.map { $0.traits.name }.sorted() }

    /// The traits of the architecture named `name` (`general.architecture`), nil when unsupported.
    public static func traits(of name: String) -> ArchitectureTraits? {
        registry.first { $0.traits.name == name }?.traits
    }

    public static func load(_ gguf: GGUFFile, precision: KernelPrecision = .default,
                            kernels: KernelPath = .detected) throws -> any LanguageModel {
        let architecture = (try? gguf.string("general.architecture")) ?? "missing"
        guard let type = registry.first(where: { $0.traits.name == architecture }) else {
            throw ModelError.unsupportedArchitecture(file: gguf.path, architecture: architecture)
        }
        do {
            return try type.init(gguf: gguf, precision: precision, kernels: kernels)
        } catch let error as GGUFError {
            throw ModelError.gguf(error)
        }
    }
}

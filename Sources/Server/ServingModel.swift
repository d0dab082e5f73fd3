import Adapters
import Dispatch
import Engine
import Grammar
import Foundation
import Parallel
import GGUF
import Logging
import Model
import Tokenizer

/// The loaded model as the HTTP layer sees it: ids, tokenizer, template, engine.
public struct ServingModel: Sendable {
    public let id: String
    public let created: Int
    public let tokenizer: any TextTokenizer
    public let engine: any GenerationEngine
    public let template: ChatTemplate
    /// Ids that end an assistant turn (EOS and the template's end-of-turn).
    public let stopTokenIDs: Set<Int32>
    public let maxModelLength: Int
    /// The build of the quantized kernels the model runs.
    public var kernelPath = KernelPath.detected
    public let adapters: AdapterRegistry
    /// Token trie, JSON mode masks and compiled schemas for `response_format`, built on first use.
    let grammars: GrammarLibrary

    var resolver: ModelResolver { ModelResolver(baseID: id, registry: adapters) }

    /// A model id served by `engine`, tokenized by `tokenizer`, with the adapters of `adapters`.
    public init(id: String, created: Int = Int(Date().timeIntervalSince1970), tokenizer: any TextTokenizer,
                engine: any GenerationEngine, template: ChatTemplate, stopTokenIDs: Set<Int32>,
                adapters: AdapterRegistry) {
        self.id = id
        self.created = created
        self.tokenizer = tokenizer
        self.engine = engine
        self.template = template
        self.stopTokenIDs = stopTokenIDs
        maxModelLength = engine.maxSequenceLength
        self.adapters = adapters
        grammars = GrammarLibrary(tokenBytes: { [tokenizer] in
            // Every id below the vocabulary size has bytes (none for control tokens), so nothing throws.
            (0..<tokenizer.vocabularySize).map { (try? tokenizer.bytes(of: Int32($0))) ?? [] }
        }, encode: { [tokenizer] bytes in
            try? tokenizer.encode(String(decoding: bytes, as: UTF8.self), parseSpecial: false)
        })
    }

    /// A short id from GGUF metadata: `general.basename` + `general.size_label` ("gemma-3-270m"),
    /// else the file name without extension.
    public static func defaultID(gguf: GGUFFile) -> String {
        if let base = gguf.metadata["general.basename"]?.string,
           let size = gguf.metadata["general.size_label"]?.string {
            return "\(base)-\(size)".lowercased()
        }
        return URL(fileURLWithPath: gguf.path).deletingPathExtension().lastPathComponent
    }

    public static func load(configuration c: ServerConfiguration, logger: Logger) throws -> ServingModel {
        logger.info("loading model", metadata: ["path": "\(c.modelPath)"])
        let loaded = try LoadedModel.load(path: c.modelPath, precision: c.kernelPrecision, kernels: c.kernelPath)
        let architecture = loaded.model.traits.name
        let template = c.chatTemplate ?? loaded.template
        if c.chatTemplate == nil, let jinja = loaded.gguf.metadata["tokenizer.chat_template"]?.string,
           ChatTemplate.matching(jinja) == nil {
            logger.warning("the GGUF's chat template is not a format Tandem knows; using the architecture's",
                           metadata: ["fallback": "\(template.rawValue)",
                                      "known": "\(ChatTemplate.allCases.map(\.rawValue).joined(separator: ","))",
                                      "override": "--chat-template"])
        }
        let stops = LoadedModel.stopTokenIDs(template: template, tokenizer: loaded.tokenizer,
                                             traits: loaded.model.traits)
        let engine = InferenceEngine(model: loaded.model, tokenizer: loaded.tokenizer, configuration: c.engine)
        let maxLength = engine.maxSequenceLength
        let id = c.servedModelName ?? defaultID(gguf: loaded.gguf)
        let adapters = AdapterRegistry(directory: c.adaptersDirectory, base: loaded.model.config,
                                       limits: c.adapterLimits)
        if c.preloadAdapters {
            for (name, error) in adapters.preloadAll() {
                logger.error("adapter refused", metadata: ["adapter": "\(name)", "error": "\(error)"])
            }
        }
        logger.info("adapters discovered", metadata: [
            "folder": "\(c.adaptersDirectory)", "adapters": "\(adapters.names.joined(separator: ","))",
            "base_roles": "\(adapters.baseRoles.roles.keys.sorted().joined(separator: ","))"])
        logger.info("model loaded", metadata: [
            "id": "\(id)", "architecture": "\(architecture)",
            "seconds": "\(String(format: "%.2f", loaded.loadSeconds))",
            "template": "\(template.rawValue)", "max_model_len": "\(maxLength)", "openblas": "\(BLASInfo.coreName)",
            "kernel_path": "\(c.kernelPath.rawValue)", "cpu": "\(CPUInfo.modelName)",
            "cores_used": "\(WorkerPool.shared.threads)",
        ])
        let pool = engine.pages, layers = loaded.model.config.layerCount
        let pageBytes = KVPagePool.pageBytes(pageSize: pool.pageSize, kvDim: pool.kvDim, precision: pool.precision)
        // Reserved, not resident: pages are touched as sequences first use them.
        logger.info("KV cache reserved", metadata: [
            "pages": "\(pool.pageCount)", "page_positions": "\(pool.pageSize)", "type": "\(pool.precision.rawValue)",
            "positions_per_layer": "\(pool.pageCount / layers * pool.pageSize)",
            "mb": "\((pool.pageCount * pageBytes) >> 20)",
        ])
        // Loading freed much more than it kept (file pages read once, rows decoded for the tiles).
        FreedMemory.release()
        var serving = ServingModel(id: id, tokenizer: loaded.tokenizer, engine: engine, template: template,
                                   stopTokenIDs: stops, adapters: adapters)
        serving.kernelPath = c.kernelPath
        return serving
    }
}

/// Loading → ready (or failed); routes ask for the model and get 503 while it loads.
public final class ServingState: @unchecked Sendable {
    private let lock = NSLock()
    private var model: ServingModel?
    private var failure: String?

    public init(model: ServingModel? = nil) {
        self.model = model
    }

    func set(_ model: ServingModel) {
        lock.withLock { self.model = model }
    }

    func fail(_ message: String) {
        lock.withLock { failure = message }
    }

    public var current: ServingModel? { lock.withLock { model } }

    func ready() throws -> ServingModel {
        try lock.withLock {
            if let model { return model }
            if let failure {
                throw APIError(status: .serviceUnavailable, message: "The model failed to load: \(failure)",
                               type: "server_error")
            }
            throw APIError.loading
        }
    }
}

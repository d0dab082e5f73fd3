import GGUF

/// Hyper-parameters shared by the supported decoder-only architectures, read from GGUF metadata.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: String
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var feedForwardSize: Int
    public var rmsEpsilon: Float
    /// RoPE base of global-attention layers (every layer for Llama).
    public var ropeBase: Float
    /// RoPE base of sliding-window layers (Gemma 3 only).
    public var ropeLocalBase: Float
    /// Sliding window length in tokens, or nil for full attention everywhere.
    public var slidingWindow: Int?
    /// Every `globalLayerPeriod`-th layer attends globally (Gemma 3: 6).
    public var globalLayerPeriod: Int
    public var contextLength: Int
    /// Softmax scale of attention scores.
    public var attentionScale: Float

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    /// Whether layer `i` uses the sliding window.
    public func isSliding(layer i: Int) -> Bool {
        slidingWindow != nil && (i + 1) % globalLayerPeriod != 0
    }

    /// Reads the config of `architecture` from `gguf` (keys `ARCH.*`), checking it is self-consistent.
    public init(gguf: GGUFFile, architecture arch: String) throws {
        func int(_ key: String) throws -> Int { try gguf.int("\(arch).\(key)") }
        architecture = arch
        hiddenSize = try int("embedding_length")
        layerCount = try int("block_count")
        headCount = try int("attention.head_count")
        kvHeadCount = gguf.metadata["\(arch).attention.head_count_kv"]?.int ?? headCount
        headDim = gguf.metadata["\(arch).attention.key_length"]?.int ?? hiddenSize / max(headCount, 1)
        feedForwardSize = try int("feed_forward_length")
        rmsEpsilon = Float(try gguf.double("\(arch).attention.layer_norm_rms_epsilon"))
        ropeBase = Float(gguf.metadata["\(arch).rope.freq_base"]?.double ?? 10_000)
        ropeLocalBase = 10_000
        contextLength = gguf.metadata["\(arch).context_length"]?.int ?? 2048
        slidingWindow = gguf.metadata["\(arch).attention.sliding_window"]?.int
        globalLayerPeriod = 6
        attentionScale = 1 / Float(headDim).squareRoot()
        let embedding = try gguf.tensor("token_embd.weight")
        vocabularySize = embedding.rowCount
        guard hiddenSize > 0, layerCount > 0, headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0,
              headDim > 0, headDim % 16 == 0, feedForwardSize > 0, vocabularySize > 0,
              embedding.rowLength == hiddenSize else {
            throw ModelError.invalidConfig(file: gguf.path,
                                           reason: "inconsistent \(arch) hyper-parameters (hidden \(hiddenSize), "
                                               + "heads \(headCount)/\(kvHeadCount), head dim \(headDim), "
                                               + "embedding \(embedding.shape))")
        }
    }
}

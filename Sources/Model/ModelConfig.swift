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
    /// RoPE base (`rope.freq_base`; an architecture may use others on some layers).
    public var ropeBase: Float
    /// Sliding window length in tokens from the GGUF, or nil.
    public var slidingWindow: Int?
    /// Per layer, the window it attends within (nil: all positions). Every layer gets
    /// `slidingWindow` unless the architecture says which layers are global.
    public var layerWindows: [Int?]
    public var contextLength: Int
    /// Softmax scale of attention scores.
    public var attentionScale: Float

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    /// Whether layer `i` uses a sliding window.
    public func isSliding(layer i: Int) -> Bool { layerWindows[i] != nil }

    /// Reads the config of `architecture` from `gguf` (keys `ARCH.*`), checking it is self-consistent.
    /// `fullRoPE`: refuse a file whose `rope.dimension_count` rotates only part of each head.
    public init(gguf: GGUFFile, architecture arch: String, fullRoPE: Bool = false) throws {
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
        contextLength = gguf.metadata["\(arch).context_length"]?.int ?? 2048
        slidingWindow = gguf.metadata["\(arch).attention.sliding_window"]?.int
        layerWindows = Array(repeating: slidingWindow, count: max(layerCount, 0))
        attentionScale = 1 / Float(headDim).squareRoot()
        let embedding = try gguf.tensor("token_embd.weight")
        vocabularySize = embedding.rowCount
        guard hiddenSize > 0, layerCount > 0, headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0,
              // Attention's loops step 16 floats of a head.
              headDim > 0, headDim % 16 == 0, feedForwardSize > 0, vocabularySize > 0,
              embedding.rowLength == hiddenSize else {
            throw ModelError.invalidConfig(file: gguf.path,
                                           reason: "inconsistent \(arch) hyper-parameters (hidden \(hiddenSize), "
                                               + "heads \(headCount)/\(kvHeadCount), head dim \(headDim), "
                                               + "embedding \(embedding.shape))")
        }
        if fullRoPE, let ropeDim = gguf.metadata["\(arch).rope.dimension_count"]?.int, ropeDim != headDim {
            throw ModelError.invalidConfig(file: gguf.path, reason: "partial RoPE (rope.dimension_count \(ropeDim) "
                                               + "≠ head dim \(headDim)) is not supported")
        }
    }

    /// Every layer attends to all positions, whatever the file's `attention.sliding_window` says.
    public mutating func withoutSlidingWindow() {
        slidingWindow = nil
        layerWindows = Array(repeating: nil, count: layerCount)
    }
}

import Foundation
import GGUF

/// Gemma 3 text decoder (google/gemma-3-*), read from a llama.cpp GGUF.
///
/// Per block: RMSNorm → q/k/v → per-head RMSNorm on q and k → NeoX RoPE (base 10 000 on sliding
/// layers, `rope.freq_base` on every 6th, global, layer) → attention (sliding window on local layers,
/// scale 1/√head_dim) → o → post-attention RMSNorm → residual; RMSNorm → GELU-tanh(gate)·up → down →
/// post-FFN RMSNorm → residual. Embeddings are scaled by √hidden and the head is tied to them.
public final class Gemma3Model: ArchitectureModel, @unchecked Sendable {
    public static let traits = ArchitectureTraits(name: "gemma3", ropeLayout: .halves, defaultChatTemplate: "gemma",
                                                  endOfTurnPieces: ["<end_of_turn>"])
    /// RoPE base of the sliding-window layers.
    static let localRoPEBase: Float = 10_000
    /// Every sixth layer attends globally; the others within the sliding window.
    static let globalLayerPeriod = 6

    struct Layer {
        let attentionNorm, postAttentionNorm, ffnNorm, postFFNNorm: FloatBuffer // [hidden]
        let qNorm, kNorm: FloatBuffer                                          // [headDim]
        let q: WeightMatrix    // [heads·headDim × hidden]
        let k, v: WeightMatrix // [kvHeads·headDim × hidden]
        let o: WeightMatrix    // [hidden × heads·headDim]
        let gate, up: WeightMatrix // [ffn × hidden]
        let down: WeightMatrix     // [hidden × ffn]
    }

    public let config: ModelConfig
    /// The build of the kernels its forward pass runs.
    let kernels: KernelPath
    let layers: [Layer]
    let embedding: WeightMatrix // [vocab × hidden], also the output head
    let outputNorm: FloatBuffer // [hidden]
    let localFrequencies: [Float], globalFrequencies: [Float]
    let workspace = Workspace()
    /// Forward passes share `workspace`; the engine calls from one thread, the lock makes misuse safe.
    let forwardLock = NSLock()

    public init(gguf: GGUFFile, precision: KernelPrecision = .default,
                kernels: KernelPath = .detected) throws {
        var c = try ModelConfig(gguf: gguf, architecture: Self.traits.name)
        c.layerWindows = (0..<c.layerCount).map { ($0 + 1) % Self.globalLayerPeriod == 0 ? nil : c.slidingWindow }
        c.attentionScale = 1 / Float(c.headDim).squareRoot() // query_pre_attn_scalar = head_dim
        config = c
        self.kernels = kernels
        let names = ["token_embd.weight", "output_norm.weight"] + (0..<c.layerCount).flatMap { i in
            ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_q_norm", "attn_k_norm",
             "post_attention_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
             "post_ffw_norm"].map { "blk.\(i).\($0).weight" }
        }
        // The embedding and head stay quantized: they serve one row per token / per logit row.
        let w = try WeightLoader(gguf: gguf, names: names, quantizedOnly: ["token_embd.weight", "output.weight"],
                                 precision: precision, kernels: kernels)
        embedding = try w.matrix("token_embd.weight", inputs: c.hiddenSize, outputs: c.vocabularySize)
        outputNorm = try w.vector("output_norm.weight", count: c.hiddenSize)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return Layer(
                attentionNorm: try w.vector(p + "attn_norm.weight", count: c.hiddenSize),
                postAttentionNorm: try w.vector(p + "post_attention_norm.weight", count: c.hiddenSize),
                ffnNorm: try w.vector(p + "ffn_norm.weight", count: c.hiddenSize),
                postFFNNorm: try w.vector(p + "post_ffw_norm.weight", count: c.hiddenSize),
                qNorm: try w.vector(p + "attn_q_norm.weight", count: c.headDim),
                kNorm: try w.vector(p + "attn_k_norm.weight", count: c.headDim),
                q: try w.matrix(p + "attn_q.weight", inputs: c.hiddenSize, outputs: c.qDim),
                k: try w.matrix(p + "attn_k.weight", inputs: c.hiddenSize, outputs: c.kvDim),
                v: try w.matrix(p + "attn_v.weight", inputs: c.hiddenSize, outputs: c.kvDim),
                o: try w.matrix(p + "attn_output.weight", inputs: c.qDim, outputs: c.hiddenSize),
                gate: try w.matrix(p + "ffn_gate.weight", inputs: c.hiddenSize, outputs: c.feedForwardSize),
                up: try w.matrix(p + "ffn_up.weight", inputs: c.hiddenSize, outputs: c.feedForwardSize),
                down: try w.matrix(p + "ffn_down.weight", inputs: c.feedForwardSize, outputs: c.hiddenSize))
        }
        localFrequencies = Kernels.ropeInverseFrequencies(dim: c.headDim, base: Self.localRoPEBase)
        globalFrequencies = Kernels.ropeInverseFrequencies(dim: c.headDim, base: c.ropeBase)
    }

    public func forward(_ batch: ForwardBatch) throws -> Logits {
        forwardLock.lock()
        defer { forwardLock.unlock() }
        try batch.validate(vocabularySize: config.vocabularySize)
        let c = config, rows = batch.rowCount, delta = batch.delta
        let hidden = c.hiddenSize, qDim = c.qDim, kvDim = c.kvDim, ffn = c.feedForwardSize

        let w = workspace
        let x = w.buffer(.residual, count: rows * hidden)       // residual stream  [rows × hidden]
        let h = w.buffer(.normed, count: rows * hidden)         // normed input     [rows × hidden]
        let q = w.buffer(.queries, count: rows * qDim)          // queries          [rows × qDim]
        let k = w.buffer(.keys, count: rows * kvDim)            // keys             [rows × kvDim]
        let v = w.buffer(.values, count: rows * kvDim)          // values           [rows × kvDim]
        let attended = w.buffer(.attended, count: rows * qDim)  // attention output [rows × qDim]
        let gate = w.buffer(.gate, count: rows * ffn)           // gate, then gelu(gate)·up [rows × ffn]
        let up = w.buffer(.up, count: rows * ffn)               // [rows × ffn]

        // Embedding lookup, scaled by √hidden (rounded to Float like the reference).
        let embedScale = Float(Double(hidden).squareRoot())
        for r in 0..<rows {
            embedding.row(Int(batch.tokens[r]), into: x + r * hidden)
            Kernels.scale(x + r * hidden, by: embedScale, count: hidden)
        }

        for (i, layer) in layers.enumerated() {
            let sliding = c.isSliding(layer: i)
            let frequencies = sliding ? localFrequencies : globalFrequencies

            Kernels.rmsNorm(x, rows: rows, dim: hidden, weight: layer.attentionNorm.pointer, eps: c.rmsEpsilon, into: h)
            project(h, rows: rows, [(layer.q, q, .q), (layer.k, k, .k), (layer.v, v, .v)], layer: i, delta: delta)
            Kernels.rmsNorm(q, rows: rows * c.headCount, dim: c.headDim, weight: layer.qNorm.pointer,
                            eps: c.rmsEpsilon, into: q)
            Kernels.rmsNorm(k, rows: rows * c.kvHeadCount, dim: c.headDim, weight: layer.kNorm.pointer,
                            eps: c.rmsEpsilon, into: k)
            Attention.run(queries: q, keys: k, values: v, batch: batch, layer: i,
                          window: c.layerWindows[i],
                          rope: (frequencies, neox: Self.traits.ropeLayout == .halves), config: c, kernels: kernels,
                          into: attended)
            project(attended, rows: rows, layer.o, into: h, site: .o, layer: i, delta: delta)
            Kernels.rmsNorm(h, rows: rows, dim: hidden, weight: layer.postAttentionNorm.pointer,
                            eps: c.rmsEpsilon, into: h)
            Kernels.add(x, h, count: rows * hidden)

            Kernels.rmsNorm(x, rows: rows, dim: hidden, weight: layer.ffnNorm.pointer, eps: c.rmsEpsilon, into: h)
            project(h, rows: rows, [(layer.gate, gate, .gate), (layer.up, up, .up)], layer: i, delta: delta)
            kernels.geluTanhGate(gate, up, count: rows * ffn)
            project(gate, rows: rows, layer.down, into: h, site: .down, layer: i, delta: delta)
            Kernels.rmsNorm(h, rows: rows, dim: hidden, weight: layer.postFFNNorm.pointer, eps: c.rmsEpsilon, into: h)
            Kernels.add(x, h, count: rows * hidden)
        }
        batch.commit()
        return OutputHead.logits(x, batch: batch, norm: outputNorm, head: embedding, config: c, workspace: workspace)
    }
}

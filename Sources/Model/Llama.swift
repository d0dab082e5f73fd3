import Foundation
import GGUF

/// Llama-family decoder (Llama 2, TinyLlama, Mistral) with a SentencePiece vocabulary.
///
/// Per block: RMSNorm → q/k/v → RoPE → grouped-query attention → o → residual; RMSNorm →
/// SiLU(gate)·up → down → residual. llama.cpp's converter permutes q/k rows so RoPE rotates
/// interleaved pairs (x[2i], x[2i+1]). The head is `output.weight`, or the embedding when absent.
public final class LlamaModel: ArchitectureModel, @unchecked Sendable {
    public static let traits = ArchitectureTraits(name: "llama", ropeLayout: .interleaved,
                                                  defaultChatTemplate: "llama2", endOfTurnPieces: [])

    struct Layer {
        let attentionNorm, ffnNorm: FloatBuffer // [hidden]
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
    let embedding: WeightMatrix // [vocab × hidden]
    let head: WeightMatrix      // [vocab × hidden]
    let outputNorm: FloatBuffer // [hidden]
    let frequencies: [Float]
    let workspace = Workspace()
    /// Forward passes share `workspace`; the engine calls from one thread, the lock makes misuse safe.
    let forwardLock = NSLock()

    public init(gguf: GGUFFile, precision: KernelPrecision = .default,
                kernels: KernelPath = .detected) throws {
        var c = try ModelConfig(gguf: gguf, architecture: Self.traits.name)
        if let ropeDim = gguf.metadata["llama.rope.dimension_count"]?.int, ropeDim != c.headDim {
            throw ModelError.invalidConfig(file: gguf.path,
                                           reason: "partial RoPE (rope.dimension_count \(ropeDim) ≠ head dim "
                                               + "\(c.headDim)) is not supported")
        }
        c.slidingWindow = nil
        c.layerWindows = Array(repeating: nil, count: c.layerCount)
        config = c
        self.kernels = kernels
        let tiedHead = gguf.tensors["output.weight"] == nil
        let names = ["token_embd.weight", "output_norm.weight"] + (tiedHead ? [] : ["output.weight"])
            + (0..<c.layerCount).flatMap { i in
                ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                 "ffn_down"].map { "blk.\(i).\($0).weight" }
            }
        // The embedding and head stay quantized: they serve one row per token / per logit row.
        let w = try WeightLoader(gguf: gguf, names: names, quantizedOnly: ["token_embd.weight", "output.weight"],
                                 precision: precision, kernels: kernels)
        embedding = try w.matrix("token_embd.weight", inputs: c.hiddenSize, outputs: c.vocabularySize)
        head = tiedHead ? embedding : try w.matrix("output.weight", inputs: c.hiddenSize, outputs: c.vocabularySize)
        outputNorm = try w.vector("output_norm.weight", count: c.hiddenSize)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return Layer(
                attentionNorm: try w.vector(p + "attn_norm.weight", count: c.hiddenSize),
                ffnNorm: try w.vector(p + "ffn_norm.weight", count: c.hiddenSize),
                q: try w.matrix(p + "attn_q.weight", inputs: c.hiddenSize, outputs: c.qDim),
                k: try w.matrix(p + "attn_k.weight", inputs: c.hiddenSize, outputs: c.kvDim),
                v: try w.matrix(p + "attn_v.weight", inputs: c.hiddenSize, outputs: c.kvDim),
                o: try w.matrix(p + "attn_output.weight", inputs: c.qDim, outputs: c.hiddenSize),
                gate: try w.matrix(p + "ffn_gate.weight", inputs: c.hiddenSize, outputs: c.feedForwardSize),
                up: try w.matrix(p + "ffn_up.weight", inputs: c.hiddenSize, outputs: c.feedForwardSize),
                down: try w.matrix(p + "ffn_down.weight", inputs: c.feedForwardSize, outputs: c.hiddenSize))
        }
        frequencies = Kernels.ropeInverseFrequencies(dim: c.headDim, base: c.ropeBase)
    }

    public func forward(_ batch: ForwardBatch) throws -> Logits {
        forwardLock.lock()
        defer { forwardLock.unlock() }
        try batch.validate(vocabularySize: config.vocabularySize)
        let c = config, rows = batch.rowCount, delta = batch.delta
        let hidden = c.hiddenSize, ffn = c.feedForwardSize

        let w = workspace
        let x = w.buffer(.residual, count: rows * hidden)         // residual stream  [rows × hidden]
        let h = w.buffer(.normed, count: rows * hidden)           // normed input     [rows × hidden]
        let q = w.buffer(.queries, count: rows * c.qDim)          // queries          [rows × qDim]
        let k = w.buffer(.keys, count: rows * c.kvDim)            // keys             [rows × kvDim]
        let v = w.buffer(.values, count: rows * c.kvDim)          // values           [rows × kvDim]
        let attended = w.buffer(.attended, count: rows * c.qDim)  // attention output [rows × qDim]
        let gate = w.buffer(.gate, count: rows * ffn)             // gate, then silu(gate)·up [rows × ffn]
        let up = w.buffer(.up, count: rows * ffn)                 // [rows × ffn]

        for r in 0..<rows {
            embedding.row(Int(batch.tokens[r]), into: x + r * hidden)
        }
        for (i, layer) in layers.enumerated() {
            Kernels.rmsNorm(x, rows: rows, dim: hidden, weight: layer.attentionNorm.pointer, eps: c.rmsEpsilon, into: h)
            project(h, rows: rows, [(layer.q, q, .q), (layer.k, k, .k), (layer.v, v, .v)], layer: i, delta: delta)
            Attention.run(queries: q, keys: k, values: v, batch: batch, layer: i, window: nil,
                          rope: (frequencies, neox: Self.traits.ropeLayout == .halves), config: c, kernels: kernels,
                          into: attended)
            project(attended, rows: rows, layer.o, into: h, site: .o, layer: i, delta: delta)
            Kernels.add(x, h, count: rows * hidden)

            Kernels.rmsNorm(x, rows: rows, dim: hidden, weight: layer.ffnNorm.pointer, eps: c.rmsEpsilon, into: h)
            project(h, rows: rows, [(layer.gate, gate, .gate), (layer.up, up, .up)], layer: i, delta: delta)
            Kernels.siluGate(gate, up, count: rows * ffn)
            project(gate, rows: rows, layer.down, into: h, site: .down, layer: i, delta: delta)
            Kernels.add(x, h, count: rows * hidden)
        }
        batch.commit()
        return OutputHead.logits(x, batch: batch, norm: outputNorm, head: head, config: c, workspace: workspace)
    }
}

import Foundation
import GGUF

/// The pre-norm decoder that Llama (2 and 3), Mistral, Qwen 2, Qwen 3 and Phi-3 share, loaded from
/// llama.cpp's tensor names. Per block: RMSNorm → q/k/v (+ biases, + per-head q/k RMSNorm) → RoPE →
/// grouped-query attention → o → residual; RMSNorm → SiLU(gate)·up → down → residual. The head is
/// `output.weight`, or the embedding when absent (tied). Each architecture's file says which parts
/// it has (`Parts`) and how its RoPE pairs dimensions.
struct DecoderStack: @unchecked Sendable {
    /// What varies between the architectures that share the stack.
    struct Parts {
        /// `attn_q.bias`, `attn_k.bias`, `attn_v.bias` (Qwen 2).
        var projectionBiases = false
        /// `attn_q_norm`, `attn_k_norm`: RMSNorm over each head before RoPE (Qwen 3).
        var headNorms = false
        /// `attn_qkv` rows [q; k; v] and `ffn_up` rows [gate; up] (Phi-3), split at load.
        var fusedProjections = false
    }

    struct Layer {
        let attentionNorm, ffnNorm: FloatBuffer // [hidden]
        let q: WeightMatrix    // [heads·headDim × hidden]
        let k, v: WeightMatrix // [kvHeads·headDim × hidden]
        let o: WeightMatrix    // [hidden × heads·headDim]
        let gate, up: WeightMatrix // [ffn × hidden]
        let down: WeightMatrix     // [hidden × ffn]
        let qBias: FloatBuffer?        // [heads·headDim]
        let kBias, vBias: FloatBuffer? // [kvHeads·headDim]
        let qNorm, kNorm: FloatBuffer? // [headDim]
    }

    let config: ModelConfig
    /// The build of the kernels its forward pass runs.
    let kernels: KernelPath
    let layers: [Layer]
    let embedding: WeightMatrix // [vocab × hidden]
    let head: WeightMatrix      // [vocab × hidden]
    let outputNorm: FloatBuffer // [hidden]
    /// Per rotated pair; divided by `rope_freqs.weight` where the file has it (Llama 3's scaling).
    let frequencies: [Float]
    let neox: Bool
    let workspace = Workspace()
    /// Forward passes share `workspace`; the engine calls from one thread, the lock makes misuse safe.
    let forwardLock = NSLock()

    init(gguf: GGUFFile, config c: ModelConfig, parts: Parts, ropeLayout: ArchitectureTraits.RoPELayout,
         precision: KernelPrecision, kernels: KernelPath) throws {
        config = c
        self.kernels = kernels
        neox = ropeLayout == .halves
        let tiedHead = gguf.tensors["output.weight"] == nil
        let ropeFactors = gguf.tensors["rope_freqs.weight"] != nil
        let projections = parts.fusedProjections ? ["attn_qkv", "ffn_up"]
            : ["attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up"]
        var perLayer = ["attn_norm", "attn_output", "ffn_norm", "ffn_down"].map { $0 + ".weight" }
            + projections.map { $0 + ".weight" }
        if parts.projectionBiases { perLayer += ["attn_q.bias", "attn_k.bias", "attn_v.bias"] }
        if parts.headNorms { perLayer += ["attn_q_norm.weight", "attn_k_norm.weight"] }
        let names = ["token_embd.weight", "output_norm.weight"] + (tiedHead ? [] : ["output.weight"])
            + (ropeFactors ? ["rope_freqs.weight"] : [])
            + (0..<c.layerCount).flatMap { i in perLayer.map { "blk.\(i).\($0)" } }
        // The embedding and head stay quantized: they serve one row per token / per logit row.
        let w = try WeightLoader(gguf: gguf, names: names, quantizedOnly: ["token_embd.weight", "output.weight"],
                                 precision: precision, kernels: kernels)
        embedding = try w.matrix("token_embd.weight", inputs: c.hiddenSize, outputs: c.vocabularySize)
        head = tiedHead ? embedding : try w.matrix("output.weight", inputs: c.hiddenSize, outputs: c.vocabularySize)
        outputNorm = try w.vector("output_norm.weight", count: c.hiddenSize)
        let hidden = c.hiddenSize, ffn = c.feedForwardSize
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            let q, k, v, gate, up: WeightMatrix
            if parts.fusedProjections {
                let qkv = p + "attn_qkv.weight", total = c.qDim + 2 * c.kvDim
                q = try w.matrix(qkv, inputs: hidden, rows: 0..<c.qDim, of: total)
                k = try w.matrix(qkv, inputs: hidden, rows: c.qDim..<(c.qDim + c.kvDim), of: total)
                v = try w.matrix(qkv, inputs: hidden, rows: (c.qDim + c.kvDim)..<total, of: total)
                gate = try w.matrix(p + "ffn_up.weight", inputs: hidden, rows: 0..<ffn, of: 2 * ffn)
                up = try w.matrix(p + "ffn_up.weight", inputs: hidden, rows: ffn..<(2 * ffn), of: 2 * ffn)
            } else {
                q = try w.matrix(p + "attn_q.weight", inputs: hidden, outputs: c.qDim)
                k = try w.matrix(p + "attn_k.weight", inputs: hidden, outputs: c.kvDim)
                v = try w.matrix(p + "attn_v.weight", inputs: hidden, outputs: c.kvDim)
                gate = try w.matrix(p + "ffn_gate.weight", inputs: hidden, outputs: ffn)
                up = try w.matrix(p + "ffn_up.weight", inputs: hidden, outputs: ffn)
            }
            let biases = parts.projectionBiases
            let norms = parts.headNorms
            return Layer(
                attentionNorm: try w.vector(p + "attn_norm.weight", count: hidden),
                ffnNorm: try w.vector(p + "ffn_norm.weight", count: hidden),
                q: q, k: k, v: v,
                o: try w.matrix(p + "attn_output.weight", inputs: c.qDim, outputs: hidden),
                gate: gate, up: up,
                down: try w.matrix(p + "ffn_down.weight", inputs: ffn, outputs: hidden),
                qBias: biases ? try w.vector(p + "attn_q.bias", count: c.qDim) : nil,
                kBias: biases ? try w.vector(p + "attn_k.bias", count: c.kvDim) : nil,
                vBias: biases ? try w.vector(p + "attn_v.bias", count: c.kvDim) : nil,
                qNorm: norms ? try w.vector(p + "attn_q_norm.weight", count: c.headDim) : nil,
                kNorm: norms ? try w.vector(p + "attn_k_norm.weight", count: c.headDim) : nil)
        }
        var frequencies = Kernels.ropeInverseFrequencies(dim: c.headDim, base: c.ropeBase)
        if ropeFactors {
            let factors = try w.vector("rope_freqs.weight", count: c.headDim / 2)
            for j in frequencies.indices { frequencies[j] /= factors.pointer[j] }
        }
        self.frequencies = frequencies
    }

    func forward(_ batch: ForwardBatch) throws -> Logits {
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
            if let qBias = layer.qBias, let kBias = layer.kBias, let vBias = layer.vBias {
                for r in 0..<rows {
                    Kernels.add(q + r * c.qDim, qBias.pointer, count: c.qDim)
                    Kernels.add(k + r * c.kvDim, kBias.pointer, count: c.kvDim)
                    Kernels.add(v + r * c.kvDim, vBias.pointer, count: c.kvDim)
                }
            }
            if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
                Kernels.rmsNorm(q, rows: rows * c.headCount, dim: c.headDim, weight: qNorm.pointer,
                                eps: c.rmsEpsilon, into: q)
                Kernels.rmsNorm(k, rows: rows * c.kvHeadCount, dim: c.headDim, weight: kNorm.pointer,
                                eps: c.rmsEpsilon, into: k)
            }
            Attention.run(queries: q, keys: k, values: v, batch: batch, layer: i, window: c.layerWindows[i],
                          rope: (frequencies, neox: neox), config: c, kernels: kernels, into: attended)
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

import Dispatch
import Foundation
import GGUF
import Model

/// Reads a llama.cpp GGUF LoRA file (what `convert_lora_to_gguf.py` or
/// `tools/peft_to_gguf_lora.py` writes) and checks it against the base model like a PEFT folder.
///
/// Format: `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`, and tensor pairs
/// `blk.{i}.{attn_q|…|ffn_down}.weight.lora_a` (ggml shape [inputs, rank], i.e. rank rows of
/// inputs) and `….lora_b` ([rank, outputs]). llama.cpp scales each pair by alpha / rank (alpha 0
/// means scale 1). Tensors are already in the GGUF base's row order, so nothing is permuted.
public enum GGUFLoRALoader {
    static let moduleSites: [String: ProjectionSite] = [
        "attn_q": .q, "attn_k": .k, "attn_v": .v, "attn_output": .o,
        "ffn_gate": .gate, "ffn_up": .up, "ffn_down": .down,
    ]

    public static func load(name: String, file path: String, base config: ModelConfig, maxRank: Int,
                            version: Int) throws -> LoRAAdapter {
        let start = DispatchTime.now()
        let gguf: GGUFFile
        do {
            // Copied into memory rather than mapped, for the same reason as SafetensorsFile.
            gguf = try GGUFFile(storage: ByteStorage(copying: Data(contentsOf: URL(fileURLWithPath: path))), path: path)
        } catch {
            throw AdapterError.invalidConfig(file: path, reason: "not a readable GGUF file: \(error)")
        }
        if let type = gguf.metadata["general.type"]?.string, type != "adapter" {
            throw AdapterError.invalidConfig(file: path,
                                             reason: "general.type is '\(type)', not 'adapter' "
                                                 + "(is this a model rather than a LoRA?)")
        }
        let adapterType = gguf.metadata["adapter.type"]?.string
        guard adapterType == "lora" else {
            throw AdapterError.invalidConfig(file: path,
                                             reason: "adapter.type is \(adapterType.map { "'\($0)'" } ?? "missing"), "
                                                 + "expected 'lora'")
        }
        if let arch = gguf.metadata["general.architecture"]?.string, arch != config.architecture {
            throw AdapterError.invalidConfig(file: path,
                                             reason: "made for architecture '\(arch)', "
                                                 + "but the base model is '\(config.architecture)'")
        }
        let alpha = gguf.metadata["adapter.lora.alpha"]?.double ?? 0

        // Norms that mergekit exports are skipped: this server applies only LoRA pairs.
        let pairs = try LoRAShapeCheck.pairs(gguf.tensorNames.map { ($0, gguf.tensors[$0]!) }, file: path,
                                             base: config, parse: parse,
                                             looksLikeLoRA: { $0.hasSuffix(".lora_a") || $0.hasSuffix(".lora_b") })
        var weights: [LoRAAdapter.Site: LoRAAdapter.Weights] = [:]
        for (site, (_, a), (_, b)) in pairs {
            // ggml lists dimensions fastest first; row-major shapes are the reverse.
            weights[site] = try LoRAShapeCheck.weights(
                site: site, file: path, aName: a.name, bName: b.name,
                aShape: Array(a.shape.reversed()), bShape: Array(b.shape.reversed()),
                a: { gguf.dequantized(a) }, b: { gguf.dequantized(b) }, base: config, maxRank: maxRank
            ) { rank in alpha == 0 ? 1 : Float(alpha / Double(rank)) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return LoRAAdapter(name: name, source: path, version: version, weights: weights, loadSeconds: seconds)
    }

    /// `blk.{i}.{module}.weight.lora_{a,b}` → (site, isA).
    static func parse(_ name: String) -> (LoRAAdapter.Site, Bool)? {
        let parts = name.split(separator: ".")
        guard parts.count == 5, parts[0] == "blk", let layer = Int(parts[1]), parts[3] == "weight",
              let projection = moduleSites[String(parts[2])],
              parts[4] == "lora_a" || parts[4] == "lora_b" else { return nil }
        return (LoRAAdapter.Site(layer: layer, projection: projection), parts[4] == "lora_a")
    }
}

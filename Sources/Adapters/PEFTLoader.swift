import Dispatch
import Foundation
import Model

/// Reads a PEFT LoRA folder (`adapter_config.json` + `adapter_model.safetensors`) and checks every
/// tensor against the base model before anything is served.
public enum PEFTLoader {
    /// PEFT module names → the projection sites of `Model`, as the base's architecture declares them.
    static func moduleSites(for base: ModelConfig) -> [String: ProjectionSite] {
        ModelLoader.traits(of: base.architecture)?.peftModules ?? ArchitectureTraits.huggingFaceModules
    }

    struct Config: Decodable {
        var r: Int
        var lora_alpha: Double?
        var use_rslora: Bool?
        var target_modules: TargetModules?
        var rank_pattern: [String: Int]?
        var alpha_pattern: [String: Double]?
        var layers_to_transform: LayerList?
        var base_model_name_or_path: String?
        var peft_type: String?

        enum TargetModules: Decodable {
            case list([String]), regex(String)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) {
                    self = .regex(s)
                } else {
                    self = .list(try c.decode([String].self))
                }
            }
        }

        enum LayerList: Decodable {
            case one(Int), many([Int])
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let i = try? c.decode(Int.self) { self = .one(i) } else { self = .many(try c.decode([Int].self)) }
            }
            var values: Set<Int> {
                switch self {
                case let .one(i): return [i]
                case let .many(list): return Set(list)
                }
            }
        }
    }

    /// Loads `folder` for a base model with `config`. `maxRank` bounds every tensor's rank.
    public static func load(name: String, folder: String, base config: ModelConfig, maxRank: Int,
                            version: Int) throws -> LoRAAdapter {
        let start = DispatchTime.now()
        let configPath = folder + "/adapter_config.json"
        let tensorPath = folder + "/adapter_model.safetensors"
        guard let configData = FileManager.default.contents(atPath: configPath) else {
            throw AdapterError.io(file: configPath, reason: "missing (a PEFT adapter folder needs adapter_config.json)")
        }
        let peft: Config
        do {
            peft = try JSONDecoder().decode(Config.self, from: configData)
        } catch {
            throw AdapterError.invalidConfig(file: configPath, reason: "cannot be read as a PEFT LoRA config: \(error)")
        }
        if let type = peft.peft_type, type.uppercased() != "LORA" {
            throw AdapterError.invalidConfig(file: configPath, reason: "peft_type \(type) is not LORA")
        }
        let fused = ModelLoader.traits(of: config.architecture)?.fusedPEFTModules ?? [:]
        // A fused module's pair is found under its first site, then split into all of them.
        let sites = moduleSites(for: config).merging(fused.mapValues { $0[0] }) { own, _ in own }
        if case let .list(modules)? = peft.target_modules {
            for m in modules where sites[m] == nil {
                throw AdapterError.unknownTarget(file: configPath, module: m)
            }
        }
        let file = try SafetensorsFile(path: tensorPath)
        let allowedLayers = peft.layers_to_transform?.values

        // Saved embeddings or biases are skipped: this server applies only LoRA pairs.
        let pairs = try LoRAShapeCheck.pairs(file.tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                             file: tensorPath, base: config,
                                             parse: { parse($0, sites: sites) },
                                             looksLikeLoRA: { $0.contains("lora_") },
                                             keep: { allowedLayers?.contains($0) ?? true })
        var weights: [LoRAAdapter.Site: LoRAAdapter.Weights] = [:]
        for (site, (_, a), (_, b)) in pairs {
            let scale: (Int) -> Float = { _ in
                let r = Double(peft.rank_pattern?.first { a.name.contains($0.key) }?.value ?? peft.r)
                let alpha = peft.alpha_pattern?.first { a.name.contains($0.key) }?.value ?? peft.lora_alpha ?? r
                return Float(peft.use_rslora == true ? alpha / r.squareRoot() : alpha / r)
            }
            let members = module(of: a.name).flatMap { fused[$0.name] } ?? [site.projection]
            let outputs = members.map { LoRAShapeCheck.dimensions($0, config).outputs }
            guard b.shape.count == 2, b.shape[0] == outputs.reduce(0, +) else {
                throw AdapterError.incompatible(file: tensorPath, tensor: b.name,
                                                reason: "lora_B \(b.shape) does not fit the \(outputs.reduce(0, +)) "
                                                    + "rows of " + members.map(\.rawValue).joined(separator: "+"))
            }
            // A and B are read from the file once, when the first site's shapes have passed.
            var aValues: [Float]?, bValues: [Float]?
            func readA() -> [Float] {
                if aValues == nil { aValues = file.floats(a) }
                return aValues!
            }
            func readB() -> [Float] {
                if bValues == nil { bValues = file.floats(b) }
                return bValues!
            }
            var offset = 0
            for (member, rows) in zip(members, outputs) {
                let part = Site(layer: site.layer, projection: member), first = offset * b.shape[1]
                offset += rows
                weights[part] = try LoRAShapeCheck.weights(
                    site: part, file: tensorPath, aName: a.name, bName: b.name, aShape: a.shape,
                    bShape: [rows, b.shape[1]], a: readA,
                    b: {
                        permutedForRoPE(Array(readB()[first..<(first + rows * b.shape[1])]), site: part, base: config)
                    },
                    base: config, maxRank: maxRank, scale: scale)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return LoRAAdapter(name: name, source: folder, version: version, weights: weights, loadSeconds: seconds)
    }

    public typealias Site = LoRAAdapter.Site

    /// The module of a tensor name (the part before `lora_A` / `lora_B`) and whether it is A.
    static func module(of name: String) -> (name: String, isA: Bool)? {
        let parts = name.split(separator: ".")
        guard let loraIndex = parts.firstIndex(where: { $0 == "lora_A" || $0 == "lora_B" }), loraIndex > 0 else {
            return nil
        }
        return (String(parts[loraIndex - 1]), parts[loraIndex] == "lora_A")
    }

    /// `…layers.{i}.(self_attn|mlp).{module}.lora_{A,B}[.default].weight` → (site, isA).
    static func parse(_ name: String, sites moduleSites: [String: ProjectionSite]) -> (Site, Bool)? {
        let parts = name.split(separator: ".")
        guard let layersIndex = parts.firstIndex(of: "layers"), layersIndex + 1 < parts.count,
              let layer = Int(parts[layersIndex + 1]) else { return nil }
        guard let module = module(of: name), let projection = moduleSites[module.name] else { return nil }
        return (Site(layer: layer, projection: projection), module.isA)
    }

    /// GGUFs of architectures with interleaved RoPE store q/k rows permuted (llama.cpp's converter
    /// does it to the base weights). PEFT's lora_B rows are in Hugging Face order, so q/k get the
    /// same permutation: per head, row `t·half + j` moves to `2j + t`.
    public static func permutedForRoPE(_ b: [Float], site: Site, base: ModelConfig) -> [Float] {
        guard ModelLoader.traits(of: base.architecture)?.ropeLayout == .interleaved,
              site.projection == .q || site.projection == .k else { return b }
        let heads = site.projection == .q ? base.headCount : base.kvHeadCount
        let rows = site.projection == .q ? base.qDim : base.kvDim
        guard rows > 0, b.count % rows == 0 else { return b }
        let rank = b.count / rows, headDim = rows / heads, half = headDim / 2
        var out = b
        for h in 0..<heads {
            for t in 0..<2 {
                for j in 0..<half {
                    let from = (h * headDim + t * half + j) * rank, to = (h * headDim + 2 * j + t) * rank
                    for c in 0..<rank { out[to + c] = b[from + c] }
                }
            }
        }
        return out
    }
}

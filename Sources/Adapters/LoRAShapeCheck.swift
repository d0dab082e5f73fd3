import Model

/// The checks every adapter format shares before a lora_A / lora_B pair is used: shapes against the
/// base projection, rank against `--max-lora-rank`, finite values. Errors name the file and tensor.
enum LoRAShapeCheck {
    /// Inputs and outputs of projection `p` in a model with config `c`.
    static func dimensions(_ p: ProjectionSite, _ c: ModelConfig) -> (inputs: Int, outputs: Int) {
        switch p {
        case .q: return (c.hiddenSize, c.qDim)
        case .k, .v: return (c.hiddenSize, c.kvDim)
        case .o: return (c.qDim, c.hiddenSize)
        case .gate, .up: return (c.hiddenSize, c.feedForwardSize)
        case .down: return (c.feedForwardSize, c.hiddenSize)
        }
    }

    /// A validated pair. `aShape` is [rank, inputs] and `bShape` [outputs, rank], row-major.
    /// `scale` may depend on the rank, so it is computed once the rank is known.
    static func weights(site: LoRAAdapter.Site, file: String, aName: String, bName: String,
                        aShape: [Int], bShape: [Int], a: () -> [Float], b: () -> [Float],
                        base: ModelConfig, maxRank: Int, scale: (Int) -> Float) throws -> LoRAAdapter.Weights {
        let (inputs, outputs) = dimensions(site.projection, base)
        guard aShape.count == 2, bShape.count == 2, aShape[1] == inputs, bShape[0] == outputs,
              aShape[0] == bShape[1], aShape[0] > 0 else {
            throw AdapterError.incompatible(file: file, tensor: aName,
                                            reason: "lora_A \(aShape) / lora_B \(bShape) do not fit "
                                                + "a \(outputs)×\(inputs) projection")
        }
        let rank = aShape[0]
        guard rank <= maxRank else {
            throw AdapterError.rankTooLarge(file: file, tensor: aName, rank: rank, limit: maxRank)
        }
        let av = a()
        guard av.allSatisfy(\.isFinite) else { throw AdapterError.nonFinite(file: file, tensor: aName) }
        let bv = b()
        guard bv.allSatisfy(\.isFinite) else { throw AdapterError.nonFinite(file: file, tensor: bName) }
        return .init(rank: rank, inputs: inputs, outputs: outputs, scale: scale(rank), a: buffer(av), b: buffer(bv))
    }

    /// Pairs each site's lora_A and lora_B among `tensors` (name, tensor), in file order.
    /// `parse` maps a tensor name to its site and whether it is A; a LoRA-looking name it cannot
    /// place (`looksLikeLoRA`) is refused, anything else (norms, embeddings) is skipped. `keep`
    /// filters layers (PEFT's `layers_to_transform`).
    static func pairs<T>(_ tensors: [(name: String, tensor: T)], file: String, base: ModelConfig,
                         parse: (String) -> (LoRAAdapter.Site, Bool)?, looksLikeLoRA: (String) -> Bool,
                         keep: (Int) -> Bool = { _ in true })
        throws -> [(site: LoRAAdapter.Site, a: (String, T), b: (String, T))] {
        var found: [LoRAAdapter.Site: (a: (String, T)?, b: (String, T)?)] = [:]
        for (name, tensor) in tensors {
            guard let (site, isA) = parse(name) else {
                if looksLikeLoRA(name) {
                    throw AdapterError.incompatible(file: file, tensor: name,
                                                    reason: "not a q/k/v/o/gate/up/down projection of a decoder layer")
                }
                continue
            }
            guard site.layer < base.layerCount else {
                throw AdapterError.incompatible(file: file, tensor: name,
                                                reason: "layer \(site.layer) but the base has \(base.layerCount)")
            }
            guard keep(site.layer) else { continue }
            var pair = found[site] ?? (nil, nil)
            if isA { pair.a = (name, tensor) } else { pair.b = (name, tensor) }
            found[site] = pair
        }
        guard !found.isEmpty else { throw AdapterError.invalidConfig(file: file, reason: "holds no LoRA A/B tensors") }
        return try found.map { site, pair in
            guard let a = pair.a, let b = pair.b else {
                throw AdapterError.incompatible(file: file, tensor: (pair.a ?? pair.b)!.0,
                                                reason: "its LoRA A/B partner is missing")
            }
            return (site, a, b)
        }
    }

    static func buffer(_ values: [Float]) -> FloatBuffer {
        let b = FloatBuffer(count: values.count)
        values.withUnsafeBufferPointer { b.pointer.update(from: $0.baseAddress!, count: values.count) }
        return b
    }
}

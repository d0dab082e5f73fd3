import Model

/// The LoRA deltas of one mixed batch: rows that share an adapter form a group, and each group gets
/// `scale · (X_g·Aᵀ)·Bᵀ` added to its rows of the projection output (the S-LoRA / Punica idea: the
/// base GEMM runs once over every row, only the small low-rank products are per adapter).
public final class LoRABatchDelta: ProjectionDelta, @unchecked Sendable {
    struct Group {
        let adapter: LoRAAdapter
        let rows: [Int]
        /// Per-request multiplier of the adapter's own scale (`lora_scale`).
        let scale: Float
    }

    let groups: [Group]

    /// `rowAdapters[r]` is row r's adapter and scale, nil for base-model rows.
    /// Returns nil when no row has an adapter.
    public init?(rowAdapters: [(adapter: LoRAAdapter, scale: Float)?]) {
        // Rows with the same adapter but a different lora_scale are different groups.
        struct Key: Hashable {
            let adapter: ObjectIdentifier
            let scale: Float
        }
        var order: [Key] = []
        var members: [Key: (adapter: LoRAAdapter, rows: [Int])] = [:]
        for (r, entry) in rowAdapters.enumerated() {
            guard let entry else { continue }
            let key = Key(adapter: ObjectIdentifier(entry.adapter), scale: entry.scale)
            if members[key] == nil {
                order.append(key)
                members[key] = (entry.adapter, [])
            }
            members[key]!.rows.append(r)
        }
        guard !order.isEmpty else { return nil }
        groups = order.map { key in
            let (adapter, rows) = members[key]!
            return Group(adapter: adapter, rows: rows, scale: key.scale)
        }
    }

    public func addDelta(site: ProjectionSite, layer: Int, input: UnsafePointer<Float>, inputs: Int,
                         output: UnsafeMutablePointer<Float>, outputs: Int, rows: Int) {
        for group in groups {
            guard let w = group.adapter.weights[LoRAAdapter.Site(layer: layer, projection: site)] else { continue }
            for r in group.rows {
                LowRankProduct.add(x: input + r * inputs, inputs: inputs, a: w.a.pointer,
                                   bTransposed: w.bTransposed.pointer, rank: w.rank, scale: w.scale * group.scale,
                                   into: output + r * outputs, outputs: outputs)
            }
        }
    }
}

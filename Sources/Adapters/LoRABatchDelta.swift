import Model
import Parallel

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

    /// Rows of adapter work at which a site's deltas are split across the cores (a prompt chunk's
    /// rows; fewer run on the calling thread, where the hand-off would cost more than it saves).
    static let parallelRows = 16

    public func addDelta(site: ProjectionSite, layer: Int, input: UnsafePointer<Float>, inputs: Int,
                         output: UnsafeMutablePointer<Float>, outputs: Int, rows: Int) {
        let key = LoRAAdapter.Site(layer: layer, projection: site)
        var work: [(row: Int, weights: LoRAAdapter.Weights, scale: Float)] = []
        for group in groups {
            guard let w = group.adapter.weights[key] else { continue }
            for r in group.rows { work.append((r, w, w.scale * group.scale)) }
        }
        let shared = UnsafeShared((work, input, output))
        @Sendable func run(_ part: Int, of parts: Int) {
            let (work, input, output) = shared.value
            for item in work[work.count * part / parts..<work.count * (part + 1) / parts] {
                let w = item.weights
                LowRankProduct.add(x: input + item.row * inputs, inputs: inputs, a: w.a.pointer,
                                   bTransposed: w.bTransposed.pointer, rank: w.rank, scale: item.scale,
                                   into: output + item.row * outputs, outputs: outputs)
            }
        }
        if work.count >= Self.parallelRows {
            WorkerPool.shared.forEach(iterations: 8) { run($0, of: 8) }
        } else {
            run(0, of: 1)
        }
    }
}

import CBLAS
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
        /// Whether `rows` is one contiguous run (no gather needed).
        let contiguous: Bool
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
            return Group(adapter: adapter, rows: rows, scale: key.scale, contiguous: rows.last! - rows.first! == rows.count - 1)
        }
    }

    public func addDelta(site: ProjectionSite, layer: Int, input: UnsafePointer<Float>, inputs: Int,
                         output: UnsafeMutablePointer<Float>, outputs: Int, rows: Int) {
        for group in groups {
            guard let w = group.adapter.weights[LoRAAdapter.Site(layer: layer, projection: site)] else { continue }
            let n = group.rows.count, rank = w.rank
            // Gather the group's input rows unless they are already one contiguous block.
            let x: UnsafePointer<Float>
            var gathered: UnsafeMutablePointer<Float>?
            if group.contiguous {
                x = input + group.rows[0] * inputs
            } else {
                let g = UnsafeMutablePointer<Float>.allocate(capacity: n * inputs)
                for (j, r) in group.rows.enumerated() { (g + j * inputs).update(from: input + r * inputs, count: inputs) }
                gathered = g
                x = UnsafePointer(g)
            }
            defer { gathered?.deallocate() }
            // t [n × rank] = x · Aᵀ
            let t = UnsafeMutablePointer<Float>.allocate(capacity: n * rank)
            defer { t.deallocate() }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rank), Int32(inputs),
                        1, x, Int32(inputs), w.a.pointer, Int32(inputs), 0, t, Int32(rank))
            let scale = w.scale * group.scale
            if group.contiguous {
                // y_g += scale · t · Bᵀ, written in place.
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(outputs), Int32(rank),
                            scale, t, Int32(rank), w.b.pointer, Int32(rank), 1, output + group.rows[0] * outputs, Int32(outputs))
            } else {
                let d = UnsafeMutablePointer<Float>.allocate(capacity: n * outputs)
                defer { d.deallocate() }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(outputs), Int32(rank),
                            scale, t, Int32(rank), w.b.pointer, Int32(rank), 0, d, Int32(outputs))
                for (j, r) in group.rows.enumerated() {
                    let y = output + r * outputs, dj = d + j * outputs
                    for i in 0..<outputs { y[i] += dj[i] }
                }
            }
        }
    }
}

import Foundation
import QuantKernelsAVX2

/// Causal grouped-query attention of one row against its sequence's cache.
enum Attention {
    /// Query heads handled together against one KV head: each key and value is loaded once for
    /// all of them.
    static let headsPerPass = 4

    /// `out[heads × headDim]` = softmax(scale · q·Kᵀ) · V over the cache positions `span` (see
    /// `visible`). Query heads `g·group ..< (g+1)·group` share KV head `g`. `scores` needs
    /// `headsPerPass · span.count` floats. With `logSumExp` (one per head), each head's log Σ exp of
    /// its scores goes there, so that parts of a row's positions can be merged (`merge`).
    ///
    /// Plain SIMD loops rather than BLAS: the products are small (a few heads × a few hundred
    /// positions) and OpenBLAS's thread hand-off costs more than the arithmetic at these sizes.
    @inline(__always)
    static func attend(query q: UnsafePointer<Float>, cache: KVCache, layer: Int, span: Range<Int>,
                       config c: ModelConfig, kernels: KernelPath, scores: UnsafeMutablePointer<Float>,
                       into out: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>? = nil) {
        let group = c.headCount / c.kvHeadCount
        for h0 in stride(from: 0, to: c.headCount, by: min(group, headsPerPass)) {
            let heads = min(group, headsPerPass, c.headCount - h0)
            attendHeads(query: q + h0 * c.headDim, heads: heads, kvHead: h0 / group, cache: cache, layer: layer,
                        first: span.lowerBound, count: span.count, config: c, kernels: kernels, scores: scores,
                        into: out + h0 * c.headDim, logSumExp: logSumExp.map { $0 + h0 })
        }
    }

    /// The cache positions a row at `position` attends to: `position - window + 1 ... position` on
    /// sliding layers, `0 ... position` otherwise.
    @inline(__always)
    static func visible(position: Int, window: Int?) -> Range<Int> {
        (window.map { max(0, position - $0 + 1) } ?? 0)..<(position + 1)
    }

    /// Up to four query heads (consecutive in `q` and `out`) against KV head `g`, positions
    /// `first ..< first + n`, by the kernel path's build. Scores go to `scores[head × n]`.
    @inline(__always)
    static func attendHeads(query q: UnsafePointer<Float>, heads: Int, kvHead g: Int, cache: KVCache, layer: Int,
                            first: Int, count n: Int, config c: ModelConfig, kernels: KernelPath,
                            scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
                            logSumExp: UnsafeMutablePointer<Float>?) {
        let hd = c.headDim, pageSize = cache.pageSize
        // Positions are contiguous within a page: one run per page touched.
        withUnsafeTemporaryAllocation(of: QuantKernelsAVX2.VectorKernels.Run.self, capacity: n / pageSize + 2) { runs in
            var p = first, count = 0
            while p < first + n {
                let end = min(first + n, (p & ~(pageSize - 1)) + pageSize)
                let head = g * hd * cache.pool.precision.bytes
                runs[count] = (p - first, UnsafeRawPointer(cache.keys(layer: layer, position: p) + head),
                               UnsafeRawPointer(cache.values(layer: layer, position: p) + head), end - p)
                count += 1
                p = end
            }
            kernels.attendHeads(query: q, heads: heads, runs: UnsafeBufferPointer(rebasing: runs[..<count]), count: n,
                                headDim: hd, kvDim: c.kvDim, halfPrecision: cache.pool.precision == .float16,
                                scale: c.attentionScale, scores: scores, into: out, logSumExp: logSumExp)
        }
    }

    /// Work (positions × query dimensions) below which a parallel loop's hand-off costs more than it saves.
    static let parallelWork = 1 << 16

    /// RoPE on every row's queries and keys, then stores keys and values at each row's position, then
    /// attends every row. Storing all rows first lets a prefill chunk attend to itself causally.
    /// Rows attend in parallel when there is enough work to pay for the hand-off; fewer rows than
    /// threads split their positions into parts (`attendInParts`), so one stream's attention is not
    /// left to one core while the others wait.
    static func run(queries q: UnsafeMutablePointer<Float>, keys k: UnsafeMutablePointer<Float>,
                    values v: UnsafePointer<Float>, batch: ForwardBatch, layer: Int, window: Int?,
                    rope: (frequencies: [Float], neox: Bool),
                    config c: ModelConfig, kernels: KernelPath, into out: UnsafeMutablePointer<Float>) {
        let qDim = c.qDim, kvDim = c.kvDim
        for r in 0..<batch.rowCount {
            let position = batch.positions[r]
            Kernels.rope(queries: q + r * qDim, heads: c.headCount, keys: k + r * kvDim, kvHeads: c.kvHeadCount,
                         dim: c.headDim, position: position, inverseFrequencies: rope.frequencies, neox: rope.neox)
            store(keys: k + r * kvDim, values: v + r * kvDim, cache: batch.caches[r], layer: layer, position: position,
                  kvDim: kvDim)
        }
        let work = batch.positions.reduce(0) { $0 + min($1 + 1, window ?? Int.max) } * qDim
        let threads = WorkerPool.shared.threads
        if work >= parallelWork, batch.rowCount < threads {
            attendInParts(threads / batch.rowCount, queries: q, batch: batch, layer: layer, window: window,
                          config: c, kernels: kernels, into: out)
            return
        }
        let shared = UnsafeShared((q, out, batch))
        let parts = batch.rowCount > 1 && work >= parallelWork ? batch.rowCount : 1
        WorkerPool.shared.forEach(iterations: parts) { part in
            let (q, out, batch) = shared.value
            let rows = parts == 1 ? 0..<batch.rowCount : part..<part + 1
            let longest = rows.map { batch.positions[$0] }.max()! + 1
            withUnsafeTemporaryAllocation(of: Float.self, capacity: headsPerPass * longest) { scores in
                for r in rows {
                    attend(query: q + r * qDim, cache: batch.caches[r], layer: layer,
                           span: visible(position: batch.positions[r], window: window), config: c, kernels: kernels,
                           scores: scores.baseAddress!, into: out + r * qDim)
                }
            }
        }
    }

    /// Attends each row's positions in `parts` consecutive parts in parallel, each to its own output
    /// and log-sum-exps, then merges each row's parts (`merge`).
    static func attendInParts(_ parts: Int, queries q: UnsafePointer<Float>, batch: ForwardBatch, layer: Int,
                              window: Int?, config c: ModelConfig, kernels: KernelPath,
                              into out: UnsafeMutablePointer<Float>) {
        let rows = batch.rowCount, qDim = c.qDim, heads = c.headCount
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * parts * (qDim + heads)) { scratch in
            let partial = scratch.baseAddress!, sums = partial + rows * parts * qDim
            let shared = UnsafeShared((q, partial, sums, batch))
            WorkerPool.shared.forEach(iterations: rows * parts) { i in
                let (q, partial, sums, batch) = shared.value
                let r = i / parts, s = i % parts
                let all = visible(position: batch.positions[r], window: window)
                let span = all.lowerBound + all.count * s / parts..<all.lowerBound + all.count * (s + 1) / parts
                guard !span.isEmpty else {
                    (sums + i * heads).update(repeating: -.infinity, count: heads)
                    return
                }
                withUnsafeTemporaryAllocation(of: Float.self, capacity: headsPerPass * span.count) { scores in
                    attend(query: q + r * qDim, cache: batch.caches[r], layer: layer, span: span, config: c,
                           kernels: kernels, scores: scores.baseAddress!, into: partial + i * qDim,
                           logSumExp: sums + i * heads)
                }
            }
            for r in 0..<rows {
                merge(parts, partial + r * parts * qDim, logSumExps: sums + r * parts * heads, heads: heads,
                      headDim: c.headDim, into: out + r * qDim)
            }
        }
    }

    /// `out` = the softmax over all of a row's positions from `parts` softmaxes over parts of them:
    /// each head's part outputs weighted by exp(its log-sum-exp − the whole's). A part with no
    /// positions has log-sum-exp −∞ and weight 0 (its output is not read).
    static func merge(_ parts: Int, _ partial: UnsafePointer<Float>, logSumExps sums: UnsafePointer<Float>,
                      heads: Int, headDim hd: Int, into out: UnsafeMutablePointer<Float>) {
        for h in 0..<heads {
            var largest = -Float.infinity
            for s in 0..<parts { largest = max(largest, sums[s * heads + h]) }
            var total: Float = 0
            for s in 0..<parts { total += exp(sums[s * heads + h] - largest) }
            let o = out + h * hd
            o.update(repeating: 0, count: hd)
            for s in 0..<parts where sums[s * heads + h] > -.infinity {
                let weight = exp(sums[s * heads + h] - largest) / total
                let part = partial + s * heads * hd + h * hd
                for j in 0..<hd { o[j] += weight * part[j] }
            }
        }
    }

    /// Stores one row's keys and values at its position, in the pool's precision.
    @inline(__always)
    static func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, cache: KVCache, layer: Int,
                      position: Int, kvDim: Int) {
        let keys = cache.keys(layer: layer, position: position), values = cache.values(layer: layer, position: position)
        switch cache.pool.precision {
        case .float32:
            keys.assumingMemoryBound(to: Float.self).update(from: k, count: kvDim)
            values.assumingMemoryBound(to: Float.self).update(from: v, count: kvDim)
        case .float16:
            let keys = keys.assumingMemoryBound(to: Float16.self), values = values.assumingMemoryBound(to: Float16.self)
            for i in 0..<kvDim {
                keys[i] = Float16(k[i])
                values[i] = Float16(v[i])
            }
        }
    }
}

/// The last step of every architecture: final norm and output head, for the rows that need logits only.
enum OutputHead {
    static func logits(_ x: UnsafePointer<Float>, batch: ForwardBatch, norm: FloatBuffer, head: WeightMatrix,
                       config: ModelConfig, workspace: Workspace) -> Logits {
        let hidden = config.hiddenSize, n = batch.logitRows.count
        let selected = workspace.buffer(.selectedRows, count: max(n, 1) * hidden) // [logit rows × hidden]
        for (j, r) in batch.logitRows.enumerated() {
            Kernels.rmsNorm(x + r * hidden, rows: 1, dim: hidden, weight: norm.pointer, eps: config.rmsEpsilon,
                            into: selected + j * hidden)
        }
        let logits = workspace.logitsBuffer(count: n * config.vocabularySize)
        if n > 0 { head.apply(selected, rows: n, into: logits.pointer) }
        return Logits(rows: n, vocabularySize: config.vocabularySize, values: logits)
    }
}

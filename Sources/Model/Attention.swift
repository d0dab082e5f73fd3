
/// Causal grouped-query attention of one row against its sequence's cache.
enum Attention {
    /// `out[heads × headDim]` = softmax(scale · q·Kᵀ) · V over cache positions `first...position`,
    /// where `first` is `position - window + 1` on sliding layers and 0 otherwise. Query heads
    /// `g·group ..< (g+1)·group` share KV head `g`. `scores` needs `position + 1` floats.
    ///
    /// Plain SIMD loops rather than BLAS: the products are small (a few heads × a few hundred
    /// positions) and OpenBLAS's thread hand-off costs more than the arithmetic at these sizes.
    @inline(__always)
    static func attend(query q: UnsafePointer<Float>, cache: KVCache, layer: Int, position: Int, window: Int?,
                       config c: ModelConfig, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let first = window.map { max(0, position - $0 + 1) } ?? 0
        let n = position - first + 1
        let group = c.headCount / c.kvHeadCount
        let hd = c.headDim, kvDim = c.kvDim, pageSize = cache.pageSize
        for h in 0..<c.headCount {
            let g = h / group
            let qh = q + h * hd
            // Positions are contiguous within a page; walk the pages.
            var p = first
            while p <= position {
                let end = min(position + 1, (p & ~(pageSize - 1)) + pageSize)
                let keys = cache.keys(layer: layer, position: p) + g * hd
                for i in 0..<(end - p) { scores[p - first + i] = dot(qh, keys + i * kvDim, count: hd) * c.attentionScale }
                p = end
            }
            Kernels.softmax(scores, count: n)
            let oh = out + h * hd
            oh.initialize(repeating: 0, count: hd)
            p = first
            while p <= position {
                let end = min(position + 1, (p & ~(pageSize - 1)) + pageSize)
                let values = cache.values(layer: layer, position: p) + g * hd
                for i in 0..<(end - p) { axpy(scores[p - first + i], values + i * kvDim, into: oh, count: hd) }
                p = end
            }
        }
    }

    /// Σ a[i]·b[i]; `count` is a multiple of 16 (head sizes are).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD16<Float>()
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        for i in stride(from: 0, to: count, by: 16) {
            acc = acc.addingProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                                    rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        }
        return acc.sum()
    }

    /// y[i] += a·x[i].
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        let va = SIMD16<Float>(repeating: a)
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        for i in stride(from: 0, to: count, by: 16) {
            let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self).addingProduct(va, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            ry.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
        }
    }

    /// RoPE on every row's queries and keys, then stores keys and values at each row's position, then
    /// attends every row. Storing all rows first lets a prefill chunk attend to itself causally.
    static func run(queries q: UnsafeMutablePointer<Float>, keys k: UnsafeMutablePointer<Float>, values v: UnsafePointer<Float>,
                    batch: ForwardBatch, layer: Int, window: Int?, rope: (frequencies: [Float], neox: Bool),
                    config c: ModelConfig, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let qDim = c.qDim, kvDim = c.kvDim
        for r in 0..<batch.rowCount {
            let position = batch.positions[r]
            Kernels.rope(q + r * qDim, heads: c.headCount, dim: c.headDim, position: position, inverseFrequencies: rope.frequencies, neox: rope.neox)
            Kernels.rope(k + r * kvDim, heads: c.kvHeadCount, dim: c.headDim, position: position, inverseFrequencies: rope.frequencies, neox: rope.neox)
            store(keys: k + r * kvDim, values: v + r * kvDim, cache: batch.caches[r], layer: layer, position: position, kvDim: kvDim)
        }
        for r in 0..<batch.rowCount {
            attend(query: q + r * qDim, cache: batch.caches[r], layer: layer, position: batch.positions[r],
                   window: window, config: c, scores: scores, into: out + r * qDim)
        }
    }

    /// Stores one row's keys and values at its position.
    @inline(__always)
    static func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, cache: KVCache, layer: Int, position: Int, kvDim: Int) {
        cache.keys(layer: layer, position: position).update(from: k, count: kvDim)
        cache.values(layer: layer, position: position).update(from: v, count: kvDim)
    }
}

/// The last step of every architecture: final norm and output head, for the rows that need logits only.
enum OutputHead {
    static func logits(_ x: UnsafePointer<Float>, batch: ForwardBatch, norm: FloatBuffer, head: WeightMatrix,
                       config: ModelConfig, workspace: Workspace) -> Logits {
        let hidden = config.hiddenSize, n = batch.logitRows.count
        let selected = workspace.buffer(9, count: max(n, 1) * hidden) // [logit rows × hidden]
        for (j, r) in batch.logitRows.enumerated() {
            Kernels.rmsNorm(x + r * hidden, rows: 1, dim: hidden, weight: norm.pointer, eps: config.rmsEpsilon, into: selected + j * hidden)
        }
        let logits = FloatBuffer(count: n * config.vocabularySize)
        if n > 0 { head.apply(selected, rows: n, into: logits.pointer) }
        return Logits(rows: n, vocabularySize: config.vocabularySize, values: logits)
    }
}

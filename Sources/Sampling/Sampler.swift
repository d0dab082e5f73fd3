import Foundation
import Model

/// Draws a token from one row of logits (after the sequence's processors ran on it): greedy,
/// temperature, top-k, top-p and min-p. Holds its own random generator, so the same seed gives the
/// same tokens.
///
/// Cost on a vocabulary of V tokens: greedy is one pass (argmax); temperature alone is two passes
/// (maximum, then the exponentials with their sums per 16 tokens) and a walk over those sums to the
/// drawn mass (an exact inverse CDF, no sorting). Top-k, top-p and min-p first keep the tokens
/// within a probability ratio of the best one (a vector compare per 16 tokens), widening the ratio
/// until that set provably holds the answer, then select inside it by weight buckets; nothing
/// sorts the whole vocabulary.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SplitMix64

    public init(parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// Picks the next token. Unless greedy, `logits` is overwritten with unnormalised weights.
    /// One random number is drawn per token that is not greedy.
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        let p = parameters
        if p.isGreedy { return Self.argmax(logits) }
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        let total = Self.exponentiate(logits, temperature: p.temperature)
        guard total > 0 else { return 0 }
        if !p.truncates { return Self.draw(weights: UnsafeBufferPointer(logits), mass: u * total) }
        if p.topK == 0 {
            // Top-p and min-p are thresholds on the weight: tokens under them are zeroed in place.
            let kept = Self.keepNucleus(logits, total: total, topP: p.topP, minP: p.minP)
            return Self.draw(weights: UnsafeBufferPointer(logits), mass: u * kept)
        }
        let kept = Self.candidates(weights: UnsafeBufferPointer(logits), total: total, parameters: p)
        var r = u * kept.weights.reduce(0) { $0 + Double($1) }
        for (id, w) in zip(kept.ids, kept.weights) {
            r -= Double(w)
            if r < 0 { return id }
        }
        return kept.ids.last ?? 0
    }

    /// Index of the largest value (the first one on ties, like torch.argmax). The maximum is found
    /// 16 lanes at a time, then its first index.
    public static func argmax(_ x: UnsafeMutableBufferPointer<Float>) -> Int32 {
        guard x.count > 0 else { return 0 }
        let value = maximum(UnsafeBufferPointer(x))
        for i in 0..<x.count where x[i] == value { return Int32(i) }
        return 0
    }

    /// The largest value of `x` (−∞ for an empty row or one that is −∞ everywhere).
    static func maximum(_ x: UnsafeBufferPointer<Float>) -> Float { KernelPath.active.maximum(x) }

    /// Replaces every logit l by its weight exp((l − max) / T), exactly 0 below e^−87 (so a token
    /// masked with −∞ can never be drawn), and returns the sum of the weights, added in Double
    /// one 16-token block at a time (the order `draw` walks them in).
    public static func exponentiate(_ x: UnsafeMutableBufferPointer<Float>, temperature: Float) -> Double {
        KernelPath.active.exponentiate(x, temperature: temperature)
    }

    /// The token at which the running sum of `weights` first exceeds `mass` (0 ≤ mass < total):
    /// block sums first, then the tokens of the one block that crosses. A token of weight 0 is never
    /// returned.
    static func draw(weights x: UnsafeBufferPointer<Float>, mass: Double) -> Int32 {
        guard let base = x.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base), whole = x.count / 16 * 16
        var reached = 0.0, lastNonzero = -1
        for i in stride(from: 0, to: whole, by: 16) {
            let block = Double(Kernels.sum(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)))
            guard block > 0 else { continue }
            if reached + block > mass {
                var inner = reached
                for j in i..<i + 16 where x[j] > 0 {
                    inner += Double(x[j])
                    lastNonzero = j
                    if inner > mass { return Int32(j) }
                }
            }
            reached += block
            for j in i..<i + 16 where x[j] > 0 { lastNonzero = j }
        }
        for j in whole..<x.count where x[j] > 0 {
            reached += Double(x[j])
            lastNonzero = j
            if reached > mass { return Int32(j) }
        }
        return Int32(max(lastNonzero, 0))
    }

    /// Zeroes the weights outside the top-p nucleus and under min-p (the best token weighs 1) and
    /// returns the mass left, summed in `draw`'s order.
    public static func keepNucleus(_ w: UnsafeMutableBufferPointer<Float>, total: Double, topP: Float,
                                   minP: Float) -> Double {
        var lightest = max(minP, .leastNonzeroMagnitude), lastTiedID = Int.max
        if topP < 1, let cut = nucleusEnd(UnsafeBufferPointer(w), target: Double(topP) * total), cut.weight > lightest {
            (lightest, lastTiedID) = cut
        }
        guard let base = w.baseAddress else { return 0 }
        let raw = UnsafeMutableRawPointer(base), whole = w.count / 16 * 16, floor = SIMD16<Float>(repeating: lightest)
        var kept = 0.0
        for i in stride(from: 0, to: whole, by: 16) {
            var v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            v.replace(with: 0, where: v .< floor)
            if lastTiedID < i + 16 {
                for k in 0..<16 where v[k] == lightest && i + k > lastTiedID { v[k] = 0 }
            }
            raw.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            kept += Double(Kernels.sum(v))
        }
        for i in whole..<w.count {
            if w[i] < lightest || (w[i] == lightest && i > lastTiedID) { w[i] = 0 }
            kept += Double(w[i])
        }
        return kept
    }

    /// The lightest token of the top-p nucleus, as its weight and the largest id kept at that weight
    /// (ties end at the lower id); nil when the whole vocabulary is the nucleus.
    ///
    /// One vector pass sums the mass above a few fixed weights, which brackets the nucleus's end;
    /// a histogram of the mass per `bucket` then covers only the tokens inside that bracket, and only
    /// the tokens of the bucket where the nucleus ends are sorted.
    static func nucleusEnd(_ w: UnsafeBufferPointer<Float>, target: Double) -> (weight: Float, id: Int)? {
        guard let base = w.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base), whole = w.count / 16 * 16
        // Float sums are enough to pick a bracket; the walk below sums exactly and widens the
        // bracket to everything when the pick was off.
        let levels: [Float] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-9]
        var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
        for i in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            a0 += v.replacing(with: 0, where: v .< 1e-1)
            a1 += v.replacing(with: 0, where: v .< 1e-2)
            a2 += v.replacing(with: 0, where: v .< 1e-3)
            a3 += v.replacing(with: 0, where: v .< 1e-4)
            a4 += v.replacing(with: 0, where: v .< 1e-6)
            a5 += v.replacing(with: 0, where: v .< 1e-9)
        }
        let above = [a0, a1, a2, a3, a4, a5].map { Double(Kernels.sum($0)) }
        if let j = above.firstIndex(where: { $0 >= target }),
           let end = nucleusEnd(w, target: target, low: levels[j], high: j == 0 ? .infinity : levels[j - 1]) {
            return end
        }
        return nucleusEnd(w, target: target, low: .leastNonzeroMagnitude, high: .infinity)
    }

    /// `nucleusEnd` when it lies among the weights in [low, high); nil when it does not.
    static func nucleusEnd(_ w: UnsafeBufferPointer<Float>, target: Double, low: Float, high: Float)
        -> (weight: Float, id: Int)? {
        guard let base = w.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base), whole = w.count / 16 * 16
        /// Calls `body` with each token of weight in [low, high); returns the exact mass above high.
        func each(from low: Float, below high: Float, _ body: (Int) -> Void) -> Double {
            let lo = SIMD16<Float>(repeating: low), hi = SIMD16<Float>(repeating: high)
            var heavier = 0.0
            for i in stride(from: 0, to: whole, by: 16) {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                let over = v .>= hi
                if any(over) { heavier += Double(Kernels.sum(v.replacing(with: 0, where: .!over))) }
                guard any((v .>= lo) .& (v .< hi)) else { continue }
                for k in i..<i + 16 where w[k] >= low && w[k] < high { body(k) }
            }
            for k in whole..<w.count {
                if w[k] >= high { heavier += Double(w[k]) }
                if w[k] >= low && w[k] < high { body(k) }
            }
            return heavier
        }
        var masses = [Double](repeating: 0, count: bucketCount)
        var mass = each(from: low, below: high) { masses[bucket(w[$0])] += Double(w[$0]) }
        guard mass < target else { return nil }
        for b in stride(from: bucketCount - 1, through: 0, by: -1) where masses[b] > 0 {
            guard mass + masses[b] >= target else {
                mass += masses[b]
                continue
            }
            var edge: [(id: Int, weight: Float)] = []
            // The bucket's own weight range, so the scan stops only at its tokens.
            let bucketLow = Float(bitPattern: UInt32(b) << 20), bucketHigh = Float(bitPattern: UInt32(b + 1) << 20)
            _ = each(from: max(low, bucketLow), below: min(high, bucketHigh)) { edge.append(($0, w[$0])) }
            edge.sort { $0.weight > $1.weight || ($0.weight == $1.weight && $0.id < $1.id) }
            for (id, weight) in edge {
                mass += Double(weight)
                if mass >= target { return (weight, id) }
            }
            return edge.last.map { ($0.weight, $0.id) }
        }
        return nil
    }

    static let bucketCount = 1024

    /// Weights in (0, 1] grouped by the top 12 bits of their Float encoding (exponent and 3 mantissa
    /// bits): every weight of a bucket is heavier than every weight of a lower bucket.
    @inline(__always)
    static func bucket(_ w: Float) -> Int { min(Int(w.bitPattern >> 20), bucketCount - 1) }

    /// Tokens with their weights, in no particular order.
    public struct Candidates: Sendable, Equatable {
        public var ids: [Int32] = []
        public var weights: [Float] = []
    }

    /// The tokens that survive top-k, top-p and min-p, given the weights of `exponentiate` (the best
    /// token weighs 1) and their `total`. Top-p renormalises over the top k when both are set.
    public static func candidates(weights w: UnsafeBufferPointer<Float>, total: Double,
                                  parameters p: SamplingParameters) -> Candidates {
        // Every token left out weighs less than `ratio`, every token kept at least as much: the set is
        // final once it holds the top k, the top-p mass, or (without top-k, which is taken before
        // min-p) everything min-p allows.
        var ratio: Float = p.minP > 0 ? p.minP : 1e-3
        var kept = Candidates()
        while true {
            kept = collect(w, atLeast: ratio)
            let mass = kept.weights.reduce(0) { $0 + Double($1) }
            if ratio == 0 || (p.topK > 0 && kept.ids.count >= p.topK) || (p.topK == 0 && p.minP > 0)
                || (p.topP < 1 && mass >= Double(p.topP) * total) { break }
            ratio = ratio > 1e-30 ? ratio * 1e-3 : 0
        }
        var nucleusTotal = total
        if p.topK > 0 {
            keepHeaviest(&kept) { count, _ in count >= p.topK }
            nucleusTotal = kept.weights.reduce(0) { $0 + Double($1) }
        }
        if p.topP < 1 {
            let target = Double(p.topP) * nucleusTotal
            keepHeaviest(&kept) { _, mass in mass >= target }
        }
        if p.minP > 0, kept.weights.contains(where: { $0 < p.minP }) {
            let survivors = kept.weights.indices.filter { kept.weights[$0] >= p.minP }
            kept = Candidates(ids: survivors.map { kept.ids[$0] }, weights: survivors.map { kept.weights[$0] })
        }
        return kept
    }

    /// The tokens of weight ≥ `ratio` (and > 0), in id order.
    static func collect(_ w: UnsafeBufferPointer<Float>, atLeast ratio: Float) -> Candidates {
        var out = Candidates()
        guard let base = w.baseAddress else { return out }
        let raw = UnsafeRawPointer(base), whole = w.count / 16 * 16
        let threshold = SIMD16<Float>(repeating: max(ratio, .leastNonzeroMagnitude))
        for i in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            guard any(v .>= threshold) else { continue }
            for k in 0..<16 where v[k] >= threshold[k] {
                out.ids.append(Int32(i + k))
                out.weights.append(v[k])
            }
        }
        for i in whole..<w.count where w[i] >= threshold[0] {
            out.ids.append(Int32(i))
            out.weights.append(w[i])
        }
        return out
    }

    /// Keeps the shortest run of the heaviest candidates (ties: lower id first) for which
    /// `enough(count, mass)` holds, or all of them when none does. Only the `bucket` where the run
    /// ends is sorted.
    static func keepHeaviest(_ c: inout Candidates, enough: (Int, Double) -> Bool) {
        let buckets = bucketCount
        var counts = [Int](repeating: 0, count: buckets), masses = [Double](repeating: 0, count: buckets)
        for w in c.weights {
            counts[bucket(w)] += 1
            masses[bucket(w)] += Double(w)
        }
        var count = 0, mass = 0.0, boundary = -1
        for b in stride(from: buckets - 1, through: 0, by: -1) where counts[b] > 0 {
            if enough(count + counts[b], mass + masses[b]) {
                boundary = b
                break
            }
            count += counts[b]
            mass += masses[b]
        }
        guard boundary >= 0 else { return }
        var out = Candidates(), edge: [(id: Int32, weight: Float)] = []
        for (id, w) in zip(c.ids, c.weights) {
            let b = bucket(w)
            if b > boundary {
                out.ids.append(id)
                out.weights.append(w)
            } else if b == boundary {
                edge.append((id, w))
            }
        }
        edge.sort { $0.weight > $1.weight || ($0.weight == $1.weight && $0.id < $1.id) }
        for (id, w) in edge {
            out.ids.append(id)
            out.weights.append(w)
            count += 1
            mass += Double(w)
            if enough(count, mass) { break }
        }
        c = out
    }
}

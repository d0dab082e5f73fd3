import Foundation
import Model
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Draws a token from one row of logits (after the sequence's processors ran on it): greedy,
/// temperature, top-k, top-p and min-p. Holds its own random generator, so the same seed gives the
/// same tokens.
///
/// Cost on a vocabulary of V tokens: greedy is one pass (argmax); temperature alone is two passes
/// (maximum, then the exponentials with their sums per 16 tokens) and a walk over those sums to the
/// drawn mass (an exact inverse CDF, no sorting). Top-p (with min-p or not) draws by rejection
/// (`drawNucleus`): about one draw and one pass. Min-p alone draws under its floor. Top-k keeps the
/// tokens within a probability ratio of the best one (a vector compare per 16 tokens), widening the
/// ratio until that set provably holds the answer, then selects inside it by a radix select;
/// nothing sorts the whole vocabulary.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SplitMix64

    public init(parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// Picks the next token. Unless greedy, `logits` is overwritten with unnormalised weights.
    /// One random number is drawn per token that is not greedy, and one more per rejected top-p draw.
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        let p = parameters
        if p.isGreedy { return Self.argmax(logits) }
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        let total = Self.exponentiate(logits, temperature: p.temperature)
        guard total > 0 else { return 0 }
        if !p.truncates { return Self.draw(weights: UnsafeBufferPointer(logits), mass: u * total) }
        if p.topK == 0 {
            return Self.drawNucleus(UnsafeBufferPointer(logits), total: total, topP: p.topP, minP: p.minP, u: u,
                                    next: { Double(rng.next() >> 11) / Double(1 << 53) })
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
    public static func draw(weights x: UnsafeBufferPointer<Float>, mass: Double) -> Int32 {
        guard let base = x.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base), whole = x.count / 16 * 16
        var reached = 0.0, lastBlock = -1, lastTail = -1
        for i in stride(from: 0, to: whole, by: 16) {
            let block = Double(Kernels.sum(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)))
            guard block > 0 else { continue }
            if reached + block > mass {
                var inner = reached
                for j in i..<i + 16 where x[j] > 0 {
                    inner += Double(x[j])
                    if inner > mass { return Int32(j) }
                }
            }
            reached += block
            lastBlock = i
        }
        for j in whole..<x.count where x[j] > 0 {
            reached += Double(x[j])
            lastTail = j
            if reached > mass { return Int32(j) }
        }
        // Rounding left the drawn mass past the sum: the last token of weight.
        if lastTail >= 0 { return Int32(lastTail) }
        return Int32(lastBlock < 0 ? 0 : (lastBlock..<lastBlock + 16).last { x[$0] > 0 } ?? lastBlock)
    }

    /// Rounds of `drawNucleus` before it finds the nucleus's end outright instead.
    static let maxNucleusRounds = 32

    /// A token of the top-p nucleus (ties: lower ids first) under min-p, by rejection: draw from the
    /// tokens kept so far (at first those min-p keeps), and accept the token when the mass of the
    /// tokens before it in weight order is under top_p · total, which is when it is in the nucleus;
    /// else only the tokens before it stay and the draw repeats. Every draw is from a superset of the
    /// nucleus, so an accepted token is distributed as the nucleus renormalised, and a round costs a
    /// draw and one pass; the first draw is accepted with probability top_p or more. `u` is the first
    /// draw's number, `next` gives the others.
    public static func drawNucleus(_ w: UnsafeBufferPointer<Float>, total: Double, topP: Float, minP: Float,
                                   u: Double, next: () -> Double) -> Int32 {
        var floor = Floor(lightest: max(minP, .leastNonzeroMagnitude), lastTiedID: Int.max)
        let target = Double(topP) * total
        var r = u
        for round in 0..<maxNucleusRounds {
            let id = round == 0 && minP <= 0 ? draw(weights: w, mass: r * total)
                : draw(weights: w, keeping: floor, u: r)
            guard topP < 1, massBefore(Int(id), in: w) >= target else { return id }
            floor = Floor(lightest: w[Int(id)], lastTiedID: Int(id) - 1)
            r = next()
        }
        let cut = nucleusFloor(w, total: total, topP: topP, minP: minP)
        return draw(weights: w, keeping: cut, u: r)
    }

    /// The mass of the tokens before `id` in weight order (heavier, or as heavy with a lower id).
    static func massBefore(_ id: Int, in w: UnsafeBufferPointer<Float>) -> Double {
        guard let base = w.baseAddress else { return 0 }
        let weight = w[id], raw = UnsafeRawPointer(base), whole = w.count / 16 * 16
        let pivot = SIMD16<Float>(repeating: weight)
        var mass = 0.0
        for i in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            mass += Double(Kernels.sum(v & (v .> pivot)))
            var tied = i < id ? laneBits(v .== pivot) : 0
            while tied != 0 {
                let k = tied.trailingZeroBitCount
                if i + k < id { mass += Double(weight) }
                tied &= tied - 1
            }
        }
        for j in whole..<w.count where w[j] > weight || (w[j] == weight && j < id) { mass += Double(w[j]) }
        return mass
    }

    /// What top-p and min-p keep (the best token weighs 1): the weights above `lightest`, and those
    /// equal to it up to id `lastTiedID`.
    public struct Floor: Sendable, Equatable {
        public var lightest: Float
        public var lastTiedID: Int

        @inline(__always)
        public func keeps(_ weight: Float, id: Int) -> Bool {
            weight > lightest || (weight == lightest && id <= lastTiedID)
        }

        /// The weights of the 16 tokens from id `start` that the floor keeps; the others become +0.
        /// Only the block holding `lastTiedID` is looked at lane by lane.
        @inline(__always)
        func kept(_ v: SIMD16<Float>, from start: Int) -> SIMD16<Float> {
            let floor = SIMD16<Float>(repeating: lightest)
            if lastTiedID < start { return v & (v .> floor) }
            var kept = v & (v .>= floor)
            if lastTiedID < start + 15 {
                for k in (lastTiedID - start + 1)..<16 where kept[k] == lightest { kept[k] = 0 }
            }
            return kept
        }
    }

    public static func nucleusFloor(_ w: UnsafeBufferPointer<Float>, total: Double, topP: Float,
                                    minP: Float) -> Floor {
        var floor = Floor(lightest: max(minP, .leastNonzeroMagnitude), lastTiedID: Int.max)
        if topP < 1, let cut = nucleusEnd(w, target: Double(topP) * total), cut.weight > floor.lightest {
            floor = Floor(lightest: cut.weight, lastTiedID: cut.id)
        }
        return floor
    }

    /// The token drawn at `u` ∈ [0, 1) of the mass `floor` keeps, with no writes: one pass sums each
    /// 16-token block's kept weights, the drawn mass is walked over those sums, and only the block
    /// that crosses it is read again. The same token as `draw` over the weights with the others zeroed.
    public static func draw(weights w: UnsafeBufferPointer<Float>, keeping floor: Floor, u: Double) -> Int32 {
        guard let base = w.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base), whole = w.count / 16 * 16, blocks = whole / 16
        var sums = [Double](repeating: 0, count: blocks + 1), kept = 0.0
        for b in 0..<blocks {
            let v = raw.loadUnaligned(fromByteOffset: b * 64, as: SIMD16<Float>.self)
            sums[b] = Double(Kernels.sum(floor.kept(v, from: b * 16)))
            kept += sums[b]
        }
        for i in whole..<w.count where floor.keeps(w[i], id: i) { sums[blocks] += Double(w[i]) }
        kept += sums[blocks]
        let mass = u * kept
        var reached = 0.0, lastBlock = -1
        func tokens(of b: Int) -> [Int] {
            (b * 16..<min(b * 16 + 16, w.count)).filter { floor.keeps(w[$0], id: $0) }
        }
        for b in 0...blocks where sums[b] > 0 {
            if reached + sums[b] > mass {
                var inner = reached
                for j in tokens(of: b) {
                    inner += Double(w[j])
                    if inner > mass { return Int32(j) }
                }
            }
            reached += sums[b]
            lastBlock = b
        }
        // Rounding left the drawn mass past the sum: the last kept token.
        return Int32(lastBlock < 0 ? 0 : tokens(of: lastBlock).last ?? 0)
    }

    /// The lightest token of the top-p nucleus, as its weight and the largest id kept at that weight
    /// (ties end at the lower id); nil when the whole vocabulary is the nucleus.
    ///
    /// Vector passes sum the mass above eight weights at a time, each pass narrowing the bracket that
    /// holds the nucleus's end to one of nine parts of the last; a radix select (`heaviestEnd`) then
    /// covers only the tokens inside that bracket.
    static func nucleusEnd(_ w: UnsafeBufferPointer<Float>, target: Double) -> (weight: Float, id: Int)? {
        // Float sums are enough to pick a bracket; the exact walk sums in Double and widens the
        // bracket to everything when the pick was off.
        var low = Float.leastNonzeroMagnitude, high = Float.infinity
        for _ in 0..<3 where high == .infinity || high > low * 1.05 {
            var levels = SIMD8<Float>(1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-12)
            if high < .infinity {
                let step = log(max(low, 1e-38) / high) / 9
                for k in 0..<8 { levels[k] = high * exp(step * Float(k + 1)) }
            }
            let above = massAbove(levels, in: w)
            if let j = (0..<8).first(where: { above[$0] >= target }) {
                low = levels[j]
                if j > 0 { high = levels[j - 1] }
            } else {
                high = levels[7]
            }
        }
        return nucleusEnd(w, target: target, low: low, high: high)
            ?? nucleusEnd(w, target: target, low: .leastNonzeroMagnitude, high: .infinity)
    }

    /// The mass of the weights at or above each of eight `levels`, summed in Float in one pass.
    static func massAbove(_ levels: SIMD8<Float>, in w: UnsafeBufferPointer<Float>) -> [Double] {
        guard let base = w.baseAddress else { return [Double](repeating: 0, count: 8) }
        let raw = UnsafeRawPointer(base), whole = w.count / 16 * 16
        let l0 = SIMD16<Float>(repeating: levels[0]), l1 = SIMD16<Float>(repeating: levels[1]),
            l2 = SIMD16<Float>(repeating: levels[2]), l3 = SIMD16<Float>(repeating: levels[3]),
            l4 = SIMD16<Float>(repeating: levels[4]), l5 = SIMD16<Float>(repeating: levels[5]),
            l6 = SIMD16<Float>(repeating: levels[6]), l7 = SIMD16<Float>(repeating: levels[7])
        var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
        for i in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            a0 += v & (v .>= l0)
            a1 += v & (v .>= l1)
            a2 += v & (v .>= l2)
            a3 += v & (v .>= l3)
            a4 += v & (v .>= l4)
            a5 += v & (v .>= l5)
            a6 += v & (v .>= l6)
            a7 += v & (v .>= l7)
        }
        var above = [a0, a1, a2, a3, a4, a5, a6, a7].map { Double(Kernels.sum($0)) }
        for i in whole..<w.count {
            for k in 0..<8 where w[i] >= levels[k] { above[k] += Double(w[i]) }
        }
        return above
    }

    /// `nucleusEnd` when it lies among the weights in [low, high); nil when it does not. The tokens
    /// of the bracket are gathered in one vector pass, then `heaviestEnd` selects among them.
    static func nucleusEnd(_ w: UnsafeBufferPointer<Float>, target: Double, low: Float, high: Float)
        -> (weight: Float, id: Int)? {
        guard let base = w.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base), whole = w.count / 16 * 16
        let lo = SIMD16<Float>(repeating: low), hi = SIMD16<Float>(repeating: high)
        var heavier = 0.0, bracket = Candidates()
        for i in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            heavier += Double(Kernels.sum(v & (v .>= hi)))
            var inside = laneBits((v .>= lo) .& (v .< hi))
            while inside != 0 {
                let k = inside.trailingZeroBitCount
                bracket.ids.append(Int32(i + k))
                bracket.weights.append(v[k])
                inside &= inside - 1
            }
        }
        for k in whole..<w.count {
            if w[k] >= high { heavier += Double(w[k]) }
            if w[k] >= low && w[k] < high {
                bracket.ids.append(Int32(k))
                bracket.weights.append(w[k])
            }
        }
        guard heavier < target else { return nil }
        return heaviestEnd(bracket, count: 0, mass: heavier) { _, mass in mass >= target }
            .map { ($0.weight, Int($0.id)) }
    }

    /// Weights in (0, 1] ordered by their Float encoding, 10 bits at a time from the top: the
    /// bucket of a heavier weight is never lower.
    static let bucketCount = 1024

    /// The last token of the shortest run of the heaviest of `c` (ties: lower id first) after which
    /// `enough(count, mass)` holds, counting on from `count` tokens of `mass` already taken; nil when
    /// all of them are not enough. A radix select: three levels of weight buckets, each a histogram
    /// over the tokens of the one bucket where the run ends at the level above; nothing is sorted
    /// by weight.
    static func heaviestEnd(_ c: Candidates, count start: Int, mass startMass: Double,
                            enough: (Int, Double) -> Bool) -> (weight: Float, id: Int32)? {
        var ids = c.ids, weights = c.weights, count = start, mass = startMass
        var counts = [Int](repeating: 0, count: bucketCount), masses = [Double](repeating: 0, count: bucketCount)
        for shift in [UInt32(20), 10, 0] {
            func key(_ w: Float) -> Int { min(Int((w.bitPattern >> shift) & 0x3ff), bucketCount - 1) }
            for b in 0..<bucketCount {
                counts[b] = 0
                masses[b] = 0
            }
            for w in weights {
                counts[key(w)] += 1
                masses[key(w)] += Double(w)
            }
            var boundary = -1
            for b in stride(from: bucketCount - 1, through: 0, by: -1) where counts[b] > 0 {
                if enough(count + counts[b], mass + masses[b]) {
                    boundary = b
                    break
                }
                count += counts[b]
                mass += masses[b]
            }
            guard boundary >= 0 else { return nil }
            var edgeIDs: [Int32] = [], edgeWeights: [Float] = []
            edgeIDs.reserveCapacity(counts[boundary])
            edgeWeights.reserveCapacity(counts[boundary])
            for (id, w) in zip(ids, weights) where key(w) == boundary {
                edgeIDs.append(id)
                edgeWeights.append(w)
            }
            (ids, weights) = (edgeIDs, edgeWeights)
        }
        // One weight is left, so the run goes on in id order.
        for i in ids.indices.sorted(by: { ids[$0] < ids[$1] }) {
            count += 1
            mass += Double(weights[i])
            if enough(count, mass) { return (weights[i], ids[i]) }
        }
        return nil
    }

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
    /// `enough(count, mass)` holds, or all of them when none does.
    static func keepHeaviest(_ c: inout Candidates, enough: (Int, Double) -> Bool) {
        guard let end = heaviestEnd(c, count: 0, mass: 0, enough: enough) else { return }
        var out = Candidates()
        for (id, w) in zip(c.ids, c.weights) where w > end.weight || (w == end.weight && id <= end.id) {
            out.ids.append(id)
            out.weights.append(w)
        }
        c = out
    }
}

/// `value & mask`: the lanes where `mask` is false become +0 (the generic masked replace is a
/// call per vector).
@inline(__always)
func & (value: SIMD16<Float>, mask: SIMDMask<SIMD16<Int32>>) -> SIMD16<Float> {
    let bits = unsafeBitCast(value, to: SIMD16<Int32>.self) & unsafeBitCast(mask, to: SIMD16<Int32>.self)
    return unsafeBitCast(bits, to: SIMD16<Float>.self)
}

/// The lanes of `mask` as bits, lane 0 lowest.
@inline(__always)
func laneBits(_ mask: SIMDMask<SIMD16<Int32>>) -> UInt32 {
    #if arch(x86_64)
    let v = unsafeBitCast(mask, to: SIMD16<Float>.self)
    return UInt32(_mm256_movemask_ps(v.lowHalf)) | UInt32(_mm256_movemask_ps(v.highHalf)) << 8
    #else
    var bits: UInt32 = 0
    for k in 0..<16 where mask[k] { bits |= 1 << k }
    return bits
    #endif
}

import Foundation
import Model
import Sampling
import Testing

struct SamplerTests {
    /// Logits where token i has value `values[i]`.
    /// One draw after the parameters' processors saw `observed` (the way the decoder runs them).
    func sample(_ values: [Float], _ p: SamplingParameters, observed: [Int32] = []) -> Int32 {
        var sampler = Sampler(parameters: p)
        var processors = p.standardProcessors()
        for token in observed { for i in processors.indices { processors[i].didSample(token) } }
        var logits = values
        return logits.withUnsafeMutableBufferPointer { row in
            for i in processors.indices { processors[i].process(row) }
            return sampler.sample(row)
        }
    }

    let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 2.9]

    @Test func greedyIsArgmax() {
        #expect(sample(logits, .init()) == 1)
    }

    @Test func argmaxTakesTheFirstOfEqualValues() {
        #expect(sample([0, 5, 5, 1], .init()) == 1)
    }

    @Test func sameSeedSameTokens() {
        let p = SamplingParameters(temperature: 1.5, seed: 42)
        var a = Sampler(parameters: p), b = Sampler(parameters: p)
        var seqA: [Int32] = [], seqB: [Int32] = []
        for _ in 0..<50 {
            var la = logits, lb = logits
            seqA.append(la.withUnsafeMutableBufferPointer { a.sample($0) })
            seqB.append(lb.withUnsafeMutableBufferPointer { b.sample($0) })
        }
        #expect(seqA == seqB)
        #expect(Set(seqA).count > 1, "temperature 1.5 over close logits should vary")
    }

    @Test func topKOneIsGreedy() {
        for seed in 0..<20 {
            #expect(sample(logits, .init(temperature: 2, topK: 1, seed: UInt64(seed))) == 1)
        }
    }

    @Test func tinyTopPIsGreedy() {
        for seed in 0..<20 {
            #expect(sample(logits, .init(temperature: 2, topP: 0.01, seed: UInt64(seed))) == 1)
        }
    }

    @Test func topKTwoOnlyPicksTheTwoBest() {
        let picks = Set((0..<200).map { sample(logits, .init(temperature: 5, topK: 2, seed: UInt64($0))) })
        #expect(picks == [1, 4])
    }

    @Test func minPDropsUnlikelyTokens() {
        // With T = 1, p(4)/p(1) = e^-0.1 ≈ 0.90, p(2)/p(1) = e^-0.5 ≈ 0.61, p(0)/p(1) = e^-2 ≈ 0.14.
        let picks = Set((0..<300).map { sample(logits, .init(temperature: 1, minP: 0.5, seed: UInt64($0))) })
        #expect(picks == [1, 2, 4])
    }

    @Test func topPKeepsTheSmallestSetReachingTheMass() {
        // Softmax of [1, 3, 2.5, -1, 2.9]: p1 ≈ .375, p4 ≈ .339, p2 ≈ .227 → the first two hold ≈ .714.
        let picks = Set((0..<300).map { sample(logits, .init(temperature: 1, topP: 0.7, seed: UInt64($0))) })
        #expect(picks == [1, 4])
    }

    @Test func logitBiasForcesAToken() {
        #expect(sample(logits, .init(logitBias: [3: 100])) == 3)
        #expect(sample(logits, .init(logitBias: [1: -100])) == 4)
    }

    @Test func presenceAndFrequencyPenaltiesDiscourageRepeats() {
        #expect(sample(logits, .init(presencePenalty: 0.2), observed: [1]) == 4)
        #expect(sample(logits, .init(frequencyPenalty: 0.05), observed: [1]) == 1)
        #expect(sample(logits, .init(frequencyPenalty: 0.05), observed: [1, 1, 1]) == 4)
    }

    @Test func repetitionPenaltyDividesPositiveLogits() {
        // 3 / 1.2 = 2.5 < 2.9.
        #expect(sample(logits, .init(repetitionPenalty: 1.2), observed: [1]) == 4)
    }

    @Test func largeVocabularySamplingStaysInTheNucleus() {
        var values = [Float](repeating: -10, count: 262_144)
        values[7] = 5
        values[9] = 4.8
        values[100_000] = 4.9
        let picks = Set((0..<100).map { sample(values, .init(temperature: 0.7, topP: 0.95, seed: UInt64($0))) })
        #expect(picks.isSubset(of: [7, 9, 100_000]) && picks.count == 3)
    }

    @Test("temperature alone draws each token with its softmax probability")
    func temperatureSamplingFollowsTheSoftmax() {
        let t: Float = 0.8, draws = 40_000
        var counts = [Int](repeating: 0, count: logits.count)
        var sampler = Sampler(parameters: .init(temperature: t, seed: 7))
        for _ in 0..<draws {
            var row = logits
            counts[Int(row.withUnsafeMutableBufferPointer { sampler.sample($0) })] += 1
        }
        let weights = logits.map { exp(Double($0 / t)) }, total = weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            // Four standard deviations of a binomial count.
            let p = w / total, tolerance = 4 * (p * (1 - p) / Double(draws)).squareRoot()
            #expect(abs(Double(counts[i]) / Double(draws) - p) < tolerance, "token \(i)")
        }
    }

    @Test("top-p by rejection draws each nucleus token with its renormalised probability, ties included",
          arguments: [(Float(0.5), Float(0)), (0.9, 0), (0.97, 0), (0.9, 0.02)])
    func nucleusDrawsFollowTheRenormalisedSoftmax(_ topP: Float, _ minP: Float) {
        // 400 tokens: a few strong, many tied at three levels, a long tail.
        var rng = SplitMix64(seed: 11)
        var row = (0..<400).map { i -> Float in i % 50 == 0 ? 3 + Float(i % 7) / 3 : Float(rng.next() % 3) - 2 }
        let p = SamplingParameters(temperature: 1, topP: topP, minP: minP)
        let total = row.withUnsafeMutableBufferPointer { Sampler.exponentiate($0, temperature: 1) }
        let kept = referenceCandidates(row, total: total, p)
        let keptMass = kept.reduce(0) { $0 + Double(row[Int($1)]) }
        let draws = 60_000
        var counts = [Int](repeating: 0, count: row.count), random = SplitMix64(seed: 5)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        for _ in 0..<draws {
            let id = row.withUnsafeBufferPointer {
                Sampler.drawNucleus($0, total: total, topP: topP, minP: minP, u: uniform(), next: uniform)
            }
            counts[Int(id)] += 1
        }
        for (i, count) in counts.enumerated() {
            guard kept.contains(Int32(i)) else {
                #expect(count == 0, "token \(i) is outside the nucleus")
                continue
            }
            let q = Double(row[i]) / keptMass, tolerance = 4.5 * (q * (1 - q) / Double(draws)).squareRoot()
            #expect(abs(Double(count) / Double(draws) - q) < tolerance, "token \(i): \(count) of \(draws), p \(q)")
        }
    }

    @Test("a token masked with -infinity is never drawn, at any setting")
    func maskedTokensAreNeverDrawn() {
        var values = [Float](repeating: 0, count: 262_144)
        for i in stride(from: 0, to: values.count, by: 2) { values[i] = -.infinity }
        let settings: [SamplingParameters] = [.init(temperature: 1), .init(temperature: 50), .init(temperature: 1, topK: 5000),
                                              .init(temperature: 1, topP: 0.9), .init(temperature: 1, minP: 0.5)]
        for (n, p) in settings.enumerated() {
            for seed in 0..<20 {
                var q = p
                q.seed = UInt64(seed)
                #expect(sample(values, q) % 2 == 1, "setting \(n)")
            }
        }
    }

    /// Top-k, top-p and min-p by sorting the whole vocabulary, the plain way.
    func referenceCandidates(_ weights: [Float], total: Double, _ p: SamplingParameters) -> Set<Int32> {
        var order = weights.indices.filter { weights[$0] > 0 }
            .sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        var nucleusTotal = total
        if p.topK > 0 {
            order = Array(order.prefix(p.topK))
            nucleusTotal = order.reduce(0) { $0 + Double(weights[$1]) }
        }
        if p.topP < 1 {
            var mass = 0.0
            if let end = order.firstIndex(where: { mass += Double(weights[$0]); return mass >= Double(p.topP) * nucleusTotal }) {
                order = Array(order.prefix(end + 1))
            }
        }
        if p.minP > 0 { order.removeAll { weights[$0] < p.minP } }
        return Set(order.map(Int32.init))
    }

    @Test("top-k, top-p and min-p keep exactly the tokens a full sort keeps", arguments: [
        SamplingParameters(temperature: 1, topK: 1), SamplingParameters(temperature: 1, topK: 40),
        SamplingParameters(temperature: 1, topK: 3000), SamplingParameters(temperature: 1, topP: 0.5),
        SamplingParameters(temperature: 1, topP: 0.95), SamplingParameters(temperature: 2, topP: 0.999),
        SamplingParameters(temperature: 1, minP: 0.05), SamplingParameters(temperature: 1, topK: 100, topP: 0.8),
        SamplingParameters(temperature: 0.7, topP: 0.9, minP: 0.01), SamplingParameters(temperature: 1, topK: 50, topP: 0.9, minP: 0.2),
    ])
    func candidatesMatchAFullSort(_ p: SamplingParameters) {
        var rng = SplitMix64(seed: 3)
        for trial in 0..<3 {
            // Logits shaped like a language model's: a few strong tokens over a long Gaussian-ish tail.
            var row = (0..<262_144).map { _ in Float(Double(rng.next() % 10_000) / 1000 - 5) }
            for k in 0..<(20 * (trial + 1)) { row[Int(rng.next() % 262_144)] = 8 + Float(k % 7) }
            let total = row.withUnsafeMutableBufferPointer { Sampler.exponentiate($0, temperature: p.temperature) }
            let kept = row.withUnsafeBufferPointer { Sampler.candidates(weights: $0, total: total, parameters: p) }
            #expect(Set(kept.ids) == referenceCandidates(row, total: total, p), "trial \(trial)")
            #expect(kept.ids.count == Set(kept.ids).count)
            guard p.topK == 0 else { continue }
            // Without top-k the sampler draws above a floor on the weight instead.
            let floor = row.withUnsafeBufferPointer {
                Sampler.nucleusFloor($0, total: total, topP: p.topP, minP: p.minP)
            }
            var zeroed = row
            for i in zeroed.indices where !floor.keeps(zeroed[i], id: i) { zeroed[i] = 0 }
            // Summed as the draw sums: Float per 16-token block, blocks in Double.
            let whole = zeroed.count / 16 * 16
            var mass = stride(from: 0, to: whole, by: 16).reduce(0.0) { sum, i in
                sum + Double(Kernels.sum(SIMD16<Float>(zeroed[i..<i + 16])))
            }
            for i in whole..<zeroed.count { mass += Double(zeroed[i]) }
            let survivors = Set(zeroed.indices.filter { zeroed[$0] > 0 }.map(Int32.init))
            #expect(survivors == Set(kept.ids), "trial \(trial), nucleus by its floor")
            #expect(abs(mass - kept.weights.reduce(0) { $0 + Double($1) }) < 1e-6 * mass)
            // The draw skips what the floor drops: the same token as the zeroed weights' inverse CDF.
            var random = SplitMix64(seed: UInt64(trial))
            for _ in 0..<20 {
                let drawn = row.withUnsafeBufferPointer {
                    Sampler.drawNucleus($0, total: total, topP: p.topP, minP: p.minP,
                                        u: Double(random.next() >> 11) / Double(1 << 53),
                                        next: { Double(random.next() >> 11) / Double(1 << 53) })
                }
                #expect(kept.ids.contains(drawn), "trial \(trial): \(drawn) is not kept")
            }
            for k in 0..<200 {
                let u = k == 199 ? 1 - 1e-16 : Double(k) / 199
                let fused = row.withUnsafeBufferPointer { Sampler.draw(weights: $0, keeping: floor, u: u) }
                let plain = zeroed.withUnsafeBufferPointer { Sampler.draw(weights: $0, mass: u * mass) }
                #expect(fused == plain, "trial \(trial), u \(u)")
            }
        }
    }
}

import Model
import Testing

struct SamplerTests {
    /// Logits where token i has value `values[i]`.
    func sample(_ values: [Float], _ p: SamplingParameters, observed: [Int32] = []) -> Int32 {
        var sampler = Sampler(parameters: p)
        observed.forEach { sampler.observe($0) }
        var logits = values
        return logits.withUnsafeMutableBufferPointer { sampler.sample($0) }
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
}

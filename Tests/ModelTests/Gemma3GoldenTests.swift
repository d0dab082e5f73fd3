import Engine
import Foundation
import GGUF
import Model
import Testing

/// Gemma 3 270M against `transformers` loading the same GGUF (Fixtures/make_gemma3_fixtures.py).
@Suite(.serialized)
struct Gemma3GoldenTests {
    static let model: any LanguageModel = try! Fixtures.model(at: Fixtures.defaultModelPath)

    /// Both sides dequantize to bit-identical Float32 weights; only the summation order of the fp32
    /// GEMMs differs. Measured: at most 1e-4 on logits of magnitude 10–40, so 2e-3 leaves margin
    /// without hiding a real error (a wrong RoPE base or norm moves logits by whole units).
    static let tolerance: Float = 2e-3

    @Test("greedy ids and top-5 logits match the reference", arguments: Fixtures.golden("gemma3_greedy.json"))
    func golden(_ c: GoldenCase) throws {
        let worst = try checkGolden(c, model: Self.model, tolerance: Self.tolerance)
        print("gemma3 \(c.testDescription) (\(KernelPath.detected.rawValue)): max |Δlogit| = \(worst)")
    }

    /// The same reference on each slower kernel path this CPU can run (a forced `--kernel-path`).
    @Test("the reference holds on every slower kernel path", arguments: KernelPath.available.dropLast())
    func goldenOnSlowerPaths(_ path: KernelPath) throws {
        let model = try Fixtures.model(at: Fixtures.defaultModelPath, kernels: path)
        for c in Fixtures.golden("gemma3_greedy.json") {
            let worst = try checkGolden(c, model: model, tolerance: Self.tolerance)
            print("gemma3 \(c.testDescription) (\(path.rawValue)): max |Δlogit| = \(worst)")
        }
    }

    /// Half-precision KV (`--kv-cache-type f16`): keys and values rounded to 11 significant bits.
    /// Measured on the fixture cases: see the printout and the README; every greedy id must match.
    static let halfPrecisionTolerance: Float = 0.03

    @Test("f16 KV: greedy ids match the reference; logits within its tolerance",
          arguments: [KernelPrecision.float32, .int16])
    func halfPrecisionKV(_ precision: KernelPrecision) throws {
        let model = precision == .float32 ? Self.model : try Fixtures.model(at: Fixtures.defaultModelPath,
                                                                              precision: precision)
        var worst: Float = 0
        for c in Fixtures.golden("gemma3_greedy.json") {
            let full = try checkGolden(c, model: model, tolerance: 1)
            let half = try checkGolden(c, model: model, tolerance: Self.halfPrecisionTolerance, kvPrecision: .float16)
            worst = max(worst, half)
            print("gemma3 \(precision.rawValue) activations, f16 KV, \(c.testDescription): max |Δlogit| = \(half) (f32 KV \(full))")
        }
        #expect(worst > 0)
    }

    @Test func kernelPathsAreChosenAndRefused() throws {
        #expect(KernelPath.available.last == KernelPath.detected)
        #expect(try KernelPath.chosen("avx2") == .avx2, "every x86-64 class runs the AVX2 build")
        #expect(throws: KernelPath.Unavailable.self) { try KernelPath.chosen("sse2") }
        // A path runs where the CPU has its flags; a CPU may have a later path's and not an earlier one's.
        for path in KernelPath.allCases where path != .avx2 {
            if KernelPath.available.contains(path) {
                #expect(try KernelPath.chosen(path.rawValue) == path)
            } else {
                #expect(throws: KernelPath.Unavailable.self) { try KernelPath.chosen(path.rawValue) }
            }
        }
        let avx2: Set = ["avx", "avx2", "fma", "f16c"], avx512: Set = ["avx512f", "avx512bw", "avx512vl", "avx512dq"]
        #expect(KernelPath.available(flags: avx2) == [.avx2], "Zen 2/3")
        #expect(KernelPath.available(flags: avx2.union(["avx_vnni"])) == [.avx2, .avxVNNI], "Alder Lake")
        #expect(KernelPath.available(flags: avx2.union(avx512).union(["avx512_vnni"])) == [.avx2, .avx512, .avx512VNNI],
                "Cascade Lake, Zen 4: AVX-512 VNNI without AVX-VNNI")
        #expect(KernelPath.available(flags: avx2.union(avx512).union(["avx512_vnni", "avx_vnni"])) == KernelPath.allCases,
                "Sapphire Rapids")
        #expect(KernelPath.available(flags: avx2.union(["avx512f"])) == [.avx2], "AVX-512 F alone runs no 512-bit path")
    }

    @Test func configReadFromGGUF() {
        let c = Self.model.config
        #expect(c.hiddenSize == 640 && c.layerCount == 18 && c.headCount == 4 && c.kvHeadCount == 1 && c.headDim == 256)
        #expect(c.feedForwardSize == 2048 && c.vocabularySize == 262_144 && c.slidingWindow == 512)
        #expect((0..<18).filter { !c.isSliding(layer: $0) } == [5, 11, 17])
    }
}

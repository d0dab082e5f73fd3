import Foundation
import GGUF
import Model
import Testing

/// The integer kernels against the same arithmetic written plainly: activations rounded per 32
/// values (dx = max|x|/32767, q = round-half-even(x·32767/max|x|)), weights from `Dequantizer`,
/// y = Σ dx·q·w in Double. Only float rounding may differ; a wrong byte, nibble, bit or scale in a
/// block layout moves outputs by whole weights.
/// Every test runs on each kernel path this CPU can run.
struct IntegerDotKernelTests {
    func roundedActivations(_ x: [Float], rows: Int, inputs: Int) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            for b in 0..<inputs / 32 {
                let block = (0..<32).map { x[r * inputs + b * 32 + $0] }
                let amax = block.map(abs).max()!
                let inverse: Float = amax > 0 ? 32767 / amax : 0
                for i in 0..<32 {
                    out[r * inputs + b * 32 + i] = Double(amax / 32767) * Double((block[i] * inverse).rounded(.toNearestOrEven))
                }
            }
        }
        return out
    }

    @Test("integer kernel equals Σ dx·q·w over the dequantized weights",
          arguments: [GGMLType.q8_0, .q5_0, .q4_K, .q6_K], KernelPath.available)
    func matchesPlainArithmetic(_ type: GGMLType, path: KernelPath) throws {
        let inputs = 512, outputs = 80, maxRows = 67
        let blocks = QuantizedKernelTests().randomBlocks(type, outputs: outputs, inputs: inputs, seed: UInt64(type.rawValue) + 40)
        var weights = [Float](repeating: 0, count: inputs * outputs)
        blocks.withUnsafeBytes { raw in weights.withUnsafeMutableBufferPointer { Dequantizer.dequantize(raw, type: type, count: inputs * outputs, into: $0.baseAddress!) } }
        var rng = SplitMix64(seed: 11)
        // Mixed magnitudes per block, as real activations have, plus an all-zero block.
        var x = (0..<(maxRows * inputs)).map { i in Float(Int(rng.next() % 2001) - 1000) / 1000 * (i % 96 < 32 ? 8 : 1) }
        for i in 64..<96 { x[i] = 0 }
        try blocks.withUnsafeBytes { raw in
            let matrix = WeightMatrix(inputs: inputs, outputs: outputs, values: nil, quantized: (type, raw.baseAddress!), integerActivations: true, kernels: path)
            // Row counts that use each register group (16, 8, 4, 2, 1) alone and combined, and a prompt
            // chunk's worth (long batches take the integer kernels too).
            for rows in [1, 2, 3, 4, 7, 8, 15, 16, 21, 67] {
                let xq = roundedActivations(Array(x[0..<(rows * inputs)]), rows: rows, inputs: inputs)
                var y = [Float](repeating: .nan, count: rows * outputs)
                x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { matrix.apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) } }
                for r in 0..<rows {
                    for o in 0..<outputs {
                        var exact = 0.0, magnitude = 0.0
                        for i in 0..<inputs {
                            exact += xq[r * inputs + i] * Double(weights[o * inputs + i])
                            magnitude += abs(xq[r * inputs + i] * Double(weights[o * inputs + i]))
                        }
                        let difference = abs(Double(y[r * outputs + o]) - exact)
                        try #require(difference <= 1e-5 * magnitude + 1e-6, "\(path), \(type.name), \(rows) rows, row \(r), output \(o): \(y[r * outputs + o]) vs \(exact)")
                    }
                }
            }
        }
    }

    @Test("a row looked up in the tiles is Dequantizer's row; Q8_0 and Q5_0 tiles keep half-precision scales",
          arguments: [GGMLType.q8_0, .q5_0, .q4_K, .q6_K])
    func rowLookUpFromTiles(_ type: GGMLType) throws {
        let inputs = 512, outputs = 48
        let blocks = QuantizedKernelTests().randomBlocks(type, outputs: outputs, inputs: inputs, seed: 29)
        var weights = [Float](repeating: 0, count: inputs * outputs)
        blocks.withUnsafeBytes { raw in weights.withUnsafeMutableBufferPointer { Dequantizer.dequantize(raw, type: type, count: inputs * outputs, into: $0.baseAddress!) } }
        try blocks.withUnsafeBytes { raw in
            let matrix = WeightMatrix(inputs: inputs, outputs: outputs, values: nil, quantized: (type, raw.baseAddress!), integerActivations: true)
            let tiles = try #require(matrix.integerTiles)
            // Per tile of 16 × 32 weights (16 × 16 for Q6_K): the file's 34 bytes per 32 for Q8_0; Q4_K nibbles.
            let expected: [GGMLType: Int] = [.q8_0: 544, .q5_0: 544, .q4_K: 384, .q6_K: 320]
            #expect(tiles.tileBytes == expected[type])
            var row = [Float](repeating: .nan, count: inputs)
            for o in [0, 1, 15, 16, 31, 47] {
                row.withUnsafeMutableBufferPointer { matrix.row(o, into: $0.baseAddress!) }
                let reference = Array(weights[o * inputs..<(o + 1) * inputs])
                if type == .q8_0 || type == .q5_0 {
                    #expect(row == reference, "\(type.name) row \(o)")
                } else {
                    let scale = reference.map(abs).max()!
                    #expect(zip(row, reference).allSatisfy { abs($0 - $1) <= 1e-6 * scale }, "\(type.name) row \(o)")
                }
            }
        }
    }

    @Test("products sharing one input and one hand-off equal the same products one by one", arguments: KernelPath.available)
    func fusedProductsEqualSeparateOnes(path: KernelPath) throws {
        // 64 + 16 + 32 output groups over 512 inputs: split in 8 parts whose edges fall inside matrices.
        let inputs = 512, rows = 11
        let shapes: [(GGMLType, Int)] = [(.q5_0, 1024), (.q8_0, 256), (.q4_K, 512)]
        let blocks = shapes.enumerated().map { i, s in QuantizedKernelTests().randomBlocks(s.0, outputs: s.1, inputs: inputs, seed: UInt64(60 + i)) }
        var rng = SplitMix64(seed: 9)
        let x = (0..<(rows * inputs)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        let pointers = blocks.map { b in UnsafeMutableRawPointer.allocate(byteCount: b.count, alignment: 64) }
        defer { pointers.forEach { $0.deallocate() } }
        for (p, b) in zip(pointers, blocks) { b.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: b.count) } }
        let matrices = zip(shapes, pointers).map { s, p in
            WeightMatrix(inputs: inputs, outputs: s.1, values: nil, quantized: (s.0, UnsafeRawPointer(p)), integerActivations: true, kernels: path)
        }
        let fused = matrices.map { FloatBuffer(count: rows * $0.outputs) }, alone = matrices.map { FloatBuffer(count: rows * $0.outputs) }
        x.withUnsafeBufferPointer { xp in
            WeightMatrix.apply(zip(matrices, fused).map { ($0, $1.pointer) }, x: xp.baseAddress!, rows: rows)
            for (m, y) in zip(matrices, alone) { m.apply(xp.baseAddress!, rows: rows, into: y.pointer) }
        }
        for (i, m) in matrices.enumerated() {
            let a = Array(fused[i].buffer), b = Array(alone[i].buffer)
            #expect(a == b, "matrix \(i) (\(shapes[i].0.name), \(m.outputs) outputs)")
            #expect(b.contains { $0 != 0 })
        }
    }

    @Test("int16 activations stay close to Float32 activations", arguments: [GGMLType.q8_0, .q5_0, .q4_K, .q6_K], KernelPath.available)
    func closeToFloat32(_ type: GGMLType, path: KernelPath) throws {
        let inputs = 512, outputs = 64, rows = 4
        let blocks = QuantizedKernelTests().randomBlocks(type, outputs: outputs, inputs: inputs, seed: 5)
        var rng = SplitMix64(seed: 3)
        let x = (0..<(rows * inputs)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        blocks.withUnsafeBytes { raw in
            let integer = WeightMatrix(inputs: inputs, outputs: outputs, values: nil, quantized: (type, raw.baseAddress!), integerActivations: true, kernels: path)
            let float = WeightMatrix(inputs: inputs, outputs: outputs, values: nil, quantized: (type, raw.baseAddress!))
            var a = [Float](repeating: 0, count: rows * outputs), b = a
            x.withUnsafeBufferPointer { xp in
                a.withUnsafeMutableBufferPointer { integer.apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) }
                b.withUnsafeMutableBufferPointer { float.apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) }
            }
            // Rounding x to 1/65534 of its block maximum: ~1e-5 of the output scale.
            let scale = b.map(abs).max()!
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            #expect(worst > 0, "rounded activations must differ somewhere, else the integer path is not running")
            #expect(worst <= 1e-4 * scale, "\(type.name): worst \(worst) of scale \(scale)")
        }
    }
}

/// Gemma 3 270M with int16 activations (the default) against the same `transformers` reference as
/// `Gemma3GoldenTests`, on the path this CPU picks and on each slower one.
@Suite(.serialized)
struct Int16GoldenTests {
    static let model: any LanguageModel = try! Fixtures.model(at: Fixtures.defaultModelPath, precision: .int16)

    /// Measured on the six fixture cases: see `golden`'s printout. Every greedy id must still match.
    static let tolerance: Float = 0.02

    @Test("greedy ids match the reference; top-5 logits within the int16 tolerance", arguments: Fixtures.golden("gemma3_greedy.json"))
    func golden(_ c: GoldenCase) throws {
        let worst = try checkGolden(c, model: Self.model, tolerance: Self.tolerance)
        print("gemma3 int16 \(c.testDescription): max |Δlogit| = \(worst)")
    }

    @Test("the int16 reference holds on every slower kernel path", arguments: KernelPath.available.dropLast())
    func slowerPaths(_ path: KernelPath) throws {
        let model = try Fixtures.model(at: Fixtures.defaultModelPath, precision: .int16, kernels: path)
        for c in Fixtures.golden("gemma3_greedy.json") {
            let worst = try checkGolden(c, model: model, tolerance: Self.tolerance)
            print("gemma3 int16 on \(path.rawValue), \(c.testDescription): max |Δlogit| = \(worst)")
        }
    }
}

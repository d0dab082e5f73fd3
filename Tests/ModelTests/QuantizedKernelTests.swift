import Foundation
import GGUF
import Model
import Testing

/// The quantized-block kernels against Float32 sgemm on the same dequantized weights, for every
/// block type with a kernel and every row count the kernels serve.
struct QuantizedKernelTests {
    /// Random blocks whose f16 scale fields are finite (the dequantizer tests cover the formats).
    func randomBlocks(_ type: GGMLType, outputs: Int, inputs: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let count = type.byteCount(elements: outputs * inputs)!
        var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let scaleOffsets: [Int]
        switch type {
        case .q8_0, .q5_0: scaleOffsets = [0]
        case .q4_K: scaleOffsets = [0, 2]
        case .q6_K: scaleOffsets = [208]
        default: scaleOffsets = []
        }
        for block in 0..<(count / type.blockBytes) {
            for offset in scaleOffsets {
                let scale = Float16(Float(rng.next() % 1000) / 20_000 + 0.001).bitPattern
                bytes[block * type.blockBytes + offset] = UInt8(scale & 0xFF)
                bytes[block * type.blockBytes + offset + 1] = UInt8(scale >> 8)
            }
        }
        return bytes
    }

    @Test("kernel equals sgemm on the dequantized weights, on every kernel path this CPU runs",
          arguments: [GGMLType.q8_0, .q5_0, .q4_K, .q6_K], KernelPath.available)
    func matchesFloat32(_ type: GGMLType, _ path: KernelPath) throws {
        let inputs = 512, outputs = 96
        let blocks = randomBlocks(type, outputs: outputs, inputs: inputs, seed: UInt64(type.rawValue))
        let values = FloatBuffer(count: inputs * outputs)
        blocks.withUnsafeBytes { Dequantizer.dequantize($0, type: type, count: inputs * outputs, into: values.pointer) }
        var rng = SplitMix64(seed: 7)
        let x = (0..<(8 * inputs)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        try blocks.withUnsafeBytes { raw in
            let quantized = WeightMatrix(inputs: inputs, outputs: outputs, values: values,
                                         quantized: (type, raw.baseAddress!), kernels: path)
            let plain = WeightMatrix(inputs: inputs, outputs: outputs, values: values)
            for rows in 1...8 {
                var fast = [Float](repeating: .nan, count: rows * outputs), slow = fast
                x.withUnsafeBufferPointer { xp in
                    fast.withUnsafeMutableBufferPointer { quantized.apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) }
                    slow.withUnsafeMutableBufferPointer { plain.apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) }
                }
                // Float32 summation of `inputs` terms in another order: error ≤ ~n·ε·Σ|w·x|. A wrong bit
                // in a block layout moves results by whole weights, far above this bound.
                for r in 0..<rows {
                    for o in 0..<outputs {
                        var magnitude: Float = 0
                        for i in 0..<inputs { magnitude += abs(values[o * inputs + i] * x[r * inputs + i]) }
                        let difference = abs(fast[r * outputs + o] - slow[r * outputs + o])
                        try #require(difference <= 1e-5 * magnitude + 1e-6, "\(type.name), \(rows) rows, row \(r), output \(o): \(fast[r * outputs + o]) vs \(slow[r * outputs + o])")
                    }
                }
            }
        }
    }
}

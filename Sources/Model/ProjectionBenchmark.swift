import Dispatch
import GGUF

/// Times one product of each kind of projection in a GGUF file (block type × shape), with Float32
/// and with int16 activations: where a decode step's time goes, kernel by kernel.
public enum ProjectionBenchmark {
    public struct Row: Sendable {
        public let tensor: String
        public let type: String
        public let inputs: Int
        public let outputs: Int
        /// Milliseconds per product, by precision (the int16 entry is absent without its kernel).
        public let milliseconds: [KernelPrecision: Double]
    }

    /// The first tensor of each (type, shape), timed over `rows` activation rows (best of `repeats`).
    public static func run(_ gguf: GGUFFile, rows: Int, repeats: Int = 5, kernels: KernelPath = .detected) -> [Row] {
        var seen = Set<String>(), result: [Row] = []
        for name in gguf.tensors.keys.sorted() {
            guard let info = gguf.tensors[name], info.shape.count == 2,
                  KernelPath.hasQuantizedKernel(info.type) else { continue }
            let (inputs, outputs) = (info.shape[0], info.shape[1])
            guard seen.insert("\(info.type.name) \(inputs)×\(outputs)").inserted else { continue }
            let blocks = gguf.bytes(of: info).baseAddress!
            let x = FloatBuffer(count: rows * inputs), y = FloatBuffer(count: rows * outputs)
            var rng = SplitMix64(seed: 7)
            for i in 0..<rows * inputs { x.pointer[i] = Float(Int(rng.next() % 2001) - 1000) / 1000 }
            var times: [KernelPrecision: Double] = [:]
            for precision in KernelPrecision.allCases {
                let integer = precision == .int16
                if integer, !kernels.tilesSupported(info.type, inputs: inputs, outputs: outputs) { continue }
                let matrix = WeightMatrix(inputs: inputs, outputs: outputs, values: nil, quantized: (info.type, blocks),
                                          integerActivations: integer, storage: gguf.storage, kernels: kernels)
                var best = Double.infinity
                for _ in 0..<repeats {
                    let start = DispatchTime.now().uptimeNanoseconds
                    matrix.apply(x.pointer, rows: rows, into: y.pointer)
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
                times[precision] = best
            }
            result.append(Row(tensor: name, type: info.type.name, inputs: inputs, outputs: outputs,
                              milliseconds: times))
        }
        return result
    }
}

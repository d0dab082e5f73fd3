import Dispatch
import GGUF

/// Dequantizes the tensors an architecture asks for into Float32, checking every shape.
///
/// All tensors are dequantized up front, in parallel: Float32 weights feed OpenBLAS sgemm/sgemv.
struct WeightLoader {
    let gguf: GGUFFile
    private let loaded: [String: FloatBuffer]
    let precision: KernelPrecision
    let kernels: KernelPath

    /// Dequantizes `names` (all must exist) using every core. Names in `quantizedOnly` whose block
    /// type has a kernel are left in the file (see `WeightMatrix`).
    init(gguf: GGUFFile, names: [String], quantizedOnly: Set<String> = [],
         precision: KernelPrecision = .default, kernels: KernelPath = .detected) throws {
        self.gguf = gguf
        self.precision = precision
        self.kernels = kernels
        // Matrices repacked for the integer kernel need no Float32 copy (see `WeightMatrix.apply`).
        let names = names.filter { name in
            guard let info = gguf.tensors[name] else { return true }
            if quantizedOnly.contains(name), KernelPath.hasQuantizedKernel(info.type) { return false }
            return !(info.shape.count == 2 && Self.repacks(info, precision: precision, kernels: kernels))
        }
        let infos = try names.map { try gguf.tensor($0) }
        let buffers = infos.map { FloatBuffer(count: $0.elementCount) }
        // Largest first so the two cores finish together.
        let order = infos.indices.sorted { infos[$0].elementCount > infos[$1].elementCount }
        DispatchQueue.concurrentPerform(iterations: order.count) { i in
            let index = order[i]
            gguf.dequantize(infos[index], into: buffers[index].pointer)
        }
        loaded = Dictionary(uniqueKeysWithValues: zip(names, buffers))
    }

    /// A `[outputs × inputs]` matrix (ggml shape `[inputs, outputs]`).
    func matrix(_ name: String, inputs: Int, outputs: Int) throws -> WeightMatrix {
        try matrix(name, inputs: inputs, rows: 0..<outputs, of: outputs)
    }

    /// Rows `rows` of a `[total × inputs]` matrix as a matrix of their own (all of them, or a part of a
    /// fused one: Phi-3's `attn_qkv`, `ffn_up`): their Float32 values (a copy for a part), and their
    /// quantized blocks where they lie in the file.
    func matrix(_ name: String, inputs: Int, rows: Range<Int>, of total: Int) throws -> WeightMatrix {
        let info = try gguf.tensor(name)
        guard info.shape == [inputs, total] else {
            throw ModelError.gguf(.shapeMismatch(file: gguf.path, tensor: name, expected: [inputs, total],
                                                 actual: info.shape))
        }
        let values = loaded[name].map { all in
            guard rows.count < total else { return all }
            let part = FloatBuffer(count: rows.count * inputs)
            part.pointer.update(from: all.pointer + rows.lowerBound * inputs, count: rows.count * inputs)
            return part
        }
        var quantized: (GGMLType, UnsafeRawPointer)?
        if KernelPath.hasQuantizedKernel(info.type) {
            let rowBytes = inputs / info.type.blockSize * info.type.blockBytes
            quantized = (info.type, gguf.bytes(of: info).baseAddress! + rows.lowerBound * rowBytes)
        }
        return WeightMatrix(inputs: inputs, outputs: rows.count, values: values, quantized: quantized,
                            integerActivations: Self.repacks(info, precision: precision, kernels: kernels),
                            storage: gguf.storage, kernels: kernels)
    }

    /// Whether the 2-D tensor `info` becomes `IntegerTiles` (and so needs no Float32 copy).
    private static func repacks(_ info: TensorInfo, precision: KernelPrecision, kernels: KernelPath) -> Bool {
        precision == .int16 && kernels.tilesSupported(info.type, inputs: info.shape[0], outputs: info.shape[1])
    }

    /// A vector of `count` values.
    func vector(_ name: String, count: Int) throws -> FloatBuffer {
        let info = try gguf.tensor(name)
        guard info.shape == [count] else {
            throw ModelError.gguf(.shapeMismatch(file: gguf.path, tensor: name, expected: [count], actual: info.shape))
        }
        return loaded[name]!
    }
}

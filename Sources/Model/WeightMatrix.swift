import CBLAS
import Foundation
import GGUF
import QuantTiles

/// A projection weight `W[outputs × inputs]`, row-major, as GGUF stores it (ggml shape `[inputs, outputs]`).
///
/// With int16 kernels (`KernelPrecision`), a matrix in a block type `IntegerTiles` supports is
/// repacked into tiles at load and every batch runs the integer kernel; it has no Float32 copy.
/// Otherwise Float32 values feed OpenBLAS, and when the file stores the matrix in a block type with
/// a Float32-activation kernel, the quantized blocks (still in the mmap'd file) serve small batches,
/// where reading fewer bytes counts. A matrix may have no Float32 copy at all (`values` nil): then
/// every batch runs a quantized kernel. The embedding / output head is kept that way: its Float32
/// copy would be the largest in the model, and the head only ever sees the few rows that need logits.
public struct WeightMatrix: @unchecked Sendable {
    public let inputs: Int
    public let outputs: Int
    public let values: FloatBuffer?
    /// Quantized rows in the mapped file, kept alive by `storage`.
    let quantized: (type: GGMLType, blocks: UnsafeRawPointer)?
    /// The quantized blocks repacked for the integer kernels (see `KernelPrecision`): when present,
    /// they serve the batches the quantized blocks would.
    let tiles: IntegerTiles?
    /// The integer tiles, when the matrix was repacked (for tests and memory reports).
    public var integerTiles: IntegerTiles? { tiles }
    let storage: AnyObject?
    /// The build of the quantized kernels its products run.
    public let kernels: KernelPath

    public init(inputs: Int, outputs: Int, values: FloatBuffer?,
                quantized: (type: GGMLType, blocks: UnsafeRawPointer)? = nil,
                integerActivations: Bool = false, storage: AnyObject? = nil, kernels: KernelPath = .detected) {
        precondition(values.map { $0.count == inputs * outputs } ?? (quantized != nil),
                     "a weight matrix needs Float32 values or quantized blocks")
        self.inputs = inputs
        self.outputs = outputs
        self.values = values
        self.quantized = quantized
        self.kernels = kernels
        if integerActivations, let quantized, kernels.tilesSupported(quantized.type, inputs: inputs, outputs: outputs) {
            // The products and row look-ups read the tiles from now on, so the file's blocks need not
            // stay resident: each stretch is let go as soon as it is repacked, and the whole (pages at
            // stretch edges) after.
            let file = UnsafeShared(storage as? ByteStorage)
            tiles = IntegerTiles(quantized.type, quantized.blocks, inputs: inputs, outputs: outputs) { start, bytes in
                file.value?.dropResidentPages(start, count: bytes)
            }
            let rowBytes = inputs / quantized.type.blockSize * quantized.type.blockBytes
            file.value?.dropResidentPages(quantized.blocks, count: rowBytes * outputs)
        } else {
            tiles = nil
        }
        self.storage = storage
    }

    /// `y[rows × outputs] = x[rows × inputs] · Wᵀ`. One row uses sgemv, which OpenBLAS 0.3.21 runs
    /// faster than a one-row sgemm.
    @inline(__always)
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        // Matrices with tiles have no Float32 copy: the integer products beat sgemm at every batch size
        // on every path (`tandem bench --projections`, and prompt processing against sgemm over tiles
        // decoded for the batch on AVX2).
        if let tiles {
            kernels.integerProduct([(tiles, y)], x: x, rows: rows)
            return
        }
        guard let values else {
            let quantized = quantized!
            let most = KernelPath.quantizedMaximumRows
            for start in stride(from: 0, to: rows, by: most) {
                kernels.quantizedProduct(quantized.type, quantized.blocks, inputs: inputs, outputs: outputs,
                                         x: x + start * inputs, rows: min(most, rows - start),
                                         into: y + start * outputs)
            }
            return
        }
        if let quantized, rows <= KernelPath.quantizedMaximumRows {
            kernels.quantizedProduct(quantized.type, quantized.blocks, inputs: inputs, outputs: outputs, x: x,
                                     rows: rows, into: y)
        } else if rows == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outputs), Int32(inputs), 1, values.pointer, Int32(inputs),
                        x, 1, 0, y, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs),
                        1, x, Int32(inputs), values.pointer, Int32(inputs), 0, y, Int32(outputs))
        }
    }

    /// `y_i = x · W_iᵀ` for several matrices of the same inputs: with integer tiles, `x` is rounded
    /// once and the products share one hand-off to the cores; else one product after another.
    public static func apply(_ products: [(w: WeightMatrix, y: UnsafeMutablePointer<Float>)], x: UnsafePointer<Float>,
                             rows: Int) {
        let kernels = products[0].w.kernels
        let inputs = products[0].w.inputs
        if products.allSatisfy({ $0.w.tiles != nil && $0.w.inputs == inputs && $0.w.kernels == kernels }) {
            kernels.integerProduct(products.map { ($0.w.tiles!, $0.y) }, x: x, rows: rows)
        } else {
            for p in products { p.w.apply(x, rows: rows, into: p.y) }
        }
    }

    /// Row `i` of W (`inputs` floats), e.g. one token's embedding.
    public func row(_ i: Int, into out: UnsafeMutablePointer<Float>) {
        if let values {
            out.update(from: values.pointer + i * inputs, count: inputs)
        } else if let tiles {
            tiles.row(i, into: out)
        } else {
            let (type, blocks) = quantized!
            let rowBytes = inputs / type.blockSize * type.blockBytes
            Dequantizer.dequantize(UnsafeRawBufferPointer(start: blocks + i * rowBytes, count: rowBytes), type: type,
                                   count: inputs, into: out)
        }
    }
}

/// The linear layers a LoRA adapter may target.
public enum ProjectionSite: String, Sendable, CaseIterable {
    case q, k, v, o, gate, up, down
}

/// Adds a low-rank delta to a projection's output for the rows that carry an adapter.
///
/// Architectures call it after every base projection; the adapter side implements it (the model
/// never imports adapter code). `input` is `[rows × inputs]`, `output` `[rows × outputs]`.
public protocol ProjectionDelta: Sendable {
    func addDelta(site: ProjectionSite, layer: Int, input: UnsafePointer<Float>, inputs: Int,
                  output: UnsafeMutablePointer<Float>, outputs: Int, rows: Int)
}

/// Several projection sites over the same input (q, k, v; gate, up): with integer tiles the input
/// is rounded once and the base products share one hand-off to the cores; then each delta.
@inline(__always)
func project(_ x: UnsafePointer<Float>, rows: Int,
             _ products: [(w: WeightMatrix, y: UnsafeMutablePointer<Float>, site: ProjectionSite)],
             layer: Int, delta: (any ProjectionDelta)?) {
    WeightMatrix.apply(products.map { ($0.w, $0.y) }, x: x, rows: rows)
    for p in products {
        delta?.addDelta(site: p.site, layer: layer, input: x, inputs: p.w.inputs, output: p.y, outputs: p.w.outputs,
                        rows: rows)
    }
}

/// One projection site: the base product, then the optional delta.
@inline(__always)
func project(_ x: UnsafePointer<Float>, rows: Int, _ w: WeightMatrix, into y: UnsafeMutablePointer<Float>,
             site: ProjectionSite, layer: Int, delta: (any ProjectionDelta)?) {
    w.apply(x, rows: rows, into: y)
    delta?.addDelta(site: site, layer: layer, input: x, inputs: w.inputs, output: y, outputs: w.outputs, rows: rows)
}

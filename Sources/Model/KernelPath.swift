@_exported import Parallel
import Foundation
import GGUF
import QuantKernelsAVX2
import QuantKernelsAVX512
import QuantKernelsAVXVNNI
import QuantKernelsVNNI
import QuantTiles

/// Which build of the kernels runs: one binary carries the quantized matrix products and the other
/// hot loops (`VectorKernels`: attention, the gated GELU, the sampler's passes) compiled for each
/// x86-64 class, and the CPU's flags choose at start-up (everything else is built for the AVX2
/// class, so the binary runs on any x86-64 server CPU since 2015).
///
/// - `avx2`: AVX2 + FMA + F16C (Haswell and later, Zen 1 and later): integer dot products by `vpmaddwd`.
/// - `avx-vnni`: AVX-VNNI as well (Alder Lake, Sierra Forest and later, Zen 5): the AVX2 build with
///   `vpdpwssd` on 8 outputs per instruction.
/// - `avx512`: AVX-512 F/BW/VL/DQ (Skylake-SP and later): 16-float vectors in one register, and the
///   VNNI path's integer kernel with `vpmaddwd` and an add in place of `vpdpwssd`.
/// - `avx512-vnni`: AVX-512 VNNI as well (Ice Lake, Cascade Lake, Zen 4 and later): `vpdpwssd` on
///   16 outputs per instruction.
///
/// On every path, matrices in a block type `IntegerTiles` supports are repacked into tiles at load
/// and multiplied with int16 activations (`IntegerProduct`).
///
/// `TANDEM_KERNEL_PATH` (or `--kernel-path`) forces a path; one the CPU cannot run is refused.
public enum KernelPath: String, CaseIterable, Sendable, Comparable {
    case avx2
    case avxVNNI = "avx-vnni"
    case avx512
    case avx512VNNI = "avx512-vnni"

    /// Paths in order of preference: a later one is faster where the CPU runs both.
    public static func < (a: KernelPath, b: KernelPath) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The CPU flags this path's build needs, as /proc/cpuinfo names them.
    public var requiredFlags: [String] {
        switch self {
        case .avx2: ["avx2", "fma", "f16c"]
        case .avxVNNI: ["avx2", "fma", "f16c", "avx_vnni"]
        case .avx512: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]
        case .avx512VNNI: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"]
        }
    }

    /// The flags the kernel reports in /proc/cpuinfo (they include only features the OS enabled, so
    /// AVX-512 state is saved on context switches).
    static let cpuFlags: Set<String> = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " ").map(String.init))
    }()

    /// Every path this CPU can run, in order of preference (the AVX2 build always: it is the
    /// binary's baseline). A CPU may run a later path and not an earlier one (AVX-512 VNNI without
    /// AVX-VNNI), so this is a set, not a prefix of the paths.
    public static let available = available(flags: cpuFlags)

    /// The paths a CPU with `flags` runs, in order of preference.
    public static func available(flags: Set<String>) -> [KernelPath] {
        allCases.filter { $0 == .avx2 || $0.requiredFlags.allSatisfy(flags.contains) }
    }

    /// The fastest path this CPU runs.
    public static var detected: KernelPath { available.last! }

    public struct Unavailable: Error, CustomStringConvertible {
        public let requested: String
        public var description: String {
            "kernel path '\(requested)' is not available on this CPU (available: "
                + KernelPath.available.map(\.rawValue).joined(separator: ", ") + ")"
        }
    }

    /// The path named by `name` (or by `TANDEM_KERNEL_PATH`, or the detected one), if this CPU runs it.
    public static func chosen(_ name: String? = nil) throws -> KernelPath {
        guard let name = name ?? ProcessInfo.processInfo.environment["TANDEM_KERNEL_PATH"], !name.isEmpty else {
            return detected
        }
        guard let path = KernelPath(rawValue: name), available.contains(path) else {
            throw Unavailable(requested: name)
        }
        return path
    }

    /// The path of the sampler's passes over logits, for the process: the chosen one (set it before
    /// serving when a flag names another).
    nonisolated(unsafe) public static var active: KernelPath = (try? chosen()) ?? .detected

    /// `y_i = x · W_iᵀ` for integer tiles of the same inputs, by this path's integer kernel.
    @inline(__always)
    func integerProduct(_ products: [(tiles: IntegerTiles, y: UnsafeMutablePointer<Float>)], x: UnsafePointer<Float>,
                        rows: Int) {
        switch self {
        case .avx2: IntegerProduct.apply(products, x: x, rows: rows, kernel: QuantKernelsAVX2.IntegerDotKernel.self)
        case .avxVNNI:
            IntegerProduct.apply(products, x: x, rows: rows, kernel: QuantKernelsAVXVNNI.IntegerDotKernel.self)
        case .avx512: IntegerProduct.apply(products, x: x, rows: rows, kernel: QuantKernelsAVX512.IntegerDotKernel.self)
        case .avx512VNNI:
            IntegerProduct.apply(products, x: x, rows: rows, kernel: QuantKernelsVNNI.IntegerDotKernel.self)
        }
    }

    /// `y[rows × outputs] = x[rows × inputs] · Wᵀ` straight from quantized blocks, by this path's build.
    @inline(__always)
    func quantizedProduct(_ type: GGMLType, _ w: UnsafeRawPointer, inputs: Int, outputs: Int, x: UnsafePointer<Float>,
                          rows: Int, into y: UnsafeMutablePointer<Float>) {
        switch self {
        case .avx2: QuantKernelsAVX2.QuantizedKernel.apply(type, w, inputs: inputs, outputs: outputs, x: x, rows: rows,
                                                           into: y)
        case .avxVNNI: QuantKernelsAVX2.QuantizedKernel.apply(type, w, inputs: inputs, outputs: outputs, x: x,
                                                              rows: rows, into: y)
        case .avx512: QuantKernelsAVX512.QuantizedKernel.apply(type, w, inputs: inputs, outputs: outputs, x: x,
                                                               rows: rows, into: y)
        case .avx512VNNI: QuantKernelsVNNI.QuantizedKernel.apply(type, w, inputs: inputs, outputs: outputs, x: x,
                                                                 rows: rows, into: y)
        }
    }

    /// Attention of up to four query heads against one KV head (`VectorKernels.attendHeads`), over
    /// Float32 or Float16 keys and values.
    @inline(__always)
    func attendHeads(query q: UnsafePointer<Float>, heads: Int,
                     runs: UnsafeBufferPointer<QuantKernelsAVX2.VectorKernels.Run>,
                     count n: Int, headDim: Int, kvDim: Int, halfPrecision: Bool, scale: Float,
                     scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
                     logSumExp: UnsafeMutablePointer<Float>?) {
        switch self {
        case .avx2: QuantKernelsAVX2.VectorKernels.attendHeads(query: q, heads: heads, runs: runs, count: n,
                                                               headDim: headDim, kvDim: kvDim,
                                                               halfPrecision: halfPrecision, scale: scale,
                                                               scores: scores, into: out, logSumExp: logSumExp)
        case .avxVNNI: QuantKernelsAVX2.VectorKernels.attendHeads(query: q, heads: heads, runs: runs, count: n,
                                                                  headDim: headDim, kvDim: kvDim,
                                                                  halfPrecision: halfPrecision, scale: scale,
                                                                  scores: scores, into: out, logSumExp: logSumExp)
        case .avx512: QuantKernelsAVX512.VectorKernels.attendHeads(query: q, heads: heads, runs: runs, count: n,
                                                                   headDim: headDim, kvDim: kvDim,
                                                                   halfPrecision: halfPrecision, scale: scale,
                                                                   scores: scores, into: out, logSumExp: logSumExp)
        case .avx512VNNI: QuantKernelsVNNI.VectorKernels.attendHeads(query: q, heads: heads, runs: runs, count: n,
                                                                     headDim: headDim, kvDim: kvDim,
                                                                     halfPrecision: halfPrecision, scale: scale,
                                                                     scores: scores, into: out,
                                                                     logSumExp: logSumExp)
        }
    }

    /// `a[i] = gelu_tanh(a[i]) * b[i]` (Gemma's gated MLP).
    public func geluTanhGate(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        switch self {
        case .avx2: QuantKernelsAVX2.VectorKernels.geluTanhGate(a, b, count: count)
        case .avxVNNI: QuantKernelsAVX2.VectorKernels.geluTanhGate(a, b, count: count)
        case .avx512: QuantKernelsAVX512.VectorKernels.geluTanhGate(a, b, count: count)
        case .avx512VNNI: QuantKernelsVNNI.VectorKernels.geluTanhGate(a, b, count: count)
        }
    }

    /// In-place softmax of `n` values.
    public func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        switch self {
        case .avx2: QuantKernelsAVX2.VectorKernels.softmax(x, count: n)
        case .avxVNNI: QuantKernelsAVX2.VectorKernels.softmax(x, count: n)
        case .avx512: QuantKernelsAVX512.VectorKernels.softmax(x, count: n)
        case .avx512VNNI: QuantKernelsVNNI.VectorKernels.softmax(x, count: n)
        }
    }

    /// The largest value of `x` (−∞ when empty).
    public func maximum(_ x: UnsafeBufferPointer<Float>) -> Float {
        switch self {
        case .avx2: QuantKernelsAVX2.VectorKernels.maximum(x)
        case .avxVNNI: QuantKernelsAVX2.VectorKernels.maximum(x)
        case .avx512: QuantKernelsAVX512.VectorKernels.maximum(x)
        case .avx512VNNI: QuantKernelsVNNI.VectorKernels.maximum(x)
        }
    }

    /// Logits to temperature weights, in place; returns their sum (`VectorKernels.exponentiate`).
    public func exponentiate(_ x: UnsafeMutableBufferPointer<Float>, temperature: Float) -> Double {
        switch self {
        case .avx2: QuantKernelsAVX2.VectorKernels.exponentiate(x, temperature: temperature)
        case .avxVNNI: QuantKernelsAVX2.VectorKernels.exponentiate(x, temperature: temperature)
        case .avx512: QuantKernelsAVX512.VectorKernels.exponentiate(x, temperature: temperature)
        case .avx512VNNI: QuantKernelsVNNI.VectorKernels.exponentiate(x, temperature: temperature)
        }
    }

    /// Block types with a Float32-activation quantized kernel (the same on every path).
    static func hasQuantizedKernel(_ type: GGMLType) -> Bool { QuantKernelsAVX2.QuantizedKernel.supports(type) }

    /// Rows up to which the quantized kernel beats sgemm on Float32 weights.
    static var quantizedMaximumRows: Int { QuantKernelsAVX2.QuantizedKernel.maximumRows }

    /// Whether a matrix of this type and shape is repacked into integer tiles on this path.
    func tilesSupported(_ type: GGMLType, inputs: Int, outputs: Int) -> Bool {
        IntegerTiles.supports(type, inputs: inputs, outputs: outputs)
    }
}

/// The CPU's name as the kernel reports it, for logs and benchmark tables.
public enum CPUInfo {
    public static let modelName: String = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }()
}

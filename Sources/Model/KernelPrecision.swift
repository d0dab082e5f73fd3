/// How quantized matrix products treat the activations.
public enum KernelPrecision: String, Sendable, CaseIterable {
    /// Float32 activations times weights decoded to Float32 (`QuantizedKernel`).
    case float32
    /// Activations rounded to int16 per 32 values and integer dot products (`IntegerDotKernel`):
    /// faster in batches, logits close to the Float32 path's. Block types or CPUs without the
    /// kernel use `float32`.
    case int16

    public static var `default`: KernelPrecision { .int16 }
}

extension KernelPrecision {
    /// Whether the chosen kernel path has the integer kernels (AVX-512 VNNI, see `KernelPath`).
    public static var int16Available: Bool { ((try? KernelPath.chosen()) ?? .detected).hasIntegerKernels }
}

/// How quantized matrix products treat the activations.
public enum KernelPrecision: String, Sendable, CaseIterable {
    /// Float32 activations times weights decoded to Float32 (`QuantizedKernel`).
    case float32
    /// Activations rounded to int16 per 32 values and integer dot products (`IntegerProduct`):
    /// faster at every batch size, logits close to the Float32 path's. Block types without
    /// tiles use `float32`.
    case int16

    public static var `default`: KernelPrecision { .int16 }
}

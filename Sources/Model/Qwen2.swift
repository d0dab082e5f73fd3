import Foundation
import GGUF

/// Qwen 2 and 2.5: the Llama-shaped decoder with biases on q, k and v, RoPE over halves (the
/// converter does not permute), usually a tied head. ChatML turns end with `<|im_end|>`.
public final class Qwen2Model: ArchitectureModel, @unchecked Sendable {
    public static let traits = ArchitectureTraits(name: "qwen2", ropeLayout: .halves, defaultChatTemplate: "chatml",
                                                  endOfTurnPieces: ["<|im_end|>"])

    let stack: DecoderStack
    public var config: ModelConfig { stack.config }

    public init(gguf: GGUFFile, precision: KernelPrecision = .default,
                kernels: KernelPath = .detected) throws {
        var c = try ModelConfig(gguf: gguf, architecture: Self.traits.name, fullRoPE: true)
        // Qwen 2's sliding window is off in every released checkpoint; llama.cpp ignores it too.
        c.withoutSlidingWindow()
        stack = try DecoderStack(gguf: gguf, config: c, parts: .init(projectionBiases: true),
                                 ropeLayout: Self.traits.ropeLayout, precision: precision, kernels: kernels)
    }

    public func forward(_ batch: ForwardBatch) throws -> Logits { try stack.forward(batch) }
}

import Foundation
import GGUF

/// Qwen 3 (dense): the Llama-shaped decoder with an RMSNorm over each query and key head before RoPE,
/// no biases, RoPE over halves; the head size is `attention.key_length` (not hidden / heads).
public final class Qwen3Model: ArchitectureModel, @unchecked Sendable {
    public static let traits = ArchitectureTraits(name: "qwen3", ropeLayout: .halves, defaultChatTemplate: "chatml",
                                                  endOfTurnPieces: ["<|im_end|>"])

    let stack: DecoderStack
    public var config: ModelConfig { stack.config }

    public init(gguf: GGUFFile, precision: KernelPrecision = .default,
                kernels: KernelPath = .detected) throws {
        var c = try ModelConfig(gguf: gguf, architecture: Self.traits.name, fullRoPE: true)
        c.withoutSlidingWindow()
        stack = try DecoderStack(gguf: gguf, config: c, parts: .init(headNorms: true),
                                 ropeLayout: Self.traits.ropeLayout, precision: precision, kernels: kernels)
    }

    public func forward(_ batch: ForwardBatch) throws -> Logits { try stack.forward(batch) }
}

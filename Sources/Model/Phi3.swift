import Foundation
import GGUF

/// Phi-3 (mini, medium): the Llama-shaped decoder with q/k/v fused into `attn_qkv` and gate/up into
/// `ffn_up` (split at load), RoPE over halves. Attention is full, as in llama.cpp: the file's sliding
/// window is not applied. The long-context RoPE of the 128k models (`rope_factors_long`) is refused.
public final class Phi3Model: ArchitectureModel, @unchecked Sendable {
    public static let traits = ArchitectureTraits(name: "phi3", ropeLayout: .halves, defaultChatTemplate: "phi3",
                                                  endOfTurnPieces: ["<|end|>"],
                                                  peftModules: ["o_proj": .o, "down_proj": .down],
                                                  fusedPEFTModules: ["qkv_proj": [.q, .k, .v],
                                                                     "gate_up_proj": [.gate, .up]])

    let stack: DecoderStack
    public var config: ModelConfig { stack.config }

    public init(gguf: GGUFFile, precision: KernelPrecision = .default,
                kernels: KernelPath = .detected) throws {
        var c = try ModelConfig(gguf: gguf, architecture: Self.traits.name, fullRoPE: true)
        if gguf.tensors["rope_factors_long.weight"] != nil || gguf.tensors["rope_factors_short.weight"] != nil {
            throw ModelError.invalidConfig(file: gguf.path, reason: "Phi-3's long-context RoPE "
                                               + "(rope_factors_long / rope_factors_short) is not supported")
        }
        c.withoutSlidingWindow()
        stack = try DecoderStack(gguf: gguf, config: c, parts: .init(fusedProjections: true),
                                 ropeLayout: Self.traits.ropeLayout, precision: precision, kernels: kernels)
    }

    public func forward(_ batch: ForwardBatch) throws -> Logits { try stack.forward(batch) }
}

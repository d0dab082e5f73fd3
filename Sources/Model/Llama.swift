import Foundation
import GGUF

/// Llama-family decoder: Llama 2, TinyLlama, Llama 3 (its RoPE scaling is the file's
/// `rope_freqs.weight`) and Mistral (a sliding window where the file sets
/// `llama.attention.sliding_window`; llama.cpp's converter writes none, and then attention is full).
///
/// llama.cpp's converter permutes q/k rows so RoPE rotates interleaved pairs (x[2i], x[2i+1]).
public final class LlamaModel: ArchitectureModel, @unchecked Sendable {
    public static let traits = ArchitectureTraits(name: "llama", ropeLayout: .interleaved,
                                                  defaultChatTemplate: "llama2", endOfTurnPieces: ["<|eot_id|>"])

    let stack: DecoderStack
    public var config: ModelConfig { stack.config }

    public init(gguf: GGUFFile, precision: KernelPrecision = .default,
                kernels: KernelPath = .detected) throws {
        let c = try ModelConfig(gguf: gguf, architecture: Self.traits.name, fullRoPE: true)
        stack = try DecoderStack(gguf: gguf, config: c, parts: .init(), ropeLayout: Self.traits.ropeLayout,
                                 precision: precision, kernels: kernels)
    }

    public func forward(_ batch: ForwardBatch) throws -> Logits { try stack.forward(batch) }
}

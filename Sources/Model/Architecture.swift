import GGUF

/// What an architecture declares beside its forward pass, for the parts of Tandem that are not
/// the model: how its RoPE pairs dimensions, which chat format and end-of-turn pieces it uses
/// when the GGUF does not say, and how PEFT adapters' tensors map onto its projections. Each model
/// file owns its traits; adding an architecture is that file plus one line in `ModelLoader`.
public struct ArchitectureTraits: Sendable, Equatable {
    public enum RoPELayout: Sendable, Equatable {
        /// Dimension j pairs with j + d/2 (NeoX, Gemma): rows stay in Hugging Face order.
        case halves
        /// Dimension 2j pairs with 2j + 1: llama.cpp's converter permuted the q/k rows of the base
        /// weights into this order, so adapters' q/k rows need the same permutation.
        case interleaved
    }

    /// `general.architecture` in the GGUF.
    public var name: String
    public var ropeLayout: RoPELayout
    /// The chat format (a `ChatTemplate` name) when the GGUF carries no template Tandem recognizes.
    public var defaultChatTemplate: String
    /// Pieces that end an assistant turn besides EOS, when the vocabulary has them.
    public var endOfTurnPieces: [String]
    /// PEFT `target_modules` names and the projection each one adapts.
    public var peftModules: [String: ProjectionSite]
    /// PEFT modules of fused projections: their lora_B rows are these sites' outputs, in order, and
    /// their lora_A is shared (Phi-3's `qkv_proj`, `gate_up_proj`).
    public var fusedPEFTModules: [String: [ProjectionSite]]

    public init(name: String, ropeLayout: RoPELayout, defaultChatTemplate: String, endOfTurnPieces: [String],
                peftModules: [String: ProjectionSite] = Self.huggingFaceModules,
                fusedPEFTModules: [String: [ProjectionSite]] = [:]) {
        self.name = name
        self.ropeLayout = ropeLayout
        self.defaultChatTemplate = defaultChatTemplate
        self.endOfTurnPieces = endOfTurnPieces
        self.peftModules = peftModules
        self.fusedPEFTModules = fusedPEFTModules
    }

    /// The module names of Hugging Face's Llama-family implementations (Gemma's too).
    public static let huggingFaceModules: [String: ProjectionSite] = [
        "q_proj": .q, "k_proj": .k, "v_proj": .v, "o_proj": .o,
        "gate_proj": .gate, "up_proj": .up, "down_proj": .down,
    ]
}

/// A model type that `ModelLoader` can build from a GGUF: its traits and its loader.
public protocol ArchitectureModel: LanguageModel {
    static var traits: ArchitectureTraits { get }
    init(gguf: GGUFFile, precision: KernelPrecision, kernels: KernelPath) throws
}

extension ArchitectureModel {
    public var traits: ArchitectureTraits { Self.traits }
}

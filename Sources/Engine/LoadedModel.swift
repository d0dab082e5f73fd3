import Dispatch
import GGUF
import Model
import Tokenizer

/// A model file opened for serving: weights, tokenizer and the ids that end a generation.
public struct LoadedModel: Sendable {
    public let path: String
    public let gguf: GGUFFile
    public let model: any LanguageModel
    public let tokenizer: any TextTokenizer
    /// EOS plus the detected chat format's and the architecture's end-of-turn pieces.
    public let stopTokenIDs: Set<Int32>
    public let loadSeconds: Double

    public static func load(path: String, precision: KernelPrecision = .default,
                            kernels: KernelPath = .detected) throws -> LoadedModel {
        let start = DispatchTime.now()
        BLASInfo.fitThreadsToCPUBudget()
        let gguf = try GGUFFile(path: path)
        let tokenizer = try GGUFTokenizer.load(from: gguf)
        let model = try ModelLoader.load(gguf, precision: precision, kernels: kernels)
        let template = detectedTemplate(gguf: gguf, traits: model.traits)
        // Loading read the metadata and every tensor it copied or repacked; what serving still reads
        // from the file (blocks without tiles, small tensors) is faulted back in from the page cache.
        gguf.storage.dropResidentPages(gguf.storage.base, count: gguf.storage.count)
        return LoadedModel(path: path, gguf: gguf, model: model, tokenizer: tokenizer,
                           stopTokenIDs: stopTokenIDs(template: template, tokenizer: tokenizer, traits: model.traits),
                           loadSeconds: seconds(since: start))
    }

    /// The chat format the GGUF's template names, else the architecture's usual one.
    public static func detectedTemplate(gguf: GGUFFile, traits: ArchitectureTraits) -> ChatTemplate {
        ChatTemplate.detect(jinja: gguf.metadata["tokenizer.chat_template"]?.string,
                            fallback: ChatTemplate(rawValue: traits.defaultChatTemplate) ?? .llama2)
    }

    /// The ids that end a generation: EOS, the format's end of turn and the architecture's.
    public static func stopTokenIDs(template: ChatTemplate, tokenizer: any TextTokenizer,
                                    traits: ArchitectureTraits) -> Set<Int32> {
        template.stopTokenIDs(in: tokenizer, endOfTurnPieces: traits.endOfTurnPieces)
    }

    /// The detected chat format (the stop ids above were derived for it).
    public var template: ChatTemplate { Self.detectedTemplate(gguf: gguf, traits: model.traits) }
}

import Dispatch
import GGUF
import Model
import Tokenizer

/// A model file opened for serving: weights, tokenizer and the ids that end a generation.
public struct LoadedModel: Sendable {
    public let path: String
    public let gguf: GGUFFile
    public let model: any LanguageModel
    public let tokenizer: SentencePieceTokenizer
    /// EOS plus the detected chat format's end-of-turn marker when the vocabulary has one.
    public let stopTokenIDs: Set<Int32>
    public let loadSeconds: Double

    public static func load(path: String, precision: KernelPrecision = .default,
                            kernels: KernelPath = .detected) throws -> LoadedModel {
        let start = DispatchTime.now()
        BLASInfo.fitThreadsToCPUBudget()
        let gguf = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: gguf)
        let model = try ModelLoader.load(gguf, precision: precision, kernels: kernels)
        let architecture = (try? gguf.string("general.architecture")) ?? "unknown"
        let template = ChatTemplate.detect(jinja: gguf.metadata["tokenizer.chat_template"]?.string,
                                           architecture: architecture)
        return LoadedModel(path: path, gguf: gguf, model: model, tokenizer: tokenizer,
                           stopTokenIDs: template.stopTokenIDs(in: tokenizer.vocabulary),
                           loadSeconds: seconds(since: start))
    }
}

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
    /// EOS plus the chat end-of-turn marker when the vocabulary has one.
    public let stopTokenIDs: Set<Int32>
    public let loadSeconds: Double

    public static func load(path: String, precision: KernelPrecision = .default) throws -> LoadedModel {
        let start = DispatchTime.now()
        let gguf = try GGUFFile(path: path)
        let tokenizer = try SentencePieceTokenizer(gguf: gguf)
        let model = try ModelLoader.load(gguf, precision: precision)
        var stops: Set<Int32> = [tokenizer.vocabulary.eosID]
        if let endOfTurn = tokenizer.vocabulary.id(of: "<end_of_turn>") { stops.insert(endOfTurn) }
        return LoadedModel(path: path, gguf: gguf, model: model, tokenizer: tokenizer, stopTokenIDs: stops,
                           loadSeconds: seconds(since: start))
    }
}

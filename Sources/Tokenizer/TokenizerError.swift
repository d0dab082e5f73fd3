/// Why a tokenizer could not be built or used.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unsupportedModel(file: String, model: String)
    case missingVocabulary(file: String, reason: String)
    case sentencePiece(String)
    case tokenOutOfRange(Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .unsupportedModel(file, model):
            return "\(file): tokenizer model '\(model)' is not supported "
                + "(only SentencePiece vocabularies, tokenizer.ggml.model = llama)"
        case let .missingVocabulary(file, reason): return "\(file): tokenizer vocabulary unusable: \(reason)"
        case let .sentencePiece(message): return "sentencepiece: \(message)"
        case let .tokenOutOfRange(id, size): return "token id \(id) is outside the vocabulary of \(size)"
        }
    }
}

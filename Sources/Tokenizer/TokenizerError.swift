/// Why a tokenizer could not be built or used.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unsupportedModel(file: String, model: String)
    case unsupportedPreTokenizer(file: String, name: String)
    case missingVocabulary(file: String, reason: String)
    case sentencePiece(String)
    case tokenOutOfRange(Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .unsupportedModel(file, model):
            return "\(file): tokenizer model '\(model)' is not supported "
                + "(tokenizer.ggml.model must be llama (SentencePiece) or gpt2 (byte-level BPE))"
        case let .unsupportedPreTokenizer(file, name):
            return "\(file): pre-tokenizer '\(name)' (tokenizer.ggml.pre) is not supported for byte-level BPE "
                + "(known: llama-bpe/llama3, qwen2, gpt-2/default and their aliases)"
        case let .missingVocabulary(file, reason): return "\(file): tokenizer vocabulary unusable: \(reason)"
        case let .sentencePiece(message): return "sentencepiece: \(message)"
        case let .tokenOutOfRange(id, size): return "token id \(id) is outside the vocabulary of \(size)"
        }
    }
}

import GGUF

/// The tokenizer a GGUF's vocabulary describes, by `tokenizer.ggml.model`: one line per kind.
public enum GGUFTokenizer {
    public static func load(from gguf: GGUFFile) throws -> any TextTokenizer {
        let model = gguf.metadata["tokenizer.ggml.model"]?.string ?? "missing"
        switch model {
        case "llama": return try SentencePieceTokenizer(gguf: gguf)
        case "gpt2": return try ByteLevelBPETokenizer(gguf: gguf)
        default: throw TokenizerError.unsupportedModel(file: gguf.path, model: model)
        }
    }
}

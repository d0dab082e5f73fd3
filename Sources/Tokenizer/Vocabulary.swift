import GGUF

/// SentencePiece piece types; GGUF's `tokenizer.ggml.token_type` uses the same numbers.
public enum PieceType: Int, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// The pieces of a SentencePiece vocabulary and the special ids the model was trained with.
public struct Vocabulary: Sendable {
    public var pieces: [String]
    public var scores: [Float]
    public var types: [PieceType]
    public var bosID: Int32
    public var eosID: Int32
    public var unknownID: Int32
    public var paddingID: Int32?
    public var addBOS: Bool
    /// Whether the model prepends "▁" to the first word (a "dummy prefix"); Gemma does not.
    public var addSpacePrefix: Bool

    public var count: Int { pieces.count }

    public init(pieces: [String], scores: [Float], types: [PieceType], bosID: Int32, eosID: Int32,
                unknownID: Int32, paddingID: Int32?, addBOS: Bool, addSpacePrefix: Bool) {
        self.pieces = pieces
        self.scores = scores
        self.types = types
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
        self.addSpacePrefix = addSpacePrefix
    }

    /// Reads the vocabulary from GGUF tokenizer metadata (`tokenizer.ggml.*`).
    public init(gguf: GGUFFile) throws {
        let model = (try? gguf.string("tokenizer.ggml.model")) ?? "missing"
        guard model == "llama" else { throw TokenizerError.unsupportedModel(file: gguf.path, model: model) }
        guard case let .strings(pieces) = try gguf.array("tokenizer.ggml.tokens") else {
            throw TokenizerError.missingVocabulary(file: gguf.path,
                                                   reason: "tokenizer.ggml.tokens is not a string array")
        }
        var scores = [Float](repeating: 0, count: pieces.count)
        if case let .floats(values)? = try? gguf.array("tokenizer.ggml.scores"), values.count == pieces.count {
            scores = values.map { Float($0) }
        }
        var types = [PieceType](repeating: .normal, count: pieces.count)
        if case let .integers(values)? = try? gguf.array("tokenizer.ggml.token_type"), values.count == pieces.count {
            types = values.map { PieceType(rawValue: $0) ?? .normal }
        }
        func id(_ key: String) -> Int32? { gguf.metadata[key]?.int.flatMap { Int32(exactly: $0) } }
        let unknown = id("tokenizer.ggml.unknown_token_id") ?? types.firstIndex(of: .unknown).map(Int32.init) ?? 0
        guard let bos = id("tokenizer.ggml.bos_token_id"), let eos = id("tokenizer.ggml.eos_token_id") else {
            throw TokenizerError.missingVocabulary(file: gguf.path, reason: "bos/eos token ids are missing")
        }
        for special in [bos, eos, unknown] where !(0..<Int32(pieces.count)).contains(special) {
            throw TokenizerError.missingVocabulary(file: gguf.path,
                                                   reason: "special id \(special) is outside the vocabulary "
                                                       + "of \(pieces.count)")
        }
        self.init(pieces: pieces, scores: scores, types: types, bosID: bos, eosID: eos, unknownID: unknown,
                  paddingID: id("tokenizer.ggml.padding_token_id"),
                  addBOS: gguf.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? true,
                  addSpacePrefix: gguf.metadata["tokenizer.ggml.add_space_prefix"]?.bool ?? true)
    }

    /// The id of a piece, by exact text (linear search: for start-up look-ups only).
    public func id(of piece: String) -> Int32? {
        pieces.firstIndex(of: piece).map(Int32.init)
    }
}

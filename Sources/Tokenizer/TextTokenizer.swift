/// Text to token ids and back for one vocabulary: what the engine, the grammar and the server
/// need of a tokenizer. `SentencePieceTokenizer` is one implementation; a byte-level BPE tokenizer
/// would be another.
public protocol TextTokenizer: AnyObject, Sendable {
    /// Ids run from 0 to `vocabularySize - 1`.
    var vocabularySize: Int { get }
    var bosID: Int32 { get }
    var eosID: Int32 { get }
    /// Whether a prompt starts with `bosID` (the GGUF's `tokenizer.ggml.add_bos_token`).
    var addsBOS: Bool { get }
    /// The id of a piece written as itself (control tokens such as `<end_of_turn>`), nil if none.
    func id(ofPiece piece: String) -> Int32?
    /// Ids for `text`; with `parseSpecial`, control tokens written in the text become their ids.
    func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) throws -> [Int32]
    /// The bytes `id` stands for; control tokens have none unless `includeSpecial`.
    func bytes(of id: Int32, includeSpecial: Bool) throws -> [UInt8]
    func decode(_ ids: [Int32], includeSpecial: Bool) throws -> String
}

extension TextTokenizer {
    public func encode(_ text: String, addBOS: Bool = false) throws -> [Int32] {
        try encode(text, addBOS: addBOS, parseSpecial: true)
    }

    public func encode(_ text: String, parseSpecial: Bool) throws -> [Int32] {
        try encode(text, addBOS: false, parseSpecial: parseSpecial)
    }

    public func bytes(of id: Int32) throws -> [UInt8] { try bytes(of: id, includeSpecial: false) }

    public func decode(_ ids: [Int32]) throws -> String { try decode(ids, includeSpecial: false) }
}

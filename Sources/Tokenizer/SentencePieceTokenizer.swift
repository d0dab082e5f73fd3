import CSentencePiece
import Foundation
import GGUF

/// Text ↔ token ids for SentencePiece vocabularies, backed by libsentencepiece.
///
/// libsentencepiece never produces control ids from text, so `encode` first splits the text on the
/// written forms of control pieces (`<start_of_turn>`, `<bos>`…) and inserts their ids itself.
/// Decoding uses the piece table directly, which is what makes byte-exact streaming possible.
public final class SentencePieceTokenizer: @unchecked Sendable {
    public let vocabulary: Vocabulary
    private let processor: OpaquePointer
    /// Written form of every control piece → id, and the distinct byte lengths to try.
    private let specialPieces: [[UInt8]: Int32]
    private let specialLengths: [Int]
    private let specialFirstBytes: Set<UInt8>
    /// UTF-8 bytes each id decodes to, end to end: id i's are `pieceBytes[pieceStarts[i]..<pieceStarts[i + 1]]`
    /// (one array: an array per piece costs a heap block each, several times the bytes it holds).
    private let pieceBytes: [UInt8]
    private let pieceStarts: [Int32]

    /// Builds the tokenizer from a GGUF file's vocabulary.
    public convenience init(gguf: GGUFFile) throws {
        try self.init(vocabulary: Vocabulary(gguf: gguf))
    }

    /// Builds a SentencePiece model in memory from `vocabulary` (BPE, byte fallback, identity normalizer).
    public convenience init(vocabulary: Vocabulary) throws {
        let proto = SentencePieceModelProto.serialize(vocabulary)
        var error = [CChar](repeating: 0, count: 512)
        guard let p = proto.withUnsafeBytes({
            spm_load_from_serialized($0.baseAddress, $0.count, &error, error.count)
        }) else {
            throw TokenizerError.sentencePiece(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                                      as: UTF8.self))
        }
        self.init(vocabulary: vocabulary, processor: p)
    }

    /// Takes ownership of a loaded processor whose pieces are `vocabulary`.
    private init(vocabulary: Vocabulary, processor: OpaquePointer) {
        self.vocabulary = vocabulary
        self.processor = processor
        (specialPieces, specialLengths, specialFirstBytes) = Self.specialTable(vocabulary)
        (pieceBytes, pieceStarts) = Self.decodedBytes(vocabulary)
    }

    /// Loads a `tokenizer.model` file. Its proto carries no BOS/EOS ids we can trust (libsentencepiece
    /// reports -1 for many models), so they are taken from the `<s>`/`</s>` or `<bos>`/`<eos>` pieces.
    public convenience init(modelFile path: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let p = spm_load_from_file(path, &error, error.count) else {
            throw TokenizerError.sentencePiece("\(path): "
                + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let size = Int(spm_vocab_size(p))
        var pieces: [String] = [], scores: [Float] = [], types: [PieceType] = []
        var buffer = [CChar](repeating: 0, count: 1024)
        for id in 0..<Int32(size) {
            let n = min(Int(spm_piece(p, id, &buffer, buffer.count)), buffer.count)
            pieces.append(String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            scores.append(spm_score(p, id))
            types.append(PieceType(rawValue: Int(spm_piece_type(p, id))) ?? .normal)
        }
        func find(_ names: String...) -> Int32? {
            names.lazy.compactMap { pieces.firstIndex(of: $0) }.first.map(Int32.init)
        }
        let vocabulary = Vocabulary(pieces: pieces, scores: scores, types: types,
                                    bosID: find("<bos>", "<s>") ?? 1, eosID: find("<eos>", "</s>") ?? 2,
                                    unknownID: types.firstIndex(of: .unknown).map(Int32.init) ?? 0,
                                    paddingID: find("<pad>"), addBOS: true, addSpacePrefix: true)
        // Keep the file's own processor: it carries the model's real normalizer.
        self.init(vocabulary: vocabulary, processor: p)
    }

    deinit { spm_free(processor) }

    /// Encodes `text`. With `parseSpecial`, written control pieces become their ids.
    public func encode(_ text: String, addBOS: Bool = false, parseSpecial: Bool = true) throws -> [Int32] {
        var ids: [Int32] = addBOS ? [vocabulary.bosID] : []
        let bytes = Array(text.utf8)
        guard parseSpecial, !specialLengths.isEmpty else {
            ids += try encodePlain(bytes[...])
            return ids
        }
        var start = 0, i = 0
        while i < bytes.count {
            if specialFirstBytes.contains(bytes[i]), let (id, length) = matchSpecial(bytes, at: i) {
                ids += try encodePlain(bytes[start..<i])
                ids.append(id)
                i += length
                start = i
            } else {
                i += 1
            }
        }
        ids += try encodePlain(bytes[start..<bytes.count])
        return ids
    }

    /// The UTF-8 bytes of `ids` joined (control pieces included only when `includeSpecial`).
    public func decodeBytes(_ ids: [Int32], includeSpecial: Bool = false) throws -> [UInt8] {
        var out: [UInt8] = []
        for id in ids { out += try bytes(of: id, includeSpecial: includeSpecial) }
        return out
    }

    /// Decodes ids to text; invalid UTF-8 (a cut byte-fallback sequence) becomes U+FFFD.
    public func decode(_ ids: [Int32], includeSpecial: Bool = false) throws -> String {
        String(decoding: try decodeBytes(ids, includeSpecial: includeSpecial), as: UTF8.self)
    }

    /// The bytes one id contributes to decoded text.
    public func bytes(of id: Int32, includeSpecial: Bool = false) throws -> [UInt8] {
        guard id >= 0, Int(id) < vocabulary.count else {
            throw TokenizerError.tokenOutOfRange(id, vocabularySize: vocabulary.count)
        }
        switch vocabulary.types[Int(id)] {
        case .control, .unknown, .unused:
            return includeSpecial ? Array(vocabulary.pieces[Int(id)].utf8) : []
        default:
            return Array(pieceBytes[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])])
        }
    }

    /// Whether an id is a control piece (never part of visible text).
    public func isControl(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < vocabulary.count && vocabulary.types[Int(id)] == .control
    }

    // MARK: internals

    private func encodePlain(_ bytes: ArraySlice<UInt8>) throws -> [Int32] {
        guard !bytes.isEmpty else { return [] }
        var capacity = bytes.count + 8
        while true {
            var ids = [Int32](repeating: 0, count: capacity)
            let n = bytes.withUnsafeBufferPointer { text in
                text.withMemoryRebound(to: CChar.self) {
                    spm_encode(processor, $0.baseAddress, $0.count, &ids, capacity)
                }
            }
            guard n >= 0 else { throw TokenizerError.sentencePiece("encode failed") }
            if Int(n) <= capacity { return Array(ids.prefix(Int(n))) }
            capacity = Int(n)
        }
    }

    private func matchSpecial(_ bytes: [UInt8], at i: Int) -> (Int32, Int)? {
        for length in specialLengths where i + length <= bytes.count {
            if let id = specialPieces[Array(bytes[i..<i + length])] { return (id, length) }
        }
        return nil
    }

    /// Every control piece is matched in text by its written form, longest first.
    private static func specialTable(_ v: Vocabulary) -> ([[UInt8]: Int32], [Int], Set<UInt8>) {
        var table: [[UInt8]: Int32] = [:]
        for (i, piece) in v.pieces.enumerated() where v.types[i] == .control && !piece.isEmpty {
            table[Array(piece.utf8)] = Int32(i)
        }
        let lengths = Set(table.keys.map(\.count)).sorted(by: >)
        return (table, lengths, Set(table.keys.compactMap(\.first)))
    }

    private static func decodedBytes(_ v: Vocabulary) -> (bytes: [UInt8], starts: [Int32]) {
        var bytes: [UInt8] = [], starts: [Int32] = [0]
        starts.reserveCapacity(v.count + 1)
        for (i, piece) in v.pieces.enumerated() {
            if v.types[i] == .byte, let value = byteValue(piece) {
                bytes.append(value)
                starts.append(Int32(bytes.count))
                continue
            }
            // "▁" (E2 96 81) is a space; replaced byte by byte (Foundation's string search is slow
            // over 262k pieces).
            let utf8 = Array(piece.utf8)
            var j = 0
            while j < utf8.count {
                if j + 2 < utf8.count, utf8[j] == 0xE2, utf8[j + 1] == 0x96, utf8[j + 2] == 0x81 {
                    bytes.append(0x20)
                    j += 3
                } else {
                    bytes.append(utf8[j])
                    j += 1
                }
            }
            starts.append(Int32(bytes.count))
        }
        return (bytes, starts)
    }

    /// "<0x0A>" → 0x0A.
    private static func byteValue(_ piece: String) -> UInt8? {
        guard piece.hasPrefix("<0x"), piece.hasSuffix(">"), piece.count == 6 else { return nil }
        return UInt8(piece.dropFirst(3).dropLast(), radix: 16)
    }
}

extension SentencePieceTokenizer: TextTokenizer {
    public var vocabularySize: Int { vocabulary.count }
    public var bosID: Int32 { vocabulary.bosID }
    public var eosID: Int32 { vocabulary.eosID }
    public var addsBOS: Bool { vocabulary.addBOS }
    public func id(ofPiece piece: String) -> Int32? { vocabulary.id(of: piece) }
}

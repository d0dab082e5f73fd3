import Foundation

/// Serializes a SentencePiece `ModelProto` (sentencepiece_model.proto) from a vocabulary, so
/// libsentencepiece can load a tokenizer stored only as GGUF metadata.
///
/// Debian ships no generated protobuf header, and the handful of fields needed is easy to write by hand:
/// pieces (1), trainer_spec (2: model_type 3, vocab_size 4, byte_fallback 35, unk/bos/eos/pad ids 40–43),
/// normalizer_spec (3: name 1, add_dummy_prefix 3, remove_extra_whitespaces 4, escape_whitespaces 5).
enum SentencePieceModelProto {
    static func serialize(_ vocabulary: Vocabulary) -> [UInt8] {
        var out = ProtoWriter()
        for i in 0..<vocabulary.count {
            var piece = ProtoWriter()
            var text = vocabulary.pieces[i]
            var type = vocabulary.types[i]
            // GGUF converters store user-defined whitespace pieces with literal spaces, but
            // SentencePiece matches pieces after escaping spaces to U+2581.
            if type == .userDefined { text = text.replacingOccurrences(of: " ", with: "\u{2581}") }
            // libsentencepiece refuses a model without an UNKNOWN piece; some converters type it CONTROL.
            if Int32(i) == vocabulary.unknownID { type = .unknown }
            piece.string(1, text)
            piece.float(2, vocabulary.scores[i])
            piece.varint(3, UInt64(type.rawValue))
            out.message(1, piece)
        }
        var trainer = ProtoWriter()
        trainer.varint(3, 2) // BPE
        trainer.varint(4, UInt64(vocabulary.count))
        trainer.varint(35, 1) // byte_fallback
        trainer.int32(40, vocabulary.unknownID)
        trainer.int32(41, vocabulary.bosID)
        trainer.int32(42, vocabulary.eosID)
        trainer.int32(43, vocabulary.paddingID ?? -1)
        out.message(2, trainer)
        var normalizer = ProtoWriter()
        normalizer.string(1, "identity")
        normalizer.varint(3, vocabulary.addSpacePrefix ? 1 : 0)
        normalizer.varint(4, 0) // keep whitespace as written
        normalizer.varint(5, 1) // escape spaces to U+2581
        out.message(3, normalizer)
        return out.bytes
    }
}

/// Minimal protobuf wire-format writer.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }

    mutating func varint(_ field: Int, _ value: UInt64) {
        tag(field, 0)
        rawVarint(value)
    }

    /// int32 fields encode negatives as 10-byte two's complement varints.
    mutating func int32(_ field: Int, _ value: Int32) { varint(field, UInt64(bitPattern: Int64(value))) }

    mutating func float(_ field: Int, _ value: Float) {
        tag(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ field: Int, _ value: String) {
        tag(field, 2)
        let utf8 = Array(value.utf8)
        rawVarint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func message(_ field: Int, _ value: ProtoWriter) {
        tag(field, 2)
        rawVarint(UInt64(value.bytes.count))
        bytes.append(contentsOf: value.bytes)
    }
}

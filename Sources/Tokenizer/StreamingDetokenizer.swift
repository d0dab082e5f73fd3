/// Turns a stream of token ids into text without ever emitting part of a UTF-8 character.
///
/// Byte-fallback pieces (`<0xF0>` `<0x9F>` …) arrive one byte per token; the incomplete tail of a
/// character is held back until the bytes that finish it arrive.
public struct StreamingDetokenizer {
    private let tokenizer: any TextTokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: any TextTokenizer) {
        self.tokenizer = tokenizer
    }

    /// Adds one token; returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int32) throws -> String {
        pending += try tokenizer.bytes(of: id)
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Emits whatever is left; an unfinished character becomes U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a character that could still be completed.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // Look back at most 3 bytes for the lead byte of the last character.
        var i = bytes.count - 1
        var continuation = 0
        while i >= 0 && continuation < 3 && bytes[i] & 0xC0 == 0x80 {
            continuation += 1
            i -= 1
        }
        guard i >= 0 else { return bytes.count }
        let lead = bytes[i]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0...0xEF: needed = 2
        case 0xF0...0xF4: needed = 3
        default: return bytes.count // ASCII or an invalid byte: nothing to wait for
        }
        return continuation < needed ? i : bytes.count
    }
}

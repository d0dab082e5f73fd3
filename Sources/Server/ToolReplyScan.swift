import Foundation
import Grammar

/// What a reply in the tool envelope (`ToolUse`) says so far, read from text that may stop anywhere:
/// a stream between two tokens, or a reply that max_tokens cut.
///
/// The grammar writes the envelope compactly, so it is read as bytes, not parsed: a call appears
/// once its name is complete, its arguments as the model wrote them so far; words appear as they
/// are decoded (a half-written escape waits for its end). Every field only grows as text is
/// appended, so two scans give a stream's deltas, and the scan of the whole text is the reply.
public struct ToolReplyScan: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// Not yet known (the text is a prefix of both openings).
        case undecided
        case calls
        case words
    }

    public struct Call: Equatable, Sendable {
        public var name: String
        /// The arguments' JSON text so far (whole once `complete`).
        public var arguments: String
        public var complete: Bool

        public init(name: String, arguments: String, complete: Bool) {
            self.name = name
            self.arguments = arguments
            self.complete = complete
        }
    }

    public private(set) var kind = Kind.undecided
    public private(set) var calls: [Call] = []
    /// The answer in words: the decoded string, or the JSON text of a value of a response_format schema.
    public private(set) var words = ""

    static let callsOpening = Array(#"{"tool_calls":["#.utf8)
    static let wordsOpening = Array(#"{"response":"#.utf8)
    private static let nameOpening = Array(#"{"name":""#.utf8)
    private static let argumentsOpening = Array(#","arguments":"#.utf8)

    /// What a field of a later scan adds to the same field of an earlier one (fields only grow),
    /// counted in Unicode scalars so a combining mark after a chunk boundary stays in its chunk.
    public static func growth(from old: String, to new: String) -> String {
        String(String.UnicodeScalarView(new.unicodeScalars.dropFirst(old.unicodeScalars.count)))
    }

    public init(_ text: String) {
        let bytes = Array(text.utf8)
        if bytes.starts(with: Self.callsOpening) {
            kind = .calls
            scanCalls(bytes[Self.callsOpening.count...])
        } else if bytes.starts(with: Self.wordsOpening) {
            kind = .words
            scanWords(bytes[Self.wordsOpening.count...])
        } else if !(Self.callsOpening.starts(with: bytes) || Self.wordsOpening.starts(with: bytes)) {
            kind = .words // not the envelope at all: the text is the answer
            words = text
        }
    }

    private mutating func scanCalls(_ rest: ArraySlice<UInt8>) {
        var at = rest.startIndex
        while true {
            guard rest[at...].starts(with: Self.nameOpening) else { return }
            at += Self.nameOpening.count
            guard let close = rest[at...].firstIndex(of: UInt8(ascii: "\"")) else { return }
            // Names are letters, digits, '_' and '-' (Tool.validate): no escapes to decode.
            calls.append(Call(name: String(decoding: rest[at..<close], as: UTF8.self), arguments: "", complete: false))
            at = close + 1
            guard rest[at...].starts(with: Self.argumentsOpening) else { return }
            at += Self.argumentsOpening.count
            let end = Self.endOfValue(rest[at...])
            calls[calls.count - 1].arguments = String(decoding: rest[at..<(end ?? rest.endIndex)], as: UTF8.self)
            guard let end, end < rest.endIndex, rest[end] == UInt8(ascii: "}") else { return }
            calls[calls.count - 1].complete = true
            at = end + 1
            guard at < rest.endIndex, rest[at] == UInt8(ascii: ",") else { return }
            at += 1
        }
    }

    private mutating func scanWords(_ rest: ArraySlice<UInt8>) {
        guard let first = rest.first else { return }
        guard first == UInt8(ascii: "\"") else {
            // A value: its text as written, less the envelope's closing brace once it may have come.
            words = String(decoding: rest.last == UInt8(ascii: "}") ? rest.dropLast() : rest, as: UTF8.self)
            return
        }
        let body = rest.dropFirst()
        let end = Self.endOfString(body) ?? Self.lastCompleteEscape(body)
        let quote = UInt8(ascii: "\"")
        if case .string(let decoded)? = try? JSONTree.parse([quote] + body[..<end] + [quote]) {
            words = decoded
        }
    }

    /// The index just past a JSON value that starts at `text`'s start, or nil while it is unfinished.
    /// A scalar ends before the `,` or `}` that follows it.
    static func endOfValue(_ text: ArraySlice<UInt8>) -> Int? {
        var depth = 0, inString = false, escaped = false
        for i in text.indices {
            let b = text[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true }
                else if b == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return i + 1 }
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return i }
                depth -= 1
                if depth == 0 { return i + 1 }
            case UInt8(ascii: ","): if depth == 0 { return i }
            default: break
            }
        }
        return nil
    }

    /// The index of the unescaped quote that closes a string body, or nil.
    private static func endOfString(_ body: ArraySlice<UInt8>) -> Int? {
        var escaped = false
        for i in body.indices {
            if escaped { escaped = false } else if body[i] == UInt8(ascii: "\\") { escaped = true }
            else if body[i] == UInt8(ascii: "\"") { return i }
        }
        return nil
    }

    /// Where an unfinished string body can be cut without splitting an escape (`\`, `\u12`, or a
    /// high surrogate `\uD83D` waiting for its low half).
    private static func lastCompleteEscape(_ body: ArraySlice<UInt8>) -> Int {
        var i = body.startIndex, safe = body.startIndex
        while i < body.endIndex {
            guard body[i] == UInt8(ascii: "\\") else {
                i += 1
                safe = i
                continue
            }
            guard i + 1 < body.endIndex else { return safe }
            guard body[i + 1] == UInt8(ascii: "u") else {
                i += 2
                safe = i
                continue
            }
            guard i + 6 <= body.endIndex else { return safe }
            let hex = String(decoding: body[(i + 2)..<(i + 6)], as: UTF8.self).uppercased()
            if hex.hasPrefix("D8") || hex.hasPrefix("D9") || hex.hasPrefix("DA") || hex.hasPrefix("DB") {
                guard i + 12 <= body.endIndex else { return safe } // the pair's second half
                i += 12
            } else {
                i += 6
            }
            safe = i
        }
        return safe
    }
}

/// Recognizes one JSON object (RFC 8259) a byte at a time: `feed` says whether a byte can continue a
/// valid document, and `isComplete` whether the object has closed. A plain value with no heap
/// storage, so copying it to try a token's bytes costs nothing; equal states accept the same bytes,
/// which makes it a key for cached token masks.
///
/// Bounds that keep generation from running away: nesting depth at most `maxDepth`, and at most
/// `maxWhitespaceRun` whitespace bytes in a row outside strings.
public struct JSONRecognizer: Hashable, Sendable {
    public static let maxDepth = 64
    public static let maxWhitespaceRun = 16

    enum Mode: UInt8, Hashable, Sendable {
        /// Before the top-level object (no whitespace allowed).
        case start
        /// A value is expected (after ':', or after ',' in an array).
        case value
        /// After '[': a value or ']'.
        case itemOrEnd
        /// After '{': a key or '}'.
        case keyOrEnd
        /// After ',' in an object: a key.
        case key
        /// After a key: ':'.
        case colon
        /// After a value: ',' or the closing bracket.
        case afterValue
        /// Inside a string; `inKey` says whether it is a key.
        case string, escape, unicode
        /// Inside a number.
        case minus, zero, integer, point, fraction, exponent, exponentSign, exponentDigits
        /// Inside true, false or null: `literal` is the remaining bytes' index.
        case literal
        case complete
    }

    var mode = Mode.start
    /// One bit per open container, 1 for an object, innermost in bit 0.
    var containers: UInt64 = 0
    var depth: UInt8 = 0
    var inKey = false
    /// Hex digits left in a \u escape, or UTF-8 continuation bytes left in a string.
    var pending: UInt8 = 0
    /// The literal being matched (index into `literals`) and the next byte's position in it.
    var literal: UInt8 = 0, literalPosition: UInt8 = 0
    var whitespaceRun: UInt8 = 0

    static let literals: [[UInt8]] = [Array("true".utf8), Array("false".utf8), Array("null".utf8)]

    public init() {}

    public var isComplete: Bool { mode == .complete }

    var innermostIsObject: Bool { containers & 1 == 1 }

    /// Advances over `byte` and returns true, or returns false and stays unchanged.
    public mutating func feed(_ byte: UInt8) -> Bool {
        var next = self
        guard next.advance(byte) else { return false }
        self = next
        return true
    }

    /// Advances over every byte, or returns false and stays unchanged.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> Bool {
        var next = self
        for byte in bytes where !next.advance(byte) { return false }
        self = next
        return true
    }

    private static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }

    private mutating func advance(_ b: UInt8) -> Bool {
        switch mode {
        case .start:
            // The reply starts with the object itself, as OpenAI's JSON mode does.
            guard b == UInt8(ascii: "{") else { return false }
            return open(object: true)
        case .value, .itemOrEnd:
            if Self.isWhitespace(b) { return whitespace() }
            if b == UInt8(ascii: "]") && mode == .itemOrEnd { return close() }
            return beginValue(b)
        case .keyOrEnd, .key:
            if Self.isWhitespace(b) { return whitespace() }
            if b == UInt8(ascii: "}") && mode == .keyOrEnd { return close() }
            guard b == UInt8(ascii: "\"") else { return false }
            (mode, inKey, whitespaceRun) = (.string, true, 0)
            return true
        case .colon:
            if Self.isWhitespace(b) { return whitespace() }
            guard b == UInt8(ascii: ":") else { return false }
            (mode, whitespaceRun) = (.value, 0)
            return true
        case .afterValue:
            if Self.isWhitespace(b) { return whitespace() }
            if b == UInt8(ascii: ",") {
                (mode, whitespaceRun) = (innermostIsObject ? .key : .value, 0)
                return true
            }
            if b == UInt8(ascii: innermostIsObject ? "}" : "]") { return close() }
            return false
        case .string: return stringByte(b)
        case .escape:
            if b == UInt8(ascii: "u") {
                (mode, pending) = (.unicode, 4)
                return true
            }
            guard "\"\\/bfnrt".utf8.contains(b) else { return false }
            mode = .string
            return true
        case .unicode:
            guard Self.isHex(b) else { return false }
            pending -= 1
            if pending == 0 { mode = .string }
            return true
        case .minus:
            if b == UInt8(ascii: "0") { mode = .zero } else if Self.isDigit(b) { mode = .integer } else { return false }
            return true
        case .zero, .integer, .fraction, .exponentDigits:
            if Self.isDigit(b) && mode != .zero { return true }
            if b == UInt8(ascii: "."), mode == .zero || mode == .integer {
                mode = .point
                return true
            }
            if b | 0x20 == UInt8(ascii: "e"), mode != .exponentDigits {
                mode = .exponent
                return true
            }
            mode = .afterValue
            return advance(b)
        case .point:
            guard Self.isDigit(b) else { return false }
            mode = .fraction
            return true
        case .exponent:
            guard b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || Self.isDigit(b) else { return false }
            mode = Self.isDigit(b) ? .exponentDigits : .exponentSign
            return true
        case .exponentSign:
            guard Self.isDigit(b) else { return false }
            mode = .exponentDigits
            return true
        case .literal:
            let word = Self.literals[Int(literal)]
            guard b == word[Int(literalPosition)] else { return false }
            literalPosition += 1
            if Int(literalPosition) == word.count { mode = .afterValue }
            return true
        case .complete:
            return false
        }
    }

    private mutating func whitespace() -> Bool {
        guard whitespaceRun < Self.maxWhitespaceRun else { return false }
        whitespaceRun += 1
        return true
    }

    private mutating func beginValue(_ b: UInt8) -> Bool {
        whitespaceRun = 0
        switch b {
        case UInt8(ascii: "{"): return open(object: true)
        case UInt8(ascii: "["): return open(object: false)
        case UInt8(ascii: "\""):
            (mode, inKey) = (.string, false)
            return true
        case UInt8(ascii: "-"): mode = .minus
        case UInt8(ascii: "0"): mode = .zero
        case UInt8(ascii: "1")...UInt8(ascii: "9"): mode = .integer
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            literal = b == UInt8(ascii: "t") ? 0 : b == UInt8(ascii: "f") ? 1 : 2
            (mode, literalPosition) = (.literal, 1)
        default: return false
        }
        return true
    }

    private mutating func open(object: Bool) -> Bool {
        guard Int(depth) < Self.maxDepth else { return false }
        containers = containers << 1 | (object ? 1 : 0)
        depth += 1
        (mode, whitespaceRun) = (object ? .keyOrEnd : .itemOrEnd, 0)
        return true
    }

    private mutating func close() -> Bool {
        containers >>= 1
        depth -= 1
        (mode, whitespaceRun) = (depth == 0 ? .complete : .afterValue, 0)
        return true
    }

    /// A string byte: printable ASCII other than `"` and `\`, or well-formed UTF-8 (no overlong
    /// lead bytes, no bytes that never occur).
    private mutating func stringByte(_ b: UInt8) -> Bool {
        if pending > 0 {
            guard b & 0xC0 == 0x80 else { return false }
            pending -= 1
            return true
        }
        switch b {
        case UInt8(ascii: "\""):
            mode = inKey ? .colon : .afterValue
            return true
        case UInt8(ascii: "\\"): mode = .escape
        case 0x00..<0x20, 0x80..<0xC2, 0xF5...0xFF: return false
        case 0xC2..<0xE0: pending = 1
        case 0xE0..<0xF0: pending = 2
        case 0xF0..<0xF5: pending = 3
        default: break
        }
        return true
    }
}

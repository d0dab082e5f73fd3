/// The tokens that can follow inside a schema string, worked out once per vocabulary, so a mask
/// in a string costs a copy and a few thousand checks instead of a walk over the whole trie.
///
/// From a plain position in a string (not inside an escape or a UTF-8 sequence), a token either
/// stays inside the string, adding some number of characters, or closes it with a quote and goes
/// on into the document, or is invalid. Which tokens stay inside depends only on how many more
/// characters the string may take; which closing tokens fit depends on the whole state, so those
/// are fed to it one by one.
public final class StringTokenTable: Sendable {
    /// Counts up to this are kept apart; longer tokens are listed in `long`.
    static let maxCounted = 48
    /// `withinCount[r]`: tokens that stay inside and add at most r characters.
    let withinCount: [[UInt64]]
    /// Tokens that stay inside and add more than `maxCounted` characters, with their counts.
    let long: [(id: Int32, chars: Int)]
    /// Tokens that close the string: the characters before the quote, and what follows it (an
    /// index into `suffixes`, shared by the many tokens that end alike).
    public let closing: [(id: Int32, chars: Int32, suffix: Int32)]
    public let suffixes: [[UInt8]]

    public init(tokenBytes: [[UInt8]]) {
        let words = (tokenBytes.count + 63) / 64
        var byCount = [[Int32]](repeating: [], count: Self.maxCounted + 1)
        var long: [(Int32, Int)] = [], closing: [(Int32, Int32, Int32)] = []
        var suffixes: [[UInt8]] = [], suffixIndex: [[UInt8]: Int32] = [:]
        for (id, bytes) in tokenBytes.enumerated() where !bytes.isEmpty {
            switch Self.classify(bytes) {
            case .inside(let chars):
                if chars <= Self.maxCounted {
                    byCount[chars].append(Int32(id))
                } else {
                    long.append((Int32(id), chars))
                }
            case .closes(let chars, let quote):
                let suffix = Array(bytes[(quote + 1)...])
                let index = suffixIndex[suffix] ?? Int32(suffixes.count)
                if index == suffixes.count {
                    suffixes.append(suffix)
                    suffixIndex[suffix] = index
                }
                closing.append((Int32(id), Int32(chars), index))
            case .invalid: continue
            }
        }
        var running = [UInt64](repeating: 0, count: words)
        var table: [[UInt64]] = []
        for ids in byCount {
            for id in ids { running[Int(id) >> 6] |= 1 << UInt64(id & 63) }
            table.append(running)
        }
        withinCount = table
        self.long = long
        self.closing = closing
        self.suffixes = suffixes
    }

    /// Inside with so many characters; closing after so many, with the quote at that byte; invalid.
    enum Kind: Equatable { case inside(Int), closes(chars: Int, quote: Int), invalid }

    /// What `bytes` do from a plain position in a string, by the rules of `SchemaRecognizer`:
    /// short escapes only, well-formed UTF-8, a character counted at its first byte.
    static func classify(_ bytes: [UInt8]) -> Kind {
        var chars = 0, escaped = false, pending: UInt8 = 0
        for (i, b) in bytes.enumerated() {
            if escaped {
                guard "\"\\/bfnrt".utf8.contains(b) else { return .invalid }
                escaped = false
            } else if b == UInt8(ascii: "\"") && pending == 0 {
                return .closes(chars: chars, quote: i)
            } else if b == UInt8(ascii: "\\") && pending == 0 {
                escaped = true
                chars += 1
            } else {
                let starts = pending == 0
                guard Reading.plainStringByte(b, &pending) else { return .invalid }
                if starts { chars += 1 }
            }
        }
        return .inside(chars)
    }

    /// The mask of tokens that stay inside a string which may take `remaining` more characters.
    func inside(remaining: Int) -> [UInt64] {
        var mask = withinCount[min(max(remaining, 0), Self.maxCounted)]
        if remaining > Self.maxCounted {
            for (id, chars) in long where chars <= remaining { mask[Int(id) >> 6] |= 1 << UInt64(id & 63) }
        }
        return mask
    }
}

/// A state that can say it sits at a plain position inside a string (no pattern), where
/// `StringTokenTable` applies.
public protocol StringPosition {
    /// How many more characters the string may take, and how many it still needs before it may
    /// close; nil when the state is not at such a position.
    var plainString: (room: Int, missing: Int)? { get }
    /// The state after the string closes here, as if it had its minimum length.
    func closingString() -> Self?
}

extension SchemaRecognizer: StringPosition {
    public var plainString: (room: Int, missing: Int)? {
        guard others.isEmpty, case .string(let s) = main.lex, s.pattern < 0, !s.escaped, s.utf8Pending == 0,
              case .string(let shape) = grammar.nodes[Int(s.node)] else { return nil }
        let counted = shape.minLength > 0 || shape.maxLength < .max
        return (shape.maxLength == .max ? .max : shape.maxLength - Int(s.chars),
                counted ? shape.minLength - Int(s.chars) : 0)
    }

    public func closingString() -> SchemaRecognizer? {
        guard case .string(var s) = main.lex, case .string(let shape) = grammar.nodes[Int(s.node)] else { return nil }
        var closed = self
        s.chars = Int32(max(Int(s.chars), shape.minLength))
        closed.main.lex = .string(s)
        return closed.feed(UInt8(ascii: "\"")) ? closed : nil
    }
}

/// Masks inside a string with a `pattern` or `format`, by a trie walk that steps only the pattern's
/// automaton: a byte is a table lookup instead of a copy and a feed of the whole recognizer. Only
/// where a token leaves the string (a quote) does the recognizer take over, for that subtree.
/// Accepts exactly what `SchemaRecognizer.feed` accepts (pattern strings have no escapes).
struct PatternStringPosition {
    let automaton: PatternAutomaton
    let state: Int32
    let chars: Int
    let pending: UInt8
    let shape: StringShape

    /// True when the string counts its characters (a length bound is set).
    var counts: Bool { shape.minLength > 0 || shape.maxLength < .max }
}

extension SchemaRecognizer {
    /// The position when the recognizer is inside a pattern string on one reading.
    var patternString: PatternStringPosition? {
        guard others.isEmpty, case .string(let s) = main.lex, s.pattern >= 0, !s.escaped,
              case .string(let shape) = grammar.nodes[Int(s.node)], let index = shape.pattern else { return nil }
        return PatternStringPosition(automaton: grammar.patterns[Int(index)], state: s.pattern, chars: Int(s.chars),
                                     pending: s.utf8Pending, shape: shape)
    }
}

extension TokenTrie {
    /// `acceptedTokens` for a recognizer inside a pattern string at `position`.
    func acceptedPatternTokens(from origin: SchemaRecognizer, at position: PatternStringPosition,
                               into mask: inout [UInt64]) {
        var path: [UInt8] = []
        mask.withUnsafeMutableBufferPointer { words in
            visitPattern(0, dfa: position.state, chars: position.chars, pending: position.pending, path: &path,
                         origin: origin, position: position, words)
        }
    }

    private func visitPattern(_ node: Int, dfa: Int32, chars: Int, pending: UInt8, path: inout [UInt8],
                              origin: SchemaRecognizer, position: PatternStringPosition,
                              _ words: UnsafeMutableBufferPointer<UInt64>) {
        let automaton = position.automaton, shape = position.shape
        var child = node + 1
        let end = Int(subtreeEnd[node])
        while child < end {
            defer { child = Int(subtreeEnd[child]) }
            let b = nodeBytes[child]
            if b == UInt8(ascii: "\"") && pending == 0 {
                // The token leaves the string here: the recognizer judges the quote and what follows.
                var state = origin
                guard state.feed(path + [b]) else { continue }
                markTokens(at: child, words)
                walk(child, state: state, words)
                continue
            }
            guard b != UInt8(ascii: "\\") else { continue }
            var nextPending = pending
            let starts = pending == 0
            guard Reading.plainStringByte(b, &nextPending) else { continue }
            var nextChars = chars
            if starts {
                guard chars < shape.maxLength else { continue }
                if position.counts { nextChars += 1 }
            }
            let next = automaton.next(dfa, b)
            guard next >= 0 else { continue }
            if position.counts, automaton.minimumRemaining(next) > shape.maxLength - nextChars { continue }
            markTokens(at: child, words)
            path.append(b)
            visitPattern(child, dfa: next, chars: nextChars, pending: nextPending, path: &path, origin: origin,
                         position: position, words)
            path.removeLast()
        }
    }
}

/// Recognizes the documents of one `SchemaGrammar` a byte at a time, like `JSONRecognizer` does for
/// any JSON object: `feed` says whether a byte can continue a document that the schema accepts, and
/// never admits a byte after which no valid document can be finished.
///
/// A union whose members start alike (two objects, say) is followed on all of them at once, a
/// `Reading` each, until the bytes tell them apart. Equal recognizers accept the same bytes, so a
/// recognizer is a key for cached token masks; the grammar itself is left out of equality.
public struct SchemaRecognizer: ByteRecognizer {
    public let grammar: SchemaGrammar
    var main: Reading
    var others: [Reading] = []

    /// Containers open at once; deeper ones are refused (recursive schemas nest without end).
    public static let maxDepth = 32
    /// Digits of a number's integer part, and of its fraction.
    static let maxDigits = 15
    /// At most this many readings of an ambiguous union are followed; more are dropped.
    static let maxThreads = 16

    public init(grammar: SchemaGrammar) {
        self.grammar = grammar
        main = Reading(stack: [], lex: .value(0))
    }

    public static func == (a: SchemaRecognizer, b: SchemaRecognizer) -> Bool {
        a.main == b.main && a.others == b.others
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(main)
        hasher.combine(others)
    }

    /// True when the document is complete (it closes on a byte, so nothing more can follow).
    public var isComplete: Bool { main.lex == .done }

    public mutating func feed(_ byte: UInt8) -> Bool {
        if others.isEmpty {
            var thread = main
            switch thread.advance(byte, grammar) {
            case .dead: return false
            case .one:
                main = thread
                return true
            case .fork(let threads):
                main = threads[0]
                others = Array(threads.dropFirst())
                return true
            }
        }
        var survivors: [Reading] = []
        for var thread in [main] + others {
            switch thread.advance(byte, grammar) {
            case .dead: continue
            case .one: if !survivors.contains(thread) { survivors.append(thread) }
            case .fork(let threads): for t in threads where !survivors.contains(t) { survivors.append(t) }
            }
        }
        guard let first = survivors.first else { return false }
        main = first
        others = Array(survivors.dropFirst().prefix(Self.maxThreads - 1))
        return true
    }
}

/// A byte-at-a-time acceptor whose equal states accept equal continuations.
public protocol ByteRecognizer: Hashable, Sendable {
    /// Advances over `byte` and returns true, or returns false and stays unchanged.
    mutating func feed(_ byte: UInt8) -> Bool
    /// Every byte the next feed may accept (more is fine), when the state tells cheaply; nil when
    /// it does not (then all 256 are tried).
    func possibleNextBytes() -> [UInt8]?
}

extension ByteRecognizer {
    public func possibleNextBytes() -> [UInt8]? { nil }
}

extension JSONRecognizer: ByteRecognizer {}

/// One reading of the bytes so far: the open containers and the token being read.
struct Reading: Hashable, Sendable {
    var stack: [Frame]
    var lex: Lex

    enum Outcome {
        case dead, one, fork([Reading])
    }

    struct Frame: Hashable, Sendable {
        enum Phase: UInt8, Hashable, Sendable {
            /// After the opening bracket.
            case open
            /// After a key: ':' is next.
            case colon
            /// Inside the value (of the key `pending`, or an item).
            case value
            /// After a value: ',' or the closing bracket.
            case afterValue
            /// After ',' in an object: a key is next.
            case afterComma
        }

        var node: Int32
        var isArray: Bool
        var phase: Phase
        /// Objects: the first property not yet passed. Arrays: items so far.
        var index: Int32
        /// Objects: the node of the value after the key just read.
        var pending: Int32 = -1
    }

    /// The token being read, or what comes next.
    enum Lex: Hashable, Sendable {
        /// A value of this node starts at the next byte.
        case value(Int32)
        /// Punctuation of the innermost container comes next.
        case structural
        case key(KeyLex)
        case string(StringLex)
        case number(NumberLex)
        /// A literal (enum, const, boolean, null): the node and the position in its trie.
        case literal(node: Int32, at: Int32)
        case done
    }

    struct KeyLex: Hashable, Sendable {
        /// Defined properties (bit = property index) that may come here and still match the bytes.
        var candidates: UInt64
        /// Every defined property whose key still matches (an additional key must differ from all).
        var equal: UInt64
        /// Key bytes read after the opening quote, while some defined key still matches.
        var matched: Int32
        /// Whether an additional (undeclared) key is still possible.
        var additional: Bool
        var utf8Pending: UInt8 = 0
    }

    struct StringLex: Hashable, Sendable {
        var node: Int32
        /// Characters so far; counted only when the node bounds the length.
        var chars: Int32 = 0
        var escaped = false
        var utf8Pending: UInt8 = 0
        /// The pattern automaton's state, or -1.
        var pattern: Int32 = -1
    }

    struct NumberLex: Hashable, Sendable {
        enum Phase: UInt8, Hashable, Sendable {
            case minus, zero, integer, point, fraction, exponent, exponentSign, exponentDigits
        }

        var node: Int32
        var phase: Phase
        var negative = false
        var integerDigits: UInt8 = 0
        var fractionDigits: UInt8 = 0
        var exponentDigits: UInt8 = 0
        /// The integer part, and the fraction's digits as an integer, while bounds need them.
        var magnitude: Int64 = 0
        var fraction: Int64 = 0
    }

    // MARK: Advancing

    mutating func advance(_ b: UInt8, _ g: SchemaGrammar) -> Outcome {
        switch lex {
        case .value(let node): return begin(node, b, g)
        case .structural: return punctuation(b, g)
        case .key(let key): return keyByte(key, b, g)
        case .string(let s): return stringByte(s, b, g)
        case .number(let n): return numberByte(n, b, g)
        case .literal(let node, let at):
            guard case .literals(let trie) = g.nodes[Int(node)] else { return .dead }
            if let next = trie.child(of: at, b) {
                lex = .literal(node: node, at: next)
                if trie.isEnd[Int(next)] && !trie.hasChildren(next) { completeValue() }
                return .one
            }
            guard trie.isEnd[Int(at)] else { return .dead }
            completeValue()
            return advance(b, g)
        case .done: return .dead
        }
    }

    /// The first byte of a value of `node`.
    private mutating func begin(_ node: Int32, _ b: UInt8, _ g: SchemaGrammar) -> Outcome {
        switch g.nodes[Int(node)] {
        case .object:
            guard b == UInt8(ascii: "{"), stack.count < SchemaRecognizer.maxDepth else { return .dead }
            stack.append(Frame(node: node, isArray: false, phase: .open, index: 0))
            lex = .structural
            return .one
        case .array:
            guard b == UInt8(ascii: "["), stack.count < SchemaRecognizer.maxDepth else { return .dead }
            stack.append(Frame(node: node, isArray: true, phase: .open, index: 0))
            lex = .structural
            return .one
        case .string(let shape):
            guard b == UInt8(ascii: "\"") else { return .dead }
            var s = StringLex(node: node)
            if let p = shape.pattern { s.pattern = g.patterns[Int(p)].start }
            lex = .string(s)
            return .one
        case .number:
            var n = NumberLex(node: node, phase: .minus)
            guard b == UInt8(ascii: "-") else { return numberByte(n, b, g) }
            n.negative = true
            guard feasible(n, g) else { return .dead }
            lex = .number(n)
            return .one
        case .literals:
            lex = .literal(node: node, at: 0)
            return advance(b, g)
        case .union(let members):
            var readings: [Reading] = []
            for m in members {
                var t = self
                t.lex = .value(m)
                switch t.advance(b, g) {
                case .dead: continue
                case .one: readings.append(t)
                case .fork(let more): readings += more
                }
            }
            switch readings.count {
            case 0: return .dead
            case 1:
                self = readings[0]
                return .one
            default: return .fork(readings)
            }
        }
    }

    /// A value just ended: the innermost container moves on, or the document is complete.
    private mutating func completeValue() {
        guard var top = stack.popLast() else {
            lex = .done
            return
        }
        top.phase = .afterValue
        if top.isArray { top.index += 1 }
        stack.append(top)
        lex = .structural
    }

    private mutating func punctuation(_ b: UInt8, _ g: SchemaGrammar) -> Outcome {
        guard var top = stack.last else { return .dead }
        switch g.nodes[Int(top.node)] {
        case .object(let shape): return objectByte(&top, shape, b)
        case .array(let shape):
            let count = Int(top.index)
            switch (top.phase, b) {
            case (.open, UInt8(ascii: "]")), (.afterValue, UInt8(ascii: "]")):
                guard count >= shape.minItems else { return .dead }
                stack.removeLast()
                completeValue()
                return .one
            case (.afterValue, UInt8(ascii: ",")):
                guard count < shape.maxItems, let item = shape.node(at: count) else { return .dead }
                top.phase = .value
                stack[stack.count - 1] = top
                lex = .value(item)
                return .one
            case (.open, _):
                guard count < shape.maxItems, let item = shape.node(at: count) else { return .dead }
                top.phase = .value
                stack[stack.count - 1] = top
                lex = .value(item)
                return advance(b, g)
            default: return .dead
            }
        default: return .dead
        }
    }

    private mutating func objectByte(_ top: inout Frame, _ shape: ObjectShape, _ b: UInt8) -> Outcome {
        let index = Int(top.index)
        let nextRequired = shape.nextRequired(from: index)
        switch (top.phase, b) {
        case (.open, UInt8(ascii: "}")), (.afterValue, UInt8(ascii: "}")):
            guard nextRequired == shape.properties.count else { return .dead }
            stack.removeLast()
            completeValue()
            return .one
        case (.afterValue, UInt8(ascii: ",")):
            guard index < shape.properties.count || shape.additional != nil else { return .dead }
            top.phase = .afterComma
            stack[stack.count - 1] = top
            return .one
        case (.open, UInt8(ascii: "\"")), (.afterComma, UInt8(ascii: "\"")):
            var candidates: UInt64 = 0
            for i in index..<min(nextRequired + 1, shape.properties.count) { candidates |= 1 << UInt64(i) }
            let additional = shape.additional != nil && nextRequired == shape.properties.count
            guard candidates != 0 || additional else { return .dead }
            let all: UInt64 = shape.properties.isEmpty ? 0 : ~0 >> UInt64(64 - shape.properties.count)
            lex = .key(KeyLex(candidates: candidates, equal: all, matched: 0, additional: additional))
            return .one
        case (.colon, UInt8(ascii: ":")):
            top.phase = .value
            stack[stack.count - 1] = top
            lex = .value(top.pending)
            return .one
        default: return .dead
        }
    }

    private mutating func keyByte(_ key: KeyLex, _ b: UInt8, _ g: SchemaGrammar) -> Outcome {
        guard var top = stack.last, case .object(let shape) = g.nodes[Int(top.node)] else { return .dead }
        var k = key
        let at = Int(k.matched) + 1 // keyBytes[0] is the opening quote
        if b == UInt8(ascii: "\"") && k.utf8Pending == 0 {
            // A defined key that ends here wins; an additional key must equal no defined one.
            var mask = k.candidates
            while mask != 0 {
                let i = mask.trailingZeroBitCount
                mask &= mask - 1
                let bytes = shape.properties[i].keyBytes
                if bytes.count == at + 1 && bytes[at] == b {
                    (top.phase, top.index, top.pending) = (.colon, Int32(i + 1), shape.properties[i].node)
                    stack[stack.count - 1] = top
                    lex = .structural
                    return .one
                }
            }
            if k.additional, let extra = shape.additional { // an unescaped quote ends an additional key
                var equal = k.equal
                while equal != 0 {
                    let i = equal.trailingZeroBitCount
                    equal &= equal - 1
                    if shape.properties[i].keyBytes.count == at + 1 { return .dead }
                }
                (top.phase, top.index, top.pending) = (.colon, Int32(shape.properties.count), extra)
                stack[stack.count - 1] = top
                lex = .structural
                return .one
            }
        }
        k.candidates = Self.matching(k.candidates, shape, at, b)
        k.equal = Self.matching(k.equal, shape, at, b)
        if k.additional {
            k.additional = Self.plainStringByte(b, &k.utf8Pending)
        }
        guard k.candidates != 0 || k.additional else { return .dead }
        // Once no defined key matches, the count no longer matters: equal states stay equal.
        k.matched = k.candidates | k.equal == 0 ? 0 : k.matched + 1
        lex = .key(k)
        return .one
    }

    private static func matching(_ mask: UInt64, _ shape: ObjectShape, _ at: Int, _ b: UInt8) -> UInt64 {
        var out: UInt64 = 0
        var m = mask
        while m != 0 {
            let i = m.trailingZeroBitCount
            m &= m - 1
            let bytes = shape.properties[i].keyBytes
            if at < bytes.count - 1 && bytes[at] == b { out |= 1 << UInt64(i) }
        }
        return out
    }

    /// A content byte of a string with no escapes: printable ASCII other than `"` and `\`, or
    /// well-formed UTF-8.
    static func plainStringByte(_ b: UInt8, _ pending: inout UInt8) -> Bool {
        if pending > 0 {
            guard b & 0xC0 == 0x80 else { return false }
            pending -= 1
            return true
        }
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x00..<0x20, 0x80..<0xC2, 0xF5...0xFF: return false
        case 0xC2..<0xE0: pending = 1
        case 0xE0..<0xF0: pending = 2
        case 0xF0..<0xF5: pending = 3
        default: break
        }
        return true
    }

    private mutating func stringByte(_ string: StringLex, _ b: UInt8, _ g: SchemaGrammar) -> Outcome {
        guard case .string(let shape) = g.nodes[Int(string.node)] else { return .dead }
        var s = string
        let counts = shape.minLength > 0 || shape.maxLength < Int.max
        let automaton = shape.pattern.map { g.patterns[Int($0)] }
        if s.escaped {
            guard "\"\\/bfnrt".utf8.contains(b) else { return .dead }
            s.escaped = false
        } else if b == UInt8(ascii: "\"") && s.utf8Pending == 0 {
            guard Int(s.chars) >= shape.minLength || !counts else { return .dead }
            if let automaton, !automaton.isAccepting(s.pattern) { return .dead }
            completeValue()
            return .one
        } else if b == UInt8(ascii: "\\") && automaton == nil && s.utf8Pending == 0 {
            guard Int(s.chars) < shape.maxLength else { return .dead }
            s.escaped = true
            if counts { s.chars += 1 }
        } else {
            let starts = s.utf8Pending == 0
            guard Self.plainStringByte(b, &s.utf8Pending) else { return .dead }
            if starts {
                guard Int(s.chars) < shape.maxLength else { return .dead }
                if counts { s.chars += 1 }
            }
            if let automaton {
                let next = automaton.next(s.pattern, b)
                guard next >= 0 else { return .dead }
                // Never take a byte after which the pattern cannot be met within maxLength.
                if counts, automaton.minimumRemaining(next) > shape.maxLength - Int(s.chars) { return .dead }
                s.pattern = next
            }
        }
        lex = .string(s)
        return .one
    }

    // MARK: Numbers

    private mutating func numberByte(_ number: NumberLex, _ b: UInt8, _ g: SchemaGrammar) -> Outcome {
        guard case .number(let shape) = g.nodes[Int(number.node)] else { return .dead }
        var n = number
        let digit = b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
        let value = Int64(b) - 0x30
        switch n.phase {
        case .minus where digit, .integer where digit:
            guard n.phase == .minus || Int(n.integerDigits) < SchemaRecognizer.maxDigits else { return .dead }
            n.phase = n.phase == .minus && value == 0 ? .zero : .integer
            n.integerDigits += 1
            n.magnitude = n.magnitude * 10 + value
        case .zero, .integer:
            if b == UInt8(ascii: "."), !shape.isInteger {
                n.phase = .point
            } else if b | 0x20 == UInt8(ascii: "e"), !shape.isInteger, !shape.isBounded {
                n.phase = .exponent
            } else {
                return endNumber(n, shape, b, g)
            }
        case .point where digit, .fraction where digit:
            guard Int(n.fractionDigits) < SchemaRecognizer.maxDigits else { return .dead }
            n.phase = .fraction
            n.fractionDigits += 1
            n.fraction = n.fraction * 10 + value
        case .fraction:
            if b | 0x20 == UInt8(ascii: "e"), !shape.isBounded {
                n.phase = .exponent
            } else {
                return endNumber(n, shape, b, g)
            }
        case .exponent where b == UInt8(ascii: "+") || b == UInt8(ascii: "-"):
            n.phase = .exponentSign
        case .exponent where digit, .exponentSign where digit, .exponentDigits where digit:
            guard n.exponentDigits < 2 else { return .dead }
            n.phase = .exponentDigits
            n.exponentDigits += 1
        case .exponentDigits: return endNumber(n, shape, b, g)
        default: return .dead
        }
        guard feasible(n, g) else { return .dead }
        lex = .number(n)
        return .one
    }

    private mutating func endNumber(_ n: NumberLex, _ shape: NumberShape, _ b: UInt8, _ g: SchemaGrammar) -> Outcome {
        guard !shape.isBounded || shape.admits(Self.value(n)) else { return .dead }
        completeValue()
        return advance(b, g)
    }

    static func value(_ n: NumberLex) -> Double {
        let v = Double(n.magnitude) + Double(n.fraction) / pow10(Int(n.fractionDigits))
        return n.negative ? -v : v
    }

    static func pow10(_ k: Int) -> Double {
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }

    /// Whether some number that starts with the digits so far passes the bounds.
    private func feasible(_ n: NumberLex, _ g: SchemaGrammar) -> Bool {
        guard case .number(let shape) = g.nodes[Int(n.node)], shape.isBounded else { return true }
        let fractions = !shape.isInteger
        // Magnitudes from `low` up to `high`; more fraction digits never reach `high` itself.
        func fits(_ low: Double, _ high: Double, open: Bool) -> Bool {
            n.negative ? shape.intersects(low: -high, high: -low, lowOpen: open)
                : shape.intersects(low: low, high: high, highOpen: open)
        }
        switch n.phase {
        case .minus: // any magnitude with 1 to maxDigits digits (or a fraction of one)
            return fits(0, fractions ? .infinity : Self.pow10(SchemaRecognizer.maxDigits) - 1, open: false)
        case .zero: return fits(0, fractions ? 1 : 0, open: fractions)
        case .integer:
            let m = Double(n.magnitude)
            for extra in 0...(SchemaRecognizer.maxDigits - Int(n.integerDigits)) {
                let scale = Self.pow10(extra)
                let low = m * scale
                if fits(low, fractions ? (m + 1) * scale : low + scale - 1, open: fractions) { return true }
            }
            return false
        case .point, .fraction:
            let v = abs(Self.value(n))
            guard Int(n.fractionDigits) < SchemaRecognizer.maxDigits else { return fits(v, v, open: false) }
            return fits(v, v + 1 / Self.pow10(Int(n.fractionDigits)), open: true)
        default: return true
        }
    }
}

extension ByteRecognizer {
    /// Advances over every byte, or returns false and stays unchanged.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> Bool {
        var next = self
        for byte in bytes where !next.feed(byte) { return false }
        self = next
        return true
    }
}

extension SchemaRecognizer {
    /// With one reading: a literal's next bytes (before it may end), a defined key's next bytes
    /// (when no other key is allowed), an object's or a value's punctuation. Forced runs are found
    /// by trying these instead of every byte.
    public func possibleNextBytes() -> [UInt8]? {
        guard others.isEmpty else { return nil }
        let g = grammar
        switch main.lex {
        case .literal(let node, let at):
            guard case .literals(let trie) = g.nodes[Int(node)], !trie.isEnd[Int(at)] else { return nil }
            return trie.childBytes(of: at)
        case .key(let k):
            guard !k.additional, k.utf8Pending == 0, let top = main.stack.last,
                  case .object(let shape) = g.nodes[Int(top.node)] else { return nil }
            let at = Int(k.matched) + 1
            var bytes: [UInt8] = [], mask = k.candidates
            while mask != 0 {
                let i = mask.trailingZeroBitCount
                mask &= mask - 1
                let key = shape.properties[i].keyBytes
                if at < key.count, !bytes.contains(key[at]) { bytes.append(key[at]) }
            }
            return bytes
        case .value(let node):
            switch g.nodes[Int(node)] {
            case .object: return [UInt8(ascii: "{")]
            case .array: return [UInt8(ascii: "[")]
            case .string: return [UInt8(ascii: "\"")]
            case .literals(let trie): return trie.childBytes(of: 0)
            default: return nil
            }
        case .structural:
            guard let top = main.stack.last, !top.isArray else { return nil }
            switch top.phase {
            case .open: return [UInt8(ascii: "}"), UInt8(ascii: "\"")]
            case .colon: return [UInt8(ascii: ":")]
            case .afterValue: return [UInt8(ascii: ","), UInt8(ascii: "}")]
            case .afterComma: return [UInt8(ascii: "\"")]
            case .value: return nil
            }
        default: return nil
        }
    }
}

/// Why a JSON Schema `pattern` cannot be compiled; syntax errors name the construct and its offset,
/// counted in Unicode scalars from the start of the pattern.
public struct PatternError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A deterministic automaton over UTF-8 bytes for one JSON Schema `pattern`, which constrains the
/// content of a JSON string while it is generated. It accepts exactly the strings the pattern
/// matches under ECMA-262 search semantics (unanchored unless `^`/`$`) that also contain no `"`,
/// `\` and no control character below U+0020, because those bytes cannot appear unescaped inside a
/// JSON string and the recognizer allows no escapes there. Every state kept can still reach an
/// accepting one, so a refused byte (-1) is the only dead end.
///
/// The documented regex subset:
/// - literals, including non-ASCII characters (they match their UTF-8 bytes); `.` (one scalar, not `\n`)
/// - escapes `\d \D \w \W \s \S` (ASCII meanings: `\d` = [0-9], `\w` = [A-Za-z0-9_],
///   `\s` = space, tab, LF, CR, FF, VT), `\n \t \r \f \v`, `\uXXXX` (surrogate pairs combine),
///   `\xHH`, and any escaped ASCII punctuation such as `\. \- \\ \/ \( \) \[ \] \{ \} \* \+ \? \| \^ \$`
/// - classes `[abc] [a-z0-9_] [^…]` with escapes and ranges (non-ASCII too) inside; a negated class
///   matches one whole scalar not listed
/// - groups `( )` and `(?: )`; alternation `|`
/// - quantifiers `* + ? {n} {n,} {n,m}` (n, m ≤ 1000); lazy forms like `*?` give the same language
/// - `^` only at the start and `$` only at the end of the pattern or of a top-level alternative
///   (`^a$|^b$` works)
/// Everything else is a `PatternError`: lookaround, backreferences, named groups, `\b`, `\p{…}`,
/// possessive or stacked quantifiers, a `{` that starts no quantifier, empty classes `[]`.
///
/// Compilation is bounded: the pattern's length, the NFA's size, the DFA's states (`maxStates`)
/// and the subset construction's work all have caps, each an error when exceeded, so a hostile
/// pattern fails fast instead of stalling a request.
public struct PatternAutomaton: Sendable, Hashable {
    public static let defaultMaxStates = 2048
    static let maxPatternLength = 1000
    /// NFA states plus byte-range edges: repetition counts multiply, so nesting hits this first.
    static let maxNFASize = 50_000
    static let maxRepetition = 1000
    /// NFA states visited plus edges inspected by the subset construction.
    static let maxWork = 20_000_000

    /// Patterns for the string `format`s the schema compiler supports. `date` never allows
    /// February 29: conservative, but every date it admits is real.
    public static let formatPatterns: [String: String] = [
        "date": "^\(datePart)$",
        "time": "^\(timePart)$",
        "date-time": "^\(datePart)T\(timePart)$",
        "uuid": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        "email": #"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,4}$"#,
        "ipv4": #"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"#,
    ]
    /// Year 0000 does not exist in the calendars validators use, so years start at 0001.
    static let datePart = #"(?:000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})"#
        + #"-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"#
        + #"|(?:0[13578]|1[02])-31)"#
    static let timePart = #"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"#

    public let pattern: String
    public let maxStates: Int
    /// transitions[state * 256 + byte]: the next state, or -1 when the byte is refused. stateCount × 256.
    let transitions: [Int32]
    /// accepting[state]. stateCount.
    let accepting: [Bool]
    /// remaining[state]: fewest further characters to begin before acceptance. stateCount.
    let remaining: [Int32]

    /// State 0 is always the start: pruning renumbers the states in discovery order.
    public var start: Int32 { 0 }
    public var stateCount: Int { accepting.count }

    public func next(_ state: Int32, _ byte: UInt8) -> Int32 {
        state < 0 ? -1 : transitions[Int(state) &* 256 &+ Int(byte)]
    }

    public func isAccepting(_ state: Int32) -> Bool { state >= 0 && accepting[Int(state)] }

    /// Fewest further characters (Unicode scalars) needed to reach an accepting state from `state`,
    /// counting a character at its first byte like a `maxLength` count does: 0 if `state` accepts,
    /// and also inside the last character, which needs only continuation bytes. `Int.max` for -1.
    public func minimumRemaining(_ state: Int32) -> Int { state < 0 ? .max : Int(remaining[Int(state)]) }

    // Equal patterns compiled under the same cap give equal automata, so the source identifies one.
    public static func == (a: PatternAutomaton, b: PatternAutomaton) -> Bool {
        a.pattern == b.pattern && a.maxStates == b.maxStates
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pattern)
        hasher.combine(maxStates)
    }

    public static func compile(_ pattern: String, maxStates: Int = defaultMaxStates) throws(PatternError)
        -> PatternAutomaton {
        let scalars = Array(pattern.unicodeScalars)
        guard scalars.count <= maxPatternLength else {
            throw PatternError("pattern is too long: \(scalars.count) characters, at most \(maxPatternLength)")
        }
        var parser = PatternParser(scalars: scalars)
        let branches = try parser.parseTop()
        var nfa = NFA()
        let start = try nfa.state(), accept = try nfa.state()
        // An unanchored side may be preceded or followed by anything at all, newlines included.
        let anything = PatternNode.repetition(.set(ScalarSet.all), min: 0, max: nil)
        for branch in branches {
            var end = try nfa.state()
            nfa.epsilons[Int(start)].append(end)
            if !branch.anchoredStart { end = try nfa.build(anything, from: end) }
            end = try nfa.build(branch.node, from: end)
            if !branch.anchoredEnd { end = try nfa.build(anything, from: end) }
            nfa.epsilons[Int(end)].append(accept)
        }
        var subsets = SubsetConstruction(nfa: nfa, accept: accept, maxStates: maxStates)
        try subsets.run(from: start)
        let dfa = PrunedDFA(transitions: subsets.transitions, accepting: subsets.sets.map { $0.contains(accept) })
        guard dfa.remaining[0] != .max else {
            throw PatternError("pattern `\(pattern)` can match no string that Tandem can generate "
                + "(pattern-constrained strings hold no `\"`, `\\` or control characters)")
        }
        let kept = dfa.kept()
        return PatternAutomaton(pattern: pattern, maxStates: maxStates, transitions: kept.transitions,
                                accepting: kept.accepting, remaining: kept.remaining)
    }
}

/// Sets of Unicode scalars as sorted, disjoint, non-adjacent ranges.
private struct ScalarSet {
    var ranges: [ClosedRange<UInt32>]

    static let all = ScalarSet(ranges: [0...0x10FFFF])
    static let digit = ScalarSet(ranges: [0x30...0x39])
    static let word = ScalarSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = ScalarSet(ranges: [0x09...0x0D, 0x20...0x20])
    /// What a pattern-constrained JSON string can hold: no controls, `"`, `\` or surrogates.
    static let generable = ScalarSet(ranges: [0x00...0x1F, 0x22...0x22, 0x5C...0x5C, 0xD800...0xDFFF]).complement

    init(ranges: [ClosedRange<UInt32>]) {
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        self.ranges = merged
    }

    init(_ scalar: Unicode.Scalar) { ranges = [scalar.value...scalar.value] }
    init(_ value: UInt32) { ranges = [value...value] }

    var single: UInt32? { ranges.count == 1 && ranges[0].count == 1 ? ranges[0].lowerBound : nil }

    var complement: ScalarSet {
        var result: [ClosedRange<UInt32>] = [], next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { result.append(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return ScalarSet(ranges: result)
    }

    func union(_ other: ScalarSet) -> ScalarSet { ScalarSet(ranges: ranges + other.ranges) }
    func intersection(_ other: ScalarSet) -> ScalarSet { complement.union(other.complement).complement }

    /// The UTF-8 encodings of the set as sequences of byte ranges, each sequence matching one run of
    /// scalars whose encodings differ only within the ranges (the split used by Rust's regex-syntax).
    /// The set must hold no surrogates.
    var utf8Sequences: [[ClosedRange<UInt8>]] {
        var out: [[ClosedRange<UInt8>]] = [], stack = ranges.map { ($0.lowerBound, $0.upperBound) }
        split: while let (lo, hi) = stack.popLast() {
            for boundary: UInt32 in [0x7F, 0x7FF, 0xFFFF] where lo <= boundary && boundary < hi {
                stack += [(boundary + 1, hi), (lo, boundary)]
                continue split
            }
            let length = hi <= 0x7F ? 1 : hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4
            for i in 1..<max(length, 1) {
                let m: UInt32 = (1 << (6 * UInt32(i))) - 1
                guard lo & ~m != hi & ~m else { continue }
                if lo & m != 0 {
                    stack += [((lo | m) + 1, hi), (lo, lo | m)]
                    continue split
                }
                if hi & m != m {
                    stack += [(hi & ~m, hi), (lo, (hi & ~m) - 1)]
                    continue split
                }
            }
            out.append(zip(Self.utf8(lo, length), Self.utf8(hi, length)).map { $0...$1 })
        }
        return out
    }

    static func utf8(_ v: UInt32, _ length: Int) -> [UInt8] {
        switch length {
        case 1: return [UInt8(v)]
        case 2: return [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case 3: return [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        default:
            return [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F),
                    UInt8(0x80 | v & 0x3F)]
        }
    }
}

/// The syntax tree; every leaf matches one scalar from a set.
private indirect enum PatternNode {
    case set(ScalarSet)
    case sequence([PatternNode])
    case alternation([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?)
}

/// Recursive descent over the documented subset; see `PatternAutomaton`.
private struct PatternParser {
    /// A top-level alternative and whether it is anchored at each end.
    struct Branch { var node: PatternNode; var anchoredStart: Bool; var anchoredEnd: Bool }

    let scalars: [Unicode.Scalar]
    var pos = 0

    var peek: Unicode.Scalar? { pos < scalars.count ? scalars[pos] : nil }

    mutating func eat(_ c: Unicode.Scalar) -> Bool {
        guard peek == c else { return false }
        pos += 1
        return true
    }

    func fail(_ what: String, at offset: Int) -> PatternError { PatternError("\(what) (at offset \(offset))") }

    mutating func parseTop() throws(PatternError) -> [Branch] {
        var branches: [Branch] = []
        while true {
            let anchoredStart = eat("^")
            let (node, anchoredEnd) = try parseSequence(topLevel: true)
            branches.append(Branch(node: node, anchoredStart: anchoredStart, anchoredEnd: anchoredEnd))
            if peek == nil { return branches }
            if peek == ")" { throw fail("unbalanced parenthesis: `)` has no `(`", at: pos) }
            pos += 1
        }
    }

    mutating func parseAlternation() throws(PatternError) -> PatternNode {
        var options = [try parseSequence(topLevel: false).node]
        while eat("|") { options.append(try parseSequence(topLevel: false).node) }
        return options.count == 1 ? options[0] : .alternation(options)
    }

    mutating func parseSequence(topLevel: Bool) throws(PatternError) -> (node: PatternNode, anchoredEnd: Bool) {
        var items: [PatternNode] = []
        while let c = peek, c != "|", c != ")" {
            if c == "$" {
                let after = pos + 1 < scalars.count ? scalars[pos + 1] : nil
                guard topLevel, after == nil || after == "|" else {
                    throw fail("anchor `$` is supported only at the end of the pattern or of a top-level alternative",
                               at: pos)
                }
                pos += 1
                return (.sequence(items), true)
            }
            items.append(try parseQuantifier(on: try parseAtom()))
        }
        return (.sequence(items), false)
    }

    mutating func parseAtom() throws(PatternError) -> PatternNode {
        let at = pos, c = scalars[pos]
        pos += 1
        switch c {
        case "(": return try parseGroup(at: at)
        case "[": return .set(try parseClass(at: at))
        case ".": return .set(ScalarSet(0x0A).complement)
        case "\\": return .set(try parseEscape(at: at))
        case "^":
            throw fail("anchor `^` is supported only at the start of the pattern or of a top-level alternative", at: at)
        case "*", "+", "?", "{": throw fail("quantifier `\(c)` has nothing to repeat", at: at)
        default: return .set(ScalarSet(c))
        }
    }

    mutating func parseGroup(at: Int) throws(PatternError) -> PatternNode {
        if eat("?"), !eat(":") {
            let construct = switch (peek, pos + 1 < scalars.count ? scalars[pos + 1] : nil) {
            case ("=", _): "lookahead `(?=`"
            case ("!", _): "negative lookahead `(?!`"
            case ("<", "="): "lookbehind `(?<=`"
            case ("<", "!"): "negative lookbehind `(?<!`"
            case ("<", _): "named group `(?<`"
            default: "group modifier `(?`"
            }
            throw fail("\(construct) is not supported", at: at)
        }
        let inner = try parseAlternation()
        guard eat(")") else { throw fail("unbalanced parenthesis: `(` is never closed", at: at) }
        return inner
    }

    mutating func parseQuantifier(on atom: PatternNode) throws(PatternError) -> PatternNode {
        guard let c = peek, "*+?{".unicodeScalars.contains(c) else { return atom }
        let (min, max) = try parseBounds()
        _ = eat("?")
        if let c = peek, "*+?{".unicodeScalars.contains(c) {
            throw fail("stacked or possessive quantifier `\(c)` is not supported", at: pos)
        }
        return .repetition(atom, min: min, max: max)
    }

    /// The bounds of the quantifier at `pos`, leaving `pos` after it; `{` must be `{n}`, `{n,}` or `{n,m}`.
    mutating func parseBounds() throws(PatternError) -> (Int, Int?) {
        let at = pos
        pos += 1
        switch scalars[at] {
        case "*": return (0, nil)
        case "+": return (1, nil)
        case "?": return (0, 1)
        default: break
        }
        let min = number(), comma = eat(","), max = comma ? number() : min
        guard let min, eat("}") else {
            throw fail("`{` starts no quantifier {n}, {n,} or {n,m}", at: at)
        }
        let limit = PatternAutomaton.maxRepetition
        guard min <= limit, (max ?? 0) <= limit else {
            throw fail("repetition count above \(limit) is not supported", at: at)
        }
        if let max, max < min { throw fail("repetition {\(min),\(max)} is out of order", at: at) }
        return (min, max)
    }

    mutating func number() -> Int? {
        var value: Int?
        while let c = peek, c.isASCII, let digit = Int(String(c)) {
            value = Swift.min((value ?? 0) * 10 + digit, 1_000_000)
            pos += 1
        }
        return value
    }

    mutating func parseClass(at: Int) throws(PatternError) -> ScalarSet {
        let negated = eat("^")
        if peek == "]" { throw fail("empty character class is not supported", at: at) }
        var members: [ClosedRange<UInt32>] = []
        while !eat("]") {
            guard let c = peek else { throw fail("character class `[` is never closed", at: at) }
            let itemAt = pos
            pos += 1
            let low = c == "\\" ? try parseEscape(at: itemAt) : ScalarSet(c)
            guard peek == "-", pos + 1 < scalars.count, scalars[pos + 1] != "]" else {
                members += low.ranges
                continue
            }
            let highAt = pos + 1
            pos += 2
            let high = scalars[highAt] == "\\" ? try parseEscape(at: highAt) : ScalarSet(scalars[highAt])
            guard let lo = low.single, let hi = high.single else {
                throw fail("class range needs a single character at each end", at: itemAt)
            }
            guard lo <= hi else { throw fail("class range is out of order", at: itemAt) }
            members.append(lo...hi)
        }
        let set = ScalarSet(ranges: members)
        return negated ? set.complement : set
    }

    /// After `\` (at offset `at`): the scalars the escape stands for.
    mutating func parseEscape(at: Int) throws(PatternError) -> ScalarSet {
        guard let c = peek else { throw fail("pattern ends inside an escape", at: at) }
        pos += 1
        switch c {
        case "d": return .digit
        case "D": return ScalarSet.digit.complement
        case "w": return .word
        case "W": return ScalarSet.word.complement
        case "s": return .space
        case "S": return ScalarSet.space.complement
        case "n": return ScalarSet(0x0A)
        case "t": return ScalarSet(0x09)
        case "r": return ScalarSet(0x0D)
        case "f": return ScalarSet(0x0C)
        case "v": return ScalarSet(0x0B)
        case "x": return ScalarSet(try hex(digits: 2, at: at))
        case "u": return try parseUnicodeEscape(at: at)
        case "b", "B": throw fail("word boundary `\\\(c)` is not supported", at: at)
        case "1"..."9": throw fail("backreference `\\\(c)` is not supported", at: at)
        case "k": throw fail("named backreference `\\k` is not supported", at: at)
        case "p", "P": throw fail("Unicode property escape `\\\(c)` is not supported", at: at)
        default:
            if c.isASCII, c.properties.isAlphabetic || ("0"..."9").contains(c) {
                throw fail("escape `\\\(c)` is not supported", at: at)
            }
            return ScalarSet(c)
        }
    }

    /// `\uXXXX`, combining a UTF-16 surrogate pair written as two escapes.
    mutating func parseUnicodeEscape(at: Int) throws(PatternError) -> ScalarSet {
        var value = try hex(digits: 4, at: at)
        if (0xD800...0xDBFF).contains(value), peek == "\\", pos + 1 < scalars.count, scalars[pos + 1] == "u" {
            pos += 2
            let low = try hex(digits: 4, at: at)
            guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone surrogate in `\\u` escape", at: at) }
            value = 0x10000 + (value - 0xD800) << 10 + (low - 0xDC00)
        }
        guard !(0xD800...0xDFFF).contains(value) else { throw fail("lone surrogate in `\\u` escape", at: at) }
        return ScalarSet(value)
    }

    mutating func hex(digits: Int, at: Int) throws(PatternError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek, c.isASCII, let digit = UInt32(String(c), radix: 16) else {
                throw fail("escape needs \(digits) hexadecimal digits", at: at)
            }
            value = value << 4 | digit
            pos += 1
        }
        return value
    }
}

/// A Thompson NFA over bytes: a state has epsilon moves and byte-range edges.
private struct NFA {
    struct Edge { var lo: UInt8; var hi: UInt8; var to: Int32 }
    /// epsilons[state]: states reached without input. states.
    var epsilons: [[Int32]] = []
    /// edges[state]: byte ranges and where they lead. states.
    var edges: [[Edge]] = []
    var size = 0

    mutating func grow() throws(PatternError) {
        size += 1
        let limit = PatternAutomaton.maxNFASize
        guard size <= limit else {
            throw PatternError("pattern is too complex: more than \(limit) NFA states and edges "
                + "(nested repetition counts multiply)")
        }
    }

    mutating func state() throws(PatternError) -> Int32 {
        try grow()
        epsilons.append([])
        edges.append([])
        return Int32(epsilons.count - 1)
    }

    mutating func connect(_ from: Int32, _ bytes: ClosedRange<UInt8>, _ to: Int32) throws(PatternError) {
        try grow()
        edges[Int(from)].append(Edge(lo: bytes.lowerBound, hi: bytes.upperBound, to: to))
    }

    /// Adds `node` starting at `from`; returns the state where it ends.
    mutating func build(_ node: PatternNode, from: Int32) throws(PatternError) -> Int32 {
        switch node {
        case .set(let set):
            // Sequences share the states of equal tails (all `[80-BF]` endings are one chain), so a
            // scalar begun by different lead bytes is one DFA state, not one per byte range.
            let end = try state()
            var tails: [[ClosedRange<UInt8>]: Int32] = [[]: end]
            for sequence in set.intersection(.generable).utf8Sequences {
                var to = end
                for i in stride(from: sequence.count - 1, to: 0, by: -1) {
                    let tail = Array(sequence[i...])
                    if let known = tails[tail] {
                        to = known
                        continue
                    }
                    let head = try state()
                    try connect(head, sequence[i], to)
                    tails[tail] = head
                    to = head
                }
                try connect(from, sequence[0], to)
            }
            return end
        case .sequence(let items):
            var end = from
            for item in items { end = try build(item, from: end) }
            return end
        case .alternation(let options):
            let end = try state()
            for option in options {
                let start = try state()
                epsilons[Int(from)].append(start)
                epsilons[Int(try build(option, from: start))].append(end)
            }
            return end
        case .repetition(let inner, let min, let max):
            var at = from
            for _ in 0..<min { at = try build(inner, from: at) }
            guard let max else {
                let loop = try state()
                epsilons[Int(at)].append(loop)
                epsilons[Int(try build(inner, from: loop))].append(loop)
                return loop
            }
            // Nested optionals, (x(x(x)?)?)?, so the NFA grows linearly with the count.
            let end = try state()
            epsilons[Int(at)].append(end)
            for _ in min..<max {
                at = try build(inner, from: at)
                epsilons[Int(at)].append(end)
            }
            return end
        }
    }
}

/// Subset construction with the DFA state cap and a work budget. A DFA state is the sorted set of
/// NFA states reachable by epsilon moves that have edges or accept: the others add nothing, and
/// leaving them out lets sets that behave alike be one state.
private struct SubsetConstruction {
    /// A sorted set of NFA states as a dictionary key, hashed once (FNV-1a) because the sets of
    /// long repetitions hold thousands of states and are looked up for every transition.
    struct Key: Hashable {
        let members: [Int32]
        let digest: UInt64

        init(_ members: [Int32]) {
            self.members = members
            digest = members.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64(UInt32(bitPattern: $1))) &* 0x100_0000_01B3 }
        }

        static func == (a: Key, b: Key) -> Bool { a.digest == b.digest && a.members == b.members }
        func hash(into hasher: inout Hasher) { hasher.combine(digest) }
    }

    let nfa: NFA
    let accept: Int32
    let maxStates: Int
    var work = 0
    /// mark[nfaState] == generation when seen by the current closure or kernel. NFA states.
    var mark: [UInt32]
    var generation: UInt32 = 0
    /// sets[dfaState]: its NFA states. DFA states.
    var sets: [[Int32]] = []
    var idOfSet: [Key: Int32] = [:]
    /// The DFA state reached from a set of edge targets, saving a closure per repeated kernel.
    var idOfKernel: [Key: Int32] = [:]
    /// transitions[dfaState * 256 + byte], -1 when refused. DFA states × 256.
    var transitions: [Int32] = []

    init(nfa: NFA, accept: Int32, maxStates: Int) {
        self.nfa = nfa
        self.accept = accept
        self.maxStates = maxStates
        mark = [UInt32](repeating: 0, count: nfa.edges.count)
    }

    mutating func spend(_ amount: Int) throws(PatternError) {
        work += amount
        guard work <= PatternAutomaton.maxWork else {
            throw PatternError("pattern is too complex: its automaton takes too long to build")
        }
    }

    mutating func closure(_ kernel: [Int32]) throws(PatternError) -> [Int32] {
        generation += 1
        var stack = kernel, result: [Int32] = [], visited = 0
        for s in kernel { mark[Int(s)] = generation }
        while let s = stack.popLast() {
            visited += 1
            if !nfa.edges[Int(s)].isEmpty || s == accept { result.append(s) }
            for t in nfa.epsilons[Int(s)] where mark[Int(t)] != generation {
                mark[Int(t)] = generation
                stack.append(t)
            }
        }
        try spend(visited)
        result.sort()
        return result
    }

    mutating func id(of kernel: [Int32]) throws(PatternError) -> Int32 {
        let kernelKey = Key(kernel)
        if let id = idOfKernel[kernelKey] { return id }
        let set = try closure(kernel), setKey = Key(set)
        var id = idOfSet[setKey]
        if id == nil {
            guard sets.count < maxStates else {
                throw PatternError("pattern is too complex: more than \(maxStates) states")
            }
            id = Int32(sets.count)
            sets.append(set)
            idOfSet[setKey] = id
        }
        idOfKernel[kernelKey] = id
        return id!
    }

    /// Discovers DFA states breadth first; bytes are grouped into intervals where the same NFA
    /// edges apply, so a state costs its edges times its intervals, not 256 closures.
    mutating func run(from start: Int32) throws(PatternError) {
        _ = try id(of: [start])
        var next = 0
        while next < sets.count {
            let edges = sets[next].flatMap { nfa.edges[Int($0)] }
            var isCut = [Bool](repeating: false, count: 257)
            for e in edges {
                isCut[Int(e.lo)] = true
                isCut[Int(e.hi) + 1] = true
            }
            let cuts = isCut.indices.filter { isCut[$0] }
            try spend(edges.count * cuts.count)
            var row = [Int32](repeating: -1, count: 256)
            for (lo, end) in zip(cuts, cuts.dropFirst()) {
                generation += 1
                var kernel: [Int32] = []
                for e in edges where Int(e.lo) <= lo && lo <= Int(e.hi) && mark[Int(e.to)] != generation {
                    mark[Int(e.to)] = generation
                    kernel.append(e.to)
                }
                if kernel.isEmpty { continue }
                kernel.sort()
                let target = try id(of: kernel)
                for byte in lo..<end { row[byte] = target }
            }
            transitions += row
            next += 1
        }
    }
}

/// The DFA with each state's fewest remaining characters, and the part of it that can still accept.
private struct PrunedDFA {
    let transitions: [Int32]
    let accepting: [Bool]
    /// remaining[state]: fewest characters to begin before acceptance, Int32.max if none. states.
    let remaining: [Int32]

    /// Backward 0-1 breadth-first search from the accepting states: a byte costs one character when
    /// it starts a scalar (ASCII or a lead byte) and nothing when it continues one.
    init(transitions: [Int32], accepting: [Bool]) {
        self.transitions = transitions
        self.accepting = accepting
        let n = accepting.count
        var incoming = [[(from: Int32, cost: Int32)]](repeating: [], count: n)
        for s in 0..<n {
            for byte in 0..<256 where transitions[s * 256 + byte] >= 0 {
                incoming[Int(transitions[s * 256 + byte])].append((Int32(s), byte & 0xC0 == 0x80 ? 0 : 1))
            }
        }
        var remaining = [Int32](repeating: .max, count: n)
        var level = (0..<n).filter { accepting[$0] }, distance: Int32 = 0
        for s in level { remaining[s] = 0 }
        while !level.isEmpty {
            var nextLevel: [Int] = [], i = 0
            while i < level.count {
                let t = level[i]
                i += 1
                guard remaining[t] == distance else { continue }
                for (s, cost) in incoming[t] where distance + cost < remaining[Int(s)] {
                    remaining[Int(s)] = distance + cost
                    if cost == 0 { level.append(Int(s)) } else { nextLevel.append(Int(s)) }
                }
            }
            level = nextLevel
            distance += 1
        }
        self.remaining = remaining
    }

    /// The states that can still accept, renumbered in order (the start stays 0); edges into the
    /// others become -1.
    func kept() -> (transitions: [Int32], accepting: [Bool], remaining: [Int32]) {
        var newID = [Int32](repeating: -1, count: accepting.count), count: Int32 = 0
        for s in accepting.indices where remaining[s] != .max {
            newID[s] = count
            count += 1
        }
        var table: [Int32] = []
        table.reserveCapacity(Int(count) * 256)
        for s in accepting.indices where newID[s] >= 0 {
            for byte in 0..<256 {
                let t = transitions[s * 256 + byte]
                table.append(t < 0 ? -1 : newID[Int(t)])
            }
        }
        let live = accepting.indices.filter { newID[$0] >= 0 }
        return (table, live.map { accepting[$0] }, live.map { remaining[$0] })
    }
}

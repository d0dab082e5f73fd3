import Foundation
import Grammar
import Model
import Testing

struct PatternAutomatonTests {
    struct Case: Decodable, Sendable {
        var pattern: String
        var text: String
        var matches: Bool
    }

    /// One pattern with all its fixture texts, so each pattern is compiled once.
    struct PatternCases: Sendable, CustomTestStringConvertible {
        var pattern: String
        var cases: [Case]
        var testDescription: String { pattern }
    }

    static let fixtures: [PatternCases] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/pattern_cases.json")
        let cases = try! JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
        var order: [String] = [], byPattern: [String: [Case]] = [:]
        for c in cases {
            if byPattern[c.pattern] == nil { order.append(c.pattern) }
            byPattern[c.pattern, default: []].append(c)
        }
        return order.map { PatternCases(pattern: $0, cases: byPattern[$0]!) }
    }()

    /// The state after feeding `text` from the start, -1 once a byte is refused.
    static func run(_ automaton: PatternAutomaton, _ text: String) -> Int32 {
        var state = automaton.start
        for byte in text.utf8 where state >= 0 { state = automaton.next(state, byte) }
        return state
    }

    static func accepts(_ automaton: PatternAutomaton, _ text: String) -> Bool {
        automaton.isAccepting(run(automaton, text))
    }

    /// A JSON string constrained by a pattern holds none of these, so Python's verdict on them is moot.
    static func isGenerable(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0.value < 0x20 || $0 == "\"" || $0 == "\\" }
    }

    static func compileError(_ pattern: String, maxStates: Int = PatternAutomaton.defaultMaxStates) -> String? {
        do {
            _ = try PatternAutomaton.compile(pattern, maxStates: maxStates)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("matches exactly what Python's re.search says", arguments: fixtures)
    func agreesWithPython(_ fixture: PatternCases) throws {
        let automaton = try PatternAutomaton.compile(fixture.pattern)
        for c in fixture.cases where Self.isGenerable(c.text) {
            #expect(Self.accepts(automaton, c.text) == c.matches, "\(c.text.debugDescription)")
        }
    }

    @Test func formatPatternsAreInTheFixtures() {
        let fixturePatterns = Set(Self.fixtures.map(\.pattern))
        #expect(PatternAutomaton.formatPatterns.count == 6)
        for (format, pattern) in PatternAutomaton.formatPatterns {
            #expect(fixturePatterns.contains(pattern), "\(format)")
        }
    }

    @Test("every state can still accept, forbidden bytes are refused, and the distances are consistent",
          arguments: fixtures.map(\.pattern))
    func statesArePruned(_ pattern: String) throws {
        let automaton = try PatternAutomaton.compile(pattern)
        let forbidden: [UInt8] = Array(0..<0x20) + [0x22, 0x5C]
        for s in 0..<Int32(automaton.stateCount) {
            let remaining = automaton.minimumRemaining(s)
            #expect(remaining < Int.max)
            #expect(remaining == 0 || !automaton.isAccepting(s))
            #expect(forbidden.allSatisfy { automaton.next(s, $0) == -1 })
            let successors = (0...255).map { automaton.next(s, UInt8($0)) }.filter { $0 >= 0 }
            // One byte begins at most one character, and a shortest path leaves every state that
            // does not accept.
            #expect(successors.allSatisfy { automaton.minimumRemaining($0) >= remaining - 1 })
            #expect(automaton.isAccepting(s) || successors.contains { automaton.minimumRemaining($0) <= remaining })
        }
    }

    @Test func deadEndsAreRefusedAndTheRemainderCounted() throws {
        let automaton = try PatternAutomaton.compile("^ab$")
        let afterA = automaton.next(automaton.start, UInt8(ascii: "a"))
        #expect(afterA >= 0 && !automaton.isAccepting(afterA))
        #expect(automaton.next(afterA, UInt8(ascii: "c")) == -1)
        #expect(automaton.minimumRemaining(automaton.start) == 2)
        #expect(automaton.minimumRemaining(afterA) == 1)
        let afterB = automaton.next(afterA, UInt8(ascii: "b"))
        #expect(automaton.isAccepting(afterB) && automaton.minimumRemaining(afterB) == 0)
        #expect((0...255).allSatisfy { automaton.next(afterB, UInt8($0)) == -1 })
    }

    /// Characters count at their first byte, as a `maxLength` count does, so the two add up.
    @Test func remainderCountsCharactersNotBytes() throws {
        let automaton = try PatternAutomaton.compile("^é€😀$")
        #expect(automaton.minimumRemaining(automaton.start) == 3)
        #expect(automaton.minimumRemaining(automaton.next(automaton.start, 0xC3)) == 2)
        #expect(automaton.minimumRemaining(Self.run(automaton, "é")) == 2)
        let afterTwo = Self.run(automaton, "é€")
        let insideLast = automaton.next(automaton.next(afterTwo, 0xF0), 0x9F)
        #expect(automaton.minimumRemaining(insideLast) == 0 && !automaton.isAccepting(insideLast))
        #expect(Self.accepts(automaton, "é€😀"))
    }

    @Test func surrogatePairEscapesAreOneCharacter() throws {
        let automaton = try PatternAutomaton.compile(#"^\ud83d\ude00$"#)
        #expect(Self.accepts(automaton, "😀") && !Self.accepts(automaton, "😁"))
    }

    /// Random walks through bounded patterns: every string produced is valid UTF-8 and ends accepted.
    @Test(arguments: ["date", "time", "date-time", "uuid", "email", "ipv4"].map { PatternAutomaton.formatPatterns[$0]! }
        + ["^[^a]{1,5}$", "^.{2,3}$", "^[é€a-c]{3}$", "^x[\\W\\S]y$", "^[α-ω]+x$"])
    func walksProduceValidUTF8(_ pattern: String) throws {
        let automaton = try PatternAutomaton.compile(pattern)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var state = automaton.start, bytes: [UInt8] = []
            while bytes.count < 2000 {
                let allowed = (0...255).map(UInt8.init).filter { automaton.next(state, $0) >= 0 }
                if allowed.isEmpty || (automaton.isAccepting(state) && rng.next() % 4 == 0) { break }
                let byte = allowed[Int(rng.next() % UInt64(allowed.count))]
                bytes.append(byte)
                state = automaton.next(state, byte)
            }
            let text = String(validating: bytes, as: UTF8.self)
            #expect(text != nil && automaton.isAccepting(state), "\(bytes)")
            if pattern == PatternAutomaton.formatPatterns["date"], let text {
                #expect(Self.isRealDate(text), "\(text)")
            }
        }
    }

    static func isRealDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return false }
        let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return (1...12).contains(parts[1]) && (1...days[parts[1] - 1]).contains(parts[2])
    }

    @Test("refuses what it cannot do, naming the construct", arguments: [
        ("(?=a)", "lookahead `(?=` is not supported (at offset 0)"),
        ("ab(?!c)", "negative lookahead `(?!` is not supported (at offset 2)"),
        ("(?<=a)b", "lookbehind"),
        ("(?<name>a)", "named group"),
        ("(a)\\1", "backreference `\\1` is not supported (at offset 3)"),
        ("\\k<a>", "named backreference"),
        ("(ab", "unbalanced parenthesis: `(` is never closed (at offset 0)"),
        ("ab)", "unbalanced parenthesis: `)` has no `(` (at offset 2)"),
        ("\\bword", "word boundary"),
        ("\\p{L}", "Unicode property"),
        ("a++", "possessive"),
        ("a{2}{3}", "stacked"),
        ("*a", "nothing to repeat"),
        ("a{x}", "starts no quantifier"),
        ("a{3,2}", "out of order"),
        ("a{1001}", "above 1000"),
        ("[abc", "never closed"),
        ("[]", "empty character class"),
        ("[z-a]", "class range is out of order"),
        ("[\\d-z]", "single character"),
        ("a^b", "anchor `^`"),
        ("(a$)", "anchor `$`"),
        ("\\q", "escape `\\q` is not supported"),
        ("\\ud800", "lone surrogate"),
        ("^a\"b$", "can match no string"),
        ("^\\\\$", "can match no string"),
        (".*a.{20}", "more than 2048 states"),
        ("((a{1000}){1000})", "NFA states"),
        (String(repeating: "a", count: 1001), "too long"),
    ])
    func errors(_ pattern: String, _ message: String) {
        let error = Self.compileError(pattern)
        #expect(error?.contains(message) == true, "\(error ?? "compiled")")
    }

    @Test func stateCapIsTheCallersChoice() {
        #expect(Self.compileError("^[ab]{20}$", maxStates: 8) == "pattern is too complex: more than 8 states")
        #expect(Self.compileError("^[ab]{20}$") == nil)
    }

    @Test("hostile patterns compile or fail within a second", arguments: [
        "(a*)*b", "((a|aa)*){1000}", "(a|aa)*{1000}", "(a?){1000}a{1000}", "^(a?){1000}a{1000}$",
        "(.*){1000}", "((((a{1000}){1000}){1000}){1000})", "^(.{0,30}){0,30}$", "x{1000}y{1000}z{1000}",
        "^[^x]{1000}$", "(\\w+\\s?)+$", "[a-q][^u-z]{13}x", "^((a|b|ab)*){1,1000}$",
    ])
    func hostilePatternsAreBounded(_ pattern: String) {
        let elapsed = ContinuousClock().measure { _ = Self.compileError(pattern) }
        #expect(elapsed < .seconds(1))
    }

    @Test func equalityIsByPatternAndCap() throws {
        let a = try PatternAutomaton.compile("^a+$"), b = try PatternAutomaton.compile("^a+$")
        let c = try PatternAutomaton.compile("^a+$", maxStates: 10)
        #expect(a == b && a.hashValue == b.hashValue && a != c)
    }
}

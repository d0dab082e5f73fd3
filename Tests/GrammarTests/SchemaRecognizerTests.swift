import Foundation
import Grammar
import Model
import Sampling
import Testing

/// The schema grammar against Python's `jsonschema` (fixtures from make_schema_fixtures.py): a
/// document the recognizer accepts is always valid, and the valid documents in the generated form
/// (compact, properties in schema order) are accepted.
struct SchemaRecognizerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var schema: JSONTree
        var instances: [(text: String, valid: Bool, why: String)]
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schema_cases.json")
        guard case .array(let list) = try! JSONTree.parse(Data(contentsOf: url)) else { return [] }
        return list.map { item in
            guard case .string(let name)? = item["name"], let schema = item["schema"],
                  case .array(let instances)? = item["instances"] else { fatalError("bad fixture") }
            return Case(name: name, schema: schema, instances: instances.map { i in
                guard case .string(let text)? = i["text"], case .bool(let valid)? = i["valid"] else { fatalError() }
                var why = ""
                if case .string(let w)? = i["why"] { why = w }
                return (text, valid, why)
            })
        }
    }()

    static func accepts(_ grammar: SchemaGrammar, _ text: String) -> Bool {
        var r = SchemaRecognizer(grammar: grammar)
        return r.feed(Array(text.utf8)) && r.isComplete
    }

    @Test("accepted ⇒ valid, and valid generated documents are accepted", arguments: cases)
    func agreesWithJSONSchema(_ c: Case) throws {
        let grammar = try SchemaCompiler.compile(c.schema)
        for instance in c.instances {
            let accepted = Self.accepts(grammar, instance.text)
            // Absent additionalProperties generates no extra keys (valid documents, but not all of them).
            if instance.valid && instance.why.hasPrefix("extra key at the end of an open object") {
                #expect(!accepted, "\(instance.text)")
                continue
            }
            #expect(accepted == instance.valid, "\(instance.why): \(instance.text)")
        }
    }

    @Test("every prefix of an accepted document leaves a way to finish, and accepts only bytes it names",
          arguments: cases)
    func noDeadEnds(_ c: Case) throws {
        let grammar = try SchemaCompiler.compile(c.schema)
        var rng = SplitMix64(seed: UInt64(c.name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF))
        for _ in 0..<20 {
            var r = SchemaRecognizer(grammar: grammar)
            var text: [UInt8] = []
            // A random walk over acceptable bytes, leaning to punctuation so documents close.
            let preferred = Array("}]\",:0".utf8)
            while !r.isComplete && text.count < 4000 {
                let options = (0..<256).map(UInt8.init).filter { b in
                    guard b < 0x80 else { return false }
                    var next = r
                    return next.feed(b)
                }
                #expect(!options.isEmpty, "dead end after \(String(decoding: text, as: UTF8.self))")
                if let possible = r.possibleNextBytes() { // the forced-run and mask walks feed only these
                    let accepted = (0..<256).map(UInt8.init).filter { b in
                        var next = r
                        return next.feed(b)
                    }
                    #expect(Set(accepted).isSubset(of: possible),
                            "after \(String(decoding: text, as: UTF8.self)): \(accepted) ⊄ \(possible)")
                }
                guard !options.isEmpty else { break }
                let closing = options.filter(preferred.contains)
                let pool = !closing.isEmpty && rng.next() % 4 != 0 ? closing : options
                let b = pool[Int(rng.next() % UInt64(pool.count))]
                _ = r.feed(b)
                text.append(b)
            }
        }
    }

    static func error(_ schema: String) -> SchemaError? {
        do {
            _ = try SchemaCompiler.compile(try JSONTree.parse(Array(schema.utf8)))
            return nil
        } catch let e as SchemaError {
            return e
        } catch {
            return nil
        }
    }

    @Test func unsupportedKeywordsAreNamedWithTheirPath() throws {
        let notError = try #require(Self.error(#"{"type":"object","properties":{"a":{"type":"string"}},"not":{}}"#))
        #expect(notError.path == "#/not")
        #expect(notError.reason.contains("'not'"))
        let unique = try #require(Self.error(
            #"{"type":"object","properties":{"tags":{"type":"array","uniqueItems":true}}}"#))
        #expect(unique.path == "#/properties/tags/uniqueItems")
        #expect(Self.error(##"{"type":"object","patternProperties":{"a":{}}}"##)?.path == "#/patternProperties")
        #expect(Self.error(##"{"if":{},"then":{}}"##)?.path == "#/if")
        #expect(Self.error(#"{"type":"string","format":"hostname"}"#)?.reason.contains("hostname") == true)
        #expect(Self.error(##"{"type":"integer","multipleOf":3}"##)?.path == "#/multipleOf")
        #expect(Self.error(#"{"type":"objekt"}"#)?.reason.contains("objekt") == true)
        #expect(Self.error(#"{"$ref":"https://example.com/s.json"}"#)?.reason.contains("local") == true)
        #expect(Self.error(##"{"$ref":"#/$defs/missing"}"##)?.reason.contains("points to nothing") == true)
        #expect(Self.error(#"{"type":"number"}"#)?.reason.contains("number") == true)
    }

    @Test func annotationsAreIgnored() throws {
        let grammar = try SchemaCompiler.compile(try JSONTree.parse(Array(#"""
            {"title":"T","description":"d","type":"object","properties":{"a":{"type":"integer","default":1,
            "examples":[2],"title":"A"}},"required":["a"],"additionalProperties":false,"$schema":"x"}
            """#.utf8)))
        #expect(Self.accepts(grammar, #"{"a":12}"#))
        #expect(!Self.accepts(grammar, #"{"a":1.5}"#))
    }

    @Test("hostile schemas are refused or compiled quickly")
    func hostileSchemas() throws {
        let clock = ContinuousClock()
        let cycle = ##"{"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##
        let mutual = ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##
        let deep = String(repeating: #"{"type":"object","properties":{"a":"#, count: 200) + "{}"
            + String(repeating: "}}", count: 200)
        let bigEnum = #"{"type":"string","enum":["# + (0..<100_000).map { "\"v\($0)\"" }.joined(separator: ",") + "]}"
        let pattern = #"{"type":"object","properties":{"p":{"type":"string","pattern":"^(a|aa)*(b|bb){3,900}$"}}}"#
        for schema in [cycle, mutual, deep, bigEnum, pattern] {
            let start = clock.now
            _ = Self.error(schema)
            #expect(clock.now - start < .seconds(1), "\(schema.prefix(80))")
        }
        #expect(Self.error(cycle)?.reason.contains("no finite value") == true)
        #expect(Self.error(mutual)?.reason.contains("no finite value") == true)
        #expect(Self.error(deep)?.reason.contains("deeper") == true)
        #expect(Self.error(bigEnum)?.reason.contains("at most") == true)
    }

    @Test func additionalPropertiesComeOnlyWhenAskedFor() throws {
        func grammar(_ extra: String) throws -> SchemaGrammar {
            try SchemaCompiler.compile(try JSONTree.parse(Array(
                (#"{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]"# + extra + "}").utf8)))
        }
        #expect(!Self.accepts(try grammar(""), #"{"a":1,"b":2}"#))
        #expect(Self.accepts(try grammar(#","additionalProperties":true"#), #"{"a":1,"b":[null,{"c":"d"}]}"#))
        let typed = try grammar(#","additionalProperties":{"type":"string"}"#)
        #expect(Self.accepts(typed, #"{"a":1,"b":"x","c":"y"}"#))
        #expect(!Self.accepts(typed, #"{"a":1,"b":2}"#))
        #expect(!Self.accepts(typed, #"{"a":1,"a":"x"}"#), "an additional key never repeats a declared one")
    }

    @Test func recursionWithABaseCaseIsFine() throws {
        let tree = ##"""
            {"$defs":{"Node":{"type":"object","properties":{"v":{"type":"integer"},
            "kids":{"type":"array","items":{"$ref":"#/$defs/Node"}}},"required":["v","kids"],
            "additionalProperties":false}},"$ref":"#/$defs/Node"}
            """##
        let grammar = try SchemaCompiler.compile(try JSONTree.parse(Array(tree.utf8)))
        #expect(Self.accepts(grammar, #"{"v":1,"kids":[{"v":2,"kids":[]},{"v":3,"kids":[{"v":4,"kids":[]}]}]}"#))
        #expect(!Self.accepts(grammar, #"{"v":1,"kids":[{"v":2}]}"#))
    }

    @Test func integerBoundsAreMetDigitByDigit() throws {
        let grammar = try SchemaCompiler.compile(try JSONTree.parse(Array(
            #"{"type":"object","properties":{"n":{"type":"integer","minimum":-5,"exclusiveMaximum":120}},"required":["n"]}"#
                .utf8)))
        for n in [-5, -1, 0, 7, 19, 100, 119] { #expect(Self.accepts(grammar, "{\"n\":\(n)}"), "\(n)") }
        for n in [-6, -10, 120, 200, 1000] { #expect(!Self.accepts(grammar, "{\"n\":\(n)}"), "\(n)") }
        var r = SchemaRecognizer(grammar: grammar)
        let fed = r.feed(Array(#"{"n":11"#.utf8))
        #expect(fed, "11 can still become 110..119 or stay 11")
        let nine = r.feed(UInt8(ascii: "9"))
        #expect(nine)
        let zero = r.feed(UInt8(ascii: "0"))
        #expect(!zero, "1190 is out of range")
    }

    @Test("sampling under a schema gives documents the recognizer accepts, on a small vocabulary")
    func constrainedSampling() throws {
        let schema = #"""
            {"type":"object","properties":{"category":{"enum":["hardware","software"]},"n":{"type":"integer",
            "minimum":0,"maximum":50},"tags":{"type":"array","items":{"type":"string","maxLength":3},"maxItems":2}},
            "required":["category","n","tags"],"additionalProperties":false}
            """#
        let grammar = try SchemaCompiler.compile(try JSONTree.parse(Array(schema.utf8)))
        let vocabulary: [[UInt8]] = ["{", "}", "[", "]", "\"", ":", ",", "a", "b1", "\"category\":", "1", "2", "5",
                                     "hard", "ware", "soft", "\",", "\"n\":", "\"tags\":", "x", "yz", "\"]"]
            .map { Array($0.utf8) } + (UInt8(ascii: "c")...UInt8(ascii: "y")).map { [$0] } + [[]]
        let compiled = CompiledSchema(grammar: grammar, trie: TokenTrie(tokenBytes: vocabulary))
        var finished = 0
        for seed in 0..<30 {
            var constraint = compiled.constraint()
            var sampler = Sampler(parameters: .init(temperature: 1, seed: UInt64(seed)))
            var text: [UInt8] = []
            for _ in 0..<200 where !constraint.isFinished {
                var logits = [Float](repeating: 0, count: vocabulary.count)
                let token = logits.withUnsafeMutableBufferPointer { row in
                    constraint.process(row)
                    return sampler.sample(row)
                }
                #expect(Int(token) < vocabulary.count - 1, "the empty (end) token is never allowed")
                constraint.didSample(token)
                text += vocabulary[Int(token)]
            }
            guard constraint.isFinished else { continue }
            finished += 1
            #expect(Self.accepts(grammar, String(decoding: text, as: UTF8.self)))
        }
        #expect(finished >= 20)
    }

    @Test("masks from the string table equal masks from the trie walk")
    func stringTableAgreesWithTheTrie() throws {
        var rng = SplitMix64(seed: 5)
        let alphabet = Array("ab \"\\nu,:}]{[0".utf8) + [0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0x01]
        var vocabulary: [[UInt8]] = [[]]
        for _ in 0..<4000 {
            vocabulary.append((0..<Int(rng.next() % 6 + 1)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        vocabulary.append(Array(repeating: UInt8(ascii: "a"), count: 60))
        let trie = TokenTrie(tokenBytes: vocabulary)
        let table = StringTokenTable(tokenBytes: vocabulary)
        let schema = ##"""
            {"type":"object","properties":{"s":{"type":"string","minLength":2,"maxLength":5},
            "t":{"type":"string"},"u":{"type":"array","items":{"type":"string","maxLength":70}}},
            "required":["s","t","u"],"additionalProperties":false}
            """##
        let grammar = try SchemaCompiler.compile(try JSONTree.parse(Array(schema.utf8)))
        let fast = TokenMaskCache<SchemaRecognizer>(trie: trie, strings: table)
        let slow = TokenMaskCache<SchemaRecognizer>(trie: trie)
        let prefixes = [#"{"s":""#, #"{"s":"a"#, #"{"s":"abcd"#, #"{"s":"abcde"#, #"{"s":"ab","t":""#,
                        #"{"s":"ab","t":"x\n"#, #"{"s":"ab","t":"","u":[""#, #"{"s":"ab","t":"","u":["a"#]
        for prefix in prefixes {
            var state = SchemaRecognizer(grammar: grammar)
            let fed = state.feed(Array(prefix.utf8))
            #expect(fed, "\(prefix)")
            #expect(state.plainString != nil, "\(prefix)")
            let (f, w) = (fast.computeWords(for: state), slow.computeWords(for: state))
            let differing = vocabulary.indices.filter { (f[$0 >> 6] ^ w[$0 >> 6]) >> UInt64($0 & 63) & 1 == 1 }
            #expect(differing.isEmpty, "\(prefix): \(differing.prefix(5).map { vocabulary[$0] })")
        }
    }
}

import Foundation
import Grammar
import Model
import Sampling
import Testing

struct JSONRecognizerTests {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var text: String
        var valid: Bool
        var testDescription: String { "\(valid ? "valid" : "invalid"): \(text.debugDescription)" }
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/json_cases.json")
        return try! JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }()

    func accepts(_ text: String) -> Bool {
        var r = JSONRecognizer()
        return r.feed(Array(text.utf8)) && r.isComplete
    }

    @Test("one JSON object or not, as Python's json module says", arguments: cases)
    func agreesWithPython(_ c: Case) {
        #expect(accepts(c.text) == c.valid)
    }

    @Test func everyPrefixOfAValidDocumentIsAccepted() {
        for c in Self.cases where c.valid {
            var r = JSONRecognizer()
            for (i, b) in c.text.utf8.enumerated() {
                let fed = r.feed(b)
                #expect(fed, "byte \(i) of \(c.text.debugDescription)")
                #expect(r.isComplete == (i == c.text.utf8.count - 1))
            }
        }
    }

    @Test func boundsOnDepthAndWhitespace() {
        #expect(accepts(String(repeating: "{\"a\":", count: 63) + "1" + String(repeating: "}", count: 63)))
        #expect(!accepts(String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)))
        #expect(accepts("{" + String(repeating: " ", count: 16) + "}"))
        #expect(!accepts("{" + String(repeating: " ", count: 17) + "}"))
        #expect(!accepts("[1]") && !accepts("\"s\"") && !accepts("{} "))
        var r = JSONRecognizer()
        let steps = [r.feed(Array("{\"a\":1".utf8)), !r.feed(Array("x".utf8)), r.feed(Array("}".utf8))]
        #expect(steps == [true, true, true] && r.isComplete)
    }

    /// A small vocabulary of byte strings; the trie's mask against feeding each token alone.
    @Test("the trie accepts exactly the tokens a recognizer accepts one by one")
    func trieMaskEqualsBruteForce() {
        var rng = SplitMix64(seed: 11)
        let alphabet = Array("{}[]\":, 0123456789.-eEtruefalsn\\ab".utf8) + [0xC3, 0xA9, 0x01]
        var vocabulary: [[UInt8]] = [[], [], Array("{\"".utf8), Array("\":".utf8), Array("}\n".utf8)]
        for _ in 0..<3000 { vocabulary.append((0..<Int(rng.next() % 5 + 1)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }) }
        let grammar = TokenMaskCache<JSONRecognizer>(trie: TokenTrie(tokenBytes: vocabulary))
        let prefixes = ["", "{", "{\"ke", "{\"key\":", "{\"key\": [1", "{\"key\": [1.5e", "{\"k\":\"\\", "{\"k\":tr", "{\"k\":\"\u{e9}"]
        for prefix in prefixes {
            var state = JSONRecognizer()
            let fed = state.feed(Array(prefix.utf8))
            #expect(fed)
            let mask = grammar.mask(for: state)
            for (id, bytes) in vocabulary.enumerated() {
                var alone = state
                let expected = !bytes.isEmpty && alone.feed(bytes)
                #expect(mask.contains(Int32(id)) == expected, "prefix \(prefix.debugDescription), token \(bytes)")
            }
        }
    }

    @Test("sampling under the constraint always gives one JSON object")
    func constrainedSamplingGivesValidObjects() throws {
        let vocabulary: [[UInt8]] = ["{", "}", "[", "]", "\"", ":", ",", " ", "a", "b1", "\"k\":", "1", "2.", "5", "-",
                                     "e", "true", "nul", "l", "\\n", "\"}", "},", "{\"", "xyz\""].map { Array($0.utf8) } + [[]]
        let grammar = TokenMaskCache<JSONRecognizer>(trie: TokenTrie(tokenBytes: vocabulary))
        var finished = 0
        for seed in 0..<40 {
            var constraint = JSONObjectConstraint(masks: grammar)
            var sampler = Sampler(parameters: .init(temperature: 1, seed: UInt64(seed)))
            var text: [UInt8] = []
            for _ in 0..<400 where !constraint.isFinished {
                var logits = [Float](repeating: 0, count: vocabulary.count)
                logits[1] = 1.5 // lean towards closing, so documents end
                logits[3] = 1.5
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
            let value = try JSONSerialization.jsonObject(with: Data(text))
            #expect(value is [String: Any], "\(String(decoding: text, as: UTF8.self))")
        }
        #expect(finished >= 30, "most documents close within 400 tokens")
    }
}

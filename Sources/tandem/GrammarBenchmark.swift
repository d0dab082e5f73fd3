import Dispatch
import Foundation
import GGUF
import Grammar
import Tokenizer

/// `tandem bench --grammar`: the cost of `response_format` on the model's vocabulary: the token
/// trie, JSON mode masks, and per schema its compile time and the cost of each token of a document
/// written as the engine writes it: tokens the schema forces are fast-forwarded (the cost is finding
/// them), the others are sampled under a mask (first sight, and from the cache).
enum GrammarBenchmark {
    static func run(modelPath: String, line: (String) -> Void) throws {
        let tokenizer = try SentencePieceTokenizer(gguf: GGUFFile(path: modelPath))
        let bytes = (0..<tokenizer.vocabulary.pieces.count).map { (try? tokenizer.bytes(of: Int32($0))) ?? [] }
        var start = DispatchTime.now()
        let trie = TokenTrie(tokenBytes: bytes)
        line("trie: \(trie.nodeCount) nodes over \(bytes.count) tokens, built in \(ms(since: start)) ms")
        start = DispatchTime.now()
        let strings = StringTokenTable(tokenBytes: bytes)
        line("string token table: built in \(ms(since: start)) ms; \(strings.closing.count) tokens close a string, "
                 + "with \(strings.suffixes.count) distinct endings")
        line("")
        jsonMode(trie: trie, line: line)
        line("")
        line("| schema | compile ms | tokens | forced | µs per token p50 (first) | p99 (first) | p50 (cached) "
                 + "| mean (first) |")
        line("|---|---:|---:|---:|---:|---:|---:|---:|")
        for (name, schema, document) in BenchSchemas.all {
            try schemaRow(name, schema, document, trie: trie, strings: strings, tokenizer: tokenizer, line: line)
        }
    }

    static func jsonMode(trie: TokenTrie, line: (String) -> Void) {
        let masks = TokenMaskCache<JSONRecognizer>(trie: trie)
        line("| JSON mode, state after | mask ms (first) | mask ms (cached) | tokens allowed |")
        line("|---|---:|---:|---:|")
        let prefixes = ["", "{", "{\"", "{\"name", "{\"name\":", "{\"name\": \"Ada", "{\"a\": [1, 2",
                        "{\"a\": {\"b\": tr"]
        for prefix in prefixes {
            var state = JSONRecognizer()
            _ = state.feed(Array(prefix.utf8))
            var start = DispatchTime.now()
            let mask = masks.mask(for: state)
            let first = ms(since: start)
            start = DispatchTime.now()
            _ = masks.mask(for: state)
            let cached = ms(since: start)
            let allowed = mask.allowed?.count ?? mask.words!.reduce(0) { $0 + $1.nonzeroBitCount }
            line("| `\(prefix)` | \(first) | \(cached) | \(allowed) |")
        }
    }

    static func schemaRow(_ name: String, _ schema: String, _ document: String, trie: TokenTrie,
                          strings: StringTokenTable, tokenizer: SentencePieceTokenizer,
                          line: (String) -> Void) throws {
        var start = DispatchTime.now()
        let grammar = try SchemaCompiler.compile(try JSONTree.parse(Array(schema.utf8)))
        let compile = ms(since: start)
        let encode: ForcedTokenCache<SchemaRecognizer>.Encoder = { text in
            try? tokenizer.encode(String(decoding: text, as: UTF8.self), parseSpecial: false)
        }
        let compiled = CompiledSchema(grammar: grammar, trie: trie, strings: strings, encode: encode)
        var first: [Double] = [], cached: [Double] = [], forcedCount = 0
        var state = SchemaRecognizer(grammar: grammar)
        var rest = Array(document.utf8)[...]
        while !rest.isEmpty {
            start = DispatchTime.now()
            let forced = compiled.forced?.tokens(after: state) ?? []
            let findCost = micros(since: start)
            let forcedBytes = forced.flatMap { trie.tokenBytes[Int($0)] }
            if !forced.isEmpty, rest.starts(with: forcedBytes) {
                // Finding the run is the whole cost of its tokens; the cached lookup is what a repeat pays.
                start = DispatchTime.now()
                _ = compiled.forced?.tokens(after: state)
                let again = micros(since: start)
                first += Array(repeating: findCost / Double(forced.count), count: forced.count)
                cached += Array(repeating: again / Double(forced.count), count: forced.count)
                forcedCount += forced.count
                _ = state.feed(forcedBytes)
                rest = rest.dropFirst(forcedBytes.count)
                continue
            }
            // Else the token the tokenizer writes next, sampled under the mask.
            guard let token = try tokenizer.encode(String(decoding: rest, as: UTF8.self), parseSpecial: false).first
            else { break }
            start = DispatchTime.now()
            let mask = compiled.masks.mask(for: state)
            first.append(findCost + micros(since: start))
            start = DispatchTime.now()
            _ = compiled.forced?.tokens(after: state)
            _ = compiled.masks.mask(for: state)
            cached.append(micros(since: start))
            let piece = trie.tokenBytes[Int(token)]
            guard mask.contains(token), state.feed(piece) else {
                throw ValidationFailure(message: "\(name): the grammar refuses token \(token) of its own document")
            }
            rest = rest.dropFirst(piece.count)
        }
        guard state.isComplete else { throw ValidationFailure(message: "\(name): the document did not complete") }
        let mean = String(format: "%.0f", first.reduce(0, +) / Double(first.count))
        let share = String(format: "%.0f%%", 100 * Double(forcedCount) / Double(first.count))
        let row = [name, compile, "\(first.count)", share,
                   percentile(first, 0.5), percentile(first, 0.99), percentile(cached, 0.5), mean]
        line("| " + row.joined(separator: " | ") + " |")
    }

    struct ValidationFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func percentile(_ values: [Double], _ p: Double) -> String {
        let sorted = values.sorted()
        return String(format: "%.0f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }

    static func ms(since start: DispatchTime) -> String {
        String(format: "%.2f", Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
    }

    static func micros(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e3
    }
}

/// The schemas of the grammar benchmark, each with a document the grammar must accept.
enum BenchSchemas {
    static let triage = #"""
        {"type":"object","properties":{"category":{"type":"string","enum":["hardware","software","network",
        "access","billing"]},"priority":{"type":"string","enum":["low","medium","high","urgent"]},
        "summary":{"type":"string","maxLength":80}},"required":["category","priority","summary"],
        "additionalProperties":false}
        """#
    static let triageDocument = #"{"category":"hardware","priority":"high","summary":"# +
        #""The printer on floor 3 is jammed and nobody can print invoices"}"#

    /// What Pydantic emits for a nested model with `$defs`, optional fields, lists and an enum.
    static let order = ##"""
        {"$defs":{"Item":{"properties":{"sku":{"type":"string","pattern":"^[A-Z]{3}-\\d{4}$"},
        "quantity":{"type":"integer","minimum":1,"maximum":100},"price":{"type":"number","exclusiveMinimum":0}},
        "required":["sku","quantity","price"],"type":"object","additionalProperties":false},
        "Status":{"enum":["pending","shipped","delivered"],"type":"string"},
        "Address":{"properties":{"street":{"type":"string"},"city":{"type":"string"},
        "zip":{"anyOf":[{"type":"string","maxLength":10},{"type":"null"}]}},"required":["street","city","zip"],
        "type":"object","additionalProperties":false}},
        "properties":{"id":{"type":"string","format":"uuid"},"status":{"$ref":"#/$defs/Status"},
        "created":{"type":"string","format":"date-time"},"items":{"type":"array","items":{"$ref":"#/$defs/Item"},
        "minItems":1,"maxItems":5},"shipping":{"anyOf":[{"$ref":"#/$defs/Address"},{"type":"null"}]},
        "notes":{"anyOf":[{"type":"string"},{"type":"null"}]}},
        "required":["id","status","created","items","shipping","notes"],"type":"object","additionalProperties":false}
        """##
    static let orderDocument = #"{"id":"0b7e1a52-3c4d-4e5f-8a9b-0c1d2e3f4a5b","status":"shipped","# +
        #""created":"2026-11-30T09:15:00Z","items":[{"sku":"ABC-1234","quantity":2,"price":19.99},"# +
        #"{"sku":"XYZ-0042","quantity":1,"price":5.5}],"shipping":{"street":"1 Main Street","city":"Springfield","# +
        #""zip":"12345"},"notes":null}"#

    static let values = (0..<500).map { "value-\($0)" }
    static let bigEnum = #"{"type":"object","properties":{"choice":{"type":"string","enum":["#
        + values.map { "\"\($0)\"" }.joined(separator: ",")
        + #"]}},"required":["choice"],"additionalProperties":false}"#
    static let bigEnumDocument = #"{"choice":"value-417"}"#

    static let all = [("triage", triage, triageDocument), ("nested Pydantic ($defs)", order, orderDocument),
                      ("500-value enum", bigEnum, bigEnumDocument)]
}

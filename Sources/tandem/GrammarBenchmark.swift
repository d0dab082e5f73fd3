import Dispatch
import Foundation
import GGUF
import Grammar
import Tokenizer

/// `tandem bench --grammar`: the cost of `response_format: json_object` on the model's vocabulary.
enum GrammarBenchmark {
    static func run(modelPath: String, line: (String) -> Void) throws {
        let tokenizer = try SentencePieceTokenizer(gguf: GGUFFile(path: modelPath))
        let bytes = (0..<tokenizer.vocabulary.pieces.count).map { (try? tokenizer.bytes(of: Int32($0))) ?? [] }
        var start = DispatchTime.now()
        let grammar = TokenMaskCache<JSONRecognizer>(trie: TokenTrie(tokenBytes: bytes))
        line("trie: \(grammar.trie.nodeCount) nodes over \(bytes.count) tokens, built in \(ms(since: start)) ms")
        line("| state after | mask ms (first) | mask ms (cached) | tokens allowed |")
        line("|---|---:|---:|---:|")
        let prefixes = ["", "{", "{\"", "{\"name", "{\"name\":", "{\"name\": \"Ada", "{\"a\": [1, 2",
                        "{\"a\": {\"b\": tr"]
        for prefix in prefixes {
            var state = JSONRecognizer()
            _ = state.feed(Array(prefix.utf8))
            start = DispatchTime.now()
            let mask = grammar.mask(for: state)
            let first = ms(since: start)
            start = DispatchTime.now()
            _ = grammar.mask(for: state)
            let cached = ms(since: start)
            let allowed = mask.allowed?.count ?? mask.words!.reduce(0) { $0 + $1.nonzeroBitCount }
            line("| `\(prefix)` | \(first) | \(cached) | \(allowed) |")
        }
    }

    static func ms(since start: DispatchTime) -> String {
        String(format: "%.2f", Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
    }
}

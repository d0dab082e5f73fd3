import Engine
import Foundation
import GGUF
import Model
import Testing

/// A tiny random-weight Llama (GQA, untied head, F32 and F16 weights) against `transformers`'
/// LlamaForCausalLM with the same weights (Fixtures/make_tiny_llama.py).
@Suite(.serialized)
struct LlamaGoldenTests {
    static let model: any LanguageModel = try! Fixtures.model(at: Fixtures.directory.appendingPathComponent("tiny_llama.gguf").path)

    @Test("greedy ids and top-5 logits match the reference", arguments: Fixtures.golden("tiny_llama_golden.json"))
    func golden(_ c: GoldenCase) throws {
        let worst = try checkGolden(c, model: Self.model, tolerance: 1e-3)
        print("llama \(c.testDescription): max |Δlogit| = \(worst)")
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        // The tokenizer-only path of a real file with its architecture key rewritten is enough here.
        let path = Fixtures.directory.appendingPathComponent("tiny_llama.gguf").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let key = Data("llama".utf8)
        let range = try #require(bytes.range(of: key))
        bytes.replaceSubrange(range, with: Data("mamba".utf8))
        let file = try GGUFFile(storage: ByteStorage(copying: bytes), path: "renamed.gguf")
        #expect(throws: ModelError.self) { try ModelLoader.load(file) }
        do { _ = try ModelLoader.load(file) } catch { #expect("\(error)".contains("mamba")) }
    }
}

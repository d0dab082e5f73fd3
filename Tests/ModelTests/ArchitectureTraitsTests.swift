import Engine
import Model
import Testing
import Tokenizer

/// Each architecture declares its RoPE layout, chat format, end-of-turn pieces and PEFT modules in
/// its own file, and the registry finds it by `general.architecture`.
struct ArchitectureTraitsTests {
    @Test func registryFindsEachArchitectureByName() throws {
        #expect(ModelLoader.architectures == ["gemma3", "llama", "phi3", "qwen2", "qwen3"])
        let gemma = try #require(ModelLoader.traits(of: "gemma3"))
        #expect(gemma.ropeLayout == .halves && gemma.defaultChatTemplate == "gemma")
        #expect(gemma.endOfTurnPieces == ["<end_of_turn>"] && gemma.peftModules["o_proj"] == .o)
        let llama = try #require(ModelLoader.traits(of: "llama"))
        #expect(llama.ropeLayout == .interleaved && llama.defaultChatTemplate == "llama2")
        #expect(ModelLoader.traits(of: "qwen2")?.ropeLayout == .halves)
        #expect(ModelLoader.traits(of: "phi3")?.fusedPEFTModules["qkv_proj"] == [.q, .k, .v])
        #expect(ModelLoader.traits(of: "mamba") == nil)
        for name in ModelLoader.architectures {
            let traits = try #require(ModelLoader.traits(of: name))
            #expect(ChatTemplate(rawValue: traits.defaultChatTemplate) != nil, "\(name)")
        }
    }

    @Test func templateDetectionFallsBackToTheArchitecture() {
        #expect(ChatTemplate.detect(jinja: nil, fallback: .gemma) == .gemma)
        #expect(ChatTemplate.detect(jinja: "{{ '<|im_start|>' + role }}", fallback: .gemma) == .chatml)
        #expect(ChatTemplate.detect(jinja: "{% unknown %}", fallback: .llama2) == .llama2)
        #expect(ChatTemplate.matching("{% unknown %}") == nil)
        #expect(ChatTemplate.matching("[INST] <<SYS>>") == .llama2 && ChatTemplate.matching("[INST]") == .mistral)
    }

    @Test("the default model's stop ids: EOS and <end_of_turn>, derived once")
    func stopTokensOfTheDefaultModel() throws {
        let loaded = try LoadedModel.load(path: Fixtures.defaultModelPath)
        let tokenizer = loaded.tokenizer
        #expect(loaded.model.traits == ModelLoader.traits(of: "gemma3"))
        #expect(loaded.template == .gemma)
        let endOfTurn = try #require(tokenizer.id(ofPiece: "<end_of_turn>"))
        #expect(loaded.stopTokenIDs == [tokenizer.eosID, endOfTurn])
        #expect(loaded.model.config.layerWindows.filter { $0 == nil }.count == 3)
    }
}

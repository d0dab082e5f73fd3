import ArgumentParser
import Engine
import Foundation
import GGUF
import Model
import Sampling
import Tokenizer

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a raw text prompt (BOS added, no chat template).",
        discussion: """
            The continuation goes to standard output as it is produced; the timing line goes to standard error.
            """
    )

    @Option(help: "Path of the GGUF model.")
    var model = ModelPaths.defaultModel

    @Option(help: "Prompt text. Control tokens written in it (e.g. <start_of_turn>) become their ids.")
    var prompt: String

    @Option(name: .customLong("max-tokens"), help: "Maximum number of tokens to generate.")
    var maxTokens = 128

    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var kernels: KernelOptions

    @Flag(name: .customLong("ignore-eos"), help: "Never end at an end token: generate exactly --max-tokens tokens.")
    var ignoreEOS = false

    func run() throws {
        let loaded = try LoadedModel.load(path: model, precision: kernels.precision, kernels: try kernels.chosenPath())
        let ids = try loaded.tokenizer.encode(prompt, addBOS: loaded.tokenizer.addsBOS)
        let request = EngineRequest(promptIDs: ids, maxTokens: maxTokens, sampling: sampling.parameters,
                                        stopTokenIDs: loaded.stopTokenIDs, ignoreEOS: ignoreEOS)
        let generator = TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer)
        let result = try generator.generate(request) { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        print("")
        let line = String(format: "prompt: %d tokens, %.1f tok/s | decode: %d tokens, %.1f tok/s | finish: %@\n",
                          result.promptTokens, result.promptTokensPerSecond, result.tokenIDs.count,
                          result.decodeTokensPerSecond, result.finishReason.rawValue)
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Sampling flags shared by the commands that generate.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "Keep only the K most likely tokens (0 = off).")
    var topK = 0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1 = off).")
    var topP: Float = 1

    @Option(name: .customLong("min-p"),
            help: "Drop tokens below this fraction of the best one's probability (0 = off).")
    var minP: Float = 0

    @Option(help: "Random seed: the same seed gives the same text.")
    var seed: UInt64?

    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1 = off).")
    var repeatPenalty: Float = 1

    @Option(name: .customLong("presence-penalty"), help: "OpenAI presence penalty.")
    var presencePenalty: Float = 0

    @Option(name: .customLong("frequency-penalty"), help: "OpenAI frequency penalty.")
    var frequencyPenalty: Float = 0

    var parameters: SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP, seed: seed,
                           repetitionPenalty: repeatPenalty, presencePenalty: presencePenalty,
                           frequencyPenalty: frequencyPenalty)
    }
}

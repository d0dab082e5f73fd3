import ArgumentParser
import Foundation
import GGUF
import Tokenizer

/// `tandem tokenize`: the ids a GGUF's tokenizer gives a text. Reads only the vocabulary, so it
/// works on vocabulary-only GGUFs (no weights).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text (works on vocabulary-only GGUFs).",
        discussion: """
            Control tokens written in the text (e.g. <start_of_turn>) become their ids unless --no-special. \
            With --format json the output is {"tokens": [...], "count": N}.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(help: "Path of the GGUF model (or a vocabulary-only GGUF).")
    var model = ModelPaths.defaultModel

    @Option(help: "The text to tokenize.")
    var text: String

    @Flag(name: .customLong("add-bos"), help: "Start with the BOS id (as prompts do when the GGUF says so).")
    var addBOS = false

    @Flag(name: .customLong("no-special"), help: "Read control-token text as plain text.")
    var noSpecial = false

    @Option(help: "text (ids separated by spaces) or json.")
    var format = Format.text

    func run() throws {
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: model))
        let ids = try tokenizer.encode(text, addBOS: addBOS, parseSpecial: !noSpecial)
        switch format {
        case .text: print(ids.map(String.init).joined(separator: " "))
        case .json: print(#"{"tokens":["# + ids.map(String.init).joined(separator: ",") + #"],"count":\#(ids.count)}"#)
        }
    }
}

import ArgumentParser

@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "One frozen base model, many LoRA adapters and role prompts, served over the OpenAI API.",
        subcommands: [ServeCommand.self, GenerateCommand.self, BenchCommand.self, EvalCommand.self,
                      TokenizeCommand.self]
    )

    static func main() async {
        OpenBLASCoreType.selectBeforeStart()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

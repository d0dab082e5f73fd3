import ArgumentParser

@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "One frozen base model, many LoRA adapters and role prompts, served over the OpenAI API.",
        subcommands: [GenerateCommand.self, BenchCommand.self]
    )
}

import ArgumentParser
import Engine
import Foundation
import Parallel
import GGUF
import Model
import Tokenizer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt tok/s and aggregate decode tok/s at several batch sizes; prints a Markdown table."
    )

    @Option(help: "Path of the GGUF model.")
    var model = ModelPaths.defaultModel

    @Option(name: .customLong("prompt-tokens"), help: "Prompt length for the prompt-processing row.")
    var promptTokens = 512

    @Option(name: .customLong("batches"), help: "Comma-separated numbers of concurrent sequences for the decode rows.")
    var batches = "1,4,16,64"

    @Option(name: .customLong("decode-prompt"), help: "Prompt length of each sequence before decoding.")
    var decodePrompt = 64

    @Option(name: .customLong("decode-tokens"), help: "Decode steps per batch size.")
    var decodeTokens = 128

    @OptionGroup var kernels: KernelOptions

    @Option(name: .customLong("projections"), help: """
        Instead of the model table, time one product of each kind of projection (block type × shape) over this \
        many activation rows, with Float32 and int16 activations.
        """)
    var projectionRows: Int?

    @Flag(name: .customLong("sampling"), help: """
        Instead of the model table, time one draw of the sampler at common settings over real logits \
        (ms per token).
        """)
    var sampling = false

    @Flag(name: .customLong("grammar"),
          help: "Instead of the model table, time the JSON grammar: the vocabulary's token trie and token masks.")
    var grammar = false

    @Option(name: .customLong("tokenizer"), help: """
        Instead of the model table, encode this text file with the model's tokenizer (the vocabulary alone is \
        read), best of 5 runs: MB/s and tokens.
        """)
    var tokenizerText: String?

    func run() throws {
        func line(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
        if let tokenizerText {
            let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: model))
            guard let data = FileManager.default.contents(atPath: tokenizerText) else {
                throw ValidationError("cannot read \(tokenizerText)")
            }
            let text = String(decoding: data, as: UTF8.self)
            var best = Double.infinity, count = 0
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                count = try tokenizer.encode(text, parseSpecial: true).count
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            line("| tokenizer | bytes | tokens | seconds | MB/s |")
            line("|---|---:|---:|---:|---:|")
            line("| \(URL(fileURLWithPath: model).lastPathComponent) | \(data.count) | \(count) | "
                     + "\(String(format: "%.4f", best)) | \(String(format: "%.2f", Double(data.count) / best / 1e6)) |")
            return
        }
        if let projectionRows {
            line("| tensor | type | inputs × outputs | float32 ms | int16 ms |")
            line("|---|---|---|---:|---:|")
            for row in ProjectionBenchmark.run(try GGUFFile(path: model), rows: projectionRows) {
                let ms = { (p: KernelPrecision) in row.milliseconds[p].map { String(format: "%.3f", $0) } ?? "–" }
                line("| \(row.tensor) | \(row.type) | \(row.inputs) × \(row.outputs) | "
                         + "\(ms(.float32)) | \(ms(.int16)) |")
            }
            return
        }
        if grammar {
            try GrammarBenchmark.run(modelPath: model, line: line)
            return
        }
        let path = try kernels.chosenPath()
        let loaded = try LoadedModel.load(path: model, precision: kernels.precision, kernels: path)
        let bench = Benchmark(model: loaded.model)
        FileHandle.standardError.write(Data(("CPU: \(CPUInfo.modelName); kernel path \(path.rawValue) "
            + "(detected \(KernelPath.detected.rawValue)), \(kernels.precision.rawValue) activations\n").utf8))
        if sampling {
            line("| sampling | ms per token |")
            line("|---|---:|")
            for (name, ms) in try bench.sampling() { line("| \(name) | \(String(format: "%.3f", ms)) |") }
            return
        }
        FileHandle.standardError.write(Data(
            ("loaded \(model) in \(String(format: "%.2f", loaded.loadSeconds)) s; "
                + "OpenBLAS \(BLASInfo.coreName), \(BLASInfo.threads) threads\n").utf8))
        line("| test | tokens | seconds | tok/s |")
        line("|---|---:|---:|---:|")
        func emit(_ row: Benchmark.Row) {
            line("| \(row.name) | \(row.tokens) | \(String(format: "%.3f", row.seconds)) | "
                     + "\(String(format: "%.1f", row.tokensPerSecond)) |")
        }
        emit(try bench.promptProcessing(tokens: promptTokens))
        var single: Double?, measured: Double?
        for b in batches.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) })
        where b > 0 {
            let row = try bench.decode(sequences: b, promptTokens: decodePrompt, steps: decodeTokens)
            // Right after one stream's decode: a shared host's bandwidth drifts within minutes.
            if b == 1 { (single, measured) = (row.tokensPerSecond, MemoryBandwidth.measure()) }
            emit(row)
        }
        // One decode step reads every weight once (the tied head included): the bound on one stream.
        let weightBytes = Double(loaded.gguf.tensors.values.reduce(0) { $0 + $1.byteCount })
        let bandwidth = measured ?? MemoryBandwidth.measure()
        let bound = bandwidth / weightBytes
        line("")
        line(String(format: "memory read bandwidth %.1f GB/s (%d threads); weights %.0f MB read per token; "
                        + "bandwidth bound %.1f tok/s", bandwidth / 1e9, WorkerPool.shared.threads, weightBytes / 1e6,
                    bound)
             + (single.map { String(format: "; tg × 1 reaches %.0f%% of it", 100 * $0 / bound) } ?? ""))
    }
}

import ArgumentParser
import Eval
import Foundation
import Logging
import Server

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: """
            Score model ids on a JSONL suite: prompt engineering (base:role) vs fine-tuning (adapter) \
            vs both (adapter:role).
            """,
        discussion: """
        A case is one JSON line: "messages" (or "prompt") and one expectation: "exact", "contains", "regex", \
        "json_fields" or "choices", and optionally "response_format"; a line holding only {"response_format": …} \
        sets it for the cases after it. A model id ending in +schema sends each case's response_format; \
        without it such cases are sent {"type": "text"}. Without --server, a server is started in-process on the \
        given model and adapters. The table goes to standard output; progress to standard error.
        """
    )

    @Option(name: .customLong("suite"), help: "JSONL file of cases (repeat for several).")
    var suites: [String]

    @Option(help: """
        Comma-separated model ids, e.g. gemma-3-270m:triage-fewshot,gemma-3-270m:triage-fewshot+schema,\
        ticket-triage,ticket-triage+schema.
        """)
    var models: String

    @Option(help: "Base URL of a running Tandem (or other OpenAI-compatible) server; default: start one in-process.")
    var server: String?

    @Option(name: .customLong("api-key"), help: "API key for --server (default: $TANDEM_API_KEY).")
    var apiKey: String?

    @Option(help: "Path of the GGUF model for the in-process server.")
    var model = ModelPaths.defaultModel

    @Option(help: "Adapters folder for the in-process server.")
    var adapters = "adapters"

    @Option(help: "Temperature sent with every request; 'role' keeps each role's own default.")
    var temperature = "0"

    @Option(name: .customLong("max-tokens"),
            help: "max_tokens sent with every request (default: the role's or the server's).")
    var maxTokens: Int?

    @Option(help: "markdown, json or csv.")
    var format = "markdown"

    @Flag(name: .customLong("show-failures"), help: "Print expected vs got for every failed case.")
    var showFailures = false

    func run() async throws {
        guard let format = EvalReport.Format(rawValue: format) else {
            throw ValidationError("unknown --format '\(format)' (markdown, json, csv)")
        }
        let ids = models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !ids.isEmpty else { throw ValidationError("--models needs at least one model id") }
        var cases: [EvalCase] = []
        for path in suites {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read suite \(path)")
            }
            cases += try EvalCase.suite(text, file: path)
        }
        let temperatureValue: Double?
        if temperature == "role" {
            temperatureValue = nil
        } else if let t = Double(temperature) {
            temperatureValue = t
        } else {
            throw ValidationError("--temperature takes a number or 'role'")
        }

        let target = try await connect()
        defer { target.stop() }
        let runner = EvalRunner(
            client: EvalClient(baseURL: target.url,
                               apiKey: apiKey ?? ProcessInfo.processInfo.environment["TANDEM_API_KEY"]),
            temperature: temperatureValue, maxTokens: maxTokens)
        var rows: [ModelSummary] = []
        var failures = ""
        for id in ids {
            let results = await runner.run(cases: cases, model: id) { done, total in
                FileHandle.standardError.write(Data("\r\(id): \(done)/\(total)   ".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
            rows.append(ModelSummary(model: id, results: results))
            if showFailures { failures += EvalReport.failures(model: id, cases: cases, results: results) }
            if let error = results.compactMap(\.error).first, results.allSatisfy({ $0.error != nil }) {
                FileHandle.standardError.write(Data("\(id): every request failed, e.g.: \(error)\n".utf8))
            }
        }
        print(EvalReport.render(rows, baseID: target.baseID ?? "", format: format), terminator: "")
        if showFailures && !failures.isEmpty { print("\n" + failures, terminator: "") }
    }

    /// The server to evaluate against: the one given, or one started in-process.
    struct Target {
        var url: URL
        var baseID: String?
        var stop: () -> Void
    }

    func connect() async throws -> Target {
        if let server {
            guard let url = URL(string: server) else { throw ValidationError("--server must be a URL") }
            return Target(url: url, baseID: await EvalClient(baseURL: url).baseModelID(), stop: {})
        }
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("model file not found: \(model) (run `make setup`, or pass --server)")
        }
        var configuration = ServerConfiguration(modelPath: model, adaptersDirectory: adapters)
        configuration.port = 0
        var logger = Logger(label: "tandem-eval")
        logger.logLevel = .warning
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = try buildApplication(configuration: configuration, logger: logger) { port in
            portContinuation.yield(port)
        }
        let task = Task { try await app.runService() }
        var port = 0
        for await p in portStream { port = p; break }
        let url = URL(string: "http://127.0.0.1:\(port)")!
        // The model loads after the server listens: wait for /health.
        for _ in 0..<600 {
            if await EvalClient(baseURL: url).isHealthy() { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return Target(url: url, baseID: await EvalClient(baseURL: url).baseModelID(), stop: { task.cancel() })
    }
}

import Adapters
import Engine
import Foundation
import GGUF
import Hummingbird
import HummingbirdTesting
import Logging
import Model
import Sampling
import Server
import Testing
import Tokenizer

/// An engine that answers every sequence with the same two tokens and records what it was asked,
/// or refuses with a chosen error: the HTTP layer's plumbing without a model.
final class ScriptedEngine: GenerationEngine, @unchecked Sendable {
    let maxSequenceLength: Int
    var snapshot: InferenceEngine.Snapshot { InferenceEngine.Snapshot() }
    private let lock = NSLock()
    private var received: [EngineRequest] = []
    private let refusal: EngineError?

    init(refusing refusal: EngineError? = nil, maxSequenceLength: Int = 256) {
        self.refusal = refusal
        self.maxSequenceLength = maxSequenceLength
    }

    var requests: [EngineRequest] { lock.withLock { received } }

    func start() {}
    func shutdown(timeout: Duration) async {}

    func submit(_ request: EngineRequest) throws -> AsyncStream<GenerationEvent> {
        if let refusal { throw refusal }
        lock.withLock { received.append(request) }
        return AsyncStream { c in
            c.yield(.token(id: 9259, text: "Hello", logprob: nil))
            c.yield(.token(id: 1902, text: " world", logprob: nil))
            c.yield(.finished(.stop, promptTokens: request.promptIDs.count, completionTokens: 2, cachedTokens: 0))
            c.finish()
        }
    }
}

@Suite(.serialized)
struct ScriptedEngineTests {
    /// The vocabulary and hyper-parameters only: both read the GGUF's metadata, no weights are loaded.
    static let gguf = try! GGUFFile(path: RouterTests.modelPath)
    static let tokenizer = try! SentencePieceTokenizer(gguf: gguf)
    static let config = try! ModelConfig(gguf: gguf, architecture: "gemma3")

    /// A ServingModel named `id` over `engine`, with no adapters.
    static func serving(_ engine: ScriptedEngine, id: String = "scripted") -> ServingModel {
        let registry = AdapterRegistry(directory: RouterTests.emptyAdapters, base: config)
        return ServingModel(id: id, tokenizer: tokenizer, engine: engine, template: .gemma, stopTokenIDs: [1, 106],
                            adapters: registry)
    }

    func app(_ engine: ScriptedEngine) throws -> some ApplicationProtocol {
        let configuration = ServerConfiguration(modelPath: RouterTests.modelPath, adaptersDirectory: RouterTests.emptyAdapters)
        return try buildApplication(configuration: configuration, serving: Self.serving(engine), logger: Logger(label: "test"))
    }

    func chat(_ client: some TestClientProtocol, _ fields: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                                 body: ByteBuffer(string: #"{"model":"scripted","messages":[{"role":"user","content":"Hi"}]"# + fields + "}"))
    }

    @Test func streamedRepliesAreServerSentEventsEndingInDone() async throws {
        try await app(ScriptedEngine()).test(.router) { client in
            let r = try await chat(client, #","stream":true"#)
            #expect(r.status == .ok && r.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            let body = String(buffer: r.body)
            let events = body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("data: ") } && events.last == "data: [DONE]")
            let chunks = try events.dropLast().map {
                try JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as! [String: Any]
            }
            let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) }
            #expect(deltas.compactMap { $0["content"] as? String }.joined() == "Hello world")
            #expect(deltas.first?["role"] as? String == "assistant")
            let reasons = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String) }
            #expect(reasons == ["stop"])
        }
    }

    @Test("what the engine is asked: n choices with offset seeds, the default max_tokens, JSON mode as a constraint")
    func requestsReachTheEngineAsAsked() async throws {
        let engine = ScriptedEngine()
        try await app(engine).test(.router) { client in
            let r = try await chat(client, #","n":3,"seed":5,"temperature":0.5,"response_format":{"type":"json_object"}"#)
            #expect(r.status == .ok)
            let body = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
            let choices = body["choices"] as! [[String: Any]]
            #expect(choices.count == 3 && choices.allSatisfy { ($0["message"] as? [String: Any])?["content"] as? String == "Hello world" })
        }
        let requests = engine.requests
        #expect(requests.map(\.sampling.seed) == [5, 6, 7])
        #expect(requests.allSatisfy { $0.sampling.temperature == 0.5 && $0.stopTokenIDs == [1, 106] })
        #expect(requests.allSatisfy { $0.maxTokens == 256 - $0.promptIDs.count }, "the context left, under 1024")
        #expect(requests.allSatisfy { $0.processors.count == 1 && $0.processors[0].isConstraint })
        #expect(requests[0].promptIDs.first == 2, "BOS first")
    }

    @Test("engine refusals become OpenAI errors with their status", arguments: [
        (EngineError.queueFull(waiting: 9), 429, "rate_limit_exceeded"),
        (EngineError.kvCacheTooSmall(pagesNeeded: 9, pagesTotal: 4), 400, "context_length_exceeded"),
        (EngineError.contextLengthExceeded(promptTokens: 300, maxTokens: 10, limit: 256), 400, "context_length_exceeded"),
        (EngineError.shuttingDown, 503, nil),
    ])
    func refusalsAreMapped(_ refusal: EngineError, _ status: Int, _ code: String?) async throws {
        try await app(ScriptedEngine(refusing: refusal)).test(.router) { client in
            let r = try await chat(client, "")
            #expect(Int(r.status.code) == status)
            let error = (try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any])["error"] as! [String: Any]
            #expect(error["code"] as? String == code)
            if status == 429 { #expect(r.headers[.retryAfter] != nil) }
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OpenAIAPI
import Server
import Testing

/// Routing, validation, errors and SSE framing through `buildApplication`, in process.
@Suite(.serialized)
struct RouterTests {
    static let modelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/gemma-3-270m-q4_k_m.gguf").standardized.path

    /// An empty adapters folder, so these tests see only the base model whatever `adapters/` holds.
    static let emptyAdapters: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-router-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    static let serving: ServingModel = {
        let model = try! ServingModel.load(configuration: ServerConfiguration(modelPath: modelPath, adaptersDirectory: emptyAdapters), logger: Logger(label: "test"))
        model.engine.start()
        return model
    }()

    /// The app over a scripted engine (validation, errors, routes: no model runs), or with `real`,
    /// over the default model (the integration tests that check generated answers).
    func app(real: Bool = false, _ configure: (inout ServerConfiguration) -> Void = { _ in }) -> some ApplicationProtocol {
        var configuration = ServerConfiguration(modelPath: Self.modelPath, adaptersDirectory: Self.emptyAdapters)
        configure(&configuration)
        let serving = real ? Self.serving
            : ScriptedEngineTests.serving(ScriptedEngine(maxSequenceLength: 8192), id: "gemma-3-270m")
        return try! buildApplication(configuration: configuration, serving: serving, logger: Logger(label: "test"))
    }

    func post(_ client: some TestClientProtocol, _ path: String, _ json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        return try await client.execute(uri: path, method: .post, headers: h, body: ByteBuffer(string: json))
    }

    func error(_ response: TestResponse) throws -> ErrorBody.Detail {
        try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView)).error
    }

    @Test func healthAndModels() async throws {
        try await app().test(.router) { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            let models = try await client.execute(uri: "/v1/models", method: .get)
            let list = try JSONDecoder().decode(ModelList.self, from: Data(models.body.readableBytesView))
            #expect(list.data.map(\.id) == ["gemma-3-270m"])
            let one = try await client.execute(uri: "/v1/models/gemma-3-270m", method: .get)
            #expect(one.status == .ok)
            let missing = try await client.execute(uri: "/v1/models/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(try error(missing).code == "model_not_found")
        }
    }

    @Test func greedyChatHasOpenAIShape() async throws {
        try await app(real: true).test(.router) { client in
            let r = try await post(client, "/v1/chat/completions",
                                   #"{"model":"gemma-3-270m","messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"temperature":0,"n":2}"#)
            #expect(r.status == .ok)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any])
            #expect(json["object"] as? String == "chat.completion")
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choices = try #require(json["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
            #expect(choices.allSatisfy { $0["finish_reason"] as? String == "length" })
            // Greedy: both choices are the same text.
            let texts = choices.map { ($0["message"] as? [String: Any])?["content"] as? String }
            #expect(texts[0] == texts[1] && texts[0]?.isEmpty == false)
            let usage = try #require(json["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == 12)
            #expect(usage["total_tokens"] as? Int == (usage["prompt_tokens"] as? Int ?? -1) + 12)
            #expect((usage["prompt_tokens_details"] as? [String: Int])?["cached_tokens"] != nil)
        }
    }

    @Test func streamIsFramedAsServerSentEvents() async throws {
        try await app(real: true).test(.router) { client in
            let r = try await post(client, "/v1/chat/completions",
                                   #"{"model":"gemma-3-270m","messages":[{"role":"user","content":"Hi"}],"max_tokens":4,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}"#)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "text/event-stream")
            let text = String(buffer: r.body)
            let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("data: ") })
            #expect(events.last == "data: [DONE]")
            let chunks = events.dropLast().map { try! JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as! [String: Any] }
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let first = (chunks.first?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
            #expect(first?["role"] as? String == "assistant")
            let usageChunk = try #require(chunks.last)
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            #expect((usageChunk["usage"] as? [String: Any])?["completion_tokens"] as? Int == 4)
            let finishes = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
            #expect(finishes == ["length"])
        }
    }

    @Test("invalid values are 400s naming the parameter", arguments: [
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"temperature":-1}"#, "temperature"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"n":0}"#, "n"),
        (#"{"model":"gemma-3-270m","messages":[]}"#, "messages"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, "max_tokens"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"robot","content":"x"}]}"#, "messages[0].role"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}"#, "tools[0].function"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}"#, "response_format"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"top_p":0}"#, "top_p"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"logit_bias":{"abc":1}}"#, "logit_bias"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, "temperature"),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"top_logprobs":-1}"#, "top_logprobs"),
        (#"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"n":1.5}"#, "n"),
    ])
    func invalidValues(_ body: String, _ param: String) async throws {
        try await app().test(.router) { client in
            let r = try await post(client, "/v1/chat/completions", body)
            #expect(r.status == .badRequest)
            let e = try error(r)
            #expect(e.param == param)
            #expect(e.type == "invalid_request_error")
        }
    }

    @Test func malformedJSONUnknownModelAndContextLength() async throws {
        try await app().test(.router) { client in
            let bad = try await post(client, "/v1/chat/completions", "{not json")
            #expect(bad.status == .badRequest)
            #expect(try error(bad).code == "invalid_json")
            let unknown = try await post(client, "/v1/chat/completions", #"{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}"#)
            #expect(unknown.status == .notFound)
            #expect(try error(unknown).code == "model_not_found")
            let long = try await post(client, "/v1/chat/completions", #"{"model":"gemma-3-270m","messages":[{"role":"user","content":"x"}],"max_tokens":9000}"#)
            #expect(long.status == .badRequest)
            #expect(try error(long).code == "context_length_exceeded")
        }
    }

    @Test func bodyLimitAndAPIKey() async throws {
        try await app { $0.maxBodyBytes = 256; $0.apiKey = "sekret" }.test(.router) { client in
            let auth: HTTPFields = [.authorization: "Bearer sekret"]
            let big = try await post(client, "/v1/chat/completions", String(repeating: " ", count: 1000), headers: auth)
            #expect(big.status == .contentTooLarge)
            let noKey = try await post(client, "/v1/chat/completions", #"{"model":"gemma-3-270m","messages":[]}"#)
            #expect(noKey.status == .unauthorized)
            #expect(try error(noKey).code == "invalid_api_key")
            let wrong = try await post(client, "/v1/chat/completions", #"{"model":"gemma-3-270m","messages":[]}"#, headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            let right = try await client.execute(uri: "/v1/models", method: .get, headers: auth)
            #expect(right.status == .ok)
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
        }
    }

    @Test func unknownRouteIsAnOpenAIError() async throws {
        try await app().test(.router) { client in
            let r = try await client.execute(uri: "/v1/embeddings", method: .post)
            #expect(r.status == .notFound)
            #expect(try error(r).message.contains("/v1/embeddings"))
        }
    }

    @Test("the compare page and the OpenAPI description are served, the latter identical to openapi.yaml")
    func pages() async throws {
        let specFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../openapi.yaml").standardized
        let spec = try String(contentsOf: specFile, encoding: .utf8)
        try await app { $0.apiKey = "secret" }.test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            let html = String(buffer: page.body)
            #expect(html.contains("/v1/models") && html.contains("/v1/chat/completions") && html.contains("</html>"))
            let yaml = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(yaml.status == .ok)
            #expect(String(buffer: yaml.body) == spec, "Sources/Server/OpenAPIDocument.swift is stale: run python3 scripts/embed_openapi.py")
        }
    }
}

import Engine
import Foundation
import Grammar
import Hummingbird
import NIOCore
import OpenAIAPI
import Tokenizer

/// `POST /v1/chat/completions` and `POST /v1/completions`.
struct CompletionRoutes {
    typealias Context = TandemRequestContext
    let configuration: ServerConfiguration
    let state: ServingState
    let metrics: ServerMetrics

    func add(to router: Router<Context>) {
        router.post("/v1/chat/completions") { request, context in try await chat(request, context: context) }
        router.post("/v1/completions") { request, context in try await completion(request, context: context) }
    }

    // MARK: chat

    func chat(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let body = try await decodeBody(ChatCompletionRequest.self, &request)
        let serving = try state.ready()
        let check = RequestValidation(configuration: configuration, serving: serving)
        if let field = body.unsupportedFields.first { throw APIError.unsupported(field) }
        let n = try check.choices(body.n)
        let topLogprobs = try logprobCount(enabled: body.logprobs ?? false, top: body.topLogprobs,
                                           param: "top_logprobs")
        let turns = try check.turns(body.messages) // validated before an adapter is loaded
        let model = try check.model(body.model)
        let tools = try ToolUse.resolve(tools: body.tools, choice: body.toolChoice, parallel: body.parallelToolCalls,
                                        responseFormat: body.sampling.responseFormat, role: model.role)
        var sampling = body.sampling
        var offered = turns
        tools?.offer(sampling: &sampling, turns: &offered)
        let prompt = try serving.template.encode(check.withRole(model.role, offered), tokenizer: serving.tokenizer)
        let requests = try (0..<n).map {
            try check.engineRequest(promptIDs: prompt, sampling: sampling, model: model, choice: $0,
                                    topLogprobs: topLogprobs)
        }
        let (reply, streams) = try start(requests, idPrefix: "chatcmpl-", model: body.model, resolved: model,
                                         choicesPerPrompt: n, serving: serving, context: context)
        if body.stream == true {
            return reply.chatStream(request: request, streams: streams,
                                    includeUsage: body.streamOptions?.includeUsage == true,
                                    logprobs: topLogprobs != nil, toolReplies: tools != nil)
        }
        let results = try await reply.collect(request: request, streams: streams)
        let choices = results.enumerated().map { i, r in
            let (message, finish) = Reply.message(r, toolReplies: tools != nil)
            return ChatCompletion.Choice(index: i, message: message,
                                         logprobs: topLogprobs == nil ? nil : reply.chatLogprobs(r.tokens),
                                         finishReason: finish)
        }
        return try json(ChatCompletion(id: reply.id, created: reply.created, model: body.model, choices: choices,
                                       usage: reply.usage(results)))
    }

    // MARK: text completion

    func completion(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let body = try await decodeBody(CompletionRequest.self, &request)
        let serving = try state.ready()
        let check = RequestValidation(configuration: configuration, serving: serving)
        if let field = body.unsupportedFields.first { throw APIError.unsupported(field) }
        let n = try check.choices(body.n)
        let topLogprobs = try logprobCount(enabled: body.logprobs != nil, top: body.logprobs, param: "logprobs")
        let model = try check.model(body.model)
        guard !body.prompt.isEmpty, body.prompt.count * n <= configuration.maxChoices * 4 else {
            throw APIError.invalid("prompt must hold between 1 and \(configuration.maxChoices * 4 / n) prompts",
                                   param: "prompt")
        }
        var requests: [EngineRequest] = []
        for input in body.prompt {
            let ids: [Int32]
            switch input {
            case let .text(text):
                ids = try serving.tokenizer.encode(text, addBOS: serving.tokenizer.addsBOS)
            case let .tokens(tokens):
                guard tokens.allSatisfy({ $0 >= 0 && Int($0) < serving.tokenizer.vocabularySize }) else {
                    throw APIError.invalid("prompt holds a token id outside the vocabulary", param: "prompt")
                }
                ids = tokens
            }
            guard !ids.isEmpty else { throw APIError.invalid("prompt must not be empty", param: "prompt") }
            for choice in 0..<n {
                requests.append(try check.engineRequest(promptIDs: ids, sampling: body.sampling, model: model,
                                                        choice: choice, topLogprobs: topLogprobs))
            }
        }
        let (reply, streams) = try start(requests, idPrefix: "cmpl-", model: body.model, resolved: model,
                                         choicesPerPrompt: n, serving: serving, context: context)
        if body.stream == true {
            return reply.completionStream(request: request, streams: streams,
                                          includeUsage: body.streamOptions?.includeUsage == true,
                                          logprobs: topLogprobs != nil)
        }
        let results = try await reply.collect(request: request, streams: streams)
        let choices = results.enumerated().map { i, r in
            Completion.Choice(index: i, text: r.text,
                              logprobs: topLogprobs == nil ? nil : reply.completionLogprobs(r.tokens),
                              finishReason: (r.finishReason ?? .stop).rawValue)
        }
        return try json(Completion(id: reply.id, created: reply.created, model: body.model, choices: choices,
                                   usage: reply.usage(results)))
    }

    // MARK: helpers

    /// The body's bytes, at most `maxBodyBytes`.
    func bodyBytes(_ request: inout Request) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw APIError.bodyTooLarge(configuration.maxBodyBytes)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(configuration.maxBodyBytes)
        } catch {
            // A body shorter than its Content-Length, or broken chunked encoding: the client's fault.
            throw APIError.invalid("The request body could not be read: \(error)", param: nil, code: "invalid_body")
        }
        return buffer
    }

    /// The body as JSON, read by `read` into `T` (the routes that check their fields by hand); a 400 naming
    /// the field when it is not one.
    func fieldsBody<T>(_ request: inout Request,
                       _ read: (JSONTree) throws(ResponsesRequest.Invalid) -> T) async throws -> T {
        let bytes = try await bodyBytes(&request)
        let tree: JSONTree
        do {
            tree = try JSONTree.parse(bytes.readableBytesView)
        } catch {
            throw APIError.invalid("The body is not valid JSON: \(error)", param: nil, code: "invalid_json")
        }
        do {
            return try read(tree)
        } catch {
            throw APIError.invalid(error.message, param: error.param)
        }
    }

    /// Reads at most `maxBodyBytes` and decodes, naming the offending field on failure.
    /// The body is collected *into* the request (not just read), so Hummingbird can still watch
    /// the connection for a client that goes away while the answer is generated.
    func decodeBody<T: Decodable>(_ type: T.Type, _ request: inout Request) async throws -> T {
        let buffer = try await bodyBytes(&request)
        let data = Data(buffer.readableBytesView)
        var value: T
        do {
            value = try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError.decoding(error, body: data)
        }
        if var carrier = value as? any CarriesSchemas, carrier.hasSchemas,
           let tree = try? JSONTree.parse(buffer.readableBytesView) {
            carrier.restoreSchemas(from: tree)
            value = carrier as! T // swiftlint:disable:this force_cast
        }
        return value
    }

    func logprobCount(enabled: Bool, top: Int?, param: String) throws -> Int? {
        guard enabled else {
            if let top, top > 0 { throw APIError.invalid("top_logprobs requires logprobs to be true", param: param) }
            if let top, top < 0 { throw APIError.invalid("\(param) must be between 0 and 20", param: param) }
            return nil
        }
        let count = top ?? 0
        guard (0...20).contains(count) else {
            throw APIError.invalid("\(param) must be between 0 and 20", param: param)
        }
        return count
    }

    /// Submits the request's sequences and makes the `Reply` that answers them, under a fresh id.
    func start(_ requests: [EngineRequest], idPrefix: String, model: String, resolved: ResolvedModel,
               choicesPerPrompt n: Int, serving: ServingModel,
               context: Context) throws -> (Reply, [AsyncStream<GenerationEvent>]) {
        let streams = try submit(requests, engine: serving.engine)
        let id = idPrefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let reply = Reply(id: id, model: model, created: Int(Date().timeIntervalSince1970), metrics: metrics,
                          tokenizer: serving.tokenizer,
                          route: ["chatcmpl-": "chat", "resp_": "responses"][idPrefix] ?? "completions",
                          choicesPerPrompt: n, logger: context.logger, adapter: resolved.adapter?.name,
                          role: resolved.roleName, connection: context.channel)
        return (reply, streams)
    }

    func submit(_ requests: [EngineRequest], engine: any GenerationEngine) throws -> [AsyncStream<GenerationEvent>] {
        var streams: [AsyncStream<GenerationEvent>] = []
        do {
            for r in requests { streams.append(try engine.submit(r)) }
        } catch let error as EngineError {
            streams.removeAll() // dropping the streams cancels what was already queued
            throw APIError(error)
        }
        return streams
    }
}

func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let data = try encoder.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

import Engine
import Foundation
import Hummingbird
import Logging
import NIOCore
import OpenAIAPI
import Tokenizer

/// Builds the answer to one completion request from the engine's event streams: a JSON body, or
/// server-sent events. Records the request's metrics on the way.
struct Reply: Sendable {
    let id: String
    let model: String
    let created: Int
    let metrics: ServerMetrics
    let tokenizer: any TextTokenizer
    /// The metrics' route label: chat or completions.
    let route: String
    /// Choices generated from each prompt (`n`); the streams are ordered prompt by prompt.
    var choicesPerPrompt = 1
    let started = ContinuousClock.now
    /// For the request's log line.
    var logger: Logger
    var adapter: String?
    var role: String?
    let requestID = RequestLog.id
    /// Whose key asked (for the log, the metrics label and the token allowance).
    let tenant = Tenant.current
    let limiter = RateLimiter.current
    var tenantLabel: String { tenant?.name ?? "-" }
    /// The client's connection, watched while a non-streamed answer is generated.
    var connection: (any Channel)?

    /// Waits for every choice. A client that closes its connection meanwhile (a timeout, say)
    /// cancels the generation at the engine's next step. The connection is watched by a pipeline
    /// handler, not through the request body (Hummingbird closes a connection after a body watched
    /// that way, which would end keep-alive for every pooled client).
    func collect(request: Request, streams: [AsyncStream<GenerationEvent>]) async throws -> [ChoiceResult] {
        let progress = Progress(count: streams.count)
        let work = Task {
            var timing = Timing(count: streams.count)
            try await forEachEvent(of: streams) { i, event in
                progress.update { apply(event, to: &$0[i]) }
                timing.observe(i, event, reply: self)
            }
        }
        var watch: InboundCloseWatch?
        if let connection { watch = try? await InboundCloseWatch.attach(to: connection) }
        watch?.watch { work.cancel() }
        defer { watch?.watch(nil) }
        do {
            try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
            if Task.isCancelled || work.isCancelled { throw CancellationError() }
        } catch {
            metrics.requestFinished(model: model, route: route, status: 499, tenant: tenantLabel)
            log(progress.results, status: 499)
            var closed = APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"),
                                  message: "The client closed the request.")
            closed.isCounted = true
            throw closed
        }
        let results = progress.results
        try finish(results, route: route)
        return results
    }

    /// The choices so far, shared between the task that collects them and the one that may log them.
    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [ChoiceResult]
        init(count: Int) { values = [ChoiceResult](repeating: ChoiceResult(), count: count) }
        var results: [ChoiceResult] { lock.withLock { values } }
        func update(_ change: (inout [ChoiceResult]) -> Void) { lock.withLock { change(&values) } }
    }

    /// Streams `chat.completion.chunk` events. A reply in the tool envelope is sent as it is written
    /// (`toolDeltas`): its calls as `delta.tool_calls`, id and name first, then the arguments, or its
    /// answer as content.
    func chatStream(request: Request, streams: [AsyncStream<GenerationEvent>], includeUsage: Bool,
                    logprobs: Bool, toolReplies: Bool = false) -> Response {
        sse(request: request, streams: streams, includeUsage: includeUsage) { i, event, first, result in
            func chunk(_ delta: ChatCompletionChunk.Delta, finish: String? = nil, logprob: TokenLogprob? = nil)
                -> ChatCompletionChunk {
                ChatCompletionChunk(id: id, created: created, model: model, choices: [
                    .init(index: i, delta: delta, logprobs: logprobs ? logprob.map { chatLogprobs([$0]) } : nil,
                          finishReason: finish),
                ], includeUsageField: includeUsage)
            }
            switch event {
            case let .token(_, text, logprob):
                guard !toolReplies else {
                    let before = ToolReplyScan(String(decoding: result.text.utf8.dropLast(text.utf8.count),
                                                      as: UTF8.self))
                    return Self.toolDeltas(from: before, to: ToolReplyScan(result.text), first: first).map { chunk($0) }
                }
                guard first || !text.isEmpty || logprob != nil else { return [] }
                return [chunk(.init(role: first ? "assistant" : nil, content: text), logprob: logprob)]
            case let .finished(reason, _, _, _):
                guard toolReplies else {
                    return [chunk(first ? .init(role: "assistant", content: "") : .init(), finish: reason.rawValue)]
                }
                let (_, finish) = Self.message(result, toolReplies: true)
                return [chunk(first ? .init(role: "assistant", content: nil) : .init(), finish: finish)]
            case .failed:
                return []
            }
        } usageChunk: { usage in
            ChatCompletionChunk(id: id, created: created, model: model, choices: [], usage: usage,
                                includeUsageField: true)
        }
    }

    /// The assistant message of one choice and its finish reason; a reply in the tool envelope
    /// becomes its calls (finish reason `tool_calls`) or its answer.
    /// A call that max_tokens cut is returned as OpenAI returns one: its arguments so far, finish reason
    /// `length`.
    static func message(_ r: ChoiceResult, toolReplies: Bool) -> (ChatCompletion.Message, String) {
        let reason = (r.finishReason ?? .stop).rawValue
        guard toolReplies else { return (.init(content: r.text), reason) }
        let scan = ToolReplyScan(r.text)
        guard scan.kind == .calls else { return (.init(content: scan.words), reason) }
        let calls = scan.calls.map {
            ToolCall(id: "call_" + ToolUse.randomID(), function: .init(name: $0.name, arguments: $0.arguments))
        }
        return (.init(content: nil, toolCalls: calls.isEmpty ? nil : calls),
                r.finishReason == .length ? reason : "tool_calls")
    }

    /// The chunks a token adds to a reply in the tool envelope: the role first, then words as content,
    /// or each call's id and name once its name is complete and its arguments as they are written.
    static func toolDeltas(from before: ToolReplyScan, to after: ToolReplyScan,
                           first: Bool) -> [ChatCompletionChunk.Delta] {
        var out: [ChatCompletionChunk.Delta] = []
        let words = ToolReplyScan.growth(from: before.words, to: after.words)
        if after.kind == .words && (first || !words.isEmpty) {
            out.append(.init(role: first ? "assistant" : nil, content: words))
        }
        for (k, call) in after.calls.enumerated() {
            if first && out.isEmpty { out.append(.init(role: "assistant", content: nil)) }
            let known = k < before.calls.count ? before.calls[k].arguments : nil
            let arguments = ToolReplyScan.growth(from: known ?? "", to: call.arguments)
            if known == nil {
                out.append(.init(toolCalls: [.init(index: k, id: "call_" + ToolUse.randomID(), name: call.name,
                                                   arguments: arguments)]))
            } else if !arguments.isEmpty {
                out.append(.init(toolCalls: [.init(index: k, arguments: arguments)]))
            }
        }
        return out
    }

    /// Streams `text_completion` events.
    func completionStream(request: Request, streams: [AsyncStream<GenerationEvent>], includeUsage: Bool,
                          logprobs: Bool) -> Response {
        sse(request: request, streams: streams, includeUsage: includeUsage) { i, event, _, _ in
            switch event {
            case let .token(_, text, logprob):
                guard !text.isEmpty || logprob != nil else { return [] }
                return [Completion(id: id, created: created, model: model, choices: [
                    .init(index: i, text: text, logprobs: logprobs ? logprob.map { completionLogprobs([$0]) } : nil,
                          finishReason: nil),
                ], usage: nil)]
            case let .finished(reason, _, _, _):
                return [Completion(id: id, created: created, model: model,
                                   choices: [.init(index: i, text: "", finishReason: reason.rawValue)], usage: nil)]
            case .failed:
                return []
            }
        } usageChunk: { usage in
            Completion(id: id, created: created, model: model, choices: [], usage: usage)
        }
    }

    /// The SSE response: one `data:` line per chunk, a usage chunk when asked, then `data: [DONE]`.
    /// The loop runs under `consumeWithCancellationOnInboundClose`, so a client that goes away
    /// cancels it at once, and with it the sequences in the engine. (That needs the body collected
    /// with `Request.collectBody`; a body read with `body.collect` trips a precondition in NIO.)
    private func sse<Chunk: Encodable & Sendable>(
        request: Request, streams: [AsyncStream<GenerationEvent>], includeUsage: Bool,
        chunk: @escaping @Sendable (Int, GenerationEvent, Bool, ChoiceResult) -> [Chunk],
        usageChunk: @escaping @Sendable (Usage) -> Chunk
    ) -> Response {
        let body = ResponseBody { writer in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            func send(_ value: some Encodable) async throws {
                var line = "data: "
                line += String(decoding: try encoder.encode(value), as: UTF8.self)
                line += "\n\n"
                try await writer.write(ByteBuffer(string: line))
            }
            var results = [ChoiceResult](repeating: ChoiceResult(), count: streams.count)
            do {
                results = try await request.body.consumeWithCancellationOnInboundClose { _ in
                    var results = results
                    var timing = Timing(count: streams.count)
                    var started = [Bool](repeating: false, count: streams.count)
                    try await forEachEvent(of: streams) { i, event in
                        apply(event, to: &results[i])
                        timing.observe(i, event, reply: self)
                        if case let .failed(message) = event {
                            try await send(ErrorBody(error: .init(message: message, type: "server_error", param: nil,
                                                                  code: nil)))
                            return
                        }
                        let chunks = chunk(i, event, !started[i], results[i])
                        if !chunks.isEmpty { started[i] = true }
                        for c in chunks { try await send(c) }
                    }
                    return results
                }
            } catch {
                metrics.requestFinished(model: model, route: route, status: 499, tenant: tenantLabel)
                log(results, status: 499)
                throw error
            }
            try? finish(results, route: route)
            if includeUsage { try await send(usageChunk(usage(results))) }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        // The disconnect watch above ends the connection after the stream, so say so: a client
        // then opens a new connection instead of sending its next request into a closing one.
        return Response(status: .ok,
                        headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
                        body: body)
    }

    func apply(_ event: GenerationEvent, to r: inout ChoiceResult) {
        switch event {
        case let .token(_, text, logprob):
            r.text += text
            if let logprob { r.tokens.append(logprob) }
            if r.firstTokenAt == nil { r.firstTokenAt = .now }
            r.completionTokens += 1 // so far; the finish event gives the exact count
        case let .finished(reason, prompt, completion, cached):
            r.finishReason = reason
            r.promptTokens = prompt
            r.completionTokens = completion
            r.cachedTokens = cached
        case let .failed(message):
            r.failure = message
        }
    }

    /// Records metrics; a choice the engine failed turns the request into a 500.
    func finish(_ results: [ChoiceResult], route: String) throws {
        if let failure = results.compactMap(\.failure).first {
            metrics.requestFinished(model: model, route: route, status: 500, tenant: tenantLabel)
            log(results, status: 500)
            var error = APIError.internal("generation failed: \(failure)")
            error.isCounted = true
            throw error
        }
        let u = usage(results)
        metrics.tokens(model: model, prompt: u.promptTokens, completion: u.completionTokens)
        metrics.requestFinished(model: model, route: route, status: 200, tenant: tenantLabel)
        if let tenant { limiter?.charge(tenant, tokens: u.promptTokens + u.completionTokens) }
        log(results, status: 200)
    }

    /// The request's one log line.
    func log(_ results: [ChoiceResult], status: Int) {
        let u = usage(results)
        var metadata: Logger.Metadata = [
            "request_id": "\(requestID)", "model": "\(model)", "status": "\(status)", "tenant": "\(tenantLabel)",
            "prompt_tokens": "\(u.promptTokens)", "completion_tokens": "\(u.completionTokens)",
            "cached_tokens": "\(u.promptTokensDetails?.cachedTokens ?? 0)",
            "total_ms": "\(RequestLog.milliseconds(ContinuousClock.now - started))",
        ]
        metadata["adapter"] = adapter.map { "\($0)" }
        metadata["role"] = role.map { "\($0)" }
        if let first = results.compactMap(\.firstTokenAt).min() {
            metadata["ttft_ms"] = "\(RequestLog.milliseconds(first - started))"
        }
        logger.info("completion", metadata: metadata)
    }

    /// OpenAI counts each prompt once, however many choices it has, and sums the completions.
    func usage(_ results: [ChoiceResult]) -> Usage {
        let firsts = stride(from: 0, to: results.count, by: choicesPerPrompt).map { results[$0] }
        return Usage(promptTokens: firsts.map(\.promptTokens).reduce(0, +),
                     completionTokens: results.map(\.completionTokens).reduce(0, +),
                     cachedTokens: firsts.map(\.cachedTokens).reduce(0, +))
    }

    func text(of bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func chatLogprobs(_ tokens: [TokenLogprob]) -> ChatLogprobs {
        ChatLogprobs(content: tokens.map { t in
            .init(token: text(of: t.bytes), logprob: t.logprob, bytes: t.bytes,
                  topLogprobs: t.top.map { .init(token: text(of: $0.bytes), logprob: $0.logprob, bytes: $0.bytes) })
        })
    }

    func completionLogprobs(_ tokens: [TokenLogprob]) -> CompletionLogprobs {
        var offset = 0
        var result = CompletionLogprobs()
        for t in tokens {
            result.tokens.append(text(of: t.bytes))
            result.tokenLogprobs.append(t.logprob)
            result.topLogprobs.append(Dictionary(t.top.map { (text(of: $0.bytes), $0.logprob) }, uniquingKeysWith: max))
            result.textOffset.append(offset)
            offset += text(of: t.bytes).count
        }
        return result
    }
}

/// Time to first token and inter-token latency per choice.
struct Timing {
    var last: [ContinuousClock.Instant?]

    init(count: Int) {
        last = Array(repeating: nil, count: count)
    }

    mutating func observe(_ i: Int, _ event: GenerationEvent, reply: Reply) {
        guard case .token = event else { return }
        let now = ContinuousClock.now
        if let previous = last[i] {
            reply.metrics.interTokenLatency(model: reply.model, now - previous)
        } else {
            reply.metrics.timeToFirstToken(model: reply.model, now - reply.started)
        }
        last[i] = now
    }
}

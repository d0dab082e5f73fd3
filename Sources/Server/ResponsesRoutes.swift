import Engine
import Foundation
import Grammar
import Hummingbird
import NIOCore
import OpenAIAPI
import Tokenizer

/// `POST /v1/responses`: OpenAI's Responses API, stateless, served by the chat path on the same
/// engine. `input` becomes chat turns (a `function_call` item an assistant turn with calls, a
/// `function_call_output` a tool turn), `instructions` a system turn first; `text.format` is
/// `response_format` and `tools` work as on chat completions. Nothing is stored, so `store: true`
/// and `previous_response_id` are a 400.
struct ResponsesRoutes {
    typealias Context = TandemRequestContext
    let completions: CompletionRoutes

    func add(to router: Router<Context>) {
        router.post("/v1/responses") { request, context in try await respond(request, context: context) }
    }

    func respond(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let body = try await completions.fieldsBody(&request) { tree throws(ResponsesRequest.Invalid) in
            try ResponsesRequest(tree)
        }
        if body.store == true {
            throw APIError.invalid("store: true is not supported: Tandem keeps no responses; send the whole "
                                       + "conversation in input", param: "store", code: "unsupported_parameter")
        }
        if body.previousResponseID != nil {
            throw APIError.invalid("previous_response_id is not supported: Tandem keeps no responses; send the "
                                       + "whole conversation in input",
                                   param: "previous_response_id", code: "unsupported_parameter")
        }
        let serving = try completions.state.ready()
        let check = RequestValidation(configuration: completions.configuration, serving: serving)
        var messages = Self.messages(body.input)
        if let instructions = body.instructions { messages.insert(ChatMessage(role: "system", content: instructions),
                                                                  at: 0) }
        let turns = try check.turns(messages)
        let model = try check.model(body.model)
        let tools = try ToolUse.resolve(tools: body.tools, choice: body.toolChoice, parallel: body.parallelToolCalls,
                                        responseFormat: body.format, role: model.role)
        var sampling = SamplingFields()
        sampling.maxTokens = body.maxOutputTokens
        sampling.temperature = body.temperature
        sampling.topP = body.topP
        sampling.responseFormat = body.format
        var offered = turns
        tools?.offer(sampling: &sampling, turns: &offered)
        let prompt = try serving.template.encode(check.withRole(model.role, offered), tokenizer: serving.tokenizer)
        let engineRequest = try check.engineRequest(promptIDs: prompt, sampling: sampling, model: model, choice: 0,
                                                    topLogprobs: nil)
        let (reply, streams) = try completions.start([engineRequest], idPrefix: "resp_", model: body.model,
                                                     resolved: model, choicesPerPrompt: 1, serving: serving,
                                                     context: context)
        let shape = ResponseShape(id: reply.id, created: reply.created, body: body)
        if body.stream {
            return ResponseEvents(reply: reply, shape: shape, toolReplies: tools != nil)
                .stream(request: request, streams: streams)
        }
        let results = try await reply.collect(request: request, streams: streams)
        let result = results[0]
        let object = shape.response(status: result.finishReason == .length ? "incomplete" : "completed",
                                    output: shape.output(result, toolReplies: tools != nil),
                                    usage: reply.usage(results))
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: object.compactText)))
    }

    /// Input items as chat messages; consecutive calls form one assistant turn.
    static func messages(_ items: [ResponsesRequest.Item]) -> [ChatMessage] {
        var out: [ChatMessage] = []
        for item in items {
            switch item {
            case let .message(role, text): out.append(ChatMessage(role: role, content: text))
            case let .functionCall(callID, name, arguments):
                let call = ToolCall(id: callID, function: .init(name: name, arguments: arguments))
                if let last = out.last, last.role == "assistant", let calls = last.toolCalls {
                    out[out.count - 1].toolCalls = calls + [call]
                } else {
                    out.append(ChatMessage(role: "assistant", content: "", toolCalls: [call]))
                }
            case let .functionCallOutput(callID, output):
                out.append(ChatMessage(role: "tool", content: output, toolCallID: callID))
            }
        }
        return out
    }
}

/// The `response` object and its output items, as JSON.
struct ResponseShape: Sendable {
    let id: String
    let created: Int
    let body: ResponsesRequest
    let messageID = "msg_" + ToolUse.randomID()

    func response(status: String, output: [JSONTree], usage: Usage?) -> JSONTree {
        let incomplete: JSONTree = status == "incomplete" ? .object([("reason", .string("max_output_tokens"))]) : .null
        var format: JSONTree = .object([("type", .string("text"))])
        if let f = body.format {
            var members: [(key: String, value: JSONTree)] = [("type", .string(f.type))]
            if let spec = f.jsonSchema {
                if let name = spec.name { members.append(("name", .string(name))) }
                if let schema = spec.schema { members.append(("schema", schema)) }
            }
            format = .object(members)
        }
        let usageTree: JSONTree = usage.map { u in
            .object([("input_tokens", .number(Double(u.promptTokens))),
                     ("input_tokens_details", .object([("cached_tokens",
                                                        .number(Double(u.promptTokensDetails?.cachedTokens ?? 0)))])),
                     ("output_tokens", .number(Double(u.completionTokens))),
                     ("output_tokens_details", .object([("reasoning_tokens", .number(0))])),
                     ("total_tokens", .number(Double(u.totalTokens)))])
        } ?? .null
        let tools: [JSONTree] = (body.tools ?? []).map { t in
            .object([("type", .string("function")), ("name", .string(t.function.name)),
                     ("description", t.function.description.map(JSONTree.string) ?? .null),
                     ("parameters", t.function.parameters ?? .null), ("strict", .bool(false))])
        }
        let choice: JSONTree = switch body.toolChoice {
        case nil, .auto?: .string("auto")
        case .none?: .string("none")
        case .required?: .string("required")
        case .function(let name)?: .object([("type", .string("function")), ("name", .string(name))])
        }
        return .object([
            ("id", .string(id)), ("object", .string("response")), ("created_at", .number(Double(created))),
            ("status", .string(status)), ("error", .null), ("incomplete_details", incomplete),
            ("instructions", body.instructions.map(JSONTree.string) ?? .null),
            ("max_output_tokens", body.maxOutputTokens.map { .number(Double($0)) } ?? .null),
            ("model", .string(body.model)), ("output", .array(output)),
            ("parallel_tool_calls", .bool(body.parallelToolCalls ?? false)),
            ("previous_response_id", .null), ("store", .bool(false)),
            ("temperature", .number(body.temperature ?? 1)), ("text", .object([("format", format)])),
            ("tool_choice", choice), ("tools", .array(tools)), ("top_p", .number(body.topP ?? 1)),
            ("truncation", .string("disabled")), ("usage", usageTree), ("metadata", .object([])),
        ])
    }

    func message(text: String, status: String) -> JSONTree {
        .object([("type", .string("message")), ("id", .string(messageID)), ("status", .string(status)),
                 ("role", .string("assistant")), ("content", .array(status == "in_progress" ? [] : [part(text)]))])
    }

    func part(_ text: String) -> JSONTree {
        .object([("type", .string("output_text")), ("text", .string(text)), ("annotations", .array([]))])
    }

    func functionCall(_ call: ToolCall, arguments: String, status: String) -> JSONTree {
        .object([("type", .string("function_call")), ("id", .string("fc_" + call.id.dropFirst("call_".count))),
                 ("call_id", .string(call.id)), ("name", .string(call.function.name)),
                 ("arguments", .string(arguments)), ("status", .string(status))])
    }

    /// The finished reply as output items: its calls, or one message.
    func output(_ result: ChoiceResult, toolReplies: Bool) -> [JSONTree] {
        let (message, _) = Reply.message(result, toolReplies: toolReplies)
        if let calls = message.toolCalls, !calls.isEmpty {
            return calls.map { functionCall($0, arguments: $0.function.arguments, status: "completed") }
        }
        return [self.message(text: message.content ?? "", status: "completed")]
    }
}

/// The semantic event stream of a response: `response.created`, `response.in_progress`, the output
/// item and content part added, `response.output_text.delta` per token, the `done` events and
/// `response.completed`, each with a `sequence_number`. A reply in the tool envelope is sent as it is
/// written (`ToolReplyEvents`): its calls as `function_call` items with `function_call_arguments.delta`s.
struct ResponseEvents: Sendable {
    let reply: Reply
    let shape: ResponseShape
    let toolReplies: Bool

    func stream(request: Request, streams: [AsyncStream<GenerationEvent>]) -> Response {
        let body = ResponseBody { writer in
            var sequence = 0
            func send(_ type: String, _ members: [(key: String, value: JSONTree)]) async throws {
                let event = JSONTree.object([("type", .string(type)), ("sequence_number", .number(Double(sequence)))]
                                            + members)
                sequence += 1
                try await writer.write(ByteBuffer(string: "event: \(type)\ndata: \(event.compactText)\n\n"))
            }
            let itemID = JSONTree.string(shape.messageID)
            let at: [(key: String, value: JSONTree)] = [("item_id", itemID), ("output_index", .number(0)),
                                                         ("content_index", .number(0))]
            try await send("response.created", [("response", shape.response(status: "in_progress", output: [],
                                                                             usage: nil))])
            try await send("response.in_progress", [("response", shape.response(status: "in_progress", output: [],
                                                                                 usage: nil))])
            if !toolReplies {
                try await send("response.output_item.added", [("output_index", .number(0)),
                                                              ("item", shape.message(text: "", status: "in_progress"))])
                try await send("response.content_part.added", at + [("part", shape.part(""))])
            }
            var result = ChoiceResult(), items = ToolReplyEvents(shape: shape)
            do {
                (result, items) = try await request.body.consumeWithCancellationOnInboundClose { _ in
                    var result = ChoiceResult(), items = ToolReplyEvents(shape: shape)
                    var timing = Timing(count: 1)
                    try await forEachEvent(of: streams) { _, event in
                        reply.apply(event, to: &result)
                        timing.observe(0, event, reply: reply)
                        guard case let .token(_, text, _) = event, !text.isEmpty else { return }
                        guard toolReplies else {
                            try await send("response.output_text.delta", at + [("delta", .string(text))])
                            return
                        }
                        for e in items.advance(to: result.text) { try await send(e.type, e.members) }
                    }
                    return (result, items)
                }
            } catch {
                reply.metrics.requestFinished(model: reply.model, route: reply.route, status: 499,
                                              tenant: reply.tenantLabel)
                reply.log([result], status: 499)
                throw error
            }
            try? reply.finish([result], route: reply.route)
            let status = result.finishReason == .length ? "incomplete" : "completed"
            var output = shape.output(result, toolReplies: false)
            if toolReplies {
                let (events, items) = items.finish()
                for e in events { try await send(e.type, e.members) }
                output = items
            } else {
                try await send("response.output_text.done", at + [("text", .string(result.text))])
                try await send("response.content_part.done", at + [("part", shape.part(result.text))])
                try await send("response.output_item.done", [("output_index", .number(0)), ("item", output[0])])
            }
            let final = shape.response(status: status, output: output, usage: reply.usage([result]))
            try await send(status == "completed" ? "response.completed" : "response.incomplete",
                           [("response", final)])
            try await writer.finish(nil)
        }
        return Response(status: .ok,
                        headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
                        body: body)
    }
}

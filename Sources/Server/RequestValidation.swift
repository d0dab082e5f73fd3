import Adapters
import Engine
import Grammar
import Model
import Sampling
import OpenAIAPI
import Tokenizer

/// Turns OpenAI request fields into engine requests, refusing invalid values with the `param` named.
struct RequestValidation {
    let configuration: ServerConfiguration
    let serving: ServingModel

    /// Checks the shared sampling fields and builds the engine request for `promptIDs`.
    func engineRequest(promptIDs: [Int32], sampling requested: SamplingFields, model: ResolvedModel, choice: Int,
                       topLogprobs: Int?) throws -> EngineRequest {
        var f = requested
        if let role = model.role { // the request's own fields win over the role's defaults
            f.temperature = f.temperature ?? role.temperature
            f.topP = f.topP ?? role.topP
            if f.maxTokens == nil && f.maxCompletionTokens == nil { f.maxTokens = role.maxTokens }
            f.stop = f.stop ?? role.stop
            // A role's response_format holds unless the request names its own.
            f.responseFormat = f.responseFormat ?? role.boundResponseFormat
        }
        if let t = f.temperature, !(0...2).contains(t) {
            throw APIError.invalid("temperature must be between 0 and 2", param: "temperature")
        }
        if let p = f.topP, !(p > 0 && p <= 1) { throw APIError.invalid("top_p must be in (0, 1]", param: "top_p") }
        if let k = f.topK, k < 0 { throw APIError.invalid("top_k must be ≥ 0", param: "top_k") }
        if let m = f.minP, !(0...1).contains(m) {
            throw APIError.invalid("min_p must be between 0 and 1", param: "min_p")
        }
        if let p = f.presencePenalty, !(-2...2).contains(p) {
            throw APIError.invalid("presence_penalty must be between -2 and 2", param: "presence_penalty")
        }
        if let p = f.frequencyPenalty, !(-2...2).contains(p) {
            throw APIError.invalid("frequency_penalty must be between -2 and 2", param: "frequency_penalty")
        }
        if let r = f.repetitionPenalty, !(r > 0 && r <= 10) {
            throw APIError.invalid("repetition_penalty must be in (0, 10]", param: "repetition_penalty")
        }
        let stops = f.stop ?? []
        if stops.count > configuration.maxStopStrings {
            throw APIError.invalid("at most \(configuration.maxStopStrings) stop strings are allowed", param: "stop")
        }
        if stops.contains(where: \.isEmpty) { throw APIError.invalid("stop strings must not be empty", param: "stop") }
        var bias: [Int32: Float] = [:]
        for (key, value) in f.logitBias ?? [:] {
            guard let id = Int32(key), id >= 0, Int(id) < serving.tokenizer.vocabularySize else {
                throw APIError.invalid("logit_bias key '\(key)' is not a token id of this model", param: "logit_bias")
            }
            guard (-100...100).contains(value) else {
                throw APIError.invalid("logit_bias values must be between -100 and 100", param: "logit_bias")
            }
            bias[id] = Float(value)
        }
        let requested = f.maxCompletionTokens ?? f.maxTokens
        let param = f.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens"
        if let requested, requested < 1 { throw APIError.invalid("\(param) must be at least 1", param: param) }
        let room = serving.maxModelLength - promptIDs.count
        if promptIDs.count >= serving.maxModelLength || (requested.map { $0 > room } ?? false) {
            throw APIError.contextLengthExceeded(limit: serving.maxModelLength, promptTokens: promptIDs.count,
                                                 completionTokens: requested ?? 1)
        }
        let maxTokens = requested ?? min(configuration.defaultMaxTokens, room)
        // n choices with one seed must still differ: each choice offsets the seed.
        let seed = f.seed.map { UInt64(bitPattern: $0) &+ UInt64(choice) }
        let sampling = SamplingParameters(
            temperature: Float(f.temperature ?? 1), topK: f.topK ?? 0, topP: Float(f.topP ?? 1),
            minP: Float(f.minP ?? 0), seed: seed, repetitionPenalty: Float(f.repetitionPenalty ?? 1),
            presencePenalty: Float(f.presencePenalty ?? 0),
            frequencyPenalty: Float(f.frequencyPenalty ?? 0), logitBias: bias)
        if let s = f.loraScale, !(0...4).contains(s) {
            throw APIError.invalid("lora_scale must be between 0 and 4", param: "lora_scale")
        }
        return EngineRequest(promptIDs: promptIDs, maxTokens: maxTokens, sampling: sampling,
                             stopTokenIDs: serving.stopTokenIDs,
                             stopStrings: stops, topLogprobs: topLogprobs, ignoreEOS: f.ignoreEOS ?? false,
                             adapter: model.adapter, loraScale: Float(f.loraScale ?? 1),
                             processors: try constraints(f.responseFormat))
    }

    /// The logits processors that enforce `response_format`.
    func constraints(_ format: ResponseFormat?) throws -> [any LogitsProcessor] {
        switch format?.type {
        case nil, "text": return []
        case "json_object": return [JSONObjectConstraint(masks: serving.grammars.jsonObject)]
        case "json_schema":
            guard let spec = format?.jsonSchema else {
                throw APIError.invalid("response_format of type 'json_schema' needs a 'json_schema' object",
                                       param: "response_format")
            }
            // No schema says only that the reply is JSON: the same as json_object.
            guard let schema = spec.schema else { return [JSONObjectConstraint(masks: serving.grammars.jsonObject)] }
            do {
                return [try serving.grammars.schema(schema).constraint()]
            } catch {
                throw APIError.invalid("response_format.json_schema.schema: \(error)", param: "response_format",
                                       code: "invalid_json_schema")
            }
        case let other?:
            throw APIError.invalid("response_format type '\(other)' is not supported: use 'text', 'json_object' "
                                       + "or 'json_schema'",
                                   param: "response_format", code: "unsupported_parameter")
        }
    }

    func choices(_ n: Int?) throws -> Int {
        let n = n ?? 1
        guard (1...configuration.maxChoices).contains(n) else {
            throw APIError.invalid("n must be between 1 and \(configuration.maxChoices)", param: "n")
        }
        return n
    }

    /// Chat messages to template turns, after the role's system prompt (which always comes first;
    /// a client system message is kept, after it).
    func withRole(_ role: Role?, _ turns: [ChatTurn]) -> [ChatTurn] {
        (role?.systemPrompt.map { [ChatTurn(role: .system, content: $0)] } ?? []) + turns
    }

    func turns(_ messages: [ChatMessage]) throws -> [ChatTurn] {
        guard !messages.isEmpty else {
            throw APIError.invalid("messages must contain at least one message", param: "messages")
        }
        guard messages.count <= configuration.maxMessages else {
            throw APIError.invalid("at most \(configuration.maxMessages) messages are allowed", param: "messages")
        }
        var callNames: [String: String] = [:] // call id → function name, from the history's calls
        return try messages.enumerated().map { i, m in
            switch m.role {
            case "system", "developer": return ChatTurn(role: .system, content: m.content)
            case "user": return ChatTurn(role: .user, content: m.content)
            case "assistant":
                guard let calls = m.toolCalls, !calls.isEmpty else {
                    return ChatTurn(role: .assistant, content: m.content)
                }
                for call in calls { callNames[call.id] = call.function.name }
                return ChatTurn(role: .assistant, content: ToolUse.render(calls: calls))
            case "tool":
                guard let id = m.toolCallID else {
                    throw APIError.invalid("messages[\(i)] has role 'tool' but no tool_call_id",
                                           param: "messages[\(i)].tool_call_id")
                }
                return ChatTurn(role: .user,
                                content: ToolUse.render(result: m.content, name: callNames[id] ?? m.name, id: id))
            default:
                throw APIError.invalid("messages[\(i)].role must be system, developer, user, assistant or tool "
                                           + "(got '\(m.role)')",
                                       param: "messages[\(i)].role")
            }
        }
    }

    /// Another tenant's model is answered exactly like a missing one.
    func model(_ requested: String) throws -> ResolvedModel {
        guard Tenant.current.allows(requested) else { throw ModelResolver.noSuchModel(requested) }
        return try serving.resolver.resolve(requested)
    }
}

extension Role {
    /// The role's `response_format` as the request field it stands for.
    var boundResponseFormat: ResponseFormat? {
        responseFormat.map { bound in
            ResponseFormat(type: bound.type, jsonSchema: bound.schema.map { .init(name: bound.name, schema: $0) })
        }
    }
}

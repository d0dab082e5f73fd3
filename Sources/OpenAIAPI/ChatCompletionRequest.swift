import Grammar

/// `POST /v1/chat/completions` body. Field names follow OpenAI's JSON; unknown fields are ignored
/// unless listed in `unsupportedFields`, which would change the answer if silently dropped.
public struct ChatCompletionRequest: Decodable, Sendable, CarriesSchemas {
    public var model: String
    public var messages: [ChatMessage]
    public var sampling: SamplingFields
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var logprobs: Bool?
    public var topLogprobs: Int?
    public var user: String?
    public var tools: [Tool]?
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    /// Names of fields present in the request that Tandem does not implement.
    public var unsupportedFields: [String]

    enum CodingKeys: String, CodingKey {
        case model, messages, n, stream, logprobs, user
        case streamOptions = "stream_options"
        case topLogprobs = "top_logprobs"
        case tools, toolChoice = "tool_choice", functions, functionCall = "function_call"
        case responseFormat = "response_format", audio, modalities, prediction,
             parallelToolCalls = "parallel_tool_calls"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        messages = try c.decode([ChatMessage].self, forKey: .messages)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs)
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        sampling = try SamplingFields(from: decoder)
        tools = try c.decodeIfPresent([Tool].self, forKey: .tools)
        toolChoice = try c.decodeIfPresent(ToolChoice.self, forKey: .toolChoice)
        parallelToolCalls = try c.decodeIfPresent(Bool.self, forKey: .parallelToolCalls)
        var unsupported: [String] = []
        for key in [CodingKeys.functions, .functionCall, .audio, .modalities, .prediction] where c.contains(key) {
            if try c.decodeNil(forKey: key) { continue }
            unsupported.append(key.stringValue)
        }
        unsupportedFields = unsupported
    }

    public var hasSchemas: Bool { sampling.hasSchemas || tools?.isEmpty == false }

    public mutating func restoreSchemas(from body: JSONTree) {
        sampling.restoreSchemas(from: body)
        guard case .array(let list)? = body["tools"], var tools, list.count == tools.count else { return }
        for i in tools.indices { tools[i].function.parameters = list[i]["function"]?["parameters"] }
        self.tools = tools
    }
}

public struct StreamOptions: Codable, Sendable {
    public var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// `response_format`: `text`, `json_object` (any one JSON object) or `json_schema` (a document the
/// schema accepts). Other types are refused by the server, naming the type.
public struct ResponseFormat: Decodable, Sendable, Equatable {
    public var type: String
    public var jsonSchema: JSONSchemaFormat?

    public struct JSONSchemaFormat: Decodable, Sendable, Equatable {
        public var name: String?
        public var description: String?
        public var strict: Bool?
        /// The schema, members in the order of the request's bytes once `restoreSchemas` ran.
        public var schema: JSONTree?

        public init(name: String? = nil, schema: JSONTree?) {
            self.name = name
            self.schema = schema
        }
    }

    enum CodingKeys: String, CodingKey { case type, jsonSchema = "json_schema" }

    public init(type: String, jsonSchema: JSONSchemaFormat? = nil) {
        self.type = type
        self.jsonSchema = jsonSchema
    }
}

/// A request that carries JSON Schemas, whose members' order matters (a schema's properties are
/// generated in order) and which `JSONDecoder` does not keep: `restoreSchemas` copies them from
/// the body parsed by `JSONTree`.
public protocol CarriesSchemas {
    var hasSchemas: Bool { get }
    mutating func restoreSchemas(from body: JSONTree)
}

extension SamplingFields {
    public var hasSchemas: Bool { responseFormat?.jsonSchema?.schema != nil }

    public mutating func restoreSchemas(from body: JSONTree) {
        responseFormat?.jsonSchema?.schema = body["response_format"]?["json_schema"]?["schema"]
    }
}

/// One chat message. `content` may be a string, an array of text parts, or null (assistant turns).
public struct ChatMessage: Decodable, Sendable {
    public var role: String
    public var content: String
    public var name: String?
    /// An assistant turn's calls (its content may then be null).
    public var toolCalls: [ToolCall]?
    /// A `tool` turn: the call it answers.
    public var toolCallID: String?

    enum CodingKeys: String, CodingKey {
        case role, content, name, toolCalls = "tool_calls", toolCallID = "tool_call_id"
    }

    struct Part: Decodable {
        var type: String
        var text: String?
    }

    public init(role: String, content: String, toolCalls: [ToolCall]? = nil, toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        toolCalls = try c.decodeIfPresent([ToolCall].self, forKey: .toolCalls)
        toolCallID = try c.decodeIfPresent(String.self, forKey: .toolCallID)
        if try !c.contains(.content) || c.decodeNil(forKey: .content) {
            content = ""
        } else if let text = try? c.decode(String.self, forKey: .content) {
            content = text
        } else {
            let parts = try c.decode([Part].self, forKey: .content)
            guard parts.allSatisfy({ $0.type == "text" }) else {
                throw DecodingError.dataCorruptedError(forKey: .content, in: c,
                                                       debugDescription: "only text content parts are supported")
            }
            content = parts.compactMap(\.text).joined()
        }
    }
}

/// Sampling fields shared by chat and text completions (OpenAI's plus common extensions).
public struct SamplingFields: Decodable, Sendable {
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var seed: Int64?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var repetitionPenalty: Double?
    public var logitBias: [String: Double]?
    public var stop: [String]?
    public var ignoreEOS: Bool?
    /// Multiplier of the adapter's delta (Tandem extension, default 1).
    public var loraScale: Double?
    /// The shape the reply must take; nil or `text` leaves it free.
    public var responseFormat: ResponseFormat?

    /// No field set: every default applies.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", temperature
        case topP = "top_p", topK = "top_k", minP = "min_p", seed
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case repetitionPenalty = "repetition_penalty", logitBias = "logit_bias", stop, ignoreEOS = "ignore_eos",
             loraScale = "lora_scale", responseFormat = "response_format"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try c.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        minP = try c.decodeIfPresent(Double.self, forKey: .minP)
        seed = try c.decodeIfPresent(Int64.self, forKey: .seed)
        presencePenalty = try c.decodeIfPresent(Double.self, forKey: .presencePenalty)
        frequencyPenalty = try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        repetitionPenalty = try c.decodeIfPresent(Double.self, forKey: .repetitionPenalty)
        logitBias = try c.decodeIfPresent([String: Double].self, forKey: .logitBias)
        ignoreEOS = try c.decodeIfPresent(Bool.self, forKey: .ignoreEOS)
        loraScale = try c.decodeIfPresent(Double.self, forKey: .loraScale)
        responseFormat = try c.decodeIfPresent(ResponseFormat.self, forKey: .responseFormat)
        if try !c.contains(.stop) || c.decodeNil(forKey: .stop) {
            stop = nil
        } else if let one = try? c.decode(String.self, forKey: .stop) {
            stop = [one]
        } else {
            stop = try c.decode([String].self, forKey: .stop)
        }
    }
}

/// Token counts of a request, in OpenAI's shape.
public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var promptTokensDetails: PromptTokensDetails?

    public struct PromptTokensDetails: Codable, Sendable, Equatable {
        public var cachedTokens: Int
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
        public init(cachedTokens: Int) { self.cachedTokens = cachedTokens }
    }

    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        totalTokens = promptTokens + completionTokens
        promptTokensDetails = cachedTokens.map(PromptTokensDetails.init)
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

/// Chat log-probabilities: `{"content": [{token, logprob, bytes, top_logprobs}]}`.
public struct ChatLogprobs: Codable, Sendable {
    public var content: [Entry]

    public struct Alternative: Codable, Sendable {
        public var token: String
        public var logprob: Float
        public var bytes: [UInt8]
        public init(token: String, logprob: Float, bytes: [UInt8]) {
            self.token = token
            self.logprob = logprob
            self.bytes = bytes
        }
    }

    public struct Entry: Codable, Sendable {
        public var token: String
        public var logprob: Float
        public var bytes: [UInt8]
        public var topLogprobs: [Alternative]
        enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
        public init(token: String, logprob: Float, bytes: [UInt8], topLogprobs: [Alternative]) {
            self.token = token
            self.logprob = logprob
            self.bytes = bytes
            self.topLogprobs = topLogprobs
        }
    }

    public init(content: [Entry]) { self.content = content }
}

/// Legacy completions log-probabilities.
public struct CompletionLogprobs: Codable, Sendable {
    public var tokens: [String]
    public var tokenLogprobs: [Float]
    public var topLogprobs: [[String: Float]]
    public var textOffset: [Int]
    enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }
    public init(tokens: [String] = [], tokenLogprobs: [Float] = [], topLogprobs: [[String: Float]] = [],
                textOffset: [Int] = []) {
        self.tokens = tokens
        self.tokenLogprobs = tokenLogprobs
        self.topLogprobs = topLogprobs
        self.textOffset = textOffset
    }
}

public struct ChatCompletion: Encodable, Sendable {
    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage
    public var systemFingerprint: String? = nil

    public struct Message: Encodable, Sendable {
        public var role = "assistant"
        /// Null when the reply is tool calls.
        public var content: String?
        public var toolCalls: [ToolCall]?

        enum CodingKeys: String, CodingKey { case role, content, toolCalls = "tool_calls" }

        public init(content: String?, toolCalls: [ToolCall]? = nil) {
            self.content = content
            self.toolCalls = toolCalls
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(role, forKey: .role)
            try c.encode(content, forKey: .content) // explicit null beside tool calls, as OpenAI sends it
            try c.encodeIfPresent(toolCalls, forKey: .toolCalls)
        }
    }

    public struct Choice: Encodable, Sendable {
        public var index: Int
        public var message: Message
        public var logprobs: ChatLogprobs?
        public var finishReason: String
        enum CodingKeys: String, CodingKey { case index, message, logprobs, finishReason = "finish_reason" }
        public init(index: Int, message: Message, logprobs: ChatLogprobs?, finishReason: String) {
            self.index = index
            self.message = message
            self.logprobs = logprobs
            self.finishReason = finishReason
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(message, forKey: .message)
            try c.encode(logprobs, forKey: .logprobs) // explicit null, as OpenAI sends it
            try c.encode(finishReason, forKey: .finishReason)
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, systemFingerprint = "system_fingerprint"
    }

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }
}

public struct ChatCompletionChunk: Encodable, Sendable {
    public var id: String
    public var object = "chat.completion.chunk"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    /// Present (possibly null) only when the client asked for usage in the stream.
    public var usage: Usage?
    public var includeUsageField: Bool

    public struct Delta: Encodable, Sendable {
        public var role: String?
        public var content: String?
        public var toolCalls: [ToolCallDelta]?
        enum CodingKeys: String, CodingKey { case role, content, toolCalls = "tool_calls" }
        public init(role: String? = nil, content: String? = nil, toolCalls: [ToolCallDelta]? = nil) {
            self.role = role
            self.content = content
            self.toolCalls = toolCalls
        }
    }

    public struct Choice: Encodable, Sendable {
        public var index: Int
        public var delta: Delta
        public var logprobs: ChatLogprobs?
        public var finishReason: String?
        enum CodingKeys: String, CodingKey { case index, delta, logprobs, finishReason = "finish_reason" }
        public init(index: Int, delta: Delta, logprobs: ChatLogprobs? = nil, finishReason: String? = nil) {
            self.index = index
            self.delta = delta
            self.logprobs = logprobs
            self.finishReason = finishReason
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil,
                includeUsageField: Bool = false) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.includeUsageField = includeUsageField
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        if includeUsageField { try c.encode(usage, forKey: .usage) }
    }
}

public struct Completion: Encodable, Sendable {
    public var id: String
    public var object = "text_completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?

    public struct Choice: Encodable, Sendable {
        public var index: Int
        public var text: String
        public var logprobs: CompletionLogprobs?
        public var finishReason: String?
        enum CodingKeys: String, CodingKey { case index, text, logprobs, finishReason = "finish_reason" }
        public init(index: Int, text: String, logprobs: CompletionLogprobs? = nil, finishReason: String?) {
            self.index = index
            self.text = text
            self.logprobs = logprobs
            self.finishReason = finishReason
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(text, forKey: .text)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage?) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }
}

/// An entry of `GET /v1/models`.
public struct ModelCard: Codable, Sendable, Equatable {
    public var id: String
    public var object = "model"
    public var created: Int
    public var ownedBy: String
    public var parent: String?
    public var root: String?
    /// The LoRA adapter this id runs with (Tandem extension).
    public var adapter: String?
    /// The role whose system prompt and defaults this id applies (Tandem extension).
    public var role: String?
    enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by", parent, root, adapter, role }
    public init(id: String, created: Int, ownedBy: String, parent: String? = nil, root: String? = nil,
                adapter: String? = nil, role: String? = nil) {
        self.id = id
        self.created = created
        self.ownedBy = ownedBy
        self.parent = parent
        self.root = root
        self.adapter = adapter
        self.role = role
    }
}

public struct ModelList: Codable, Sendable {
    public var object = "list"
    public var data: [ModelCard]
    public init(data: [ModelCard]) { self.data = data }
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}` with explicit nulls.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?
        public init(message: String, type: String, param: String?, code: String?) {
            self.message = message
            self.type = type
            self.param = param
            self.code = code
        }
        enum CodingKeys: String, CodingKey { case message, type, param, code }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(type, forKey: .type)
            try c.encode(param, forKey: .param)
            try c.encode(code, forKey: .code)
        }
    }
    public var error: Detail
    public init(error: Detail) { self.error = error }
}

import Grammar

/// `POST /v1/completions` body: a raw prompt, no chat template.
public struct CompletionRequest: Decodable, Sendable, CarriesSchemas {
    public var model: String
    public var prompt: [PromptInput]
    public var sampling: SamplingFields
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    /// Legacy completions: number of alternatives per token to report.
    public var logprobs: Int?
    public var echo: Bool?
    public var user: String?
    public var unsupportedFields: [String]

    enum CodingKeys: String, CodingKey {
        case model, prompt, n, stream, logprobs, echo, user, suffix
        case streamOptions = "stream_options", bestOf = "best_of"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        if let text = try? c.decode(String.self, forKey: .prompt) {
            prompt = [.text(text)]
        } else if let texts = try? c.decode([String].self, forKey: .prompt) {
            prompt = texts.map(PromptInput.text)
        } else if let ids = try? c.decode([Int32].self, forKey: .prompt) {
            prompt = [.tokens(ids)]
        } else if let lists = try? c.decode([[Int32]].self, forKey: .prompt) {
            prompt = lists.map(PromptInput.tokens)
        } else {
            throw DecodingError.typeMismatch([String].self, .init(
                codingPath: [CodingKeys.prompt],
                debugDescription: "prompt must be a string, an array of strings, or an array of token ids"))
        }
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try c.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        sampling = try SamplingFields(from: decoder)
        var unsupported: [String] = []
        if c.contains(.suffix), !(try c.decodeNil(forKey: .suffix)) { unsupported.append("suffix") }
        if let bestOf = try c.decodeIfPresent(Int.self, forKey: .bestOf), bestOf > 1 { unsupported.append("best_of") }
        if echo == true { unsupported.append("echo") }
        unsupportedFields = unsupported
    }

    public var hasSchemas: Bool { sampling.hasSchemas }
    public mutating func restoreSchemas(from body: JSONTree) { sampling.restoreSchemas(from: body) }
}

public enum PromptInput: Sendable, Equatable {
    case text(String)
    case tokens([Int32])
}

import Foundation
import Grammar

/// The body of `POST /tokenize` (vLLM's): `prompt` (a string) or `messages` (chat, rendered with the
/// model's template), `model`, `add_special_tokens`, `add_generation_prompt`, `return_token_strs`.
public struct TokenizeRequest: Sendable {
    public var model: String?
    public var prompt: String?
    public var messages: [ChatMessage]?
    /// BOS before a prompt, when the tokenizer adds one (vLLM's default: true for a prompt; messages
    /// carry their template's own markup).
    public var addSpecialTokens: Bool
    public var returnTokenStrings: Bool

    static let known: Set<String> = ["model", "prompt", "messages", "add_special_tokens", "add_generation_prompt",
                                     "return_token_strs"]

    public init(_ body: JSONTree) throws(ResponsesRequest.Invalid) {
        typealias Invalid = ResponsesRequest.Invalid
        guard case .object(let members) = body else { throw Invalid(message: "the body must be an object", param: "") }
        if let unknown = members.map(\.key).first(where: { !Self.known.contains($0) }) {
            throw Invalid(message: "'\(unknown)' is not a field of /tokenize", param: unknown)
        }
        func optional<T>(_ key: String, _ read: (JSONTree) -> T?) throws(Invalid) -> T? {
            guard let value = body[key], value != .null else { return nil }
            guard let typed = read(value) else { throw Invalid(message: "'\(key)' has the wrong type", param: key) }
            return typed
        }
        model = try optional("model", \.string)
        prompt = try optional("prompt", \.string)
        addSpecialTokens = try optional("add_special_tokens", \.bool) ?? (body["messages"] == nil)
        returnTokenStrings = try optional("return_token_strs", \.bool) ?? false
        if try optional("add_generation_prompt", \.bool) == false {
            throw Invalid(message: "add_generation_prompt: false is not supported: Tandem's templates always end "
                              + "with the assistant's opening, as chat completions feed the model",
                          param: "add_generation_prompt")
        }
        if let list = body["messages"], list != .null {
            do {
                messages = try JSONDecoder().decode([ChatMessage].self, from: Data(list.compactText.utf8))
            } catch {
                throw Invalid(message: "'messages' must be a list of chat messages: \(error)", param: "messages")
            }
        }
        guard (prompt == nil) != (messages == nil) else {
            throw Invalid(message: "send exactly one of 'prompt' and 'messages'", param: prompt == nil ? "prompt"
                              : "messages")
        }
    }
}

/// The body of `POST /detokenize`: `tokens` (ids) and an optional `model`.
public struct DetokenizeRequest: Sendable {
    public var model: String?
    public var tokens: [Int]

    public init(_ body: JSONTree) throws(ResponsesRequest.Invalid) {
        typealias Invalid = ResponsesRequest.Invalid
        guard case .object(let members) = body else { throw Invalid(message: "the body must be an object", param: "") }
        if let unknown = members.map(\.key).first(where: { !["model", "tokens"].contains($0) }) {
            throw Invalid(message: "'\(unknown)' is not a field of /detokenize", param: unknown)
        }
        if let value = body["model"], value != .null {
            guard let name = value.string else { throw Invalid(message: "'model' must be a string", param: "model") }
            model = name
        }
        guard case .array(let items)? = body["tokens"] else {
            throw Invalid(message: "'tokens' is required and must be a list of token ids", param: "tokens")
        }
        var ids: [Int] = []
        for item in items {
            guard let id = item.integer else {
                throw Invalid(message: "'tokens' must hold integers only", param: "tokens")
            }
            ids.append(id)
        }
        tokens = ids
    }
}

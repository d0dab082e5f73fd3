import Foundation
import Grammar
import Hummingbird
import OpenAIAPI
import Tokenizer

/// `POST /tokenize` and `POST /detokenize`, as vLLM serves them: the ids a prompt or a chat becomes
/// (messages with the model's template and a role's system prompt, exactly what chat completions
/// feed the model), their count and the longest sequence the server runs; and the text of ids.
struct TokenizeRoutes {
    typealias Context = TandemRequestContext
    let completions: CompletionRoutes

    struct Tokens: Encodable {
        let tokens: [Int32]
        let count: Int
        let maxModelLength: Int
        let tokenStrings: [String]?
        enum CodingKeys: String, CodingKey {
            case tokens, count, maxModelLength = "max_model_len", tokenStrings = "token_strs"
        }
    }

    struct Text: Encodable {
        let prompt: String
    }

    func add(to router: Router<Context>) {
        router.post("/tokenize") { request, context in try await tokenize(request, context: context) }
        router.post("/detokenize") { request, context in try await detokenize(request, context: context) }
    }

    func tokenize(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let body = try await completions.fieldsBody(&request) { tree throws(ResponsesRequest.Invalid) in
            try TokenizeRequest(tree)
        }
        let serving = try completions.state.ready()
        let check = RequestValidation(configuration: completions.configuration, serving: serving)
        let model = try check.model(body.model ?? serving.id)
        let tokenizer = serving.tokenizer
        var ids: [Int32]
        if let messages = body.messages {
            ids = try serving.template.encode(check.withRole(model.role, check.turns(messages)), tokenizer: tokenizer)
        } else {
            ids = try tokenizer.encode(body.prompt ?? "", addBOS: body.addSpecialTokens && tokenizer.addsBOS)
        }
        let strings = body.returnTokenStrings
            ? try ids.map { String(decoding: try tokenizer.bytes(of: $0, includeSpecial: true), as: UTF8.self) } : nil
        return try json(Tokens(tokens: ids, count: ids.count, maxModelLength: serving.maxModelLength,
                               tokenStrings: strings))
    }

    func detokenize(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let body = try await completions.fieldsBody(&request) { tree throws(ResponsesRequest.Invalid) in
            try DetokenizeRequest(tree)
        }
        let serving = try completions.state.ready()
        _ = try RequestValidation(configuration: completions.configuration, serving: serving)
            .model(body.model ?? serving.id)
        let vocabulary = serving.tokenizer.vocabularySize
        if let bad = body.tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw APIError.invalid("token id \(bad) is outside the vocabulary (0..<\(vocabulary))", param: "tokens")
        }
        let text = try serving.tokenizer.decode(body.tokens.map { Int32($0) }, includeSpecial: true)
        return try json(Text(prompt: text))
    }
}

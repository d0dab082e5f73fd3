import Foundation
import HTTPTypes
import Hummingbird
import Engine
import OpenAIAPI

/// Every error a client can see, mapped in one place to an HTTP status and OpenAI's error body.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    public var headers: HTTPFields = [:]
    /// Set once the request's metrics counted it (with its model), so the counting middleware
    /// does not count it again.
    var isCounted = false

    public init(status: HTTPResponse.Status, message: String, type: String = "invalid_request_error",
                param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// The same error, answered with `x-request-id`.
    func with(requestID: String) -> APIError {
        var copy = self
        copy.headers[RequestLog.header] = requestID
        return copy
    }

    public var body: ErrorBody { ErrorBody(error: .init(message: message, type: type, param: param, code: code)) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let data = (try? JSONEncoder().encode(body)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: the errors of the API

    public static func invalid(_ message: String, param: String?, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, param: param, code: code)
    }

    public static func unsupported(_ param: String) -> APIError {
        invalid("'\(param)' is not supported by this server", param: param, code: "unsupported_parameter")
    }

    public static func modelNotFound(_ model: String, detail: String? = nil) -> APIError {
        APIError(status: .notFound, message: detail ?? "The model '\(model)' does not exist", param: "model",
                 code: "model_not_found")
    }

    /// The one context-length message, in OpenAI's words.
    public static func contextLengthExceeded(limit: Int, promptTokens: Int, completionTokens: Int) -> APIError {
        let sum = promptTokens.addingReportingOverflow(completionTokens)
        let total = sum.overflow ? Int.max : sum.partialValue
        return invalid("This model's maximum context length is \(limit) tokens. However, you requested \(total) tokens "
                           + "(\(promptTokens) in the messages, \(completionTokens) in the completion). "
                           + "Please reduce the length of the messages or completion.",
                       param: "messages", code: "context_length_exceeded")
    }

    /// The engine's refusals as API errors: the only place they are mapped.
    public init(_ error: EngineError) {
        switch error {
        case .queueFull: self = .overloaded(error.description)
        case let .contextLengthExceeded(prompt, maxTokens, limit):
            self = .contextLengthExceeded(limit: limit, promptTokens: prompt, completionTokens: maxTokens)
        case .kvCacheTooSmall:
            self = .invalid(error.description + " (the cache is sized by --kv-cache-mb)", param: "messages",
                            code: "context_length_exceeded")
        case .emptyPrompt: self = .invalid(error.description, param: "messages")
        case .shuttingDown:
            self = APIError(status: .serviceUnavailable, message: error.description, type: "server_error")
        }
    }

    public static let invalidAPIKey = APIError(status: .unauthorized,
                                               message: "Incorrect or missing API key. "
                                                   + "Pass it as 'Authorization: Bearer <key>'.",
                                               type: "invalid_request_error", code: "invalid_api_key")

    public static func overloaded(_ message: String, retryAfterSeconds: Int = 1) -> APIError {
        var e = APIError(status: .tooManyRequests, message: message, type: "rate_limit_error",
                         code: "rate_limit_exceeded")
        e.headers[.retryAfter] = "\(retryAfterSeconds)"
        return e
    }

    public static func rateLimited(tenant: String, retryAfter seconds: Int) -> APIError {
        overloaded("Rate limit reached for the key '\(tenant)'; retry in \(seconds) s.", retryAfterSeconds: seconds)
    }

    public static let loading = APIError(status: .serviceUnavailable,
                                         message: "The model is still loading; retry shortly.",
                                         type: "server_error", code: "model_loading")

    public static func bodyTooLarge(_ limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "The request body is larger than the limit of \(limit) bytes.",
                 code: "request_too_large")
    }

    public static func notFound(_ path: String) -> APIError {
        APIError(status: .notFound, message: "Unknown route \(path)", code: "not_found")
    }

    public static func `internal`(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error")
    }

    /// An explanation of a JSON decoding failure that names the offending field.
    /// Fields that must be whole numbers. Foundation reports `"n": 1.5` as invalid JSON with no
    /// path, so such a body is looked at again to name the field.
    static let integerFields = ["n", "max_tokens", "max_completion_tokens", "seed", "top_k", "top_logprobs", "logprobs"]

    public static func decoding(_ error: DecodingError, body: Data) -> APIError {
        if case let .dataCorrupted(context) = error, context.codingPath.isEmpty,
           let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            for field in integerFields {
                if let number = object[field] as? NSNumber, !(number is Bool),
                   number.doubleValue != number.doubleValue.rounded(.towardZero) || abs(number.doubleValue) > 9.2e18 {
                    return invalid("Invalid value for '\(field)': expected an integer, got \(number).", param: field,
                                   code: "invalid_type")
                }
            }
        }
        return decoding(error)
    }

    public static func decoding(_ error: DecodingError) -> APIError {
        func path(_ keys: [any CodingKey]) -> String? {
            keys.isEmpty ? nil : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .keyNotFound(key, context):
            let p = path(context.codingPath + [key])
            return invalid("Missing required parameter: '\(p ?? key.stringValue)'.", param: p,
                           code: "missing_required_parameter")
        case let .typeMismatch(type, context):
            let p = path(context.codingPath)
            return invalid("Invalid type for '\(p ?? "body")': expected \(type).", param: p, code: "invalid_type")
        case let .valueNotFound(type, context):
            let p = path(context.codingPath)
            return invalid("Invalid value for '\(p ?? "body")': expected \(type), got null.", param: p,
                           code: "invalid_type")
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                return invalid("We could not parse the JSON body of your request. (\(context.debugDescription))",
                               param: nil, code: "invalid_json")
            }
            let p = path(context.codingPath)
            return invalid("Invalid value for '\(p ?? "body")': \(context.debugDescription)", param: p,
                           code: "invalid_value")
        @unknown default:
            return invalid("Invalid request body.", param: nil)
        }
    }
}

import Hummingbird
import Logging

/// Turns every error that escapes a route — Hummingbird's own (unknown route, body too large) or an
/// unexpected one — into OpenAI's error body. Unexpected errors are a 500 and are logged; the server
/// keeps serving.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: throw APIError.notFound(request.uri.path)
            case .contentTooLarge:
                throw APIError(status: .contentTooLarge, message: error.body ?? "request body too large",
                               code: "request_too_large")
            case .methodNotAllowed:
                throw APIError(status: .methodNotAllowed,
                               message: "Method \(request.method) is not allowed on \(request.uri.path)")
            default:
                throw APIError(status: error.status, message: error.body ?? "\(error.status.reasonPhrase)",
                               type: error.status.code >= 500 ? "server_error" : "invalid_request_error")
            }
        } catch is CancellationError {
            throw APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"),
                           message: "The client closed the request.")
        } catch {
            context.logger.error("unexpected error on \(request.method) \(request.uri.path): \(error)")
            throw APIError.internal("Internal error: \(error)")
        }
    }
}

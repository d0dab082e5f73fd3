import Hummingbird

/// Counts every answer of the completion routes that ends in an error (400, 401, 404, 413, 429,
/// 503…) in `tandem_requests_total`, so client mistakes are as visible as successes; answers that
/// started generating are counted by their `Reply`, with their model.
struct RequestCountMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            if !error.isCounted, let route = Self.route(request.uri.path) {
                metrics.requestFinished(model: "-", route: route, status: Int(error.status.code))
            }
            throw error
        }
    }

    /// The metrics' label of a completion route, or nil for the others.
    static func route(_ path: String) -> String? {
        switch path {
        case "/v1/chat/completions": return "chat"
        case "/v1/completions": return "completions"
        case "/v1/responses": return "responses"
        default: return nil
        }
    }
}

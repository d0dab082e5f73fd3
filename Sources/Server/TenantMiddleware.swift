import Hummingbird

/// On `/v1/*`, `/tokenize` and `/detokenize` when the server has keys: finds the tenant of
/// `Authorization: Bearer <key>` (401 otherwise), applies its rate limits (429 with Retry-After), and
/// runs the handler with `Tenant.current` set.
struct TenantMiddleware<Context: RequestContext>: RouterMiddleware {
    let directory: TenantDirectory

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/") || path == "/v1" || protectedRoots.contains(path),
              directory.isProtected else {
            return try await next(request, context)
        }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix),
              let tenant = directory.tenant(presenting: String(header.dropFirst(prefix.count))) else {
            throw APIError.invalidAPIKey
        }
        RequestLog.note?.tenant = tenant.name
        if let seconds = directory.limiter.admit(tenant) {
            throw APIError.rateLimited(tenant: tenant.name, retryAfter: seconds)
        }
        return try await Tenant.$current.withValue(tenant) {
            try await RateLimiter.$current.withValue(directory.limiter) { try await next(request, context) }
        }
    }
}

/// Routes outside `/v1` that read a model, so they need a key too (vLLM serves them at the root).
private let protectedRoots: Set<String> = ["/tokenize", "/detokenize"]

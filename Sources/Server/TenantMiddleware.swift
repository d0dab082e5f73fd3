import Hummingbird

/// On `/v1/*` when the server has keys: finds the tenant of `Authorization: Bearer <key>` (401
/// otherwise), applies its rate limits (429 with Retry-After), and runs the handler with
/// `Tenant.current` set.
struct TenantMiddleware<Context: RequestContext>: RouterMiddleware {
    let directory: TenantDirectory

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/") || request.uri.path == "/v1", directory.isProtected else {
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

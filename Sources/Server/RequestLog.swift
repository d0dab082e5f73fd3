import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Request ids and the one log line per request.
///
/// Every response carries `x-request-id`: the client's own when it sent a plain one, otherwise a
/// fresh one. Completion requests are logged by their `Reply` when the answer is complete (model,
/// adapter, role, tokens, time to first token); every other request, and every refused one, by
/// `RequestLogMiddleware`.
enum RequestLog {
    static let header = HTTPField.Name("x-request-id")!

    /// The id of the request being handled (set by the middleware for the handler's task).
    @TaskLocal static var id = "-"

    /// What inner middleware learns about a request for its log line: the tenant whose key it used.
    /// Written and read by the request's own task only, one after the other.
    final class Note: @unchecked Sendable {
        var tenant: String?
    }

    @TaskLocal static var note: Note?

    /// The client's id if it is short and plain, else a new one.
    static func id(from request: Request) -> String {
        if let given = request.headers[header], (1...64).contains(given.count),
           given.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            return given
        }
        return "req-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    }

    static func milliseconds(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        return String(format: "%.1f", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }
}

/// Gives every request an id (logged, and returned in `x-request-id`) and logs requests that do
/// not log themselves: other routes, and completion requests refused before generation.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    static var selfLoggingPaths: Set<String> { ["/v1/chat/completions", "/v1/completions"] }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = RequestLog.id(from: request)
        var metadata: Logger.Metadata = ["request_id": "\(id)", "method": "\(request.method)",
                                         "path": "\(request.uri.path)"]
        let note = RequestLog.Note()
        do {
            var response = try await RequestLog.$id.withValue(id) {
                try await RequestLog.$note.withValue(note) { try await next(request, context) }
            }
            response.headers[RequestLog.header] = id
            if !Self.selfLoggingPaths.contains(request.uri.path) || response.status.code >= 400 {
                if let tenant = note.tenant { metadata["tenant"] = "\(tenant)" }
                metadata["status"] = "\(response.status.code)"
                metadata["total_ms"] = "\(RequestLog.milliseconds(ContinuousClock.now - start))"
                context.logger.info("request", metadata: metadata)
            }
            return response
        } catch let error as APIError {
            if let tenant = note.tenant { metadata["tenant"] = "\(tenant)" }
            metadata["status"] = "\(error.status.code)"
            metadata["total_ms"] = "\(RequestLog.milliseconds(ContinuousClock.now - start))"
            metadata["error"] = "\(error.message)"
            context.logger.info("request", metadata: metadata)
            throw error.with(requestID: id)
        }
    }
}

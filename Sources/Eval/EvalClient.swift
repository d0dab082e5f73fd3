import Foundation
import Grammar
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends one streamed chat completion to an OpenAI-compatible server and times it: the time to the
/// first content chunk, the time from there to the end, the text and the usage chunk's counts.
public struct EvalClient: Sendable {
    public var baseURL: URL
    public var apiKey: String?

    public init(baseURL: URL, apiKey: String? = nil) {
        self.baseURL = baseURL
        self.apiKey = apiKey
    }

    public struct Answer: Sendable {
        public var text = ""
        public var promptTokens = 0
        public var completionTokens = 0
        public var timeToFirstToken: Double?
        public var decodeSeconds = 0.0
        /// Calls assembled from the stream's `delta.tool_calls` fragments, by index.
        public var toolCalls: [EvalCase.ToolCall] = []
    }

    /// GET `path`: status and body, or nil when the server cannot be reached.
    func get(_ path: String) async -> (status: Int, body: Data)? {
        var request = URLRequest(url: baseURL.appendingPathComponent(path))
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    public func isHealthy() async -> Bool { await get("health")?.status == 200 }

    /// The first listed model without a parent: the base.
    public func baseModelID() async -> String? {
        guard let (status, data) = await get("v1/models"), status == 200,
              let list = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let models = list["data"] as? [[String: Any]] else { return nil }
        let base = models.first { model in model["parent"] == nil || model["parent"] is NSNull }
        return base?["id"] as? String
    }

    public func chat(model: String, messages: [EvalCase.Message], temperature: Double?,
                     maxTokens: Int?, responseFormat: JSONTree? = nil, tools: JSONTree? = nil,
                     toolChoice: JSONTree? = nil) async throws -> Answer {
        var body: [String: Any] = [
            "model": model, "stream": true, "stream_options": ["include_usage": true],
            "messages": messages.map { ["role": $0.role, "content": $0.content] },
        ]
        if let temperature { body["temperature"] = temperature }
        if let maxTokens { body["max_tokens"] = maxTokens }
        var request = URLRequest(url: baseURL.appendingPathComponent("v1/chat/completions"))
        request.httpMethod = "POST"
        var data = try JSONSerialization.data(withJSONObject: body)
        // Spliced in as text: JSONSerialization would reorder a schema's members.
        for (key, value) in [("response_format", responseFormat), ("tools", tools), ("tool_choice", toolChoice)] {
            guard let value else { continue }
            data.removeLast() // the closing brace
            data += Data((",\"\(key)\":" + value.compactText + "}").utf8)
        }
        request.httpBody = data
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        request.timeoutInterval = 300

        let start = Date()
        var answer = Answer()
        var firstAt: Date?
        var buffer = Data()
        let (status, chunks) = try await StreamingRequest.start(request)
        for try await chunk in chunks {
            buffer.append(chunk)
            // Server-sent events: one `data: {json}` line per event, blank line between events.
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                if status != 200 { continue }
                guard line.hasPrefix("data: "), line != "data: [DONE]",
                      let event = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))
                          as? [String: Any] else { continue }
                if let error = event["error"] as? [String: Any] {
                    throw EvalError.server("\(error["message"] ?? error)")
                }
                if let choices = event["choices"] as? [[String: Any]],
                   let delta = choices.first?["delta"] as? [String: Any] {
                    if let content = delta["content"] as? String, !content.isEmpty {
                        if firstAt == nil { firstAt = Date() }
                        answer.text += content
                    }
                    for fragment in delta["tool_calls"] as? [[String: Any]] ?? [] {
                        if firstAt == nil { firstAt = Date() }
                        let index = fragment["index"] as? Int ?? answer.toolCalls.count
                        while answer.toolCalls.count <= index {
                            answer.toolCalls.append(.init(name: "", arguments: ""))
                        }
                        let function = fragment["function"] as? [String: Any] ?? [:]
                        answer.toolCalls[index].name += function["name"] as? String ?? ""
                        answer.toolCalls[index].arguments += function["arguments"] as? String ?? ""
                    }
                }
                if let usage = event["usage"] as? [String: Any] {
                    answer.promptTokens = usage["prompt_tokens"] as? Int ?? 0
                    answer.completionTokens = usage["completion_tokens"] as? Int ?? 0
                }
            }
        }
        if status != 200 {
            let message = (try? JSONSerialization.jsonObject(with: buffer) as? [String: Any])
                .flatMap { ($0["error"] as? [String: Any])?["message"] as? String }
                ?? String(decoding: buffer, as: UTF8.self)
            throw EvalError.server("HTTP \(status): \(message)")
        }
        if let firstAt {
            answer.timeToFirstToken = firstAt.timeIntervalSince(start)
            answer.decodeSeconds = Date().timeIntervalSince(firstAt)
        }
        return answer
    }
}

/// A URLSession data task whose body arrives as an async stream of chunks (Linux's Foundation has
/// no `bytes(for:)`).
final class StreamingRequest: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<Data, Error>.Continuation
    private var statusContinuation: CheckedContinuation<Int, Error>?
    private let lock = NSLock()

    private init(continuation: AsyncThrowingStream<Data, Error>.Continuation) {
        self.continuation = continuation
    }

    static func start(_ request: URLRequest) async throws -> (status: Int, body: AsyncThrowingStream<Data, Error>) {
        let (stream, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
        let delegate = StreamingRequest(continuation: continuation)
        let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        let status = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, Error>) in
            delegate.lock.withLock { delegate.statusContinuation = c }
            session.dataTask(with: request).resume()
        }
        session.finishTasksAndInvalidate()
        return (status, stream)
    }

    private func resumeStatus(_ result: Result<Int, Error>) {
        let c = lock.withLock { () -> CheckedContinuation<Int, Error>? in
            defer { statusContinuation = nil }
            return statusContinuation
        }
        c?.resume(with: result)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        resumeStatus(.success((response as? HTTPURLResponse)?.statusCode ?? 0))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        continuation.yield(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error {
            resumeStatus(.failure(error))
            continuation.finish(throwing: error)
        } else {
            resumeStatus(.success(200))
            continuation.finish()
        }
    }
}

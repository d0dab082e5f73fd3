import Engine

/// Events of several choices (`n > 1`, or several prompts) interleaved as they arrive.
///
/// Runs inside the caller's task: when that task is cancelled (the client went away), the child
/// tasks stop iterating, which cancels every sequence in the engine at its next step.
func forEachEvent(of streams: [AsyncStream<GenerationEvent>],
                  _ body: (Int, GenerationEvent) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let (merged, continuation) = AsyncStream<(Int, GenerationEvent)>.makeStream()
        for (index, stream) in streams.enumerated() {
            group.addTask {
                for await event in stream { continuation.yield((index, event)) }
            }
        }
        var open = streams.count
        for await (index, event) in merged {
            try Task.checkCancellation()
            try await body(index, event)
            switch event {
            case .finished, .failed:
                open -= 1
            case .token:
                break
            }
            if open == 0 { break }
        }
        continuation.finish()
        group.cancelAll()
        try Task.checkCancellation()
    }
}

/// What a finished choice reports, accumulated from its events.
struct ChoiceResult {
    var text = ""
    var tokens: [TokenLogprob] = []
    var finishReason: FinishReason?
    var promptTokens = 0
    var completionTokens = 0
    /// Prompt tokens served from the prefix cache.
    var cachedTokens = 0
    var firstTokenAt: ContinuousClock.Instant?
    var failure: String?
}

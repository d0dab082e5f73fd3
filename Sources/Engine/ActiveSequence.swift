import Dispatch
import Foundation
import Model
import Sampling
import Tokenizer

/// A sequence inside the engine: its request, KV cache, sampler and text state. Owned by the engine
/// thread; only `cancel()` is called from elsewhere.
final class ActiveSequence: @unchecked Sendable {
    let id: Int
    let request: EngineRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    var cache: KVCache?
    var decoder: SequenceDecoder
    /// Prompt tokens already run through the model.
    var promptOffset = 0
    /// Sampled tokens, for the prefix cache (a finished chat turn is the next turn's prefix).
    var generatedIDs: [Int32] { decoder.generatedIDs }
    var generated: Int { generatedIDs.count }
    /// Generated tokens already run through the model; the next decode step feeds the rest (the
    /// last sampled token, and the tokens a grammar forced after it).
    var fedTokens = 0
    var unfedTokens: ArraySlice<Int32> { generatedIDs[min(fedTokens, generated)...] }
    /// Prompt tokens whose KV came from the prefix cache.
    var cachedTokens = 0
    /// Worst-case KV pages, committed while the sequence runs (see `BatchScheduler.plan`).
    let worstCasePages: Int
    private let cancelLock = NSLock()
    private var cancelled = false

    init(id: Int, request: EngineRequest, worstCasePages: Int, tokenizer: any TextTokenizer,
         continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.id = id
        self.worstCasePages = worstCasePages
        self.request = request
        self.continuation = continuation
        decoder = SequenceDecoder(request: request, tokenizer: tokenizer)
    }

    var promptRemaining: Int { request.promptIDs.count - promptOffset }

    var isCancelled: Bool {
        cancelLock.lock()
        defer { cancelLock.unlock() }
        return cancelled
    }

    func cancel() {
        cancelLock.lock()
        cancelled = true
        cancelLock.unlock()
    }

    /// Picks this sequence's next token from its row of logits (safe to run beside other rows).
    func choose(_ logits: UnsafeMutableBufferPointer<Float>) -> (token: Int32, logprob: TokenLogprob?) {
        decoder.choose(logits)
    }

    /// Appends a chosen token and the tokens a grammar forces after it, streams their text, and
    /// says whether the sequence is done. A forced token had no choice: its log-probability is 0.
    func deliver(_ token: Int32, logprob: TokenLogprob?) -> Bool {
        let steps = decoder.acceptFastForwarding(token)
        for (i, (id, step)) in steps.enumerated() {
            let reported = i == 0 ? logprob : decoder.certainLogprob(id)
            continuation.yield(.token(id: id, text: step.text, logprob: step.isText ? reported : nil))
        }
        guard let reason = steps[steps.count - 1].step.finish else { return false }
        return finish(reason)
    }

    /// Reports the end and returns true (the caller drops the sequence and its cache).
    @discardableResult
    func finish(_ reason: FinishReason) -> Bool {
        continuation.yield(.finished(reason, promptTokens: request.promptIDs.count, completionTokens: generated,
                                     cachedTokens: cachedTokens))
        continuation.finish()
        return true
    }

    /// Tokens whose keys and values the cache holds: the prompt, then generated tokens (the last
    /// sampled one has not been run yet).
    var cachedPositionTokens: [Int32] {
        let count = cache?.count ?? 0
        let prompt = request.promptIDs
        return count <= prompt.count ? Array(prompt[..<count]) : prompt + generatedIDs.prefix(count - prompt.count)
    }

    func fail(_ message: String) {
        continuation.yield(.failed(message))
        continuation.finish()
        cache = nil
    }
}

import Dispatch
import Foundation
import Model
import Tokenizer

/// A sequence inside the engine: its request, KV cache, sampler and text state. Owned by the engine
/// thread; only `cancel()` is called from elsewhere.
final class ActiveSequence: @unchecked Sendable {
    let id: Int
    let request: EngineRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    var cache: KVCache?
    var sampler: Sampler
    var detokenizer: StreamingDetokenizer
    var stops: StopStringMatcher
    /// Prompt tokens already run through the model.
    var promptOffset = 0
    /// Sampled tokens, for the prefix cache (a finished chat turn is the next turn's prefix).
    var generatedIDs: [Int32] = []
    var generated: Int { generatedIDs.count }
    /// The token the next decode step feeds in.
    var lastToken: Int32 { generatedIDs.last ?? 0 }
    /// Prompt tokens whose KV came from the prefix cache.
    var cachedTokens = 0
    /// Worst-case KV pages, committed while the sequence runs (see `BatchScheduler.plan`).
    let worstCasePages: Int
    private let cancelLock = NSLock()
    private var cancelled = false

    init(id: Int, request: EngineRequest, worstCasePages: Int, tokenizer: SentencePieceTokenizer, continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.id = id
        self.worstCasePages = worstCasePages
        self.request = request
        self.continuation = continuation
        sampler = Sampler(parameters: request.sampling)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        stops = StopStringMatcher(stops: request.stopStrings)
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

    /// Samples the next token from `logits`, reports it, and says whether the sequence is done.
    func accept(logits: UnsafeMutableBufferPointer<Float>, tokenizer: SentencePieceTokenizer) -> Bool {
        // Log-probabilities describe the model's distribution, so they come from the logits before the
        // sampler applies bias and penalties in place.
        let raw: [Float]? = request.topLogprobs == nil ? nil : Array(logits)
        // ignore_eos as llama.cpp reads it: the end tokens are never sampled, so each of the
        // max_tokens tokens is text (a sampled, ignored end-of-turn would render as nothing).
        if request.ignoreEOS {
            for id in request.stopTokenIDs where id >= 0 && Int(id) < logits.count { logits[Int(id)] = -.infinity }
        }
        let token = sampler.sample(logits)
        let logprob = raw.map { Logprobs.compute($0, chosen: token, top: request.topLogprobs ?? 0, tokenizer: tokenizer) }
        sampler.observe(token)
        generatedIDs.append(token)
        if !request.ignoreEOS && request.stopTokenIDs.contains(token) {
            emit(token, text: flush(), logprob: nil)
            return finish(.stop)
        }
        var piece = (try? detokenizer.append(token)) ?? ""
        if generated >= request.maxTokens { piece += detokenizer.finish() }
        var (text, stopped) = stops.append(piece)
        if !stopped && generated >= request.maxTokens { text += stops.finish() }
        emit(token, text: text, logprob: logprob)
        if stopped { return finish(.stop) }
        if generated >= request.maxTokens { return finish(.length) }
        return false
    }

    private func flush() -> String {
        stops.append(detokenizer.finish()).emit + stops.finish()
    }

    private func emit(_ token: Int32, text: String, logprob: TokenLogprob?) {
        continuation.yield(.token(id: token, text: text, logprob: logprob))
    }

    /// Reports the end and returns true (the caller drops the sequence and its cache).
    @discardableResult
    func finish(_ reason: FinishReason) -> Bool {
        continuation.yield(.finished(reason, promptTokens: request.promptIDs.count, completionTokens: generated, cachedTokens: cachedTokens))
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

/// Log-probabilities from raw logits (before penalties and temperature, as OpenAI reports them).
enum Logprobs {
    static func compute(_ logits: [Float], chosen: Int32, top: Int, tokenizer: SentencePieceTokenizer) -> TokenLogprob {
        let maximum = logits.max() ?? 0
        var sum: Double = 0
        for l in logits { sum += Double(expf(l - maximum)) }
        let logZ = maximum + Float(log(sum))
        var best: [(id: Int32, logit: Float)] = []
        for i in 0..<logits.count where top > 0 && (best.count < top || logits[i] > best[best.count - 1].logit) {
            best.append((Int32(i), logits[i]))
            best.sort { $0.logit > $1.logit }
            if best.count > top { best.removeLast() }
        }
        func bytes(_ id: Int32) -> [UInt8] { (try? tokenizer.bytes(of: id, includeSpecial: true)) ?? [] }
        return TokenLogprob(id: chosen, logprob: logits[Int(chosen)] - logZ, bytes: bytes(chosen),
                            top: best.map { ($0.id, $0.logit - logZ, bytes($0.id)) })
    }
}

import Dispatch
import Model
import Tokenizer

/// Why a generation ended, in OpenAI's words.
public enum FinishReason: String, Sendable {
    case stop, length
}

/// What one generation asks for.
public struct GenerationRequest: Sendable {
    public var promptIDs: [Int32]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    public var stopTokenIDs: Set<Int32>
    public var stopStrings: [String]

    public init(promptIDs: [Int32], maxTokens: Int, sampling: SamplingParameters = .init(), stopTokenIDs: Set<Int32> = [], stopStrings: [String] = []) {
        self.promptIDs = promptIDs
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokenIDs = stopTokenIDs
        self.stopStrings = stopStrings
    }
}

/// Timings and counts of one generation.
public struct GenerationResult: Sendable {
    public var tokenIDs: [Int32] = []
    public var text = ""
    public var finishReason: FinishReason = .length
    public var promptTokens = 0
    public var promptSeconds = 0.0
    public var decodeSeconds = 0.0

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    /// Tokens after the first, over the time after the first (the first comes out of the prefill).
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(max(tokenIDs.count - 1, 0)) / decodeSeconds : 0 }
}

/// Runs one sequence at a time: chunked prefill, then token-by-token decode with streaming text.
/// The batched server engine builds on the same model calls.
public struct TextGenerator {
    public let model: any LanguageModel
    public let tokenizer: SentencePieceTokenizer
    public var prefillChunk: Int

    public init(model: any LanguageModel, tokenizer: SentencePieceTokenizer, prefillChunk: Int = 512) {
        self.model = model
        self.tokenizer = tokenizer
        self.prefillChunk = prefillChunk
    }

    /// Generates; `onText` receives each piece of text as soon as it is complete and not part of a stop string.
    public func generate(_ request: GenerationRequest, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        var result = GenerationResult()
        result.promptTokens = request.promptIDs.count
        guard !request.promptIDs.isEmpty else { throw ModelError.invalidBatch("empty prompt") }
        let cache = model.makeCache(maxPositions: request.promptIDs.count + request.maxTokens)
        var sampler = Sampler(parameters: request.sampling)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var stops = StopStringMatcher(stops: request.stopStrings)

        let start = DispatchTime.now()
        var logits = try prefill(request.promptIDs, cache: cache)
        result.promptSeconds = seconds(since: start)
        let decodeStart = DispatchTime.now()
        var stoppedByString = false
        while result.tokenIDs.count < request.maxTokens {
            let token = sampler.sample(logits.row(0))
            sampler.observe(token)
            result.tokenIDs.append(token)
            if request.stopTokenIDs.contains(token) {
                result.finishReason = .stop
                break
            }
            let (text, stopped) = stops.append(try detokenizer.append(token))
            result.text += text
            if !text.isEmpty { onText(text) }
            if stopped {
                result.finishReason = .stop
                stoppedByString = true
                break
            }
            guard result.tokenIDs.count < request.maxTokens else { break }
            logits = try model.forward(ForwardBatch(tokens: [token], positions: [cache.count], caches: [cache], logitRows: [0]))
        }
        if !stoppedByString {
            let tail = stops.append(detokenizer.finish()).emit + stops.finish()
            result.text += tail
            if !tail.isEmpty { onText(tail) }
        }
        result.decodeSeconds = seconds(since: decodeStart)
        return result
    }

    /// Runs the prompt in chunks of `prefillChunk` rows; returns the last row's logits.
    public func prefill(_ ids: [Int32], cache: KVCache) throws -> Logits {
        var logits: Logits?
        var offset = 0
        while offset < ids.count {
            let chunk = Array(ids[offset..<min(offset + prefillChunk, ids.count)])
            let positions = Array(cache.count..<cache.count + chunk.count)
            let last = offset + chunk.count == ids.count
            logits = try model.forward(ForwardBatch(tokens: chunk, positions: positions, caches: Array(repeating: cache, count: chunk.count),
                                                    logitRows: last ? [chunk.count - 1] : []))
            offset += chunk.count
        }
        return logits!
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

import Dispatch
import Model
import Tokenizer

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
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 ? Double(max(tokenIDs.count - 1, 0)) / decodeSeconds : 0
    }
}

/// Runs one sequence at a time: chunked prefill, then token-by-token decode with streaming text,
/// through the same `SequenceDecoder` as the batching engine.
public struct TextGenerator {
    public let model: any LanguageModel
    public let tokenizer: any TextTokenizer
    public var prefillChunk: Int

    public init(model: any LanguageModel, tokenizer: any TextTokenizer, prefillChunk: Int = 512) {
        self.model = model
        self.tokenizer = tokenizer
        self.prefillChunk = prefillChunk
    }

    /// Generates; `onText` receives each piece of text as soon as it is complete and not part of a
    /// stop string. The request's adapter is not applied (this path runs the base model).
    public func generate(_ request: EngineRequest, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        var result = GenerationResult()
        result.promptTokens = request.promptIDs.count
        guard !request.promptIDs.isEmpty else { throw ModelError.invalidBatch("empty prompt") }
        let cache = model.makeCache(maxPositions: request.promptIDs.count + request.maxTokens)
        var decoder = SequenceDecoder(request: request, tokenizer: tokenizer)

        let start = DispatchTime.now()
        var logits = try prefill(request.promptIDs, cache: cache)
        result.promptSeconds = seconds(since: start)
        let decodeStart = DispatchTime.now()
        while request.maxTokens > 0 {
            let token = decoder.choose(logits.row(0)).token
            // Tokens a grammar forces go in with the sampled one, as one chunk.
            let steps = decoder.acceptFastForwarding(token), input = steps.map(\.id)
            for (_, step) in steps {
                if !step.text.isEmpty { onText(step.text) }
                result.text += step.text
            }
            if let reason = steps[steps.count - 1].step.finish {
                result.finishReason = reason
                break
            }
            let positions = Array(cache.count..<cache.count + input.count)
            logits = try model.forward(ForwardBatch(tokens: input, positions: positions,
                                                    caches: Array(repeating: cache, count: input.count),
                                                    logitRows: [input.count - 1]))
        }
        result.tokenIDs = decoder.generatedIDs
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
            logits = try model.forward(ForwardBatch(tokens: chunk, positions: positions,
                                                    caches: Array(repeating: cache, count: chunk.count),
                                                    logitRows: last ? [chunk.count - 1] : []))
            offset += chunk.count
        }
        return logits!
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

import Foundation
import Sampling
import Tokenizer

/// The per-token logic of one sequence, the same for the batching engine and `tandem generate`.
///
/// Each token takes two calls. `choose` runs the sequence's logits processors on its row of logits
/// and samples (it touches only this decoder and that row, so the rows of a step may choose in
/// parallel). `accept` then appends the token: the processors learn it, and end tokens, the
/// streaming detokenizer, stop strings and `maxTokens` decide the text to emit and whether the
/// sequence is done.
public struct SequenceDecoder {
    public let request: EngineRequest
    private var processors: [any LogitsProcessor]
    private var sampler: Sampler
    private var detokenizer: StreamingDetokenizer
    private var stops: StopStringMatcher
    private let tokenizer: any TextTokenizer
    /// Tokens accepted so far (an end token included).
    public private(set) var generatedIDs: [Int32] = []

    /// What accepting one token produced.
    public struct Step: Sendable {
        /// Text completed by this token (possibly empty: half a character, or held back because it
        /// may start a stop string).
        public var text: String
        /// Set when the sequence is done.
        public var finish: FinishReason?
        /// False for an end token, which is no part of the text and has no log-probability.
        public var isText: Bool
    }

    public init(request: EngineRequest, tokenizer: any TextTokenizer) {
        self.request = request
        self.tokenizer = tokenizer
        self.processors = request.sampling.standardProcessors(banning: request.ignoreEOS ? request.stopTokenIDs : [])
            + request.processors
        sampler = Sampler(parameters: request.sampling)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        stops = StopStringMatcher(stops: request.stopStrings)
    }

    /// Picks the next token from `logits` (one row, modified in place) with its log-probability when
    /// the request asks for them. Log-probabilities describe the model's distribution under the
    /// answer's format: the logits after the constraints (a grammar), before biases and penalties.
    /// A token the constraint forces at the start of a document is taken as it is; later forced
    /// tokens are appended by `acceptFastForwarding`.
    public mutating func choose(_ logits: UnsafeMutableBufferPointer<Float>) -> (token: Int32, logprob: TokenLogprob?) {
        if generatedIDs.isEmpty, let forced = forcedTokens().first { return (forced, certainLogprob(forced)) }
        var raw: [Float]? = request.topLogprobs == nil ? nil : Array(logits)
        raw?.withUnsafeMutableBufferPointer { row in
            for var constraint in processors where constraint.isConstraint { constraint.process(row) }
        }
        for i in processors.indices { processors[i].process(logits) }
        let token = sampler.sample(logits)
        let logprob = raw.map {
            Logprobs.compute($0, chosen: token, top: request.topLogprobs ?? 0, tokenizer: tokenizer)
        }
        return (token, logprob)
    }

    /// Appends `token` to the sequence.
    public mutating func accept(_ token: Int32) -> Step {
        for i in processors.indices { processors[i].didSample(token) }
        generatedIDs.append(token)
        if !request.ignoreEOS && request.stopTokenIDs.contains(token) {
            return Step(text: flush(), finish: .stop, isText: false)
        }
        let atLimit = generatedIDs.count >= request.maxTokens
        let processorsDone = processors.contains { $0.isFinished }
        var piece = (try? detokenizer.append(token)) ?? ""
        if atLimit || processorsDone { piece += detokenizer.finish() }
        var (text, stopped) = stops.append(piece)
        if stopped { return Step(text: text, finish: .stop, isText: true) }
        if atLimit || processorsDone { text += stops.finish() }
        return Step(text: text, finish: processorsDone ? .stop : atLimit ? .length : nil, isText: true)
    }

    /// Appends `token`, then the tokens the constraint forces after it, until one of them ends the
    /// sequence; returns every token appended with what accepting it produced.
    public mutating func acceptFastForwarding(_ token: Int32) -> [(id: Int32, step: Step)] {
        var steps = [(id: token, step: accept(token))]
        while steps[steps.count - 1].step.finish == nil, case let forced = forcedTokens(), !forced.isEmpty {
            for id in forced where steps[steps.count - 1].step.finish == nil { steps.append((id, accept(id))) }
        }
        return steps
    }

    /// Most tokens appended in a row without sampling (the next step feeds them as one chunk).
    public static let maxForcedTokens = 32

    /// Tokens the sequence's constraint forces next (a strict schema's keys and punctuation), to
    /// be appended with `accept` without sampling; at most `maxForcedTokens`, never past max_tokens.
    public func forcedTokens() -> [Int32] {
        let room = min(Self.maxForcedTokens, request.maxTokens - generatedIDs.count)
        guard room > 0 else { return [] }
        for p in processors where p.isConstraint {
            let forced = p.forcedTokens
            if !forced.isEmpty { return Array(forced.prefix(room)) }
        }
        return []
    }

    /// What a forced token reports when log-probabilities are asked for: it was certain (log 1 = 0),
    /// the only token of its top list.
    public func certainLogprob(_ id: Int32) -> TokenLogprob? {
        guard let top = request.topLogprobs else { return nil }
        let bytes = (try? tokenizer.bytes(of: id, includeSpecial: true)) ?? []
        return TokenLogprob(id: id, logprob: 0, bytes: bytes, top: top > 0 ? [(id, Float(0), bytes)] : [])
    }

    /// Text still held by the detokenizer and the stop-string matcher.
    private mutating func flush() -> String {
        stops.append(detokenizer.finish()).emit + stops.finish()
    }
}

/// Log-probabilities from logits before penalties and temperature (as OpenAI reports them), after any
/// constraint of the answer's format.
enum Logprobs {
    static func compute(_ logits: [Float], chosen: Int32, top: Int, tokenizer: any TextTokenizer) -> TokenLogprob {
        let maximum = logits.max() ?? 0
        var sum: Double = 0
        for l in logits { sum += Double(expf(l - maximum)) }
        let logZ = maximum + Float(log(sum))
        var best: [(id: Int32, logit: Float)] = []
        for i in 0..<logits.count where top > 0 && logits[i] > -.infinity
            && (best.count < top || logits[i] > best[best.count - 1].logit) {
            best.append((Int32(i), logits[i]))
            best.sort { $0.logit > $1.logit }
            if best.count > top { best.removeLast() }
        }
        func bytes(_ id: Int32) -> [UInt8] { (try? tokenizer.bytes(of: id, includeSpecial: true)) ?? [] }
        return TokenLogprob(id: chosen, logprob: logits[Int(chosen)] - logZ, bytes: bytes(chosen),
                            top: best.map { ($0.id, $0.logit - logZ, bytes($0.id)) })
    }
}

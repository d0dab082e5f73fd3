/// What the HTTP layer needs of an engine: submit sequences, read its counts, start and stop it.
/// `InferenceEngine` is the real one; server tests script one, so routing, validation, SSE framing
/// and error mapping are tested without running a model.
public protocol GenerationEngine: AnyObject, Sendable {
    /// Prompt + completion tokens per sequence.
    var maxSequenceLength: Int { get }
    var snapshot: InferenceEngine.Snapshot { get }
    func start()
    /// Queues a sequence; the stream ends with `.finished` or `.failed`. Throws `EngineError`.
    func submit(_ request: EngineRequest) throws -> AsyncStream<GenerationEvent>
    func shutdown(timeout: Duration) async
}

extension InferenceEngine: GenerationEngine {}

import Metrics
import Prometheus

/// The server's Prometheus metrics, in a registry of its own (so tests can build many apps).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let queueDepth: Metrics.Gauge
    let runningSequences: Metrics.Gauge
    let stepSeconds: Metrics.Gauge
    let batchRows: Metrics.Gauge

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                          .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]
        factory.defaultDurationHistogramBuckets = latencyBuckets
        self.factory = factory
        queueDepth = Metrics.Gauge(label: "tandem_queue_depth", factory: factory)
        runningSequences = Metrics.Gauge(label: "tandem_running_sequences", factory: factory)
        stepSeconds = Metrics.Gauge(label: "tandem_last_step_seconds", factory: factory)
        batchRows = Metrics.Gauge(label: "tandem_last_batch_rows", factory: factory)
    }

    /// Creates the per-model series at zero, so a scrape before the first request sees every name.
    func prepare(model: String) {
        requestFinished(model: model, route: "completions", status: 200, count: 0)
        tokens(model: model, prompt: 0, completion: 0)
        _ = Metrics.Timer(label: "tandem_time_to_first_token_seconds", dimensions: [("model", model)], factory: factory)
        _ = Metrics.Timer(label: "tandem_inter_token_latency_seconds", dimensions: [("model", model)], factory: factory)
    }

    func requestFinished(model: String, route: String, status: Int, count: Int = 1) {
        Metrics.Counter(label: "tandem_requests_total", dimensions: [("model", model), ("route", route), ("status", "\(status)")], factory: factory).increment(by: count)
    }

    func tokens(model: String, prompt: Int, completion: Int) {
        Metrics.Counter(label: "tandem_prompt_tokens_total", dimensions: [("model", model)], factory: factory).increment(by: prompt)
        Metrics.Counter(label: "tandem_completion_tokens_total", dimensions: [("model", model)], factory: factory).increment(by: completion)
    }

    func timeToFirstToken(model: String, _ duration: Duration) {
        Metrics.Timer(label: "tandem_time_to_first_token_seconds", dimensions: [("model", model)], factory: factory).recordInterval(duration)
    }

    func interTokenLatency(model: String, _ duration: Duration) {
        Metrics.Timer(label: "tandem_inter_token_latency_seconds", dimensions: [("model", model)], factory: factory).recordInterval(duration)
    }

    /// Prometheus text exposition, with the engine gauges refreshed first.
    func exposition(engine: InferenceEngineSnapshotSource?) -> String {
        if let snapshot = engine?.snapshot {
            queueDepth.record(snapshot.waiting)
            runningSequences.record(snapshot.running)
            stepSeconds.record(snapshot.lastStepSeconds)
            batchRows.record(snapshot.lastBatchRows)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension Metrics.Timer {
    func recordInterval(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

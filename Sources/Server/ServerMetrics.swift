import Engine
import Model
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
        let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                          .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                          .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]
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

    func requestFinished(model: String, route: String, status: Int, tenant: String = "-", count: Int = 1) {
        let dimensions = [("model", model), ("route", route), ("status", "\(status)"), ("tenant", tenant)]
        Metrics.Counter(label: "tandem_requests_total", dimensions: dimensions, factory: factory).increment(by: count)
    }

    func tokens(model: String, prompt: Int, completion: Int) {
        Metrics.Counter(label: "tandem_prompt_tokens_total", dimensions: [("model", model)],
                        factory: factory).increment(by: prompt)
        Metrics.Counter(label: "tandem_completion_tokens_total", dimensions: [("model", model)],
                        factory: factory).increment(by: completion)
    }

    func timeToFirstToken(model: String, _ duration: Duration) {
        Metrics.Timer(label: "tandem_time_to_first_token_seconds", dimensions: [("model", model)],
                      factory: factory).recordInterval(duration)
    }

    func interTokenLatency(model: String, _ duration: Duration) {
        Metrics.Timer(label: "tandem_inter_token_latency_seconds", dimensions: [("model", model)],
                      factory: factory).recordInterval(duration)
    }

    /// Prometheus text exposition, with the engine gauges refreshed first.
    func exposition(engine: (any GenerationEngine)?, model: String = "", maxLoRA: Int = 0,
                    kernelPath: KernelPath? = nil) -> String {
        if let snapshot = engine?.snapshot {
            queueDepth.record(snapshot.waiting)
            runningSequences.record(snapshot.running)
            stepSeconds.record(snapshot.lastStepSeconds)
            batchRows.record(snapshot.lastBatchRows)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        var text = String(decoding: buffer, as: UTF8.self)
        if let s = engine?.snapshot {
            text += Self.engineExposition(s) + Self.modelServerProtocol(s, model: model, maxLoRA: maxLoRA)
        }
        if let kernelPath {
            text += "# HELP tandem_kernel_path_info The build of the quantized kernels in use, and the CPU's best.\n"
                + "# TYPE tandem_kernel_path_info gauge\n"
                + "tandem_kernel_path_info{path=\"\(kernelPath.rawValue)\","
                + "detected=\"\(KernelPath.detected.rawValue)\"} 1\n"
        }
        return text
    }

    /// KV pages, prefix cache and step histograms, straight from the engine's snapshot.
    static func engineExposition(_ s: InferenceEngine.Snapshot) -> String {
        func gauge(_ name: String, _ help: String, _ value: some Numeric) -> String {
            "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
        }
        let hitRatio = s.prefixQueriedTokens == 0 ? 0 : Double(s.prefixHitTokens) / Double(s.prefixQueriedTokens)
        return gauge("tandem_kv_pages_used", "KV cache pages held by sequences and the prefix cache.", s.kvPagesUsed)
            + gauge("tandem_kv_pages_total", "KV cache pages in the --kv-cache-mb budget.", s.kvPagesTotal)
            + gauge("tandem_kv_pages_committed", "Worst-case KV pages committed to running sequences.",
                    s.kvPagesCommitted)
            + gauge("tandem_prefix_cache_queried_tokens", "Prompt tokens looked up in the prefix cache.",
                    s.prefixQueriedTokens)
            + gauge("tandem_prefix_cache_hit_tokens", "Prompt tokens served from the prefix cache.", s.prefixHitTokens)
            + gauge("tandem_prefix_cache_hit_ratio", "Share of prompt tokens served from the prefix cache.", hitRatio)
            + gauge("tandem_prefix_cache_entries", "Page-sized prompt blocks kept in the prefix cache.",
                    s.prefixEntries)
            + s.batchRows.exposition(name: "tandem_batch_rows", help: "Token rows per forward step.")
            + s.stepTime.exposition(name: "tandem_step_seconds", help: "Seconds per engine step.")
    }
}

extension ServerMetrics {
    /// The gauges the Gateway API Inference Extension's endpoint picker scrapes (its model-server
    /// protocol), under vLLM's names so that the picker's vLLM defaults need no configuration.
    /// KV-cache usage is the share of pages committed to running sequences' worst cases: that is
    /// what makes a new request wait here.
    static func modelServerProtocol(_ s: InferenceEngine.Snapshot, model: String, maxLoRA: Int) -> String {
        func escaped(_ v: String) -> String {
            v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: String) -> String {
            let text = labels.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: ",")
            return "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name){\(text)} \(value)\n"
        }
        let named = [("model_name", model)]
        let usage = s.kvPagesTotal == 0 ? 0 : min(1, Double(s.kvPagesCommitted) / Double(s.kvPagesTotal))
        return gauge("vllm:num_requests_waiting", "Requests waiting for a running slot.", named, "\(s.waiting)")
            + gauge("vllm:num_requests_running", "Sequences being generated.", named, "\(s.running)")
            + gauge("vllm:kv_cache_usage_perc", "KV cache pages committed to running sequences, 0 to 1.", named,
                    "\(usage)")
            + gauge("vllm:lora_requests_info", "Adapters of running and waiting requests; the value is the time of "
                    + "the last change.", [("max_lora", "\(maxLoRA)"),
                                           ("running_lora_adapters", s.runningAdapters.joined(separator: ",")),
                                           ("waiting_lora_adapters", s.waitingAdapters.joined(separator: ","))],
                    "\(s.adaptersUpdated)")
            + gauge("vllm:cache_config_info", "KV cache layout: positions per page and pages in the budget.",
                    [("block_size", "\(s.kvPageSize)"), ("num_gpu_blocks", "\(s.kvPagesTotal)")], "1")
    }
}

extension Metrics.Timer {
    func recordInterval(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

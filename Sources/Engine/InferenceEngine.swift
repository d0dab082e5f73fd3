import Dispatch
import Foundation
import Adapters
import Model
import Sampling
import Tokenizer

/// The single owner of the model and the KV caches. Requests are submitted from any thread; one
/// dedicated thread runs steps: admit waiting requests, run one batched forward over every running
/// sequence (prompt chunks and decode tokens together), sample, stream events out.
///
/// A dedicated thread rather than an actor: a step is a long stretch of CPU work that must not
/// occupy the cooperative pool the HTTP server runs on.
public final class InferenceEngine: @unchecked Sendable {
    /// The engine's limits. These defaults are the server's: `tandem serve` and the README read them here.
    public struct Configuration: Sendable {
        public var limits = BatchScheduler.Limits()
        /// Requests that may wait for a running slot before new ones are refused.
        public var maxQueue = 256
        /// KV cache positions per sequence (prompt + completion); nil: the model's context, at most
        /// `defaultMaxSequenceLength`.
        public var maxSequenceLength: Int?
        /// Memory for KV pages of every sequence and of the prefix cache.
        public var kvCacheMegabytes = 2048
        /// Instead of `kvCacheMegabytes`: room for this many positions on every layer (llama.cpp's
        /// `-c`), so a budget can be set in tokens.
        public var kvCacheTokens: Int?
        /// How KV values are stored: Float32, or Float16 for half the memory.
        public var kvCachePrecision = KVPrecision.float32
        /// Reuse KV pages of earlier prompts with the same tokens and adapter.
        public var prefixCaching = true

        public static let defaultMaxSequenceLength = 8192

        /// Values given here replace the defaults above.
        public init(limits: BatchScheduler.Limits = .init(), maxQueue: Int? = nil, maxSequenceLength: Int? = nil,
                    kvCacheMegabytes: Int? = nil, prefixCaching: Bool? = nil) {
            self.limits = limits
            if let maxQueue { self.maxQueue = maxQueue }
            self.maxSequenceLength = maxSequenceLength
            if let kvCacheMegabytes { self.kvCacheMegabytes = kvCacheMegabytes }
            if let prefixCaching { self.prefixCaching = prefixCaching }
        }

        /// The sequence length in force for a model with `contextLength` positions.
        public func sequenceLength(contextLength: Int) -> Int {
            min(maxSequenceLength ?? Self.defaultMaxSequenceLength, contextLength)
        }
    }

    /// Counts for metrics and health.
    public struct Snapshot: Sendable {
        public var waiting: Int
        public var running: Int
        public var steps: Int
        public var lastStepSeconds: Double
        public var lastBatchRows: Int
        public var kvPagesUsed = 0
        public var kvPagesTotal = 0
        /// Positions per KV page.
        public var kvPageSize = 0
        /// Adapters of the running and of the waiting sequences (distinct names, sorted; the base
        /// model is not listed), and when either list was last updated (seconds since 1970).
        public var runningAdapters: [String] = []
        public var waitingAdapters: [String] = []
        public var adaptersUpdated = 0.0
        /// Pages committed to running sequences' worst cases (admission waits when they fill the budget).
        public var kvPagesCommitted = 0
        /// Prompt tokens looked up in the prefix cache, and those found there.
        public var prefixQueriedTokens = 0
        public var prefixHitTokens = 0
        public var prefixEntries = 0
        /// Rows per forward step and seconds per step.
        public var batchRows = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
        public var stepTime = Histogram(bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])

        public init(waiting: Int = 0, running: Int = 0, steps: Int = 0, lastStepSeconds: Double = 0,
                    lastBatchRows: Int = 0) {
            self.waiting = waiting
            self.running = running
            self.steps = steps
            self.lastStepSeconds = lastStepSeconds
            self.lastBatchRows = lastBatchRows
        }
    }

    public let model: any LanguageModel
    public let tokenizer: any TextTokenizer
    public let configuration: Configuration
    /// Prompt + completion tokens per sequence (the configuration's, within the model's context).
    public let maxSequenceLength: Int
    public let pages: KVPagePool
    private let prefixCache: PrefixCache

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var waiting: [ActiveSequence] = []
    private var accepting = true
    private var stopped = false
    private var snapshotValue = Snapshot(waiting: 0, running: 0, steps: 0, lastStepSeconds: 0, lastBatchRows: 0)
    private var nextID = 0
    private var thread: Thread?
    // Engine thread only:
    private var running: [ActiveSequence] = []
    private var costs: StepCostModel

    public init(model: any LanguageModel, tokenizer: any TextTokenizer, configuration: Configuration) {
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        maxSequenceLength = configuration.sequenceLength(contextLength: model.config.contextLength)
        let precision = configuration.kvCachePrecision
        pages = configuration.kvCacheTokens.map { model.makePagePool(tokens: $0, precision: precision) }
            ?? model.makePagePool(megabytes: configuration.kvCacheMegabytes, precision: precision)
        prefixCache = PrefixCache(pool: pages, windows: model.slidingWindows)
        costs = StepCostModel(decodeRowCost: StepCostModel.decodeRowCost(of: model.config))
        snapshotValue.kvPagesTotal = pages.pageCount
        snapshotValue.kvPageSize = pages.pageSize
    }

    /// The most KV pages `request` can hold at once.
    func worstCasePages(_ request: EngineRequest) -> Int {
        KVCache.worstCasePages(positions: request.promptIDs.count + request.maxTokens,
                               chunk: configuration.limits.maxPrefillTokensPerStep,
                               pageSize: pages.pageSize, windows: model.slidingWindows)
    }

    /// Times a few steps (`StepCostCalibration`), then starts the engine thread (idempotent). The
    /// steps run here, before the server answers, so they never delay a request.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard thread == nil else { return }
        let calibration = StepCostCalibration.measure(model: model, pool: pages,
                                                      rows: min(configuration.limits.maxRunning, 16))
        for o in calibration {
            costs.observe(decodeRows: o.decodeRows, promptTokens: o.promptTokens, seconds: o.seconds)
        }
        let t = Thread { [self] in loop() }
        t.name = "tandem-engine"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Queues a sequence. The stream ends with `.finished` or `.failed`; dropping or cancelling the
    /// consumer cancels the sequence at the next step.
    public func submit(_ request: EngineRequest) throws -> AsyncStream<GenerationEvent> {
        guard !request.promptIDs.isEmpty else { throw EngineError.emptyPrompt }
        let limit = maxSequenceLength
        guard request.maxTokens >= 0, request.maxTokens <= limit - request.promptIDs.count else {
            throw EngineError.contextLengthExceeded(promptTokens: request.promptIDs.count, maxTokens: request.maxTokens,
                                                    limit: limit)
        }
        let needed = worstCasePages(request)
        guard needed <= pages.pageCount else {
            throw EngineError.kvCacheTooSmall(pagesNeeded: needed, pagesTotal: pages.pageCount)
        }
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { throw EngineError.shuttingDown }
        // Free running slots count as room too: admission happens at the next step boundary, so a
        // burst on an idle engine must not be refused while slots are empty.
        let freeSlots = max(0, configuration.limits.maxRunning - snapshotValue.running)
        guard waiting.count < configuration.maxQueue + freeSlots else {
            throw EngineError.queueFull(waiting: waiting.count)
        }
        nextID += 1
        let sequence = ActiveSequence(id: nextID, request: request, worstCasePages: needed, tokenizer: tokenizer,
                                      continuation: continuation)
        continuation.onTermination = { @Sendable _ in sequence.cancel() }
        waiting.append(sequence)
        snapshotValue.waiting = waiting.count
        publishAdapters(includingRunning: false)
        condition.signal()
        return stream
    }

    public var snapshot: Snapshot {
        condition.lock()
        defer { condition.unlock() }
        return snapshotValue
    }

    /// Stops accepting requests, lets running and queued ones finish for up to `timeout`, then
    /// cancels what is left and stops the thread.
    public func shutdown(timeout: Duration) async {
        withLock { accepting = false }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let s = snapshot
            if s.waiting == 0 && s.running == 0 { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        withLock { stopped = true }
    }

    /// Records which adapters run and wait (the caller holds the lock), for the LoRA gauge that
    /// load balancers read to send a request where its adapter is already active. Only the engine
    /// thread reads `running`.
    private func publishAdapters(includingRunning: Bool = true) {
        func names(_ sequences: [ActiveSequence]) -> [String] {
            Set(sequences.compactMap { $0.request.adapter?.name }).sorted()
        }
        if includingRunning { snapshotValue.runningAdapters = names(running) }
        snapshotValue.waitingAdapters = names(waiting)
        snapshotValue.adaptersUpdated = Date().timeIntervalSince1970
    }

    /// Runs `body` holding the lock, then wakes the engine thread.
    private func withLock(_ body: () -> Void) {
        condition.lock()
        body()
        condition.signal()
        condition.unlock()
    }

    // MARK: engine thread

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty && running.isEmpty && !stopped { condition.wait() }
            if stopped {
                let left = waiting
                waiting.removeAll()
                condition.unlock()
                (left + running).forEach { $0.fail("the server shut down before this request finished") }
                running.removeAll()
                return
            }
            let candidates = running + waiting.prefix(max(configuration.limits.maxRunning - running.count, 0))
            let progress = zip(candidates, prefixWaits(candidates)).map(progress)
            let plan = BatchScheduler.plan(running: Array(progress.prefix(running.count)),
                                           waiting: Array(progress.dropFirst(running.count)),
                                           limits: configuration.limits, totalPages: pages.pageCount, costs: costs)
            running += waiting.prefix(plan.admit)
            waiting.removeFirst(plan.admit)
            snapshotValue.waiting = waiting.count
            snapshotValue.running = running.count
            if plan.admit > 0 { publishAdapters() }
            condition.unlock()
            step(plan)
        }
    }

    private func progress(_ s: ActiveSequence, waitsForPrefix: Bool) -> BatchScheduler.Progress {
        .init(id: s.id, promptRemaining: s.promptRemaining, pages: s.worstCasePages, waitsForPrefix: waitsForPrefix)
    }

    /// Which of `sequences` wait this step for an earlier prompt with the same prefix to be cached.
    private func prefixWaits(_ sequences: [ActiveSequence]) -> [Bool] {
        guard configuration.prefixCaching else { return sequences.map { _ in false } }
        let prompts = sequences.map {
            SharedPrefixWait.Prompt(key: $0.request.cacheKey, tokens: $0.request.promptIDs, started: $0.cache != nil,
                                    remaining: $0.promptRemaining, cachedTokens: $0.cachedTokens)
        }
        return SharedPrefixWait.waits(prompts, pageSize: pages.pageSize)
    }

    /// The rows of one forward step and who owns the logits that come back.
    private struct StepBatch {
        var tokens: [Int32] = [], positions: [Int] = [], caches: [KVCache] = []
        var rowAdapters: [(adapter: LoRAAdapter, scale: Float)?] = []
        /// Rows whose logits are needed, and the sequence each belongs to.
        var logitRows: [Int] = [], logitOwners: [ActiveSequence] = []
        /// KV pages the step may open (cached prefixes are evicted to make room for them).
        var newPages = 0
        /// Sequences that decode in this step (their other rows, forced tokens, cost like prompt rows).
        var decodeRows = 0

        mutating func append(_ s: ActiveSequence, tokens chunk: some Collection<Int32>, cache: KVCache,
                             wantsLogits: Bool) {
            let n = chunk.count
            tokens += chunk
            positions += Array(cache.count..<cache.count + n)
            caches += Array(repeating: cache, count: n)
            rowAdapters += Array(repeating: s.request.adapter.map { ($0, s.request.loraScale) }, count: n)
            if wantsLogits {
                logitRows.append(tokens.count - 1)
                logitOwners.append(s)
            }
        }
    }

    /// Runs one planned step: drop the cancelled, assemble the rows, make room in the KV pool,
    /// forward, then sample and stream.
    private func step(_ plan: BatchScheduler.Plan) {
        let start = DispatchTime.now()
        var rows = 0
        defer { recordStep(start: start, rows: rows) }
        dropCancelled()
        let batch = assemble(plan)
        guard !batch.tokens.isEmpty else { return }
        rows = batch.tokens.count
        prefixCache.evict(untilFree: min(batch.newPages, pages.pageCount))
        guard let logits = forward(batch) else { return }
        sampleAndStream(logits, owners: batch.logitOwners)
        costs.observe(decodeRows: batch.decodeRows, promptTokens: rows - batch.decodeRows,
                      seconds: seconds(since: start))
    }

    /// Cancelled sequences (client gone) leave before the forward pass, freeing their cache.
    private func dropCancelled() {
        running.removeAll { s in
            guard s.isCancelled else { return false }
            s.fail("cancelled")
            return true
        }
    }

    /// One decode token for each decoding sequence, then the planned prompt chunks.
    private func assemble(_ plan: BatchScheduler.Plan) -> StepBatch {
        let byID = Dictionary(uniqueKeysWithValues: running.map { ($0.id, $0) })
        var batch = StepBatch()
        for id in plan.decode {
            guard let s = byID[id], let cache = s.cache else { continue }
            let input = s.unfedTokens
            guard !input.isEmpty else { continue }
            // Forced tokens beyond the first may open pages of their own (one row is counted per decode).
            if input.count > 1 {
                batch.newPages += model.config.layerCount * ((input.count + pages.pageSize - 1) / pages.pageSize)
            }
            s.fedTokens = s.generated
            batch.append(s, tokens: input, cache: cache, wantsLogits: true)
            batch.decodeRows += 1
        }
        for (id, planned) in plan.prefill {
            guard let s = byID[id] else { continue }
            if s.cache == nil { startCache(s) }
            guard let cache = s.cache else { continue }
            // The prefix cache may have covered part of what was planned.
            let n = min(planned, s.promptRemaining)
            guard n > 0 else { continue }
            batch.newPages += model.config.layerCount * ((n + pages.pageSize - 1) / pages.pageSize + 1)
            let chunk = s.request.promptIDs[s.promptOffset..<s.promptOffset + n]
            s.promptOffset += n
            batch.append(s, tokens: chunk, cache: cache, wantsLogits: s.promptRemaining == 0)
        }
        // Decode rows may each open a page on every layer.
        batch.newPages += plan.decode.count * model.config.layerCount
        return batch
    }

    /// The batch's logits, or nil when it could not run: then its sequences fail, never the engine.
    private func forward(_ batch: StepBatch) -> Logits? {
        do {
            // Base projections run once over every row; each adapter's rows get its low-rank delta.
            return try model.forward(ForwardBatch(tokens: batch.tokens, positions: batch.positions,
                                                  caches: batch.caches, logitRows: batch.logitRows,
                                                  delta: LoRABatchDelta(rowAdapters: batch.rowAdapters)))
        } catch {
            let failed = Set(batch.caches.map(ObjectIdentifier.init))
            running.removeAll { s in
                guard let c = s.cache, failed.contains(ObjectIdentifier(c)) else { return false }
                s.fail("\(error)")
                return true
            }
            return nil
        }
    }

    /// Every row with logits chooses its token in parallel (processors and sampler are per
    /// sequence); then, in order, each sequence takes its token and streams it, and finished ones
    /// leave, their KV kept by the prefix cache.
    private func sampleAndStream(_ logits: Logits, owners: [ActiveSequence]) {
        var choices = [(token: Int32, logprob: TokenLogprob?)](repeating: (0, nil), count: owners.count)
        choices.withUnsafeMutableBufferPointer { out in
            let shared = UnsafeShared(out)
            WorkerPool.shared.forEach(iterations: owners.count) { j in
                shared.value[j] = owners[j].choose(logits.row(j))
            }
        }
        var done = Set<Int>()
        for (s, choice) in zip(owners, choices) {
            // A prompt just completed is a prefix worth keeping even while the sequence decodes.
            if s.generated == 0, let cache = s.cache { remember(s, cache) }
            if s.deliver(choice.token, logprob: choice.logprob) { done.insert(s.id) }
        }
        running.removeAll { s in
            guard done.contains(s.id) else { return false }
            if let cache = s.cache { remember(s, cache) }
            s.cache = nil
            return true
        }
    }

    /// Publishes the counts of the step that just ran.
    private func recordStep(start: DispatchTime, rows: Int) {
        condition.lock()
        defer { condition.unlock() }
        if snapshotValue.running != running.count { publishAdapters() }
        snapshotValue.running = running.count
        snapshotValue.steps += 1
        snapshotValue.lastStepSeconds = seconds(since: start)
        snapshotValue.lastBatchRows = rows
        if rows > 0 {
            snapshotValue.batchRows.observe(Double(rows))
            snapshotValue.stepTime.observe(snapshotValue.lastStepSeconds)
        }
        snapshotValue.kvPagesUsed = pages.usedCount
        snapshotValue.kvPagesCommitted = running.reduce(0) { $0 + $1.worstCasePages }
        snapshotValue.prefixQueriedTokens = prefixCache.stats.queriedTokens
        snapshotValue.prefixHitTokens = prefixCache.stats.hitTokens
        snapshotValue.prefixEntries = prefixCache.stats.entries
    }

    /// Gives `s` its cache, adopting the longest cached prefix of its prompt.
    private func startCache(_ s: ActiveSequence) {
        let cache = model.makeCache(maxPositions: s.request.promptIDs.count + s.request.maxTokens, pool: pages)
        if configuration.prefixCaching {
            let blocks = prefixCache.lookup(adapterKey: s.request.cacheKey, prompt: s.request.promptIDs)
            if !blocks.isEmpty {
                cache.adopt(prefix: blocks)
                s.promptOffset = cache.count
                s.cachedTokens = cache.count
            }
        }
        s.cache = cache
    }

    private func remember(_ s: ActiveSequence, _ cache: KVCache) {
        guard configuration.prefixCaching else { return }
        prefixCache.insert(adapterKey: s.request.cacheKey, tokens: s.cachedPositionTokens, cache: cache)
    }
}

/// Decides what one engine step runs. Pure logic: state in, plan out.
///
/// Every step serves every running sequence: one decode row for each sequence past its prompt, and
/// prompt chunks for sequences still prefilling, within a budget so a long prompt never stalls the
/// streams already running. The budget is shared evenly by the prompts (a short one takes what it
/// needs and leaves the rest to the others): a burst's prompts finish together, so its streams
/// start decoding together instead of one by one, each new one shrinking the budget of the rest,
/// and a long prompt never holds up the short ones behind it. The first step after the engine was
/// idle is short (`Limits.idleFirstStepTokens`), so a burst's later arrivals still find nothing decoding.
public enum BatchScheduler {
    public struct Limits: Sendable, Equatable {
        /// Sequences that may run at once (rows in a decode step).
        public var maxRunning = 64
        /// Prompt tokens processed per step across all prefilling sequences. The scratch of a step
        /// grows with its rows, and a step's prompt throughput is already at its best well below this.
        public var maxPrefillTokensPerStep = 256

        /// Prompt tokens a step carries beside decode rows: at least this many, so a prompt always
        /// advances. Kept small so the time budget decides: at a few decode rows on a slow host a
        /// larger floor is what made the steps, and so the streams' gaps, outgrow the bound.
        /// See `prefillBudget`.
        public var prefillTokensWhileDecoding = 4

        /// Prompt tokens per admitted prompt in the first step after the engine was idle. Short, so
        /// the prompts of a burst that arrive while it runs (clients send within milliseconds of each
        /// other) join the next step while nothing decodes yet and share its whole budget, instead
        /// of finding the first stream decoding and their chunks bound to its inter-token time.
        public var idleFirstStepTokens = 32

        /// How much longer than a decode step of all running sequences a step with prompt tokens
        /// may take while others decode, as a share (0.5: at most 1.5 times). Below 1 so that host
        /// noise on top keeps the decoding streams' gaps within twice their usual step.
        public var prefillTimeShare = 0.5

        /// Limits given here replace the defaults above (written once, read by `tandem serve`).
        public init(maxRunning: Int? = nil, maxPrefillTokensPerStep: Int? = nil,
                    prefillTokensWhileDecoding: Int? = nil, prefillTimeShare: Double? = nil,
                    idleFirstStepTokens: Int? = nil) {
            if let maxRunning { self.maxRunning = maxRunning }
            if let maxPrefillTokensPerStep { self.maxPrefillTokensPerStep = maxPrefillTokensPerStep }
            if let prefillTokensWhileDecoding { self.prefillTokensWhileDecoding = prefillTokensWhileDecoding }
            if let prefillTimeShare { self.prefillTimeShare = prefillTimeShare }
            if let idleFirstStepTokens { self.idleFirstStepTokens = idleFirstStepTokens }
        }
    }

    /// A running sequence as the scheduler sees it.
    public struct Progress: Sendable, Equatable {
        public var id: Int
        /// Prompt tokens not yet run through the model (0 once decoding).
        public var promptRemaining: Int
        /// KV pages the sequence may hold at its longest (prompt + max_tokens); committed while it runs.
        public var pages: Int
        /// Waits for an earlier prompt with the same prefix (`SharedPrefixWait`): no prompt chunk yet.
        public var waitsForPrefix: Bool

        public init(id: Int, promptRemaining: Int, pages: Int = 0, waitsForPrefix: Bool = false) {
            self.id = id
            self.promptRemaining = promptRemaining
            self.pages = pages
            self.waitsForPrefix = waitsForPrefix
        }
    }

    public struct Plan: Sendable, Equatable {
        /// How many waiting requests join the running set before this step (FCFS).
        public var admit: Int
        /// Sequences that get one decode row.
        public var decode: [Int]
        /// Sequences that get a prompt chunk, with its length.
        public var prefill: [(id: Int, tokens: Int)]

        public static func == (a: Plan, b: Plan) -> Bool {
            a.admit == b.admit && a.decode == b.decode && a.prefill.map(\.id) == b.prefill.map(\.id)
                && a.prefill.map(\.tokens) == b.prefill.map(\.tokens)
        }

        public var isEmpty: Bool { decode.isEmpty && prefill.isEmpty }
    }

    /// Prompt tokens a step may carry beside `decoding` decode rows while `prefilling` sequences
    /// wait for the rest of their prompts: the whole `maxPrefillTokensPerStep` when nothing decodes
    /// (no stream waits on the step); else as many as keep the step within `1 + prefillTimeShare`
    /// times the decode step of all running sequences by the measured step costs, at least
    /// `prefillTokensWhileDecoding`. Measured against the whole running set, a burst is admitted
    /// in steps near the length the streams will see once it decodes, so its first tokens come
    /// quickly and the streams already decoding see no gap beyond the bound. Before any step was
    /// measured, as many as there are decode rows (a prompt row costs less than a decode row: it
    /// needs no logits).
    public static func prefillBudget(decoding: Int, prefilling: Int = 0, limits: Limits,
                                     costs: StepCostModel = .init()) -> Int {
        guard decoding > 0 else { return limits.maxPrefillTokensPerStep }
        let fitting = costs.promptTokens(besideDecodeRows: decoding, runningRows: decoding + prefilling,
                                         prefillShare: limits.prefillTimeShare) ?? decoding
        return min(limits.maxPrefillTokensPerStep, max(limits.prefillTokensWhileDecoding, fitting))
    }

    /// Plans one step. `running` is in arrival order; `waiting` are the queued requests in arrival
    /// order (they are appended to `running` in that order when admitted). `totalPages` is the KV
    /// budget: a request joins only if its worst case fits beside the worst cases of those running,
    /// so a running sequence never finds the pool empty and nothing is ever preempted. Admission is
    /// first come first served: a request that does not fit yet blocks those behind it.
    public static func plan(running: [Progress], waiting: [Progress], limits: Limits, totalPages: Int = .max,
                            costs: StepCostModel = .init()) -> Plan {
        var admit = 0, committed = running.reduce(0) { $0 + $1.pages }
        for w in waiting {
            guard running.count + admit < limits.maxRunning, w.pages <= totalPages - committed else { break }
            committed += w.pages
            admit += 1
        }
        let all = running + waiting.prefix(admit)
        let decoding = all.filter { $0.promptRemaining == 0 }.count
        var budget = prefillBudget(decoding: decoding, prefilling: all.count - decoding, limits: limits, costs: costs)
        if running.isEmpty { budget = min(budget, max(1, limits.idleFirstStepTokens) * admit) }
        let prompts = all.filter { $0.promptRemaining > 0 && !$0.waitsForPrefix }
        let shares = share(budget, over: prompts.map(\.promptRemaining))
        let prefill = zip(prompts, shares).filter { $0.1 > 0 }.map { (id: $0.0.id, tokens: $0.1) }
        return Plan(admit: admit, decode: all.filter { $0.promptRemaining == 0 }.map(\.id), prefill: prefill)
    }

    /// Splits `budget` tokens evenly over prompts needing `remaining` tokens each: one needing
    /// less than an even share takes what it needs and the others share the rest; tokens that do
    /// not divide evenly go to the earliest.
    public static func share(_ budget: Int, over remaining: [Int]) -> [Int] {
        var tokens = [Int](repeating: 0, count: remaining.count)
        var left = budget, open = remaining.indices.filter { remaining[$0] > 0 }
        while left > 0 && !open.isEmpty {
            let each = max(left / open.count, 1)
            var stillOpen: [Int] = []
            for i in open {
                let n = min(each, remaining[i] - tokens[i], left)
                tokens[i] += n
                left -= n
                if tokens[i] < remaining[i] { stillOpen.append(i) }
            }
            open = stillOpen
        }
        return tokens
    }
}

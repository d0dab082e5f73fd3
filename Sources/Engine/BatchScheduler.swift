/// Decides what one engine step runs. Pure logic: state in, plan out.
///
/// Every step serves every running sequence: one decode row for each sequence past its prompt, and
/// prompt chunks for sequences still prefilling, first come first served, within a budget so a
/// long prompt never stalls the streams already running.
public enum BatchScheduler {
    public struct Limits: Sendable, Equatable {
        /// Sequences that may run at once (rows in a decode step).
        public var maxRunning = 64
        /// Prompt tokens processed per step across all prefilling sequences. The scratch of a step
        /// grows with its rows, and a step's prompt throughput is already at its best well below this.
        public var maxPrefillTokensPerStep = 256

        /// Prompt tokens a step carries beside decode rows: at least this many. See `prefillBudget`.
        public var prefillTokensWhileDecoding = 16

        /// Prompt work a step may add beside decode rows, as a share of the decode rows' own time
        /// (1: a step with prompt tokens takes at most about twice a plain decode step).
        public var prefillTimeShare = 1.0

        /// Limits given here replace the defaults above (written once, read by `tandem serve`).
        public init(maxRunning: Int? = nil, maxPrefillTokensPerStep: Int? = nil,
                    prefillTokensWhileDecoding: Int? = nil, prefillTimeShare: Double? = nil) {
            if let maxRunning { self.maxRunning = maxRunning }
            if let maxPrefillTokensPerStep { self.maxPrefillTokensPerStep = maxPrefillTokensPerStep }
            if let prefillTokensWhileDecoding { self.prefillTokensWhileDecoding = prefillTokensWhileDecoding }
            if let prefillTimeShare { self.prefillTimeShare = prefillTimeShare }
        }
    }

    /// A running sequence as the scheduler sees it.
    public struct Progress: Sendable, Equatable {
        public var id: Int
        /// Prompt tokens not yet run through the model (0 once decoding).
        public var promptRemaining: Int
        /// KV pages the sequence may hold at its longest (prompt + max_tokens); committed while it runs.
        public var pages: Int

        public init(id: Int, promptRemaining: Int, pages: Int = 0) {
            self.id = id
            self.promptRemaining = promptRemaining
            self.pages = pages
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
    /// or the prefilling outnumber the decoding (a burst: its first tokens come first); else as many
    /// as fit in `prefillTimeShare` of the decode rows' own time by the measured step costs, at
    /// least `prefillTokensWhileDecoding`. Before any step was measured, as many as there are decode
    /// rows (a prompt row costs less than a decode row: it needs no logits). Streams already running
    /// then see a step longer than about `1 + prefillTimeShare` plain decode steps only while a
    /// burst is admitted.
    public static func prefillBudget(decoding: Int, prefilling: Int = 0, limits: Limits,
                                     costs: StepCostModel = .init()) -> Int {
        guard decoding > prefilling else { return limits.maxPrefillTokensPerStep }
        let fitting = costs.promptTokens(besideDecodeRows: decoding, prefillShare: limits.prefillTimeShare) ?? decoding
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
        var prefill: [(id: Int, tokens: Int)] = []
        for s in all where s.promptRemaining > 0 && budget > 0 {
            let n = min(s.promptRemaining, budget)
            prefill.append((s.id, n))
            budget -= n
        }
        return Plan(admit: admit, decode: all.filter { $0.promptRemaining == 0 }.map(\.id), prefill: prefill)
    }
}

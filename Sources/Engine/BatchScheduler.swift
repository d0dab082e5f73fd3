/// Decides what one engine step runs. Pure logic: state in, plan out.
///
/// Every step serves every running sequence: one decode row for each sequence past its prompt, and
/// prompt chunks for sequences still prefilling, first come first served, within a token budget so a
/// long prompt never stalls the streams already running.
public enum BatchScheduler {
    public struct Limits: Sendable, Equatable {
        /// Sequences that may run at once (rows in a decode step).
        public var maxRunning: Int
        /// Prompt tokens processed per step across all prefilling sequences.
        public var maxPrefillTokensPerStep: Int

        public init(maxRunning: Int = 64, maxPrefillTokensPerStep: Int = 512) {
            self.maxRunning = maxRunning
            self.maxPrefillTokensPerStep = maxPrefillTokensPerStep
        }
    }

    /// A running sequence as the scheduler sees it.
    public struct Progress: Sendable, Equatable {
        public var id: Int
        /// Prompt tokens not yet run through the model (0 once decoding).
        public var promptRemaining: Int

        public init(id: Int, promptRemaining: Int) {
            self.id = id
            self.promptRemaining = promptRemaining
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
            a.admit == b.admit && a.decode == b.decode && a.prefill.map(\.id) == b.prefill.map(\.id) && a.prefill.map(\.tokens) == b.prefill.map(\.tokens)
        }

        public var isEmpty: Bool { decode.isEmpty && prefill.isEmpty }
    }

    /// Plans one step. `running` is in arrival order; `waiting` are the prompt lengths of queued
    /// requests in arrival order (they are appended to `running` in that order when admitted).
    public static func plan(running: [Progress], waiting: [Progress], limits: Limits) -> Plan {
        let admit = max(0, min(waiting.count, limits.maxRunning - running.count))
        let all = running + waiting.prefix(admit)
        var budget = limits.maxPrefillTokensPerStep
        var prefill: [(id: Int, tokens: Int)] = []
        for s in all where s.promptRemaining > 0 && budget > 0 {
            let n = min(s.promptRemaining, budget)
            prefill.append((s.id, n))
            budget -= n
        }
        return Plan(admit: admit, decode: all.filter { $0.promptRemaining == 0 }.map(\.id), prefill: prefill)
    }
}

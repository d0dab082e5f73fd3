/// A prompt that shares most of itself with an earlier prompt still being computed waits for that
/// one: once it finishes, its pages are in the prefix cache, and the waiting prompt takes them from
/// there instead of computing them again beside it. A burst of requests with one role prompt thus
/// computes the role once, whichever way the scheduler splits its prompt budget.
public enum SharedPrefixWait {
    public struct Prompt: Sendable {
        /// The prefix cache's key (adapter, version, scale): only prompts under one key share pages.
        public var key: String
        public var tokens: [Int32]
        /// Whether its KV cache exists (then its prefix-cache look-up is done and it never waits).
        public var started: Bool
        /// Prompt tokens it has yet to run.
        public var remaining: Int
        /// Tokens its cache took from the prefix cache.
        public var cachedTokens: Int

        public init(key: String, tokens: [Int32], started: Bool, remaining: Int, cachedTokens: Int = 0) {
            self.key = key
            self.tokens = tokens
            self.started = started
            self.remaining = remaining
            self.cachedTokens = cachedTokens
        }
    }

    /// For each prompt, in arrival order, whether it waits this step. It waits when an earlier
    /// prompt that is computing (and not waiting itself) has the same key and shares whole pages
    /// with it that are not yet cached, covering at least half of it.
    public static func waits(_ prompts: [Prompt], pageSize: Int) -> [Bool] {
        var result = [Bool](repeating: false, count: prompts.count)
        var leaders: [Int] = []
        for (i, p) in prompts.enumerated() where p.remaining > 0 {
            if !p.started, leaders.contains(where: { gains(p, from: prompts[$0], pageSize: pageSize) }) {
                result[i] = true
            } else {
                leaders.append(i)
            }
        }
        return result
    }

    private static func gains(_ p: Prompt, from leader: Prompt, pageSize: Int) -> Bool {
        guard p.key == leader.key else { return false }
        let limit = min(p.tokens.count, leader.tokens.count)
        var shared = 0
        while shared < limit && p.tokens[shared] == leader.tokens[shared] { shared += 1 }
        shared -= shared % pageSize
        return shared - leader.cachedTokens >= pageSize && 2 * shared >= p.tokens.count
    }
}

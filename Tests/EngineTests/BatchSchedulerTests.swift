import Engine
import Model
import Testing

struct BatchSchedulerTests {
    typealias P = BatchScheduler.Progress

    @Test func admitsUpToMaxRunningInArrivalOrder() {
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0)], waiting: [P(id: 2, promptRemaining: 3), P(id: 3, promptRemaining: 3)],
                                       limits: .init(maxRunning: 2, maxPrefillTokensPerStep: 100))
        #expect(plan.admit == 1)
        #expect(plan.decode == [1])
        #expect(plan.prefill.map(\.id) == [2] && plan.prefill.map(\.tokens) == [3])
    }

    @Test func longPromptIsChunkedAndDecodeRowsKeepRunning() {
        let limits = BatchScheduler.Limits(maxRunning: 8, maxPrefillTokensPerStep: 512)
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0), P(id: 4, promptRemaining: 0),
                                                 P(id: 2, promptRemaining: 2000)], waiting: [], limits: limits)
        #expect(plan.decode == [1, 4])
        // Two streams decode beside one prompt, so the chunk is the minimum; with nobody decoding it is
        // the whole budget.
        #expect(plan.prefill.map(\.id) == [2] && plan.prefill.map(\.tokens) == [limits.prefillTokensWhileDecoding])
        let alone = BatchScheduler.plan(running: [P(id: 2, promptRemaining: 2000)], waiting: [], limits: limits)
        #expect(alone.prefill.map(\.tokens) == [512])
    }

    @Test("a burst beside a decoding stream goes in steps bounded by the step of the whole running set")
    func burstIsBoundedByTheRunningSetsStep() {
        let limits = BatchScheduler.Limits(maxRunning: 8, maxPrefillTokensPerStep: 512, prefillTimeShare: 1)
        let waiting = (2...8).map { P(id: $0, promptRemaining: 300) }
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0)], waiting: waiting, limits: limits,
                                       costs: Self.measuredCosts())
        // Twice the 8-row step (2 × 42 ms) less the one decode row (14 ms) leaves 70 ms: 35 tokens,
        // shared by the 7 prompts.
        #expect(plan.admit == 7 && plan.decode == [1] && plan.prefill.map(\.tokens) == [5, 5, 5, 5, 5, 5, 5])
        // Unmeasured, the budget is as many prompt tokens as decode rows, at least the minimum (4):
        // a token each for the first four prompts.
        let cold = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0)], waiting: waiting, limits: limits)
        #expect(cold.prefill.map(\.tokens) == [1, 1, 1, 1])
    }

    /// Steps of a host where a step costs 10 ms + 4 ms per decode row + 2 ms per prompt token.
    static func measuredCosts(decodeRowCost: Double = 2) -> StepCostModel {
        var costs = StepCostModel(decodeRowCost: decodeRowCost)
        for rows in [4, 8, 16, 8, 4, 16] { costs.observe(decodeRows: rows, promptTokens: 0, seconds: 0.010 + 0.004 * Double(rows)) }
        for prompt in [16, 32] {
            costs.observe(decodeRows: 8, promptTokens: prompt, seconds: 0.010 + 0.032 + 0.002 * Double(prompt))
        }
        return costs
    }

    @Test("the step cost model learns decode rows and prompt tokens apart")
    func stepCostModelFitsTheSteps() throws {
        let costs = Self.measuredCosts()
        #expect(abs(try #require(costs.decodeSeconds(rows: 16)) - 0.074) < 1e-6)
        #expect(abs(try #require(costs.perPromptToken) - 0.002) < 1e-6)
        // 74 ms of decode rows leave room for 37 prompt tokens at a share of 1, 18 at a share of 0.5.
        #expect(costs.promptTokens(besideDecodeRows: 16, runningRows: 16, prefillShare: 1) == 37)
        #expect(costs.promptTokens(besideDecodeRows: 16, runningRows: 16, prefillShare: 0.5) == 18)
        // The bound is the step of all 17 running: 2 × 78 ms, less the 74 ms the 16 decode rows take.
        #expect(costs.promptTokens(besideDecodeRows: 16, runningRows: 17, prefillShare: 1) == 41)
        #expect(StepCostModel().promptTokens(besideDecodeRows: 16, runningRows: 16, prefillShare: 1) == nil)
    }

    @Test("steps of varied rows correct a wrong prior on the cost of a decode row")
    func stepCostModelCorrectsItsPrior() throws {
        var costs = StepCostModel(decodeRowCost: 1)
        for i in 0..<60 {
            let rows = 1 + i % 16, prompt = i % 3 == 0 ? 32 : 0
            costs.observe(decodeRows: rows, promptTokens: prompt,
                          seconds: 0.010 + 0.004 * Double(rows) + 0.002 * Double(prompt))
        }
        #expect(abs(try #require(costs.decodeSeconds(rows: 16)) - 0.074) < 0.074 * 0.02)
        #expect(abs(try #require(costs.perPromptToken) - 0.002) < 0.002 * 0.02)
    }

    @Test("steps with prompt tokens that overrun their prediction shrink the next ones' prompt budget")
    func overrunningPromptStepsShrinkTheBudget() throws {
        // The host of `measuredCosts`, except that a step with prompt tokens beside decode rows
        // costs 1.4 times what the linear model says (small chunks run less efficiently).
        func host(rows: Int, prompt: Int) -> Double {
            (0.010 + 0.004 * Double(rows) + 0.002 * Double(prompt)) * (prompt > 0 && rows > 0 ? 1.4 : 1)
        }
        var costs = Self.measuredCosts()
        // A burst's prompt-only steps: large, priced right by the linear model, they weigh most in the fit.
        for _ in 0..<3 { costs.observe(decodeRows: 0, promptTokens: 256, seconds: host(rows: 0, prompt: 256)) }
        var stepSeconds: [Double] = []
        for _ in 0..<12 {
            let tokens = try #require(costs.promptTokens(besideDecodeRows: 4, runningRows: 16, prefillShare: 0.5))
            let seconds = host(rows: 4, prompt: tokens)
            costs.observe(decodeRows: 4, promptTokens: tokens, seconds: seconds)
            stepSeconds.append(seconds)
            for rows in [16, 8] { costs.observe(decodeRows: rows, promptTokens: 0, seconds: host(rows: rows, prompt: 0)) }
        }
        // The bound: 1.5 × the 16-row step of 74 ms = 111 ms. The first step overruns it (the fit
        // alone prices the chunk low); the later ones keep within it.
        #expect(stepSeconds[0] > 0.111 * 1.1)
        #expect(stepSeconds.suffix(8).allSatisfy { $0 <= 0.111 * 1.04 }, "\(stepSeconds)")
        #expect(costs.overrun > 1.1)
    }

    @Test("a fresh server that ran a prompt and one-row steps prices a larger step by the weights a row multiplies")
    func stepCostModelExtrapolatesFromAFreshServer() throws {
        // The host of `measuredCosts`: 10 ms + 4 ms per decode row + 2 ms per prompt token.
        func fresh(decodeRowCost: Double) -> StepCostModel {
            var costs = StepCostModel(decodeRowCost: decodeRowCost)
            costs.observe(decodeRows: 0, promptTokens: 66, seconds: 0.010 + 0.002 * 66)
            for _ in 0..<3 { costs.observe(decodeRows: 1, promptTokens: 0, seconds: 0.014) }
            return costs
        }
        #expect(abs(try #require(fresh(decodeRowCost: 2).decodeSeconds(rows: 16)) - 0.074) < 1e-4)
        // A prior that prices a decode row as a prompt token errs short: 12.0 ms + 16 × 1.97 ms.
        #expect(abs(try #require(fresh(decodeRowCost: 1).decodeSeconds(rows: 16)) - 0.0435) < 1e-4)
        // Before any prompt step the base goes to zero: the cost is proportional to the rows.
        var decodeOnly = StepCostModel(decodeRowCost: 2)
        for _ in 0..<3 { decodeOnly.observe(decodeRows: 1, promptTokens: 0, seconds: 0.014) }
        #expect(abs(try #require(decodeOnly.decodeSeconds(rows: 16)) - 0.014 * 16) < 1e-6)
        #expect(decodeOnly.perPromptToken == nil)
    }

    @Test("a decode row of Gemma 3 270M costs its block matrices plus the output head in prompt tokens")
    func decodeRowCostFollowsTheWeights() {
        // Blocks: 18 × (640 × 1536 + 1024 × 640 + 3 × 640 × 2048) = 100.2 M; head 167.8 M.
        let cost = StepCostModel.decodeRowCost(hidden: 640, qDim: 1024, kvDim: 256, feedForward: 2048, layers: 18,
                                               vocabulary: 262_144)
        #expect(abs(cost - 2.674) < 0.001)
    }

    @Test("beside decode rows the prompt budget is the time the measured costs allow")
    func prefillBudgetFollowsMeasuredCosts() {
        let limits = BatchScheduler.Limits(maxRunning: 64, maxPrefillTokensPerStep: 512, prefillTimeShare: 1)
        let costs = Self.measuredCosts()
        #expect(BatchScheduler.prefillBudget(decoding: 16, prefilling: 1, limits: limits, costs: costs) == 41)
        // One decode row (14 ms) may take twice as long: 14 ms spare, 7 prompt tokens (above the minimum).
        #expect(BatchScheduler.prefillBudget(decoding: 1, prefilling: 0, limits: limits, costs: costs) == 7)
        let floor = BatchScheduler.Limits(maxRunning: 64, maxPrefillTokensPerStep: 512, prefillTokensWhileDecoding: 9,
                                          prefillTimeShare: 1)
        #expect(BatchScheduler.prefillBudget(decoding: 1, prefilling: 0, limits: floor, costs: costs) == 9)
        // A burst: 2 decode (18 ms) while 14 prefill; the bound is twice the 16-row step (148 ms).
        #expect(BatchScheduler.prefillBudget(decoding: 2, prefilling: 14, limits: limits, costs: costs) == 65)
        #expect(BatchScheduler.prefillBudget(decoding: 0, prefilling: 16, limits: limits, costs: costs) == 512)
        let running = (0..<16).map { P(id: $0, promptRemaining: 0) } + [P(id: 16, promptRemaining: 64)]
        let plan = BatchScheduler.plan(running: running, waiting: [], limits: limits, costs: costs)
        #expect(plan.prefill.map(\.tokens) == [41])
        let defaultShare = BatchScheduler.Limits(maxRunning: 64, maxPrefillTokensPerStep: 512)
        // 1.5 × 78 ms − 74 ms leaves 43 ms: 21 prompt tokens.
        #expect(BatchScheduler.prefillBudget(decoding: 16, prefilling: 1, limits: defaultShare, costs: costs) == 21)
    }

    @Test("beside decode rows a step carries as many prompt tokens as decode rows, at least the minimum, at most the limit")
    func prefillBudgetFollowsDecodeRows() {
        let limits = BatchScheduler.Limits(maxRunning: 1000, maxPrefillTokensPerStep: 512)
        #expect(BatchScheduler.prefillBudget(decoding: 0, limits: limits) == 512)
        #expect(BatchScheduler.prefillBudget(decoding: 1, limits: limits) == limits.prefillTokensWhileDecoding)
        #expect(BatchScheduler.prefillBudget(decoding: 40, limits: limits) == 40)
        #expect(BatchScheduler.prefillBudget(decoding: 600, limits: limits) == 512)
        let running = (0..<20).map { P(id: $0, promptRemaining: 0) } + [P(id: 20, promptRemaining: 64)]
        let plan = BatchScheduler.plan(running: running, waiting: [], limits: limits)
        #expect(plan.decode.count == 20 && plan.prefill.map(\.tokens) == [20])
    }

    @Test func budgetIsSharedEvenly() {
        let running = [P(id: 1, promptRemaining: 300), P(id: 2, promptRemaining: 300)]
        let plan = BatchScheduler.plan(running: running, waiting: [P(id: 3, promptRemaining: 300)],
                                       limits: .init(maxRunning: 8, maxPrefillTokensPerStep: 512))
        #expect(plan.admit == 1)
        #expect(plan.prefill.map(\.id) == [1, 2, 3] && plan.prefill.map(\.tokens) == [171, 171, 170])
        #expect(plan.decode.isEmpty)
    }

    @Test("the first step after idle is short, so a burst's later prompts join the next one while nothing decodes")
    func idleFirstStepIsShort() {
        let limits = BatchScheduler.Limits(maxRunning: 8, maxPrefillTokensPerStep: 256)
        let first = BatchScheduler.plan(running: [], waiting: [P(id: 1, promptRemaining: 66)], limits: limits)
        #expect(first.admit == 1 && first.prefill.map(\.tokens) == [limits.idleFirstStepTokens])
        let three = BatchScheduler.plan(running: [], waiting: (1...3).map { P(id: $0, promptRemaining: 300) },
                                        limits: limits)
        #expect(three.prefill.map(\.tokens) == [32, 32, 32])
        // The next step: the first prompt is still prefilling, the rest of the burst arrived; nothing
        // decodes, so they share the whole budget.
        let next = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 34)],
                                       waiting: (2...4).map { P(id: $0, promptRemaining: 66) }, limits: limits)
        #expect(next.admit == 3 && next.decode.isEmpty && next.prefill.map(\.tokens) == [34, 66, 66, 66])
    }

    @Test("the prompt budget is shared evenly; a prompt needing less leaves the rest to the others")
    func shareFillsEvenly() {
        #expect(BatchScheduler.share(100, over: [10, 300, 300]) == [10, 45, 45])
        #expect(BatchScheduler.share(7, over: [5, 0, 5]) == [4, 0, 3])
        #expect(BatchScheduler.share(50, over: [5, 6]) == [5, 6])
        #expect(BatchScheduler.share(0, over: [5, 6]) == [0, 0])
        #expect(BatchScheduler.share(3, over: [9, 9, 9, 9, 9]) == [1, 1, 1, 0, 0])
    }

    @Test("a prompt waiting for a shared prefix gets no chunk; the others share the budget")
    func waitingPromptsGetNoChunk() {
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 300)],
                                       waiting: [P(id: 2, promptRemaining: 300, waitsForPrefix: true),
                                                 P(id: 3, promptRemaining: 300)],
                                       limits: .init(maxRunning: 8, maxPrefillTokensPerStep: 256))
        #expect(plan.admit == 2 && plan.prefill.map(\.id) == [1, 3] && plan.prefill.map(\.tokens) == [128, 128])
    }

    @Test func nothingToDoIsAnEmptyPlan() {
        let plan = BatchScheduler.plan(running: [], waiting: [], limits: .init())
        #expect(plan.isEmpty && plan.admit == 0)
    }

    @Test func fullBatchAdmitsNobody() {
        let running = (0..<4).map { P(id: $0, promptRemaining: 0) }
        let plan = BatchScheduler.plan(running: running, waiting: [P(id: 9, promptRemaining: 3)], limits: .init(maxRunning: 4, maxPrefillTokensPerStep: 64))
        #expect(plan.admit == 0 && plan.decode == [0, 1, 2, 3] && plan.prefill.isEmpty)
    }

    @Test("admission waits for KV pages, first come first served")
    func admissionWaitsForPages() {
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0, pages: 60)],
                                       waiting: [P(id: 2, promptRemaining: 4, pages: 30), P(id: 3, promptRemaining: 4, pages: 20), P(id: 4, promptRemaining: 4, pages: 5)],
                                       limits: .init(maxRunning: 8, maxPrefillTokensPerStep: 100), totalPages: 100)
        // 60 + 30 fits; 20 more does not, and the small request behind it must not overtake it.
        #expect(plan.admit == 1)
        #expect(plan.prefill.map(\.id) == [2])
        let empty = BatchScheduler.plan(running: [], waiting: [P(id: 5, promptRemaining: 4, pages: 100)],
                                        limits: .init(maxRunning: 8, maxPrefillTokensPerStep: 100), totalPages: 100)
        #expect(empty.admit == 1)
    }

    @Test("worst-case pages: every page on global layers, window plus one chunk on sliding ones")
    func worstCasePages() {
        // 2 global + 2 sliding layers, window 32, pages of 16.
        let windows: [Int?] = [nil, 32, 32, nil]
        #expect(KVCache.worstCasePages(positions: 20, chunk: 8, pageSize: 16, windows: windows) == 4 * 2)
        // 1000 positions: 63 pages on global layers; sliding layers hold at most (32 + 8 + 15) / 16 + 1 = 4.
        #expect(KVCache.worstCasePages(positions: 1000, chunk: 8, pageSize: 16, windows: windows) == 2 * 63 + 2 * 4)
    }
}

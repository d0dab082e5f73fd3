import Engine
import Model
import Testing

struct BatchSchedulerTests {
    typealias P = BatchScheduler.Progress

    @Test func admitsUpToMaxRunningInArrivalOrder() {
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0)], waiting: [P(id: 2, promptRemaining: 5), P(id: 3, promptRemaining: 5)],
                                       limits: .init(maxRunning: 2, maxPrefillTokensPerStep: 100))
        #expect(plan.admit == 1)
        #expect(plan.decode == [1])
        #expect(plan.prefill.map(\.id) == [2] && plan.prefill.map(\.tokens) == [5])
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

    @Test("a burst (more prompts waiting than streams decoding) gets the whole prompt budget")
    func burstGetsTheWholeBudget() {
        let limits = BatchScheduler.Limits(maxRunning: 8, maxPrefillTokensPerStep: 512)
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0)],
                                       waiting: [P(id: 2, promptRemaining: 300), P(id: 3, promptRemaining: 300)],
                                       limits: limits)
        #expect(plan.admit == 2 && plan.prefill.map(\.tokens) == [300, 212])
    }

    /// Steps of a host where a step costs 10 ms + 4 ms per decode row + 2 ms per prompt token.
    static func measuredCosts() -> StepCostModel {
        var costs = StepCostModel()
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
        #expect(costs.promptTokens(besideDecodeRows: 16, prefillShare: 1) == 37)
        #expect(costs.promptTokens(besideDecodeRows: 16, prefillShare: 0.5) == 18)
        #expect(StepCostModel().promptTokens(besideDecodeRows: 16, prefillShare: 1) == nil)
    }

    @Test("beside decode rows the prompt budget is the time the measured costs allow")
    func prefillBudgetFollowsMeasuredCosts() {
        let limits = BatchScheduler.Limits(maxRunning: 64, maxPrefillTokensPerStep: 512)
        let costs = Self.measuredCosts()
        #expect(BatchScheduler.prefillBudget(decoding: 16, prefilling: 1, limits: limits, costs: costs) == 37)
        #expect(BatchScheduler.prefillBudget(decoding: 1, prefilling: 0, limits: limits, costs: costs)
            == limits.prefillTokensWhileDecoding)
        #expect(BatchScheduler.prefillBudget(decoding: 2, prefilling: 3, limits: limits, costs: costs) == 512)
        let running = (0..<16).map { P(id: $0, promptRemaining: 0) } + [P(id: 16, promptRemaining: 64)]
        let plan = BatchScheduler.plan(running: running, waiting: [], limits: limits, costs: costs)
        #expect(plan.prefill.map(\.tokens) == [37])
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

    @Test func budgetIsSharedFirstComeFirstServed() {
        let plan = BatchScheduler.plan(running: [], waiting: [P(id: 1, promptRemaining: 300), P(id: 2, promptRemaining: 300), P(id: 3, promptRemaining: 300)],
                                       limits: .init(maxRunning: 8, maxPrefillTokensPerStep: 512))
        #expect(plan.admit == 3)
        #expect(plan.prefill.map(\.id) == [1, 2] && plan.prefill.map(\.tokens) == [300, 212])
        #expect(plan.decode.isEmpty)
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

import Engine
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
        let plan = BatchScheduler.plan(running: [P(id: 1, promptRemaining: 0), P(id: 2, promptRemaining: 2000), P(id: 3, promptRemaining: 10)],
                                       waiting: [], limits: limits)
        #expect(plan.decode == [1])
        #expect(plan.prefill.map(\.id) == [2] && plan.prefill.map(\.tokens) == [512])
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
}

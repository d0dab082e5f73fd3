import Parallel
import Testing

/// The cores a process may use: affinity lists and control-group quotas as Linux writes them.
struct CPUBudgetTests {
    @Test func cpuListsAreCounted() {
        #expect(CPUBudget.cpuListCount("0-1") == 2)
        #expect(CPUBudget.cpuListCount(" 0-3,8,10-11\n") == 7)
        #expect(CPUBudget.cpuListCount("5") == 1)
        #expect(CPUBudget.cpuListCount("3-1") == nil)
        #expect(CPUBudget.cpuListCount("x") == nil)
    }

    @Test func quotasRoundUpToWholeCores() {
        #expect(CPUBudget.quotaCores(cgroupV2: "max 100000\n") == nil)
        #expect(CPUBudget.quotaCores(cgroupV2: "100000 100000") == 1)
        #expect(CPUBudget.quotaCores(cgroupV2: "150000 100000") == 2)
        #expect(CPUBudget.quotaCores(cgroupV2: "50000 100000") == 1)
        #expect(CPUBudget.quotaCores(cgroupV2: "-1 100000") == nil)
    }

    @Test func thisProcessGetsAtLeastOneCore() {
        #expect(CPUBudget.cores >= 1 && WorkerPool.shared.threads == CPUBudget.cores)
    }
}

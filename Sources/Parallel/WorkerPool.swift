import Dispatch
import Foundation
import Synchronization

/// Runs the iterations of a parallel loop on the calling thread and on one worker thread per other
/// core this process may use (`CPUBudget`), which spin for a while between loops, yielding the core
/// now and then, before they sleep.
///
/// A decode step is about a hundred short parallel loops (each projection, each layer's attention).
/// `DispatchQueue.concurrentPerform` wakes its worker for every loop, and the wake-up cost as much
/// as a short loop's own work; spinning workers pick a loop up at once. One loop runs at a time: a
/// call made while one runs (another model's forward, a nested loop) goes to `concurrentPerform`.
///
/// Protocol: `state` holds the loop's generation (high bits), a closed bit and the number of workers
/// inside it. A worker enters an open loop by a compare-and-swap on `state`, claims iterations from
/// `next`, and leaves; the caller, once every iteration is done, closes the loop with a
/// compare-and-swap that needs nobody inside, so no worker can still be reading `body` when the
/// next loop replaces it.
public final class WorkerPool: @unchecked Sendable {
    public static let shared = WorkerPool(workers: CPUBudget.cores - 1)

    private let state = Atomic<Int>(0)
    private let next = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private var iterations = 0
    private var body: ((Int) -> Void)?
    private var generation = 0
    private let workers: Int

    private static let closed = 1 << 15
    /// Spins (atomic loads) before a worker sleeps: enough to outlast the serial work between two
    /// loops of a step.
    private static let spins = 100_000
    /// Spins between yields of the core: when another process shares it (or our own waiting caller
    /// does), it runs instead of waiting out our time slice.
    private static let spinsPerYield = 1024

    /// Threads a loop runs on: the caller and the workers.
    public var threads: Int { workers + 1 }

    public init(workers: Int) {
        self.workers = workers
        state.store(Self.closed, ordering: .relaxed)
        for _ in 0..<workers {
            // The threads hold the pool: a pool lives as long as the process (they never exit).
            let thread = Thread { self.workerLoop() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Calls `body(i)` for every i in `0..<iterations`, in parallel, and returns when all are done.
    public func forEach(iterations n: Int, _ body: @Sendable (Int) -> Void) {
        guard n > 1, workers > 0,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            DispatchQueue.concurrentPerform(iterations: n, execute: body)
            return
        }
        withoutActuallyEscaping(body) { body in
            self.body = body
            iterations = n
            next.store(0, ordering: .relaxed)
            done.store(0, ordering: .relaxed)
            generation += 1
            let open = generation << 16
            state.store(open, ordering: .sequentiallyConsistent)
            for _ in 0..<sleepers.load(ordering: .sequentiallyConsistent) { wake.signal() }
            work()
            // A worker still inside may have been preempted: yield now and then so it can finish.
            var waited = 0
            while done.load(ordering: .acquiring) < n {
                waited += 1
                if waited % Self.spinsPerYield == 0 { sched_yield() }
            }
            // Close the loop once no worker is inside it.
            while !state.compareExchange(expected: open, desired: open | Self.closed,
                                         ordering: .acquiringAndReleasing).exchanged {}
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func work() {
        let n = iterations, body = body!
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            if i >= n { return }
            body(i)
            done.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while true {
                let s = state.load(ordering: .acquiring)
                let g = s >> 16
                if g != seen, s & Self.closed == 0 {
                    // Enter the open loop, unless it closed or another one began meanwhile.
                    if state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing).exchanged {
                        seen = g
                        work()
                        state.subtract(1, ordering: .releasing)
                    }
                    spins = 0
                    continue
                }
                spins += 1
                if spins % Self.spinsPerYield == 0 { sched_yield() }
                if spins >= Self.spins {
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    let now = state.load(ordering: .sequentiallyConsistent)
                    if now >> 16 == seen || now & Self.closed != 0 { wake.wait() }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    spins = 0
                }
            }
        }
    }
}

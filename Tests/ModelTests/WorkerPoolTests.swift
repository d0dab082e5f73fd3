import Dispatch
import Model
import Synchronization
import Testing

struct WorkerPoolTests {
    /// Three workers on two cores: more threads than cores, so the sleep and wake path runs too.
    static let pool = WorkerPool(workers: 3)

    /// Every iteration of every loop runs exactly once, for loops back to back (the hand-over the
    /// close protocol guards), from two callers at once (one falls back to Dispatch) and nested.
    @Test("each iteration runs exactly once: back-to-back loops, concurrent callers, nested loops")
    func everyIterationOnce() {
        let pool = Self.pool
        let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 64)
        for i in 0..<64 { (counts + i).initialize(to: Atomic(0)) }
        defer { counts.deallocate() }
        let shared = Counters(pointer: counts)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for round in 0..<2000 {
                let n = 2 + (round * 7 + caller) % 30
                pool.forEach(iterations: n) { i in
                    shared.pointer[caller * 32 + i].add(1, ordering: .relaxed)
                    if round % 500 == 0 && i == 0 { pool.forEach(iterations: 3) { _ in } }
                }
            }
        }
        var expected = [Int](repeating: 0, count: 64)
        for caller in 0..<2 {
            for round in 0..<2000 {
                for i in 0..<(2 + (round * 7 + caller) % 30) { expected[caller * 32 + i] += 1 }
            }
        }
        for i in 0..<64 { #expect(counts[i].load(ordering: .relaxed) == expected[i], "slot \(i)") }
    }
}

private struct Counters: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Atomic<Int>>
}

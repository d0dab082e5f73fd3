import Dispatch
import Parallel

/// The host's memory read bandwidth, measured the way a decode step reads its weights: every
/// worker thread streams its share of a buffer far larger than the caches.
public enum MemoryBandwidth {
    /// Bytes per second, the best of `repeats` passes over `megabytes`.
    public static func measure(megabytes: Int = 512, repeats: Int = 5) -> Double {
        let count = megabytes << 20 / 64
        let buffer = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD16(repeating: 1), count: count)
        let threads = WorkerPool.shared.threads
        let shared = UnsafeShared(buffer)
        var best = Double.infinity, sink = Float(0)
        for _ in 0..<repeats {
            var sums = [Float](repeating: 0, count: threads)
            let start = DispatchTime.now()
            sums.withUnsafeMutableBufferPointer { out in
                let results = UnsafeShared(out)
                WorkerPool.shared.forEach(iterations: threads) { t in
                    let range = count * t / threads..<count * (t + 1) / threads
                    var a = SIMD16<Float>(), b = SIMD16<Float>()
                    var i = range.lowerBound
                    while i + 1 < range.upperBound {
                        a += shared.value[i]
                        b += shared.value[i + 1]
                        i += 2
                    }
                    results.value[t] = (a + b).sum()
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
            sink += sums.reduce(0, +)
        }
        // The sums are used so the reads are not optimised away.
        return sink.isNaN ? 0 : Double(count * 64) / best
    }
}

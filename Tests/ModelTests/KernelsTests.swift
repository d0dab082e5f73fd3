import Foundation
import Model
import Testing

struct KernelsTests {
    @Test("vectorised GELU-tanh gate equals libm's tanhf formula, on every kernel path", arguments: KernelPath.available)
    func geluMatchesLibm(_ path: KernelPath) {
        // −60…60 in steps of 1/64, plus the tail past the last whole vector of 16.
        let xs = (0..<(120 * 64 + 7)).map { Float($0) / 64 - 60 }
        let gates = xs.indices.map { Float(($0 % 7) - 3) / 2 }
        var a = xs
        a.withUnsafeMutableBufferPointer { path.geluTanhGate($0.baseAddress!, gates, count: xs.count) }
        for (i, x) in xs.enumerated() {
            let expected = 0.5 * Double(x) * (1 + tanh(0.7978845608028654 * (Double(x) + 0.044715 * Double(x) * Double(x) * Double(x)))) * Double(gates[i])
            #expect(abs(Double(a[i]) - expected) <= 1e-6 * max(1, abs(expected)), "x = \(x): \(a[i]) vs \(expected)")
        }
    }

    @Test("softmax equals the Double formula, scores far below the maximum included",
          arguments: [1, 16, 37, 300], KernelPath.available)
    func softmaxMatchesDouble(_ n: Int, _ path: KernelPath) {
        var rng = SplitMix64(seed: UInt64(n))
        var x = (0..<n).map { _ in Float(Int(rng.next() % 4001) - 2000) / 100 }
        if n > 2 { x[1] = -500; x[2] = -.infinity }
        let maximum = Double(x.max()!)
        let total = x.reduce(0.0) { $0 + exp(Double($1) - maximum) }
        var y = x
        y.withUnsafeMutableBufferPointer { path.softmax($0.baseAddress!, count: n) }
        for i in 0..<n {
            let expected = exp(Double(x[i]) - maximum) / total
            #expect(abs(Double(y[i]) - expected) <= 1e-5 * expected + 1e-12, "score \(i) = \(x[i]): \(y[i]) vs \(expected)")
        }
    }
}

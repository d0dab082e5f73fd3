/// A fixed-bucket histogram the engine thread fills and `/metrics` renders (Prometheus semantics:
/// bucket `i` counts observations ≤ `bounds[i]`; values above the last bound count only in `count`).
public struct Histogram: Sendable, Equatable {
    public let bounds: [Double]
    public private(set) var buckets: [Int]
    public private(set) var sum: Double = 0
    public private(set) var count = 0

    public init(bounds: [Double]) {
        self.bounds = bounds
        buckets = Array(repeating: 0, count: bounds.count)
    }

    public mutating func observe(_ value: Double) {
        for (i, bound) in bounds.enumerated() where value <= bound { buckets[i] += 1 }
        sum += value
        count += 1
    }

    /// Prometheus text lines for a histogram called `name`.
    public func exposition(name: String, help: String) -> String {
        var lines = ["# HELP \(name) \(help)", "# TYPE \(name) histogram"]
        for (bound, n) in zip(bounds, buckets) { lines.append("\(name)_bucket{le=\"\(bound)\"} \(n)") }
        lines.append("\(name)_bucket{le=\"+Inf\"} \(count)")
        lines.append("\(name)_sum \(sum)")
        lines.append("\(name)_count \(count)")
        return lines.joined(separator: "\n") + "\n"
    }
}

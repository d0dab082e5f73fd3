/// Finds stop strings in streamed text without ever emitting text that could be the start of one.
public struct StopStringMatcher: Sendable {
    public let stops: [String]
    private var pending = ""

    public init(stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds newly decoded text. Returns the text safe to emit, and whether a stop string was hit
    /// (the stop string and everything after it are dropped, as OpenAI does).
    public mutating func append(_ text: String) -> (emit: String, stopped: Bool) {
        guard !stops.isEmpty else { return (text, false) }
        pending += text
        if let cut = stops.compactMap({ pending.range(of: $0)?.lowerBound }).min() {
            let emit = String(pending[..<cut])
            pending = ""
            return (emit, true)
        }
        // Hold back the longest tail that is a prefix of some stop string.
        var held = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: 0, by: -1) where length > held {
                if pending.hasSuffix(stop.prefix(length)) {
                    held = length
                    break
                }
            }
        }
        let emit = String(pending.dropLast(held))
        pending = String(pending.suffix(held))
        return (emit, false)
    }

    /// Text still held back when generation ends for another reason.
    public mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}

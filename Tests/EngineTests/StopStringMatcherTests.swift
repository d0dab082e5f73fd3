import Engine
import Testing

struct StopStringMatcherTests {
    func run(_ pieces: [String], stops: [String]) -> (text: String, stopped: Bool) {
        var m = StopStringMatcher(stops: stops)
        var text = ""
        for p in pieces {
            let (emit, stopped) = m.append(p)
            text += emit
            if stopped { return (text, true) }
        }
        return (text + m.finish(), false)
    }

    @Test func stopInsideOnePiece() {
        #expect(run(["Hello END world"], stops: ["END"]) == ("Hello ", true))
    }

    @Test func stopSpanningPieces() {
        #expect(run(["Hel", "lo E", "N", "D more"], stops: ["END"]) == ("Hello ", true))
    }

    @Test func partialMatchIsReleasedWhenItFails() {
        var m = StopStringMatcher(stops: ["END"])
        #expect(m.append("abc E").emit == "abc ")
        #expect(m.append("x").emit == "Ex")
    }

    @Test func earliestOfSeveralStopsWins() {
        #expect(run(["one two three"], stops: ["three", "two"]) == ("one ", true))
    }

    @Test func noStopsPassesEverythingThrough() {
        #expect(run(["a", "b"], stops: []) == ("ab", false))
    }

    @Test func heldTailIsFlushedAtTheEnd() {
        #expect(run(["abc\n"], stops: ["\n\n"]) == ("abc\n", false))
    }
}

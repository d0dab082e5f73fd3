import Foundation
import Server
import Testing

/// The tool envelope read from text that stops anywhere: every prefix's scan is a prefix of the whole
/// one (so streamed deltas add up to the reply), and the whole one says what the reply says.
struct ToolReplyScanTests {
    static let replies: [(text: String, calls: [ToolReplyScan.Call], words: String?)] = [
        (#"{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}]}"#,
         [.init(name: "get_weather", arguments: #"{"city":"Paris","unit":"celsius"}"#, complete: true)], nil),
        (#"{"tool_calls":[{"name":"a","arguments":{"s":"},\"]{"}},{"name":"b-2","arguments":{"n":[1,{"x":[]}]}}]}"#,
         [.init(name: "a", arguments: #"{"s":"},\"]{"}"#, complete: true),
          .init(name: "b-2", arguments: #"{"n":[1,{"x":[]}]}"#, complete: true)], nil),
        (#"{"tool_calls":[{"name":"n","arguments":12.5}]}"#, [.init(name: "n", arguments: "12.5", complete: true)],
         nil),
        (#"{"response":"Hello \"you\" \u00e9 \ud83d\ude00 ok\n"}"#, [], "Hello \"you\" é 😀 ok\n"),
        (#"{"response":{"category":"billing","n":1.50}}"#, [], #"{"category":"billing","n":1.50}"#),
        ("plain words, not an envelope", [], "plain words, not an envelope"),
    ]

    @Test("the whole reply's calls and words", arguments: replies.indices)
    func wholeReply(_ i: Int) {
        let (text, calls, words) = Self.replies[i]
        let scan = ToolReplyScan(text)
        #expect(scan.kind == (calls.isEmpty ? .words : .calls))
        #expect(scan.calls == calls)
        if let words { #expect(scan.words == words) }
    }

    @Test("every prefix's scan grows into the next one's", arguments: replies.indices)
    func prefixesGrow(_ i: Int) {
        let scalars = Array(Self.replies[i].text.unicodeScalars)
        var before = ToolReplyScan("")
        #expect(before.kind == .undecided && before.calls.isEmpty && before.words.isEmpty)
        for end in 1...scalars.count {
            let after = ToolReplyScan(String(String.UnicodeScalarView(scalars[..<end])))
            #expect(before.kind == .undecided || before.kind == after.kind, "at \(end)")
            #expect(after.words.unicodeScalars.starts(with: before.words.unicodeScalars), "words at \(end)")
            #expect(after.calls.count >= before.calls.count, "calls at \(end)")
            for (old, new) in zip(before.calls, after.calls) {
                #expect(old.name == new.name && new.arguments.hasPrefix(old.arguments) && (!old.complete || new.complete),
                        "call at \(end)")
            }
            before = after
        }
    }

    @Test("a reply cut inside a call keeps the calls named so far, with their arguments so far")
    func cutReply() {
        let cut = ToolReplyScan(#"{"tool_calls":[{"name":"get_weather","arguments":{"city":"Par"#)
        #expect(cut.kind == .calls)
        #expect(cut.calls == [.init(name: "get_weather", arguments: #"{"city":"Par"#, complete: false)])
        #expect(ToolReplyScan(#"{"tool_calls":[{"name":"get_wea"#).calls.isEmpty)
        #expect(ToolReplyScan(#"{"response":"caf\u00"#).words == "caf", "a half escape waits")
        #expect(ToolReplyScan(#"{"response":"x\ud83d"#).words == "x", "a high surrogate waits for its pair")
        #expect(ToolReplyScan(#"{"#).kind == .undecided)
    }
}

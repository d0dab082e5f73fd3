import Grammar
import OpenAIAPI

/// The Responses API events of a reply in the tool envelope, sent as it is written (`ToolReplyScan`):
/// a `function_call` item per call once its name is complete, its arguments as
/// `response.function_call_arguments.delta`, each call closed when the next one starts or the reply
/// ends; an answer in words as one message item with `response.output_text.delta`s.
struct ToolReplyEvents {
    typealias Event = (type: String, members: [(key: String, value: JSONTree)])

    let shape: ResponseShape
    private var callIDs: [String] = []
    private var messageOpen = false
    private var last = ToolReplyScan("")

    init(shape: ResponseShape) {
        self.shape = shape
    }

    /// The events that `text` (the whole reply so far) adds to what was sent.
    mutating func advance(to text: String) -> [Event] {
        let now = ToolReplyScan(text)
        defer { last = now }
        var out: [Event] = []
        if now.kind == .words {
            if !messageOpen { out += openMessage() }
            let added = ToolReplyScan.growth(from: last.words, to: now.words)
            if !added.isEmpty { out.append(("response.output_text.delta", textPosition + [("delta", .string(added))])) }
        }
        for (k, call) in now.calls.enumerated() {
            let known = k < callIDs.count ? (k < last.calls.count ? last.calls[k].arguments : "") : nil
            if known == nil {
                if k > 0 { out += close(k - 1, now.calls[k - 1]) }
                callIDs.append("call_" + ToolUse.randomID())
                out.append(("response.output_item.added", [position(k), ("item", item(k, call, arguments: "",
                                                                                    status: "in_progress"))]))
            }
            let added = ToolReplyScan.growth(from: known ?? "", to: call.arguments)
            if !added.isEmpty {
                out.append(("response.function_call_arguments.delta", [("item_id", itemID(k)), position(k),
                                                                       ("delta", .string(added))]))
            }
        }
        return out
    }

    /// The closing events and the output items of the whole reply (the same ids as the events).
    mutating func finish() -> (events: [Event], output: [JSONTree]) {
        if last.kind == .calls, !last.calls.isEmpty {
            let k = last.calls.count - 1
            let output = last.calls.enumerated().map { i, call in
                item(i, call, arguments: call.arguments, status: call.complete ? "completed" : "incomplete")
            }
            return (close(k, last.calls[k]), output)
        }
        var events = messageOpen ? [] : openMessage()
        let message = shape.message(text: last.words, status: "completed")
        events.append(("response.output_text.done", textPosition + [("text", .string(last.words))]))
        events.append(("response.content_part.done", textPosition + [("part", shape.part(last.words))]))
        events.append(("response.output_item.done", [("output_index", .number(0)), ("item", message)]))
        return (events, [message])
    }

    private mutating func openMessage() -> [Event] {
        messageOpen = true
        return [("response.output_item.added", [("output_index", .number(0)),
                                                ("item", shape.message(text: "", status: "in_progress"))]),
                ("response.content_part.added", textPosition + [("part", shape.part(""))])]
    }

    private func close(_ k: Int, _ call: ToolReplyScan.Call) -> [Event] {
        let status = call.complete ? "completed" : "incomplete"
        return [("response.function_call_arguments.done", [("item_id", itemID(k)), position(k),
                                                           ("arguments", .string(call.arguments))]),
                ("response.output_item.done", [position(k), ("item", item(k, call, arguments: call.arguments,
                                                                         status: status))])]
    }

    private func item(_ k: Int, _ call: ToolReplyScan.Call, arguments: String, status: String) -> JSONTree {
        shape.functionCall(ToolCall(id: callIDs[k], function: .init(name: call.name, arguments: arguments)),
                           arguments: arguments, status: status)
    }

    private func itemID(_ k: Int) -> JSONTree { .string("fc_" + callIDs[k].dropFirst("call_".count)) }

    private func position(_ k: Int) -> (key: String, value: JSONTree) { ("output_index", .number(Double(k))) }

    private var textPosition: [(key: String, value: JSONTree)] {
        [("item_id", .string(shape.messageID)), ("output_index", .number(0)), ("content_index", .number(0))]
    }
}

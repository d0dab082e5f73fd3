import NIOConcurrencyHelpers
import NIOCore

/// Watches one connection for its client going away (end of input, or the connection closing)
/// without reading the request stream, so the connection stays usable for a client that stays:
/// a handler at the head of the pipeline passes every byte on and calls back once on close.
final class InboundCloseWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private struct State {
        var closed = false
        var onClose: (@Sendable () -> Void)?
    }

    private let state = NIOLockedValueBox(State())

    /// The connection's watch, added on first use.
    static func attach(to channel: any Channel) async throws -> InboundCloseWatch {
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            if let existing = try? pipeline.handler(type: InboundCloseWatch.self) { return existing }
            let watch = InboundCloseWatch()
            try pipeline.addHandler(watch, position: .first)
            return watch
        }.get()
    }

    /// Calls `action` when the client goes away (at once if it already has); nil stops watching.
    func watch(_ action: (@Sendable () -> Void)?) {
        let fireNow = state.withLockedValue { s -> Bool in
            s.onClose = action
            return s.closed && action != nil
        }
        if fireNow { action?() }
    }

    private func fire() {
        let action = state.withLockedValue { s -> (@Sendable () -> Void)? in
            s.closed = true
            defer { s.onClose = nil }
            return s.onClose
        }
        action?()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fire()
        context.fireChannelInactive()
    }
}

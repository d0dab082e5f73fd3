import Hummingbird
import NIOCore

/// The request context of Tandem's router: Hummingbird's basic context plus the connection's
/// channel, so a non-streamed answer can stop generating when its client goes away without
/// closing the connection of a client that stays (`Reply.collect`).
public struct TandemRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

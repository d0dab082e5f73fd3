import Engine
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the Tandem HTTP application. Tests call this directly; `tandem serve` runs it.
///
/// With `serving` nil the model is loaded by a service after the server starts listening, so
/// `/health` answers 503 while it loads.
/// `onListening` gets the bound port (useful with port 0).
public func buildApplication(configuration: ServerConfiguration, serving: ServingModel? = nil, logger: Logger,
                             onListening: (@Sendable (Int) async -> Void)? = nil) throws -> some ApplicationProtocol {
    let state = ServingState(model: serving)
    let metrics = ServerMetrics()
    let router = Router(context: TandemRequestContext.self)
    // Outermost first: the log sees every error already in OpenAI's shape.
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: RequestCountMiddleware(metrics: metrics))
    router.add(middleware: OpenAIErrorMiddleware())
    let tenants = try TenantDirectory(configuration: configuration)
    router.add(middleware: TenantMiddleware(directory: tenants))
    let completions = CompletionRoutes(configuration: configuration, state: state, metrics: metrics)
    completions.add(to: router)
    ResponsesRoutes(completions: completions).add(to: router)
    TokenizeRoutes(completions: completions).add(to: router)
    ModelRoutes(state: state, metrics: metrics).add(to: router)
    AdminRoutes(configuration: configuration, state: state).add(to: router)
    PageRoutes().add(to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tandem"),
        services: [EngineService(configuration: configuration, state: state, metrics: metrics, logger: logger),
                   AdapterWatchService(interval: configuration.adapterScanInterval, state: state),
                   TenantFileWatch(directory: tenants, logger: logger)],
        onServerRunning: { channel in await onListening?(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// Loads the model (unless it was given), runs the engine, and on graceful shutdown lets running
/// requests finish for the grace period before stopping it. An engine that was handed in belongs to
/// the caller (tests share one across apps) and is left running.
struct EngineService: Service {
    let configuration: ServerConfiguration
    let state: ServingState
    let metrics: ServerMetrics
    let logger: Logger

    func run() async throws {
        let serving: ServingModel
        if let current = state.current {
            current.engine.start()
            metrics.prepare(model: current.id)
            try? await gracefulShutdown()
            return
        } else {
            do {
                serving = try await Task.detached { [configuration, logger] in
                    let loaded = try ServingModel.load(configuration: configuration, logger: logger)
                    // Its first steps are timed here, before /health reports the model ready.
                    loaded.engine.start()
                    return loaded
                }.value
            } catch {
                logger.critical("could not load the model: \(error)")
                state.fail("\(error)")
                throw error
            }
            state.set(serving)
        }
        metrics.prepare(model: serving.id)
        try? await gracefulShutdown()
        logger.info("shutting down: finishing running requests",
                    metadata: ["grace": "\(configuration.shutdownGracePeriod)"])
        await serving.engine.shutdown(timeout: configuration.shutdownGracePeriod)
    }
}

/// Rescans the adapters folder on an interval, so adapters dropped in, changed or removed are
/// served (or not) without a restart.
struct AdapterWatchService: Service {
    let interval: Duration
    let state: ServingState

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            state.current?.adapters.refresh(waitForStableFiles: true)
        }
    }
}

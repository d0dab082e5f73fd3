import Hummingbird
import OpenAIAPI

/// `GET /v1/models`, `GET /v1/models/{id}`, `GET /health`, `GET /metrics`.
struct ModelRoutes<Context: RequestContext> {
    let state: ServingState
    let metrics: ServerMetrics

    func add(to router: Router<Context>) {
        router.get("/v1/models") { _, _ in
            try json(ModelList(data: try cards()))
        }
        router.get("/v1/models/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let card = try cards().first(where: { $0.id == id }) else { throw APIError.modelNotFound(id) }
            return try json(card)
        }
        router.get("/health") { _, _ in
            guard state.current != nil else { throw APIError.loading }
            return try json(["status": "ok"])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.exposition(engine: state.current?.engine))))
        }
    }

    func cards() throws -> [ModelCard] {
        let serving = try state.ready()
        return [ModelCard(id: serving.id, created: serving.created, ownedBy: "tandem", parent: nil, root: serving.id)]
    }
}

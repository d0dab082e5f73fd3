import Adapters
import Foundation
import Hummingbird
import Model
import OpenAIAPI

/// `GET /v1/models`, `GET /v1/models/{id}`, `GET /health`, `GET /metrics`.
struct ModelRoutes<Context: RequestContext> {
    let state: ServingState
    let metrics: ServerMetrics

    func add(to router: Router<Context>) {
        router.get("/v1/models") { _, _ in
            try json(ModelList(data: try cards().filter { Tenant.current.allows($0.id) }))
        }
        router.get("/v1/models/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard Tenant.current.allows(id), let card = try cards().first(where: { $0.id == id }) else {
                throw APIError.modelNotFound(id)
            }
            return try json(card)
        }
        router.get("/v1/adapters") { _, _ in
            let serving = try state.ready()
            let visible = serving.adapters.statuses.filter { status in
                Tenant.current.allows(status.name)
                    || status.roles.contains { Tenant.current.allows("\(status.name):\($0)") }
            }
            return try json(AdapterList(data: visible.map(AdapterInfo.init)))
        }
        router.get("/health") { _, _ in
            guard let current = state.current else { throw APIError.loading }
            return try json(["status": "ok", "kernel_path": current.kernelPath.rawValue])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.exposition(
                        engine: state.current?.engine, model: state.current?.id ?? "",
                        maxLoRA: state.current?.adapters.limits.maxLoaded ?? 0,
                        kernelPath: state.current?.kernelPath))))
        }
    }

    /// The base, its roles, every adapter and every adapter's roles.
    func cards() throws -> [ModelCard] {
        let serving = try state.ready()
        let base = serving.id, created = serving.created, registry = serving.adapters
        var cards = [ModelCard(id: base, created: created, ownedBy: "tandem", root: base)]
        for role in registry.baseRoles.roles.keys.sorted() {
            cards.append(ModelCard(id: "\(base):\(role)", created: created, ownedBy: "tandem", parent: base, root: base,
                                   role: role))
        }
        for status in registry.statuses {
            cards.append(ModelCard(id: status.name, created: created, ownedBy: "tandem", parent: base, root: base,
                                   adapter: status.name))
            for role in status.roles {
                cards.append(ModelCard(id: "\(status.name):\(role)", created: created, ownedBy: "tandem", parent: base,
                                       root: base, adapter: status.name, role: role))
            }
        }
        return cards
    }
}

/// An entry of `GET /v1/adapters`.
struct AdapterInfo: Encodable {
    var name: String
    var source: String
    var rank: Int?
    var targets: [String]
    var bytes: Int?
    var loaded: Bool
    var lastUsed: Double?
    var loadSeconds: Double?
    var error: String?
    var roles: [String]

    init(_ s: AdapterRegistry.Status) {
        name = s.name
        source = s.source
        rank = s.rank
        targets = s.targets
        bytes = s.bytes
        loaded = s.loaded
        lastUsed = s.lastUsed?.timeIntervalSince1970
        loadSeconds = s.loadSeconds
        error = s.error
        roles = s.roles
    }

    enum CodingKeys: String, CodingKey {
        case name, source, rank, targets, bytes, loaded, error, roles
        case lastUsed = "last_used", loadSeconds = "load_seconds"
    }
}

struct AdapterList: Encodable {
    var object = "list"
    var data: [AdapterInfo]
}

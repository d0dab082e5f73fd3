import Adapters
import Foundation
import Hummingbird
import NIOCore

/// vLLM-compatible adapter administration: `POST /v1/load_lora_adapter {"lora_name", "lora_path"}`
/// and `POST /v1/unload_lora_adapter {"lora_name"}`.
///
/// These change what every client is served, so they always need the API key; with no key
/// configured they are refused unless `--allow-unauthenticated-admin` is given. A path must lie
/// inside the adapters folder unless `--allow-adapter-paths-outside` is given.
struct AdminRoutes<Context: RequestContext> {
    let configuration: ServerConfiguration
    let state: ServingState

    struct LoadBody: Decodable {
        var lora_name: String
        var lora_path: String?
    }

    struct UnloadBody: Decodable {
        var lora_name: String
    }

    func add(to router: Router<Context>) {
        router.post("/v1/load_lora_adapter") { request, _ in
            try authorize(request)
            let body: LoadBody = try await decode(request)
            let serving = try state.ready()
            try validateName(body.lora_name)
            let inFolder = configuration.adaptersDirectory + "/" + body.lora_name
            let defaultPath = FileManager.default.fileExists(atPath: inFolder + ".gguf") ? inFolder + ".gguf" : inFolder
            let path = try allowedFolder(body.lora_path ?? defaultPath)
            do {
                let adapter = try serving.adapters.register(name: body.lora_name, path: path)
                return try json(["status": "loaded", "lora_name": adapter.name, "rank": "\(adapter.rank)"])
            } catch {
                throw APIError.invalid("Adapter '\(body.lora_name)' was not loaded: \(error)", param: "lora_path",
                                       code: "adapter_unusable")
            }
        }
        router.post("/v1/unload_lora_adapter") { request, _ in
            try authorize(request)
            let body: UnloadBody = try await decode(request)
            let serving = try state.ready()
            try validateName(body.lora_name)
            do {
                try serving.adapters.unregister(name: body.lora_name)
            } catch {
                throw APIError.modelNotFound(body.lora_name, detail: "The adapter '\(body.lora_name)' does not exist")
            }
            return try json(["status": "unloaded", "lora_name": body.lora_name])
        }
    }

    func authorize(_ request: Request) throws {
        if let tenant = Tenant.current {
            guard tenant.admin else {
                throw APIError(status: .forbidden, message: "The key '\(tenant.name)' may not administer adapters.",
                               code: "admin_required")
            }
            return
        }
        guard let key = configuration.apiKey, !key.isEmpty else {
            guard configuration.allowUnauthenticatedAdmin else {
                throw APIError(status: .forbidden,
                               message: "Adapter administration needs an API key: start the server with --api-key "
                                   + "(or --allow-unauthenticated-admin).",
                               code: "admin_disabled")
            }
            return
        }
        // With a key configured, TenantMiddleware has already checked it on every /v1 route.
    }

    func decode<T: Decodable>(_ request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: 64 << 10)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.decoding(error)
        }
    }

    func validateName(_ name: String) throws {
        do { try AdapterError.validate(name: name) } catch {
            throw APIError.invalid("\(error)", param: "lora_name", code: "invalid_model_name")
        }
    }

    /// The canonical folder, refused when it escapes the adapters folder (`..`, symlinks).
    func allowedFolder(_ path: String) throws -> String {
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let root = URL(fileURLWithPath: configuration.adaptersDirectory).standardizedFileURL
            .resolvingSymlinksInPath().path
        guard configuration.allowAdapterPathsOutside || resolved.hasPrefix(root + "/") else {
            throw APIError.invalid("lora_path must be inside the adapters folder (\(configuration.adaptersDirectory))",
                                   param: "lora_path", code: "path_not_allowed")
        }
        return resolved
    }
}

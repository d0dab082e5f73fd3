import Adapters
import Foundation

/// What a request's `model` field names: `BASE`, `BASE:ROLE`, `ADAPTER` or `ADAPTER:ROLE`.
struct ResolvedModel {
    var id: String
    var adapter: LoRAAdapter?
    var roleName: String?
    var role: Role?
}

/// Turns `model` values into adapters and roles; unknown names are 404s, never a silent fallback.
struct ModelResolver {
    let baseID: String
    let registry: AdapterRegistry

    /// The 404 for a `model` whose base or adapter name does not exist (or that a tenant may not use:
    /// the two must read the same, so the answer reveals nothing).
    static func noSuchModel(_ model: String) -> APIError {
        let name = model.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? model
        return APIError.modelNotFound(model, detail: "The model '\(model)' does not exist: "
                                          + "no base model or adapter is called '\(name)'")
    }

    func resolve(_ model: String) throws -> ResolvedModel {
        let parts = model.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts[0], roleName = parts.count > 1 ? parts[1] : nil
        if roleName?.isEmpty == true {
            throw APIError.modelNotFound(model, detail: "The model '\(model)' names an empty role")
        }
        if name == baseID {
            guard let roleName else { return ResolvedModel(id: model) }
            guard let role = registry.baseRoles.roles[roleName] else {
                throw APIError.modelNotFound(model, detail: "The base model '\(baseID)' has no role '\(roleName)' "
                                                 + "(adapters/roles.yaml)")
            }
            return ResolvedModel(id: model, roleName: roleName, role: role)
        }
        do {
            try AdapterError.validate(name: name)
        } catch {
            throw APIError.invalid("Invalid model name '\(model)': "
                                       + "adapter names use letters, digits, '.', '_' and '-' only",
                                   param: "model", code: "invalid_model_name")
        }
        let book: RoleBook
        do {
            book = try registry.roles(ofAdapter: name)
        } catch {
            throw Self.noSuchModel(model)
        }
        var resolved = ResolvedModel(id: model)
        if let roleName {
            guard let role = book.roles[roleName] else {
                throw APIError.modelNotFound(model, detail: "The adapter '\(name)' has no role '\(roleName)'")
            }
            resolved.roleName = roleName
            resolved.role = role
        } else if let (defaultName, role) = book.defaultRole {
            resolved.roleName = defaultName
            resolved.role = role
        }
        do {
            resolved.adapter = try registry.adapter(named: name)
        } catch let error as AdapterError {
            if case .notFound = error { throw APIError.modelNotFound(model) }
            if case .updating = error {
                var busy = APIError(status: .serviceUnavailable, message: "\(error)", type: "server_error",
                                    code: "adapter_updating")
                busy.headers[.retryAfter] = "1"
                throw busy
            }
            throw APIError.invalid("The adapter '\(name)' cannot be used: \(error)", param: "model",
                                   code: "adapter_unusable")
        }
        return resolved
    }
}

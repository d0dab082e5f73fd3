import Adapters
import Foundation
import GGUF
import Model
import OpenAIAPI
import Testing

/// Safetensors parsing, PEFT validation, roles and the registry, on the fixture adapters.
@Suite(.serialized)
struct AdapterValidationTests {
    var base: ModelConfig { LoRAGoldenTests.model.config }
    let fixtures = LoRAGoldenTests.fixtures

    /// A temporary adapters folder holding copies of the named fixture adapters.
    func folder(_ adapters: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-adapters-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, fixture) in adapters {
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(fixture).path, toPath: dir + "/" + name)
        }
        return dir
    }

    func safetensors(header: String, data: [UInt8] = []) -> Data {
        var bytes = [UInt8](repeating: 0, count: 8)
        let h = Array(header.utf8)
        for i in 0..<8 { bytes[i] = UInt8((h.count >> (8 * i)) & 0xFF) }
        return Data(bytes + h + data)
    }

    @Test("malformed safetensors headers are errors, never crashes or huge allocations")
    func malformedSafetensors() {
        let cases: [Data] = [
            Data([1, 2, 3]),
            safetensors(header: "not json"),
            safetensors(header: #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0]),
            safetensors(header: #"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
            safetensors(header: #"{"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
            safetensors(header: #"{"t":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
            safetensors(header: #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: Array(repeating: 0, count: 8)),
            Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
        ]
        for (i, data) in cases.enumerated() {
            #expect(throws: AdapterError.self, "case \(i)") { try SafetensorsFile(data: data, path: "x.safetensors") }
        }
        let ok = safetensors(header: #"{"__metadata__":{"format":"pt"},"t":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0x00, 0x3C, 0x00, 0xC0])
        let file = try? SafetensorsFile(data: ok, path: "x.safetensors")
        #expect(file.map { $0.floats($0.tensors["t"]!) } == [1, -2])
    }

    @Test func rankOverTheLimitIsRefusedNamingTheTensor() throws {
        do {
            _ = try PEFTLoader.load(name: "r16", folder: fixtures.appendingPathComponent("random-r16").path, base: base, maxRank: 8, version: 1)
            Issue.record("expected a rank error")
        } catch let AdapterError.rankTooLarge(file, tensor, rank, limit) {
            #expect(file.hasSuffix("adapter_model.safetensors") && tensor.contains("lora_A") && rank == 16 && limit == 8)
        }
    }

    @Test func adapterForAnotherModelIsRefusedNamingTheTensor() throws {
        let llama = try ModelLoader.load(GGUFFile(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../ModelTests/Fixtures/tiny_llama.gguf").standardized.path)).config
        do {
            _ = try PEFTLoader.load(name: "r4", folder: fixtures.appendingPathComponent("random-r4").path, base: llama, maxRank: 64, version: 1)
            Issue.record("expected an incompatibility")
        } catch let error as AdapterError {
            let text = "\(error)"
            #expect(text.contains("adapter_model.safetensors") && text.contains("lora_"))
        }
    }

    @Test func unknownTargetModuleAndNonFiniteValuesAreRefused() throws {
        let dir = try folder(["bad": "random-r4"])
        let config = dir + "/bad/adapter_config.json"
        var json = try String(contentsOfFile: config, encoding: .utf8)
        json = json.replacingOccurrences(of: "\"q_proj\"", with: "\"lm_head\"")
        try json.write(toFile: config, atomically: true, encoding: .utf8)
        #expect(throws: AdapterError.unknownTarget(file: config, module: "lm_head")) {
            try PEFTLoader.load(name: "bad", folder: dir + "/bad", base: base, maxRank: 64, version: 1)
        }
        // NaN: overwrite the first float of the data section of an F32 adapter.
        let nanDir = try folder(["nan": "random-r4"])
        let path = nanDir + "/nan/adapter_model.safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        bytes.replaceSubrange(8 + headerLength..<12 + headerLength, with: [0x00, 0x00, 0xC0, 0x7F])
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: AdapterError.self) { try PEFTLoader.load(name: "nan", folder: nanDir + "/nan", base: base, maxRank: 64, version: 1) }
    }

    @Test("hostile names are refused", arguments: ["../etc", "a/b", "..", ".hidden", "", "name with space", "x:y", String(repeating: "a", count: 200)])
    func hostileNames(_ name: String) {
        #expect(throws: AdapterError.invalidName(name)) { try AdapterError.validate(name: name) }
    }

    @Test("GGUF LoRA files: wrong kind, wrong architecture, truncated and rank over the limit are refused naming the file")
    func ggufLoRAValidation() throws {
        let good = fixtures.appendingPathComponent("random-r4-gguf/adapter.gguf").path
        let modelPath = LoRAGoldenTests.modelPath
        #expect(try GGUFLoRALoader.load(name: "g", file: good, base: base, maxRank: 64, version: 1).rank == 4)
        do {
            _ = try GGUFLoRALoader.load(name: "g", file: good, base: base, maxRank: 2, version: 1)
            Issue.record("expected a rank error")
        } catch let AdapterError.rankTooLarge(file, tensor, rank, _) {
            #expect(file == good && tensor.hasSuffix(".lora_a") && rank == 4)
        }
        // The base model itself is a GGUF, but not an adapter.
        #expect(throws: AdapterError.self) { try GGUFLoRALoader.load(name: "g", file: modelPath, base: self.base, maxRank: 64, version: 1) }
        // Truncated copies.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let dir = try folder([:])
        for cut in [0, 7, 100, 5000, bytes.count / 2, bytes.count - 1] {
            let path = dir + "/cut-\(cut).gguf"
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            do {
                _ = try GGUFLoRALoader.load(name: "g", file: path, base: base, maxRank: 64, version: 1)
                Issue.record("a file cut at \(cut) bytes loaded")
            } catch let error as AdapterError {
                #expect("\(error)".contains(path), "\(error)")
            }
        }
        // Made for another architecture: the tiny Llama fixture's config.
        let llama = try ModelLoader.load(GGUFFile(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../ModelTests/Fixtures/tiny_llama.gguf").standardized.path)).config
        do {
            _ = try GGUFLoRALoader.load(name: "g", file: good, base: llama, maxRank: 64, version: 1)
            Issue.record("expected an architecture error")
        } catch let error as AdapterError {
            #expect("\(error)".contains("gemma3") && "\(error)".contains("llama"))
        }
    }

    @Test("PEFT lora_B rows of q/k follow llama.cpp's interleaved-RoPE permutation on Llama bases only")
    func llamaQKPermutation() throws {
        let llama = try ModelLoader.load(GGUFFile(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../ModelTests/Fixtures/tiny_llama.gguf").standardized.path)).config
        let rows = llama.qDim, headDim = llama.headDim, half = headDim / 2
        let b = (0..<rows).map(Float.init) // rank 1: each row holds its own index
        let q = PEFTLoader.permutedForRoPE(b, site: .init(layer: 0, projection: .q), base: llama)
        // llama.cpp: w.reshape(heads, 2, half, …).swapaxes(1, 2) → head h row 2j+t comes from row t·half+j.
        let expectedHead0 = (0..<half).flatMap { j in [Float(j), Float(half + j)] }
        #expect(Array(q[0..<headDim]) == expectedHead0)
        #expect(q[headDim] == Float(headDim) && q.sorted() == b)
        #expect(PEFTLoader.permutedForRoPE(b, site: .init(layer: 0, projection: .v), base: llama) == b)
        let gemmaRows = base.qDim
        let g = (0..<gemmaRows).map(Float.init)
        #expect(PEFTLoader.permutedForRoPE(g, site: .init(layer: 0, projection: .q), base: base) == g)
    }

    @Test func registryFindsGGUFLoRAFoldersAndLooseFiles() throws {
        let dir = try folder(["peft": "random-r4", "folder": "random-r4-gguf"])
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("random-r4-gguf/adapter.gguf").path, toPath: dir + "/loose.gguf")
        try Data("not an adapter".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        let registry = AdapterRegistry(directory: dir, base: base)
        #expect(registry.names == ["folder", "loose", "peft"])
        let fromGGUF = try registry.adapter(named: "loose"), fromPEFT = try registry.adapter(named: "peft")
        #expect(fromGGUF.rank == 4 && fromGGUF.weights.count == fromPEFT.weights.count && fromGGUF.targets == fromPEFT.targets)
        #expect(try registry.adapter(named: "folder").weights.count == 126)
        // Replacing the loose file with garbage keeps the loaded version and reports the file.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/loose.gguf"))
        registry.refresh()
        #expect(try registry.adapter(named: "loose") === fromGGUF)
        #expect(registry.statuses.first { $0.name == "loose" }?.error?.contains("loose.gguf") == true)
        // Admin-style registration of a .gguf path.
        #expect(try registry.register(name: "late", path: dir + "/folder/adapter.gguf").rank == 4)
        #expect(throws: AdapterError.self) { try registry.register(name: "nothing", path: dir + "/notes.txt") }
    }

    @Test("a role may bind response_format; unknown role fields and formats are refused naming the file")
    func rolesBindResponseFormatAndRefuseUnknownFields() throws {
        let dir = NSTemporaryDirectory() + "roles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/roles.yaml"
        try "roles:\n  json:\n    system_prompt: JSON.\n    response_format: json_object\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try RoleBook.load(path: path).roles["json"]?.responseFormat?.type == "json_object")
        let schemaRole = """
            roles:
              triage:
                response_format:
                  type: json_schema
                  json_schema:
                    name: t
                    schema:
                      type: object
                      properties: {zeta: {type: integer}, alpha: {type: string}}
                      required: [zeta, alpha]
            """
        try schemaRole.write(toFile: path, atomically: true, encoding: .utf8)
        let bound = try #require(try RoleBook.load(path: path).roles["triage"]?.responseFormat)
        #expect(bound.type == "json_schema" && bound.name == "t")
        guard case .object(let members)? = bound.schema?["properties"] else { throw CancellationError() }
        #expect(members.map(\.key) == ["zeta", "alpha"], "the file's order of properties is kept")
        for (text, words) in [("roles:\n  a:\n    system_promt: typo\n", "unknown role field 'system_promt'"),
                              ("roles:\n  a:\n    response_format: yaml\n", "type 'yaml'"),
                              ("a:\n  system_prompt: roles at the top\n", "unknown top-level key 'a'"),
                              ("roles:\n  a:\n    response_format: {type: json_schema, json_schema: {name: x, "
                                  + "schema: {type: object, not: {}}}}\n", "'not'"),
                              ("roles:\n  a:\n    response_format: {type: json_object, strict: true}\n",
                               "unknown key 'strict'")] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            #expect {
                try RoleBook.load(path: path)
            } throws: { error in
                "\(error)".hasPrefix(path) && "\(error)".contains(words)
            }
        }
    }

    @Test("a role may bind tools and tool_choice; a bad function is refused naming the file and the field")
    func rolesBindTools() throws {
        let dir = NSTemporaryDirectory() + "roles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/roles.yaml"
        let bound = """
            roles:
              filer:
                tool_choice: {type: function, function: {name: open}}
                parallel_tool_calls: true
                tools:
                  - type: function
                    function:
                      name: open
                      description: Open one.
                      parameters: {type: object, properties: {zeta: {type: integer}, alpha: {type: string}}}
                  - {type: function, function: {name: close}}
            """
        try bound.write(toFile: path, atomically: true, encoding: .utf8)
        let role = try #require(try RoleBook.load(path: path).roles["filer"])
        #expect(role.tools?.map(\.function.name) == ["open", "close"])
        #expect(role.tools?.first?.function.description == "Open one." && role.tools?.last?.function.parameters == nil)
        #expect(role.toolChoice == .function("open") && role.parallelToolCalls == true)
        guard case .object(let members)? = role.tools?.first?.function.parameters?["properties"] else {
            throw CancellationError()
        }
        #expect(members.map(\.key) == ["zeta", "alpha"], "the file's order of properties is kept")
        let tool = "tools: [{type: function, function: {name: open}}]"
        for (text, words) in [("tools: [{type: function, function: {name: open, paramters: {}}}]",
                               "tools[0].function has unknown key 'paramters'"),
                              ("tools: [{type: function, function: {name: 'a b'}}]", "tools[0].function.name must be"),
                              ("tools: [{function: {name: a}}, {function: {name: a}}]", "'a' is offered twice"),
                              ("tools: [{type: function, function: {name: a, parameters: {uniqueItems: true}}}]",
                               "'uniqueItems'"),
                              ("tools: [{kind: function}]", "tools[0] has unknown key 'kind'"),
                              (tool + "\n    tool_choice: {type: function, function: {name: shut}}",
                               "names function 'shut'"),
                              ("tool_choice: required", "need the role's tools")] {
            try "roles:\n  a:\n    \(text)\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect {
                try RoleBook.load(path: path)
            } throws: { error in
                "\(error)".hasPrefix(path) && "\(error)".contains(words)
            }
        }
    }

    @Test func registryDiscoversLazilyAndFollowsTheFolder() throws {
        let dir = try folder(["alpha": "random-r4"])
        try "roles:\n  plain:\n    system_prompt: Be plain.\n    temperature: 0.5\n".write(toFile: dir + "/roles.yaml", atomically: true, encoding: .utf8)
        try "roles:\n  strict:\n    system_prompt: JSON only.\n    max_tokens: 12\n    stop: \"}\"\n    default: true\n".write(toFile: dir + "/alpha/roles.yaml", atomically: true, encoding: .utf8)
        let registry = AdapterRegistry(directory: dir, base: base)
        #expect(registry.names == ["alpha"])
        #expect(registry.statuses.first?.loaded == false)
        #expect(registry.baseRoles.roles["plain"] == Role(systemPrompt: "Be plain.", temperature: 0.5))
        let roles = try registry.roles(ofAdapter: "alpha")
        #expect(roles.defaultRole?.name == "strict" && roles.roles["strict"]?.stop == ["}"] && roles.roles["strict"]?.maxTokens == 12)

        let first = try registry.adapter(named: "alpha")
        #expect(registry.statuses.first?.loaded == true && registry.statuses.first?.rank == 4)
        #expect(try registry.adapter(named: "alpha") === first)

        // A new folder appears, a removed one disappears.
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("random-r8").path, toPath: dir + "/beta")
        registry.refresh()
        #expect(registry.names == ["alpha", "beta"])
        try FileManager.default.removeItem(atPath: dir + "/beta")
        registry.refresh()
        #expect(registry.names == ["alpha"])
        #expect(throws: AdapterError.notFound("beta")) { try registry.adapter(named: "beta") }

        // A corrupt replacement keeps the old version serving and reports why.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/alpha/adapter_model.safetensors"))
        registry.refresh()
        #expect(try registry.adapter(named: "alpha") === first)
        #expect(registry.statuses.first?.error?.contains("adapter_model.safetensors") == true)

        // A good replacement is a new version; the old object stays valid for whoever holds it.
        try FileManager.default.removeItem(atPath: dir + "/alpha")
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("random-r16").path, toPath: dir + "/alpha")
        registry.refresh()
        let second = try registry.adapter(named: "alpha")
        #expect(second !== first && second.rank == 16 && second.version > first.version && first.rank == 4)
    }

    @Test("the watcher takes a new or changed folder only when two scans see the same files")
    func watcherWaitsForStableFiles() throws {
        let dir = try folder(["alpha": "random-r4"])
        let registry = AdapterRegistry(directory: dir, base: base)
        #expect(registry.names == ["alpha"])
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("random-r8").path, toPath: dir + "/beta")
        registry.refresh(waitForStableFiles: true)
        #expect(registry.names == ["alpha"]) // seen once: maybe still being copied
        registry.refresh(waitForStableFiles: true)
        #expect(registry.names == ["alpha", "beta"])
        // A change half way through (weights replaced, roles still to come) is not taken...
        let first = try registry.adapter(named: "alpha")
        try FileManager.default.removeItem(atPath: dir + "/alpha/adapter_model.safetensors")
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("random-r16/adapter_model.safetensors").path, toPath: dir + "/alpha/adapter_model.safetensors")
        registry.refresh(waitForStableFiles: true)
        #expect(try registry.adapter(named: "alpha") === first)
        try "roles:\n  r:\n    system_prompt: Hi.\n".write(toFile: dir + "/alpha/roles.yaml", atomically: true, encoding: .utf8)
        registry.refresh(waitForStableFiles: true)
        #expect(try registry.adapter(named: "alpha") === first)
        // ...the finished one is, weights and roles together.
        registry.refresh(waitForStableFiles: true)
        let second = try registry.adapter(named: "alpha")
        let roles = try registry.roles(ofAdapter: "alpha")
        #expect(second !== first && second.rank == 16 && roles.roles["r"] != nil)
        // Removal is immediate.
        try FileManager.default.removeItem(atPath: dir + "/beta")
        registry.refresh(waitForStableFiles: true)
        #expect(registry.names == ["alpha"])
    }

    @Test func leastRecentlyUsedAdaptersAreDroppedBeyondTheLimit() throws {
        let dir = try folder(["a": "random-r4", "b": "random-r4", "c": "random-r4"])
        let registry = AdapterRegistry(directory: dir, base: base, limits: .init(maxLoaded: 2))
        let a = try registry.adapter(named: "a")
        _ = try registry.adapter(named: "b")
        _ = try registry.adapter(named: "c")
        #expect(registry.statuses.filter(\.loaded).map(\.name) == ["b", "c"])
        // The evicted object still works for a request that holds it.
        #expect(a.weights.count == 7 * base.layerCount)
    }

    @Test func malformedRolesAreReported() throws {
        let dir = try folder(["alpha": "random-r4"])
        try "roles: [not, a, map]".write(toFile: dir + "/alpha/roles.yaml", atomically: true, encoding: .utf8)
        let registry = AdapterRegistry(directory: dir, base: base)
        #expect(registry.statuses.first?.error?.contains("roles.yaml") == true)
        #expect(try registry.roles(ofAdapter: "alpha").roles.isEmpty)
    }
}

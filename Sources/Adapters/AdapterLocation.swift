import Foundation
import Model

/// Where one adapter lives on disk, in either supported format:
/// - a PEFT folder (`adapter_config.json` + `adapter_model.safetensors`, optional `roles.yaml`);
/// - a folder holding one llama.cpp GGUF LoRA file (`*.gguf`, optional `roles.yaml`);
/// - a loose `NAME.gguf` file in the adapters folder (no roles).
struct AdapterLocation: Equatable {
    enum Format: Equatable { case peft, gguf(file: String) }

    /// The folder, or the loose `.gguf` file.
    var path: String
    var format: Format

    /// Finds the adapter at `path` (a folder or a `.gguf` file), or nil when it holds none.
    static func find(at path: String) -> AdapterLocation? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue {
            return path.hasSuffix(".gguf") ? AdapterLocation(path: path, format: .gguf(file: path)) : nil
        }
        if fm.fileExists(atPath: path + "/adapter_config.json") { return AdapterLocation(path: path, format: .peft) }
        let ggufs = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
        return ggufs.count == 1 ? AdapterLocation(path: path, format: .gguf(file: path + "/" + ggufs[0])) : nil
    }

    var isFolder: Bool {
        format == .peft || { if case let .gguf(file) = format { return file != path } else { return false } }()
    }

    /// `roles.yaml` next to the weights, when the adapter is a folder.
    var rolesPath: String? { isFolder ? path + "/roles.yaml" : nil }

    /// Files whose size or modification time changing means "reload".
    var watchedFiles: [String] {
        var files: [String]
        switch format {
        case .peft: files = [path + "/adapter_config.json", path + "/adapter_model.safetensors"]
        case let .gguf(file): files = [file]
        }
        if let rolesPath { files.append(rolesPath) }
        return files
    }

    func load(name: String, base: ModelConfig, maxRank: Int, version: Int) throws -> LoRAAdapter {
        switch format {
        case .peft: return try PEFTLoader.load(name: name, folder: path, base: base, maxRank: maxRank, version: version)
        case let .gguf(file):
            return try GGUFLoRALoader.load(name: name, file: file, base: base, maxRank: maxRank, version: version)
        }
    }
}

/// Where `make setup` puts the default model.
enum ModelPaths {
    static let defaultModel = "models/gemma-3-270m-q4_k_m.gguf"
}

// swift-tools-version:6.2
import Foundation
import PackageDescription

// Kernels are plain Swift loops and SIMD types over unsafe pointers. -Ounchecked drops bounds
// checks in the hot loops. On x86-64 everything is compiled for the AVX2 class (AVX2 + FMA + F16C:
// every x86 server CPU since 2015; without them FMA becomes a libm call), so one binary runs on any
// of them, and the matrix kernels are compiled once per CPU class: AVX2, AVX-VNNI (the AVX2 integer
// kernel with `vpdpwssd`), AVX-512 and AVX-512 VNNI (its own integer dot-product kernel).
// `KernelPath` picks one at start-up from the CPU's flags. The other targets hold symbolic links
// to the AVX2 target's files (the AVX-512 target's integer kernel links to the VNNI target's, built
// without `vpdpwssd`); QuantTiles (the repacked weights and rounded activations every path shares)
// is built for the AVX2 class.
#if arch(x86_64)
func cpu(_ name: String) -> [String] { ["-target-cpu", name] }
let avxVNNI = ["-Xcc", "-mavxvnni"]
#else
func cpu(_ name: String) -> [String] { [] }
let avxVNNI: [String] = []
#endif
let optimized = ["-Ounchecked", "-wmo"]
let kernelFlags: [SwiftSetting] = [.unsafeFlags(optimized + cpu("haswell"))]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["tandem"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),
        .target(
            name: "CSentencePiece",
            path: "Sources/CSentencePiece",
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("stdc++")]
        ),
        .target(name: "GGUF", swiftSettings: kernelFlags),
        .target(name: "Tokenizer", dependencies: ["GGUF", "CSentencePiece"]),
        .target(name: "Parallel", swiftSettings: kernelFlags),
        .target(name: "QuantTiles", dependencies: ["GGUF", "Parallel"], swiftSettings: kernelFlags),
        .target(name: "QuantKernelsAVX2", dependencies: ["CPrefetch", "GGUF", "Parallel", "QuantTiles"],
                swiftSettings: kernelFlags),
        .target(name: "QuantKernelsAVXVNNI", dependencies: ["CPrefetch", "GGUF", "Parallel", "QuantTiles"],
                swiftSettings: [.unsafeFlags(optimized + cpu("haswell") + avxVNNI), .define("TANDEM_AVX_VNNI")]),
        .target(name: "QuantKernelsAVX512", dependencies: ["GGUF", "Parallel", "QuantTiles"],
                swiftSettings: [.unsafeFlags(optimized + cpu("skylake-avx512")), .define("TANDEM_AVX512")]),
        .target(name: "QuantKernelsVNNI", dependencies: ["GGUF", "Parallel", "QuantTiles"],
                swiftSettings: [.unsafeFlags(optimized + cpu("icelake-server")), .define("TANDEM_AVX512"),
                                .define("TANDEM_VNNI")]),
        .target(name: "Model",
                dependencies: ["GGUF", "CBLAS", "Parallel", "QuantTiles", "QuantKernelsAVX2", "QuantKernelsAVXVNNI",
                               "QuantKernelsAVX512", "QuantKernelsVNNI"],
                swiftSettings: kernelFlags),
        .target(name: "Sampling", dependencies: ["Model"], swiftSettings: kernelFlags),
        .target(name: "Grammar", dependencies: ["Sampling"], swiftSettings: kernelFlags),
        .target(
            name: "Adapters",
            dependencies: ["Model", "CBLAS", "Grammar", "OpenAIAPI", "Parallel", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "Engine", dependencies: ["Model", "Sampling", "Tokenizer", "GGUF", "Adapters", "Parallel"]),
        .target(name: "OpenAIAPI", dependencies: ["Grammar"]),
        .target(name: "Eval", dependencies: ["Grammar"]),
        .target(
            name: "Server",
            dependencies: [
                "Engine", "Model", "Sampling", "Grammar", "Tokenizer", "GGUF", "OpenAIAPI", "Adapters", "Parallel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "tandem",
            dependencies: [
                "Engine", "Model", "Sampling", "Grammar", "Tokenizer", "GGUF", "Server", "Eval", "Parallel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "EvalTests", dependencies: ["Eval", "Grammar"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Sampling", "Tokenizer", "GGUF", "Engine", "Parallel"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling", "Model"]),
        .testTarget(name: "GrammarTests", dependencies: ["Grammar", "Sampling", "Model"], exclude: ["Fixtures"]),
        .testTarget(name: "EngineTests",
                    dependencies: ["Engine", "Model", "Sampling", "Tokenizer", "GGUF", "Adapters", "Grammar"]),
        .testTarget(name: "AdaptersTests", dependencies: ["Adapters", "OpenAIAPI", "Model", "Sampling", "GGUF", "Engine", "Tokenizer"], exclude: ["Fixtures"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Engine", "OpenAIAPI", "Tokenizer", "GGUF", "Adapters", "Sampling", "Model",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    cxxLanguageStandard: .cxx17
)

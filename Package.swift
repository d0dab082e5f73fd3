// swift-tools-version:6.2
import PackageDescription

// Kernels are plain Swift loops and SIMD types over unsafe pointers. -Ounchecked drops bounds
// checks in the hot loops; on x86-64 the kernels need AVX2 + FMA + F16C (every x86 server CPU since
// 2015): without them SIMD16 math is split into SSE ops and FMA becomes a libm call.
#if arch(x86_64)
let targetCPU = ["-target-cpu", "haswell"]
#else
let targetCPU: [String] = []
#endif
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"] + targetCPU)]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["tandem"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(
            name: "CSentencePiece",
            path: "Sources/CSentencePiece",
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("stdc++")]
        ),
        .target(name: "GGUF", swiftSettings: kernelFlags),
        .target(name: "Tokenizer", dependencies: ["GGUF", "CSentencePiece"]),
        .target(name: "Model", dependencies: ["GGUF", "CBLAS"], swiftSettings: kernelFlags),
        .target(name: "Engine", dependencies: ["Model", "Tokenizer", "GGUF"]),
        .executableTarget(
            name: "tandem",
            dependencies: [
                "Engine", "Model", "Tokenizer", "GGUF",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Tokenizer", "GGUF", "Engine"], exclude: ["Fixtures"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Model", "Tokenizer", "GGUF"]),
    ],
    cxxLanguageStandard: .cxx17
)

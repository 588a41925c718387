// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SynCLR-Swift",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SynTensor", targets: ["SynTensor"]),
        .library(name: "SynCaption", targets: ["SynCaption"]),
        .library(name: "SynDiffusion", targets: ["SynDiffusion"]),
        .library(name: "SynRep", targets: ["SynRep"]),
        .executable(name: "synclr", targets: ["synclr-cli"]),
        .executable(name: "synclr-bench", targets: ["synclr-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface, found through pkg-config (Debian: libopenblas-dev).
        .systemLibrary(
            name: "CSynBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // libpng / libjpeg / zlib calls whose setjmp-based error handling must stay in C.
        .target(
            name: "CSynImage",
            linkerSettings: [
                .linkedLibrary("png16"),
                .linkedLibrary("jpeg"),
                .linkedLibrary("z"),
            ]
        ),
        // AVX2/FMA matrix kernels over ggml weight formats for language-model inference, SynTensor's direct
        // convolution and the bench's FMA peak loop (AVX-512 where present; runtime CPU dispatch).
        .target(name: "CSynKernels"),
        .target(name: "SynTensor", dependencies: ["CSynBLAS", "CSynImage", "CSynKernels"]),
        .target(
            name: "SynCaption",
            dependencies: ["SynTensor", "CSynKernels"],
            resources: [.copy("Resources/Concepts"), .copy("Resources/Backgrounds"), .copy("Resources/NOTICE")]
        ),
        // The shipped text-to-image model lives in Resources (found by DefaultModel, not Bundle.module).
        .target(name: "SynDiffusion", dependencies: ["SynTensor"], resources: [.copy("Resources")]),
        .target(name: "SynRep", dependencies: ["SynTensor"]),
        .executableTarget(
            name: "synclr-cli",
            dependencies: [
                "SynTensor", "SynCaption", "SynDiffusion", "SynRep",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "synclr-bench",
            dependencies: [
                "SynTensor", "SynCaption", "SynDiffusion", "SynRep", "CSynKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SynTensorTests", dependencies: ["SynTensor"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynCaptionTests", dependencies: ["SynCaption"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynDiffusionTests", dependencies: ["SynDiffusion"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynRepTests", dependencies: ["SynRep"], resources: [.copy("Fixtures")]),
        // Runs the built `synclr` executable end to end (the dependency makes SwiftPM build it first).
        .testTarget(name: "SynCLRCLITests", dependencies: ["synclr-cli", "SynTensor"]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SynCLR-Swift",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SynTensor", targets: ["SynTensor"]),
        .library(name: "SynRecords", targets: ["SynRecords"]),
        .library(name: "SynCaption", targets: ["SynCaption"]),
        .library(name: "SynDiffusion", targets: ["SynDiffusion"]),
        .library(name: "SynRep", targets: ["SynRep"]),
        .executable(name: "synclr", targets: ["synclr-cli"]),
        .executable(name: "synclr-bench", targets: ["synclr-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Markdown to HTML for the run report (report.html).
        .package(url: "https://github.com/JohnSundell/Ink", from: "0.6.0"),
        // `make docs`: DocC catalogs of the four libraries.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface, found through pkg-config (Debian: libopenblas-dev).
        .systemLibrary(
            name: "CSynBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Open MPI's C API for multi-process runs (Debian: libopenmpi-dev), linked only by SynMPI.
        .systemLibrary(
            name: "CSynMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
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
        // The records of the files between stages (captions.jsonl, images/manifest.jsonl): one schema,
        // reader and writer each, shared by the stage libraries without making them import each other.
        .target(name: "SynRecords", dependencies: ["SynTensor"]),
        .target(
            name: "SynCaption",
            dependencies: ["SynTensor", "SynRecords", "CSynKernels"],
            resources: [.copy("Resources/Concepts"), .copy("Resources/Backgrounds"), .copy("Resources/NOTICE")]
        ),
        // The shipped text-to-image model lives in Resources (found by DefaultModel, not Bundle.module).
        .target(name: "SynDiffusion", dependencies: ["SynTensor", "SynRecords"], resources: [.copy("Resources")]),
        .target(name: "SynRep", dependencies: ["SynTensor", "SynRecords"]),
        // The MPI `Communicator` (the protocol is in SynTensor); only the executables link it.
        .target(name: "SynMPI", dependencies: ["SynTensor", "CSynMPI"]),
        // The `synclr pipeline` configuration: presets, merging, decoding and validation (shared by the CLI and synclr-fuzz).
        .target(name: "SynPipeline", dependencies: ["SynTensor", "SynCaption", "SynDiffusion", "SynRep"]),
        .executableTarget(
            name: "synclr-cli",
            dependencies: [
                "SynTensor", "SynCaption", "SynDiffusion", "SynRep", "SynMPI", "SynPipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Ink", package: "Ink"),
            ]
        ),
        .executableTarget(
            name: "synclr-bench",
            dependencies: [
                "SynTensor", "SynCaption", "SynDiffusion", "SynRep", "SynMPI", "CSynKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Deterministic mutation fuzzer over the parsers (`make fuzz`, Docs/reliability.md); a test tool, not a product.
        .executableTarget(name: "synclr-fuzz", dependencies: ["SynTensor", "SynRecords", "SynCaption", "SynDiffusion", "SynRep", "SynPipeline"]),
        // Shared by the test targets: fixture files, tolerances and element-wise comparison with PyTorch values.
        .target(name: "SynTestSupport", dependencies: ["SynTensor"], path: "Tests/SynTestSupport"),
        .testTarget(name: "SynTensorTests", dependencies: ["SynTensor", "SynTestSupport", "CSynKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynRecordsTests", dependencies: ["SynRecords"]),
        .testTarget(name: "SynCaptionTests", dependencies: ["SynCaption", "CSynKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynDiffusionTests", dependencies: ["SynDiffusion"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynRepTests", dependencies: ["SynRep", "SynTestSupport"], resources: [.copy("Fixtures")]),
        // Runs the built `synclr` executable end to end (the dependency makes SwiftPM build it first).
        .testTarget(name: "SynCLRCLITests", dependencies: ["synclr-cli", "synclr-bench", "SynTensor", "SynRecords", "SynPipeline"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

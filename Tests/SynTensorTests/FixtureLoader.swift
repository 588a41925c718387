import Foundation
import SynTensor

/// All tensors of one safetensors file in Tests/SynTensorTests/Fixtures, keyed by name.
struct FixtureFile: Sendable {
    /// File name without extension.
    let name: String
    /// Tensors by safetensors key.
    let tensors: [String: Tensor]

    /// Reads `Fixtures/<name>.safetensors` from the test bundle with SynTensor's safetensors reader.
    static func load(_ name: String) throws -> FixtureFile {
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name).safetensors"])
        }
        return FixtureFile(name: name, tensors: try SafetensorsFile(url: url).loadAll())
    }

    /// The tensor stored under `key` (stops the test run with the key when absent).
    subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else { preconditionFailure("fixture \(name) has no tensor \(key)") }
        return t
    }

    /// Loads `name` or stops with the reason (fixtures are committed, so failure is a setup error).
    static func named(_ name: String) -> FixtureFile {
        do { return try load(name) } catch { preconditionFailure("cannot read fixture \(name): \(error) (run Scripts/fixtures_ops.py)") }
    }
}

/// The committed parity fixture files (Scripts/fixtures_ops.py), each read once.
enum Fixtures {
    /// Elementwise ops, views, creation.
    static let elementwise = FixtureFile.named("elementwise")
    /// Reductions, softmax family and matmul.
    static let reductions = FixtureFile.named("reductions")
    /// Norms, conv, pooling, resize, joining, indexing, losses, attention.
    static let nn = FixtureFile.named("nn")
    /// The 2-block transformer.
    static let transformer = FixtureFile.named("transformer")
    /// Optimizer trajectories and gradient clipping.
    static let optim = FixtureFile.named("optim")
}

import Foundation
import SynTensor
import SynTestSupport

extension FixtureFile {
    /// Loads `Fixtures/<name>.safetensors` of this test bundle or stops with the reason.
    static func named(_ name: String) -> FixtureFile {
        named(name, bundle: .module, script: "Scripts/fixtures/fixtures_ops.py")
    }
}

/// The committed parity fixture files (Scripts/fixtures/fixtures_ops.py), each read once.
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

import Foundation
import Testing
@testable import SynRep
import SynTensor
import SynTestSupport

/// One safetensors file of Tests/SynRepTests/Fixtures (written by Scripts/fixtures/fixtures_synrep.py).
typealias RepFixture = FixtureFile

extension FixtureFile {
    /// Reads `Fixtures/<name>.safetensors` of this test bundle (fixtures are committed: failure is a setup error).
    static func named(_ name: String) -> FixtureFile {
        named(name, bundle: .module, script: "Scripts/fixtures/fixtures_synrep.py")
    }

    /// A scalar stored under `key`.
    func scalar(_ key: String) -> Float { self[key].scalars[0] }

    /// Integers stored as floats under `key`.
    func ints(_ key: String) -> [Int] { self[key].scalars.map { Int($0) } }

    /// The input generated from the recipe `hashed/<key>` = [offset, scale, shape...] (not stored itself).
    func hashed(_ key: String) -> Tensor {
        let r = self["hashed/" + key].scalars
        let shape = r.dropFirst(2).map { Int($0) }
        return hashedTensor(key, shape: shape, offset: r[0], scale: r[1])
    }

    /// Sets every parameter of `module` to its `init/<prefix><name>` recipe [offset, scale] and
    /// returns the weights by parameter name.
    @discardableResult
    func initialize(_ module: Module, prefix: String = "") throws -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for (name, p) in module.namedParameters() {
            let r = self["init/\(prefix)\(name)"].scalars
            state[name] = hashedTensor(prefix + name, shape: p.shape, offset: r[0], scale: r[1])
        }
        try module.loadStateDict(state)
        return state
    }
}

/// The committed fixture files, each read once.
enum RepFixtures {
    /// Tiny ViT: tokens, gradients, mask, position resampling.
    static let vit = RepFixture.named("vit")
    /// Projector / predictor / prototype heads.
    static let heads = RepFixture.named("heads")
    /// Contrastive, Sinkhorn-Knopp and masked-patch losses.
    static let losses = RepFixture.named("losses")
    /// One full SynCLR training step.
    static let trainStep = RepFixture.named("trainstep")
}

/// FNV-1a of the UTF-8 bytes (as `fnv1a32` in Scripts/fixtures/fixtures_synrep.py).
func fnv1a32(_ s: String) -> UInt32 {
    var h: UInt32 = 0x811C_9DC5
    for b in s.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
    return h
}

/// `count` values in [-1, 1), multiples of 2^-15, hashed from (name, index) (as `hashed_uniform`).
func hashedUniform(_ name: String, count: Int) -> [Float] {
    let seed = fnv1a32(name)
    return (0..<count).map { i in
        var x = seed &+ UInt32(truncatingIfNeeded: i) &* 0x9E37_79B9
        x ^= x >> 16
        x = x &* 0x7FEB_352D
        x ^= x >> 15
        x = x &* 0x846C_A68B
        x ^= x >> 16
        return Float(Int(x >> 16) - 32768) / 32768
    }
}

/// offset + scale * hashedUniform(name) with the given shape (exact in float32 for the fixtures' recipes).
func hashedTensor(_ name: String, shape: [Int], offset: Float, scale: Float) -> Tensor {
    Tensor(shape: shape, data: hashedUniform(name, count: shape.reduce(1, *)).map { offset + scale * $0 })
}

/// Prints `label`'s errors when SYN_PARITY_REPORT is set.
func report(_ label: String, _ e: ParityError) { reportParity("synrep", label, e) }

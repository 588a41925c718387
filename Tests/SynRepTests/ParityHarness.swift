import Foundation
import Testing
@testable import SynRep
import SynTensor

/// One safetensors file of Tests/SynRepTests/Fixtures (written by Scripts/fixtures_synrep.py).
struct RepFixture: Sendable {
    /// File name without extension.
    let name: String
    /// Tensors by key.
    let tensors: [String: Tensor]

    /// Reads `Fixtures/<name>.safetensors` (fixtures are committed: failure is a setup error).
    static func named(_ name: String) -> RepFixture {
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
            preconditionFailure("missing fixture Fixtures/\(name).safetensors (run Scripts/fixtures_synrep.py)")
        }
        do { return RepFixture(name: name, tensors: try SafetensorsFile(url: url).loadAll()) } catch {
            preconditionFailure("cannot read fixture \(name): \(error)")
        }
    }

    /// The tensor stored under `key`.
    subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else { preconditionFailure("fixture \(name) has no tensor \(key)") }
        return t
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

/// FNV-1a of the UTF-8 bytes (as `fnv1a32` in Scripts/fixtures_synrep.py).
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

/// Allowed deviation from a PyTorch value e: |actual - e| <= atol + rtol * |e|.
struct Tolerance: Sendable {
    /// Absolute part.
    var atol: Float
    /// Relative part.
    var rtol: Float
}

/// Largest deviations of one or more comparisons.
struct ParityError: Sendable {
    /// max |actual - expected|.
    var maxAbs: Float = 0
    /// max |actual - expected| / |expected| over elements with |expected| >= 1e-3.
    var maxRel: Float = 0

    /// Element-wise maximum.
    func merged(_ o: ParityError) -> ParityError {
        ParityError(maxAbs: Swift.max(maxAbs, o.maxAbs), maxRel: Swift.max(maxRel, o.maxRel))
    }
}

/// True when SYN_PARITY_REPORT is set: each test prints its measured errors.
let parityReport = ProcessInfo.processInfo.environment["SYN_PARITY_REPORT"] != nil

/// Prints `label`'s errors when SYN_PARITY_REPORT is set.
func report(_ label: String, _ e: ParityError) {
    guard parityReport else { return }
    print(String(format: "PARITY synrep/%@: max abs %.2e, max rel %.2e", label, Double(e.maxAbs), Double(e.maxRel)))
}

/// Compares `actual` with the PyTorch value `expected` element by element.
@discardableResult
func expectClose(_ actual: Tensor, _ expected: Tensor, _ tol: Tolerance, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> ParityError {
    #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape) != PyTorch \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return ParityError(maxAbs: .infinity, maxRel: .infinity) }
    let a = actual.scalars, e = expected.scalars
    var err = ParityError()
    var worst = -1
    var worstExcess: Float = 0
    for i in 0..<a.count {
        let d = Swift.abs(a[i] - e[i])
        guard d.isFinite else { worst = i; worstExcess = .infinity; continue }
        err.maxAbs = Swift.max(err.maxAbs, d)
        if Swift.abs(e[i]) >= 1e-3 { err.maxRel = Swift.max(err.maxRel, d / Swift.abs(e[i])) }
        let excess = d - (tol.atol + tol.rtol * Swift.abs(e[i]))
        if excess > 0 && excess > worstExcess { worst = i; worstExcess = excess }
    }
    if worst >= 0 {
        Issue.record("\(label): element \(worst) is \(a[worst]), PyTorch \(e[worst]) (atol \(tol.atol), rtol \(tol.rtol)); max abs error \(err.maxAbs)",
                     sourceLocation: sourceLocation)
    }
    return err
}

/// `expectClose` for a scalar.
@discardableResult
func expectClose(_ actual: Float, _ expected: Float, _ tol: Tolerance, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> ParityError {
    expectClose(Tensor(shape: [1], data: [actual]), Tensor(shape: [1], data: [expected]), tol, label, sourceLocation: sourceLocation)
}

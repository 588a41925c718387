import Foundation
import Testing
import SynTensor

/// All tensors of one committed safetensors fixture (written by a script in Scripts/), keyed by name.
public struct FixtureFile: Sendable {
    /// File name without extension.
    public let name: String
    /// Tensors by safetensors key.
    public let tensors: [String: Tensor]

    /// A fixture holding `tensors`.
    public init(name: String, tensors: [String: Tensor]) {
        self.name = name
        self.tensors = tensors
    }

    /// Reads `Fixtures/<name>.safetensors` from a test bundle with SynTensor's safetensors reader.
    public static func load(_ name: String, bundle: Bundle) throws -> FixtureFile {
        guard let url = bundle.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name).safetensors"])
        }
        return FixtureFile(name: name, tensors: try SafetensorsFile(url: url).loadAll())
    }

    /// Loads `name` or stops naming the script that writes it (fixtures are committed, so failure is a setup error).
    public static func named(_ name: String, bundle: Bundle, script: String) -> FixtureFile {
        do { return try load(name, bundle: bundle) } catch { preconditionFailure("cannot read fixture \(name): \(error) (run \(script))") }
    }

    /// The tensor stored under `key` (stops the test run with the key when absent).
    public subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else { preconditionFailure("fixture \(name) has no tensor \(key)") }
        return t
    }
}

/// Allowed deviation from a PyTorch value e: |actual - e| <= atol + rtol * |e|.
public struct Tolerance: Sendable {
    /// Absolute part.
    public var atol: Float
    /// Relative part.
    public var rtol: Float

    /// A tolerance.
    public init(atol: Float, rtol: Float) {
        self.atol = atol
        self.rtol = rtol
    }

    /// The default for float32 parity: atol 1e-5, rtol 1e-4.
    public static let standard = Tolerance(atol: 1e-5, rtol: 1e-4)
    /// Exact equality (comparisons, argmax, copies).
    public static let exact = Tolerance(atol: 0, rtol: 0)
}

/// Largest deviations found by one or more comparisons.
public struct ParityError: Sendable {
    /// max |actual - expected|.
    public var maxAbs: Float
    /// max |actual - expected| / |expected| over elements with |expected| >= 1e-3.
    public var maxRel: Float

    /// A measurement (zero: nothing compared yet).
    public init(maxAbs: Float = 0, maxRel: Float = 0) {
        self.maxAbs = maxAbs
        self.maxRel = maxRel
    }

    /// The element-wise maximum of two measurements.
    public func merged(_ o: ParityError) -> ParityError {
        ParityError(maxAbs: Swift.max(maxAbs, o.maxAbs), maxRel: Swift.max(maxRel, o.maxRel))
    }
}

/// True when SYN_PARITY_REPORT is set: parity tests print their measured errors.
public let parityReport = ProcessInfo.processInfo.environment["SYN_PARITY_REPORT"] != nil

/// Prints `scope/label`'s errors when SYN_PARITY_REPORT is set.
public func reportParity(_ scope: String, _ label: String, _ e: ParityError) {
    guard parityReport else { return }
    print(String(format: "PARITY %@/%@: max abs %.2e, max rel %.2e", scope, label, Double(e.maxAbs), Double(e.maxRel)))
}

/// Compares `actual` with the PyTorch value `expected` element by element (NaN matches NaN,
/// infinities must be equal) and records an issue at the worst element beyond `tol`.
@discardableResult
public func expectClose(_ actual: Tensor, _ expected: Tensor, _ tol: Tolerance, _ label: String,
                        sourceLocation: SourceLocation = #_sourceLocation) -> ParityError {
    #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape) != PyTorch \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return ParityError(maxAbs: .infinity, maxRel: .infinity) }
    let a = actual.scalars, e = expected.scalars
    var err = ParityError()
    var worst = -1
    var worstExcess: Float = 0
    for i in 0..<a.count {
        if a[i].isNaN && e[i].isNaN { continue }
        if a[i].isInfinite || e[i].isInfinite {
            if a[i] != e[i] { worst = i; worstExcess = .infinity }
            continue
        }
        let d = Swift.abs(a[i] - e[i])
        if d.isNaN { worst = i; worstExcess = .infinity; continue }
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
public func expectClose(_ actual: Float, _ expected: Float, _ tol: Tolerance, _ label: String,
                        sourceLocation: SourceLocation = #_sourceLocation) -> ParityError {
    expectClose(Tensor(shape: [1], data: [actual]), Tensor(shape: [1], data: [expected]), tol, label, sourceLocation: sourceLocation)
}

/// Integer values of a tensor that stores indices or labels as floats.
public func ints(_ t: Tensor) -> [Int] { t.scalars.map { Int($0) } }

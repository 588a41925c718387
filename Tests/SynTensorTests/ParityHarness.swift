import Foundation
import Testing
@testable import SynTensor

/// Allowed deviation from a PyTorch value e: |actual - e| <= atol + rtol * |e|.
struct Tolerance: Sendable {
    /// Absolute part.
    var atol: Float
    /// Relative part.
    var rtol: Float

    /// The default for float32 parity: atol 1e-5, rtol 1e-4.
    static let standard = Tolerance(atol: 1e-5, rtol: 1e-4)
    /// Exact equality (comparisons, argmax, copies).
    static let exact = Tolerance(atol: 0, rtol: 0)
}

/// Largest deviations found by one comparison.
struct ParityError: Sendable {
    /// max |actual - expected|.
    var maxAbs: Float = 0
    /// max |actual - expected| / |expected| over elements with |expected| >= 1e-3.
    var maxRel: Float = 0

    /// The element-wise maximum of two measurements.
    func merged(_ o: ParityError) -> ParityError {
        ParityError(maxAbs: Swift.max(maxAbs, o.maxAbs), maxRel: Swift.max(maxRel, o.maxRel))
    }
}

/// True when SYN_PARITY_REPORT is set: every case prints its measured errors.
let parityReport = ProcessInfo.processInfo.environment["SYN_PARITY_REPORT"] != nil

/// Compares `actual` with `expected` element by element (NaN matches NaN, infinities must be equal).
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
        let message = "\(label): element \(worst) is \(a[worst]), PyTorch \(e[worst]) (atol \(tol.atol), rtol \(tol.rtol)); "
            + "max abs error \(err.maxAbs)"
        Issue.record("\(message)", sourceLocation: sourceLocation)
    }
    return err
}

/// Integer values of a tensor that stores indices or labels as floats.
func ints(_ t: Tensor) -> [Int] { t.scalars.map { Int($0) } }

/// Checks fixture case `name` of `file`: forward outputs `out<j>` and the gradients `g<i>` of
/// sum_j sum(out_j * w_j) with respect to every input the fixture marks as differentiable.
func checkParityMulti(_ file: FixtureFile, _ name: String, tol: Tolerance = .standard, gradTol: Tolerance? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> [Tensor]) {
    var inputs: [Tensor] = []
    while let x = file.tensors["\(name)/x\(inputs.count)"] { inputs.append(x) }
    #expect(!inputs.isEmpty, "fixture \(file.name) has no case \(name)", sourceLocation: sourceLocation)
    let differentiable = inputs.indices.filter { file.tensors["\(name)/g\($0)"] != nil }
    let leaves = inputs.enumerated().map { i, x in differentiable.contains(i) ? x.requiringGrad() : x }
    let outs = f(leaves)
    var outputCount = 0
    while file.tensors["\(name)/out\(outputCount)"] != nil { outputCount += 1 }
    #expect(outs.count == outputCount, "\(name): \(outs.count) outputs, PyTorch \(outputCount)", sourceLocation: sourceLocation)
    var forward = ParityError()
    for (j, o) in outs.enumerated() where j < outputCount {
        forward = forward.merged(expectClose(o, file["\(name)/out\(j)"], tol, "\(name) out\(j)", sourceLocation: sourceLocation))
    }
    var backward = ParityError()
    if !differentiable.isEmpty {
        var loss: Tensor? = nil
        for (j, o) in outs.enumerated() where j < outputCount {
            let term = (o * file["\(name)/w\(j)"]).sum()
            loss = loss.map { $0 + term } ?? term
        }
        let grads = loss?.backward() ?? Gradients()
        for i in differentiable {
            let g = grads[leaves[i]] ?? Tensor.zeros(inputs[i].shape)
            backward = backward.merged(expectClose(g, file["\(name)/g\(i)"], gradTol ?? tol, "\(name) grad of x\(i)",
                                                   sourceLocation: sourceLocation))
        }
    }
    if parityReport {
        let fmt = { (v: Float) in String(format: "%.2e", Double(v)) }
        print("PARITY \(file.name)/\(name): forward abs \(fmt(forward.maxAbs)) rel \(fmt(forward.maxRel))"
              + (differentiable.isEmpty ? "" : "; grad abs \(fmt(backward.maxAbs)) rel \(fmt(backward.maxRel))"))
    }
}

/// `checkParityMulti` for an op with one output.
func checkParity(_ file: FixtureFile, _ name: String, tol: Tolerance = .standard, gradTol: Tolerance? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
    checkParityMulti(file, name, tol: tol, gradTol: gradTol, sourceLocation: sourceLocation) { [f($0)] }
}

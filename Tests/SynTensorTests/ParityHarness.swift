import Foundation
import Testing
@testable import SynTensor
import SynTestSupport

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

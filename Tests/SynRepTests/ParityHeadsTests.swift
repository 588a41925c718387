import Testing
@testable import SynRep
@testable import SynTensor
import SynTestSupport

/// Projector / predictor MLPs and the iBOT prototype head against PyTorch (the prototype head's
/// reference uses torch's own weight_norm parametrization with g frozen at 1).
@Suite struct HeadsParityTests {
    let file = RepFixtures.heads
    let tol = Tolerance(atol: 1e-5, rtol: 1e-4)

    func head(_ tag: String) -> any Module & UnaryLayer {
        var g = RandomGenerator(seed: 3)
        switch tag {
        case "projector": return MLPHead(dims: [32, 24, 24, 16], generator: &g)
        case "predictor": return MLPHead(dims: [16, 24, 16], generator: &g)
        case "last_norm": return MLPHead(dims: [16, 24, 16], lastNorm: true, generator: &g)
        default: return PrototypeHead(dims: [32, 24, 16], prototypes: 20, generator: &g)
        }
    }

    /// Output and the gradients of sum(out * w) for the input and every trainable parameter.
    @Test(arguments: ["projector", "predictor", "last_norm", "prototype"])
    func forwardAndGradients(_ tag: String) throws {
        let h = head(tag)
        try file.initialize(h, prefix: "\(tag)/")
        let trainable = h.namedParameters().filter { $0.1.isTrainable }
        let expected = Set(file.tensors.keys.filter { $0.hasPrefix("\(tag)/grad/") }.map { String($0.dropFirst(tag.count + 6)) })
        #expect(Set(trainable.map(\.0)) == expected, "\(tag): trainable parameters differ from PyTorch's")

        let x = file.hashed("\(tag)/x").requiringGrad()
        let out = h(x)
        let fwd = expectClose(out.detached(), file["\(tag)/out"], tol, "\(tag) output")
        let g = (out * file.hashed("\(tag)/w")).sum().backward()
        var bwd = expectClose(g[x] ?? .zeros(x.shape), file["\(tag)/grad_x"], tol, "\(tag) grad of input")
        for (name, p) in trainable {
            bwd = bwd.merged(expectClose(g[p] ?? .zeros(p.shape), file["\(tag)/grad/\(name)"], tol, "\(tag) grad of \(name)"))
        }
        if let proto = h as? PrototypeHead {
            #expect(!proto.weightG.isTrainable && g[proto.weightG] == nil, "weight_g must stay frozen at 1")
        }
        report("head \(tag) forward", fwd)
        report("head \(tag) grads", bwd)
    }
}

/// One recorded operation: its inputs and a pullback from the output gradient to input gradients.
final class AutogradNode {
    let op: String
    let inputs: [Tensor]
    /// Maps d(loss)/d(output) to d(loss)/d(input) for each input (nil where none flows).
    let pullback: (Tensor) -> [Tensor?]

    init(op: String, inputs: [Tensor], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.pullback = pullback
    }
}

extension Tensor {
    /// Attaches `pullback` to `result` when grad mode is on and an input requires gradients.
    @inline(__always)
    static func record(_ result: Tensor, inputs: [Tensor], op: String, pullback: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return result }
        var r = result
        r.requiresGrad = true
        r.node = AutogradNode(op: op, inputs: inputs, pullback: pullback)
        return r
    }

    /// Name of the operation that produced this tensor, if recorded.
    public var gradientOperation: String? { node?.op }
}

extension Tensor {
    /// Reverse-mode sweep from this tensor; returns gradients of every leaf that requires them.
    ///
    /// - Parameter seed: d(loss)/d(self); defaults to ones (a scalar loss gets 1).
    /// - Parameter retainIntermediates: also keep gradients of non-leaf tensors.
    public func backward(seed: Tensor? = nil, retainIntermediates: Bool = false) -> Gradients {
        var grads = Gradients()
        guard requiresGrad else { return grads }
        let seedGrad = seed ?? Tensor(shape: shape, repeating: 1)
        precondition(seedGrad.shape == shape, "backward seed shape \(seedGrad.shape) != output shape \(shape)")

        // Iterative post-order DFS gives a topological order without deep recursion.
        var order: [Tensor] = []
        var visited = Set<Int>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(id)
        while let (t, next) = stack.popLast() {
            let inputs = t.node?.inputs ?? []
            if next < inputs.count {
                stack.append((t, next + 1))
                let child = inputs[next]
                if child.requiresGrad && !visited.contains(child.id) {
                    visited.insert(child.id)
                    stack.append((child, 0))
                }
            } else {
                order.append(t)
            }
        }

        withNoGrad {
            grads.storage[id] = seedGrad
            for t in order.reversed() {
                guard let node = t.node else { continue }
                guard let g = grads.storage[t.id] else { continue }
                if !retainIntermediates { grads.storage[t.id] = nil }
                let inputGrads = node.pullback(g)
                precondition(inputGrads.count == node.inputs.count, "op \(node.op) returned \(inputGrads.count) grads for \(node.inputs.count) inputs")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    let fitted = ig.shape == input.shape ? ig : ig.sumTo(shape: input.shape)
                    if let existing = grads.storage[input.id] {
                        grads.storage[input.id] = existing + fitted
                    } else {
                        grads.storage[input.id] = fitted
                    }
                }
            }
        }
        return grads
    }
}

/// Evaluates `f` and returns its (scalar) value with the gradient of each tensor in `wrt`.
public func valueAndGrad(wrt: [Tensor], _ f: ([Tensor]) -> Tensor) -> (value: Tensor, grads: [Tensor]) {
    let leaves = wrt.map { $0.requiresGrad && $0.node == nil ? $0 : $0.requiringGrad() }
    let value = GradMode.$isEnabled.withValue(true) { f(leaves) }
    let g = value.backward()
    let grads = leaves.map { g[$0] ?? Tensor(shape: $0.shape, repeating: 0) }
    return (value.detached(), grads)
}

/// Evaluates a scalar loss of `model` and returns it with the gradients of its trainable parameters
/// (look them up with `grads[parameter.value]`).
public func valueAndGrad<M: Module>(_ model: M, _ f: (M) -> Tensor) -> (value: Tensor, grads: Gradients) {
    let value = GradMode.$isEnabled.withValue(true) { f(model) }
    precondition(value.count == 1, "valueAndGrad needs a scalar loss, got shape \(value.shape)")
    let grads = value.backward()
    return (value.detached(), grads)
}

extension Gradients {
    /// The gradient of a parameter (nil if none reached it).
    public subscript(_ p: Parameter) -> Tensor? { self[p.value] }
}

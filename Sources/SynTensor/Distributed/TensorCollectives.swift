/// Rows gathered from every process by `Communicator.allGatherRows`.
public struct GatheredRows {
    /// All processes' rows, concatenated in rank order along axis 0.
    public var tensor: Tensor
    /// Index of this process's first row in `tensor`.
    public var offset: Int
    /// Rows contributed by each process.
    public var counts: [Int]
}

extension Communicator {
    /// Concatenates every process's `x` ([n_r, ...], same trailing shape) along axis 0.
    ///
    /// Differentiable: each process's loss reads all rows, so the gradient of the job's total loss
    /// (the sum of the processes' losses) with respect to this process's rows is the sum over
    /// processes of their gradients at those rows; the pullback all-reduces the gathered gradient
    /// and keeps this process's slice. That keeps cross-process negatives and positives exact in
    /// contrastive losses instead of treating the other processes' embeddings as constants.
    public func allGatherRows(_ x: Tensor) -> GatheredRows {
        if size == 1 { return GatheredRows(tensor: x, offset: 0, counts: [x.shape[0]]) }
        let rowShape = Array(x.shape.dropFirst())
        let rowSize = rowShape.reduce(1, *)
        let counts = allGatherFixed(Int64(x.shape[0])).map(Int.init)
        let offset = counts[..<rank].reduce(0, +)
        let total = counts.reduce(0, +)
        let data = allGather(x.scalars, counts: counts.map { $0 * rowSize })
        let gathered = Tensor(shape: [total] + rowShape, data: data)
        let localShape = x.shape
        let result = Tensor.record(gathered, inputs: [x], op: "allGatherRows") { g in
            var all = g.scalars
            self.allReduceSum(&all)
            let mine = Array(all[offset * rowSize ..< (offset + localShape[0]) * rowSize])
            return [Tensor(shape: localShape, data: mine)]
        }
        return GatheredRows(tensor: result, offset: offset, counts: counts)
    }
}

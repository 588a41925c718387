import SynTensor

/// iBOT's masked-image-modeling loss with Sinkhorn-Knopp teacher targets (DINOv2 form).
///
/// For each masked patch i of image n: loss_i = -sum_k t_ik log softmax_k(s_ik / tau_s), where
/// t = SinkhornKnopp(teacher scores, tau_t). Patch i is weighted 1 / (masked patches in its image),
/// and the total is divided by the number of masked images, so every masked image counts equally.
public struct MaskedPatchLoss: Sendable {
    /// Student temperature (0.1).
    public var studentTemperature: Float
    /// Sinkhorn iterations (3).
    public var iterations: Int

    /// A loss with the paper's student temperature and 3 Sinkhorn iterations.
    public init(studentTemperature: Float = 0.1, iterations: Int = 3) {
        self.studentTemperature = studentTemperature
        self.iterations = iterations
    }

    /// - studentScores: [P, K] prototype scores of the student at the P masked positions.
    /// - teacherScores: [P, K] teacher scores at the same positions (no gradient).
    /// - imageOfPatch: for each of the P rows, the index of its image.
    public func callAsFunction(studentScores: Tensor, teacherScores: Tensor, imageOfPatch: [Int],
                               teacherTemperature: Float) -> Tensor {
        let P = studentScores.shape[0]
        precondition(teacherScores.shape == studentScores.shape && imageOfPatch.count == P,
                     "masked patch loss: student \(studentScores.shape), teacher \(teacherScores.shape), \(imageOfPatch.count) patch owners")
        if P == 0 { return Tensor(0) }
        let targets = sinkhornKnopp(teacherScores.detached(), temperature: teacherTemperature, iterations: iterations)
        var counts: [Int: Int] = [:]
        for n in imageOfPatch { counts[n, default: 0] += 1 }
        return self(studentScores: studentScores, targets: targets, imageOfPatch: imageOfPatch, maskedImages: counts.count)
    }

    /// The loss against given Sinkhorn `targets` [P, K], dividing by `maskedImages` masked images
    /// (in a data-parallel run: of the global batch, so the processes' losses sum to the global one).
    public func callAsFunction(studentScores: Tensor, targets: Tensor, imageOfPatch: [Int], maskedImages: Int) -> Tensor {
        let P = studentScores.shape[0]
        precondition(targets.shape == studentScores.shape && imageOfPatch.count == P && maskedImages > 0,
                     "masked patch loss: student \(studentScores.shape), targets \(targets.shape), \(imageOfPatch.count) patch owners, \(maskedImages) masked images")
        let perPatch = -(targets * (studentScores * (1 / studentTemperature)).logSoftmax(axis: -1)).sum(axis: -1)  // [P]
        var counts: [Int: Int] = [:]
        for n in imageOfPatch { counts[n, default: 0] += 1 }
        let weights = Tensor(shape: [P], data: imageOfPatch.map { 1 / Float(counts[$0]!) / Float(maskedImages) })
        return (perPatch * weights).sum()
    }
}

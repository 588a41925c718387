import Testing
@testable import SynRep
@testable import SynTensor
import SynTestSupport

/// The multi-positive contrastive loss, Sinkhorn-Knopp and the iBOT masked-patch loss against
/// PyTorch transcriptions of the paper's formulas (Scripts/fixtures/fixtures_synrep.py).
@Suite struct LossParityTests {
    let file = RepFixtures.losses
    let tol = Tolerance(atol: 1e-5, rtol: 1e-4)

    /// Queries against keys with repeated caption ids (caption 3 in two slots), with and without
    /// own-key exclusion; gradients w.r.t. the raw (pre-normalization) queries and keys.
    @Test(arguments: ["global", "local_exclude", "local_keep"])
    func contrastive(_ tag: String) {
        let q = file.hashed("contrastive/\(tag)/q").requiringGrad()
        let k = file.hashed("contrastive/\(tag)/k").requiringGrad()
        let own: [Int?] = file.ints("contrastive/\(tag)/own").map { $0 < 0 ? nil : $0 }
        let loss = MultiPositiveContrastive(temperature: 0.08)(
            queries: q.l2Normalized(axis: -1), keys: k.l2Normalized(axis: -1),
            queryGroups: file.ints("contrastive/\(tag)/q_groups"), keyGroups: file.ints("contrastive/k_groups"), ownKey: own)
        let fwd = expectClose(loss.detached().reshaped([1]), file["contrastive/\(tag)/loss"].reshaped([1]), tol, "\(tag) loss")
        let g = loss.backward()
        var bwd = expectClose(g[q] ?? .zeros(q.shape), file["contrastive/\(tag)/grad_q"], tol, "\(tag) grad of queries")
        bwd = bwd.merged(expectClose(g[k] ?? .zeros(k.shape), file["contrastive/\(tag)/grad_k"], tol, "\(tag) grad of keys"))
        report("contrastive \(tag) loss", fwd)
        report("contrastive \(tag) grads", bwd)
    }

    /// StableRep's form: one tensor is both queries and keys (the gradient flows through both roles).
    @Test func contrastiveSharedQueriesAndKeys() {
        let z = file.hashed("contrastive/shared/z").requiringGrad()
        let zn = z.l2Normalized(axis: -1)
        let groups = file.ints("contrastive/k_groups")
        let loss = MultiPositiveContrastive(temperature: 0.08)(queries: zn, keys: zn, queryGroups: groups, keyGroups: groups,
                                                                ownKey: Array(0..<groups.count))
        let fwd = expectClose(loss.detached().reshaped([1]), file["contrastive/shared/loss"].reshaped([1]), tol, "shared loss")
        let bwd = expectClose(loss.backward()[z] ?? .zeros(z.shape), file["contrastive/shared/grad_z"], tol, "shared grad")
        report("contrastive shared loss", fwd)
        report("contrastive shared grad", bwd)
    }

    /// DINOv2's Sinkhorn-Knopp (3 iterations) in one process, including scores whose exp(s / T)
    /// overflows float32 (PyTorch computed in float64).
    @Test(arguments: ["cos_t004", "cos_t007", "large"])
    func sinkhorn(_ tag: String) {
        let scores = file.hashed("sinkhorn/\(tag)/scores")
        let out = sinkhornKnopp(scores, temperature: file.scalar("sinkhorn/\(tag)/temperature"), iterations: 3)
        let err = expectClose(out, file["sinkhorn/\(tag)/out"], Tolerance(atol: 1e-6, rtol: 1e-4), "sinkhorn \(tag)")
        // Single-process marginals: every row (sample) sums to 1.
        for (i, s) in out.sum(axis: 1).scalars.enumerated() { #expect(abs(s - 1) < 1e-5, "sinkhorn \(tag): row \(i) sums to \(s)") }
        report("sinkhorn \(tag)", err)
    }

    /// iBOT loss with per-image weighting (1 / masked patches of the image, averaged over masked
    /// images) and its gradient w.r.t. the student scores; rows in (image, patch) order of the mask.
    @Test func maskedPatchLoss() {
        let masks = file["ibot/masks"]
        let n = masks.shape[0], N = masks.shape[1]
        let m = masks.scalars
        let owners = (0..<n).flatMap { i in (0..<N).filter { m[i * N + $0] != 0 }.map { _ in i } }
        let s = file.hashed("ibot/student").requiringGrad()
        let loss = MaskedPatchLoss(studentTemperature: 0.1, iterations: 3)(
            studentScores: s, teacherScores: file.hashed("ibot/teacher"), imageOfPatch: owners,
            teacherTemperature: file.scalar("ibot/teacher_temperature"))
        let fwd = expectClose(loss.detached().reshaped([1]), file["ibot/loss"].reshaped([1]), tol, "ibot loss")
        let bwd = expectClose(loss.backward()[s] ?? .zeros(s.shape), file["ibot/grad_student"], tol, "ibot grad of student scores")
        report("ibot loss", fwd)
        report("ibot grad", bwd)
    }
}

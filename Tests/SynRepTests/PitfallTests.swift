import Testing
@testable import SynRep
@testable import SynTensor

/// Pitfalls an implementation of the paper's multi-positive contrastive + iBOT training can fall
/// into (a positive mask cached across batches, a local crop keeping its own image's global key as
/// a positive, a Sinkhorn-Knopp that needs several processes) do not occur here.
@Suite struct PitfallTests {
    /// Random crops for `groups.count` images with the tiny configuration's sizes and no mask.
    func crops(_ config: TrainConfig, groups: [Int], seed: UInt64) -> BatchCrops {
        let n = groups.count, C = config.model.channels, S = config.model.imageSize, s = config.localSize
        var g = RandomGenerator(seed: seed)
        return BatchCrops(globals: Tensor.randn([n, C, S, S], generator: &g),
                          locals: (0..<config.localCrops).map { _ in Tensor.randn([n, C, s, s], generator: &g) },
                          groups: groups, labels: Array(repeating: 0, count: n), masks: nil, maskedImages: [])
    }

    func trainer(excludeOwnGlobalForLocal: Bool = false) throws -> Trainer {
        var c = tinyConfig(.synclr)
        c.ibotWeight = 0
        c.excludeOwnGlobalForLocal = excludeOwnGlobalForLocal
        let t = try Trainer(config: c, data: tinySet(groups: 4, perGroup: 2))
        t.student.eval()
        return t
    }

    /// The reference loss cached its positive mask across batches of the same size. Here a batch
    /// whose caption pattern differs (caption 5 drawn in two slots, so each of its images has 3
    /// positives) gets its own mask: the same trainer after another batch gives the loss of a fresh one.
    @Test func positivesAreRecomputedForEveryBatch() throws {
        let first = try trainer(), fresh = try trainer()
        let cfg = first.config
        let a = crops(cfg, groups: [0, 0, 1, 1, 2, 2, 3, 3], seed: 1)
        var b = crops(cfg, groups: [5, 5, 8, 8, 5, 5, 9, 9], seed: 2)
        _ = first.loss(a, step: 0)
        let (_, afterA) = first.loss(b, step: 0)
        let (_, alone) = fresh.loss(b, step: 0)
        #expect(afterA.global == alone.global && afterA.local == alone.local)
        // And the caption pattern matters: the same crops read with the first batch's pattern differ.
        b.groups = a.groups
        let (_, stale) = fresh.loss(b, step: 0)
        #expect(abs(stale.global - alone.global) > 1e-4)
    }

    /// With `excludeOwnGlobalForLocal`, each local crop of image i loses image i's global key, with
    /// the local queries ordered as Trainer builds them (crop l of every image, concatenated). The
    /// expectation is computed image by image, independent of that ordering.
    @Test func localCropsExcludeTheirOwnImagesGlobal() throws {
        let t = try trainer(excludeOwnGlobalForLocal: true)
        let groups = [0, 0, 1, 1, 0, 0, 2, 2]  // caption 0 drawn in two slots
        let batch = crops(t.config, groups: groups, seed: 3)
        let (_, terms) = t.loss(batch, step: 0)

        let keys = withNoGrad { t.teacher!.projector(t.teacher!.backbone(batch.globals)).l2Normalized(axis: -1) }
        func query(_ image: Int, _ crop: Int) -> Tensor {
            let x = batch.locals[crop].slice(0, image, image + 1)
            return t.student.predictor!(t.student.projector!(t.student.backbone(x))).l2Normalized(axis: -1)
        }
        let n = groups.count, L = batch.locals.count
        let rows = (0..<n).flatMap { i in (0..<L).map { l in (i, l) } }      // image-major
        let q = Tensor.concatenate(rows.map { query($0.0, $0.1) }, axis: 0)
        let loss = MultiPositiveContrastive(temperature: t.config.temperature)
        let right = loss(queries: q, keys: keys, queryGroups: rows.map { groups[$0.0] }, keyGroups: groups, ownKey: rows.map { $0.0 })
        #expect(abs(terms.local - right.item()) < 1e-5, "local term \(terms.local), own-image exclusion gives \(right.item())")
        // Reading these image-major rows as crop-major (row r -> image r mod n) excludes other crops.
        let wrong = loss(queries: q, keys: keys, queryGroups: rows.map { groups[$0.0] }, keyGroups: groups,
                         ownKey: rows.indices.map { $0 % n })
        #expect(abs(wrong.item() - right.item()) > 1e-4, "the check cannot tell the excluded crop apart")
    }

    /// Sinkhorn-Knopp runs in one process (the reference's version needed torch.distributed): rows
    /// sum to 1, and with enough iterations each prototype receives B / K.
    @Test func sinkhornInOneProcess() {
        var g = RandomGenerator(seed: 4)
        let scores = Tensor.randn([12, 6], generator: &g).tanh()
        let q = sinkhornKnopp(scores, temperature: 0.5, iterations: 50)
        for s in q.sum(axis: 1).scalars { #expect(abs(s - 1) < 1e-5) }
        for s in q.sum(axis: 0).scalars { #expect(abs(s - 2) < 1e-3) }
    }
}

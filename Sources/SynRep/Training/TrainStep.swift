import Foundation
import SynTensor

/// Loss terms of one step (for metrics).
public struct StepLosses: Codable, Sendable {
    /// Total loss optimized.
    public var total: Float
    /// Contrastive loss over global-crop queries (or the supervised / StableRep / SimCLR loss).
    public var global: Float
    /// Contrastive loss over local-crop queries.
    public var local: Float
    /// iBOT masked-patch loss.
    public var ibot: Float
}

/// The crops of one batch, already normalized.
struct BatchCrops {
    var globals: Tensor           // [n, C, S, S]
    var locals: [Tensor]          // L tensors [n, C, s, s] (crop l of every image)
    var groups: [Int]             // group id per image (n)
    var labels: [Int]             // class label per image (n)
    var masks: Tensor?            // [n, N] 1 = masked patch
    var maskedImages: [Int]       // images that carry a mask
}

extension Trainer {
    /// Builds step `step`'s crops and masks; every random choice derives from (seed, step, slot).
    func makeBatch(step: Int) -> BatchCrops {
        let (indices, groups) = sampler.batch(step: step)
        let n = indices.count
        let base = RandomGenerator(seed: config.seed).derived("augment").derived(UInt64(step))
        let L = config.effectiveLocalCrops
        var globals = [ImageBuffer](repeating: ImageBuffer(channels: 1, height: 1, width: 1), count: n)
        var locals = [[ImageBuffer]](repeating: [], count: n)
        let gAug = config.globalAugmentation, lAug = config.localAugmentation
        let images = data.images
        globals.withUnsafeMutableBufferPointer { gb in
            locals.withUnsafeMutableBufferPointer { lb in
                let gp = UncheckedPointer(gb.baseAddress!), lp = UncheckedPointer(lb.baseAddress!)
                Threading.concurrentPerform(n) { i in
                    var g = base.derived(UInt64(i))
                    gp.pointer[i] = augment(images[indices[i]], gAug, generator: &g)
                    var ls: [ImageBuffer] = []
                    for _ in 0..<L { ls.append(augment(images[indices[i]], lAug, generator: &g)) }
                    lp.pointer[i] = ls
                }
            }
        }
        let globalT = batchTensor(globals, mean: config.mean, std: config.std)
        let localT = (0..<L).map { l in batchTensor(locals.map { $0[l] }, mean: config.mean, std: config.std) }
        var masks: Tensor? = nil
        var masked: [Int] = []
        if config.usesIBOT {
            var mg = RandomGenerator(seed: config.seed).derived("mask").derived(UInt64(step))
            let N = config.model.gridSize * config.model.gridSize
            let count = Int((config.maskedPatchFraction * Float(N)).rounded())
            var m = [Float](repeating: 0, count: n * N)
            let chosen = mg.sample(n, count: Int((config.maskedImageFraction * Float(n)).rounded())).sorted()
            for i in chosen {
                for p in mg.sample(N, count: count) { m[i * N + p] = 1 }
            }
            masks = Tensor(shape: [n, N], data: m)
            masked = count > 0 ? chosen : []
        }
        return BatchCrops(globals: globalT, locals: localT, groups: groups, labels: indices.map { data.labels[$0] },
                          masks: masks, maskedImages: masked)
    }

    /// Forward pass and loss of one batch for the configured objective.
    func loss(_ batch: BatchCrops, step: Int) -> (Tensor, StepLosses) {
        let n = batch.groups.count
        switch config.objective {
        case .supervised:
            let l = student.classifier!(student.backbone(batch.globals)).crossEntropy(labels: batch.labels)
            let v = l.item()
            return (l, StepLosses(total: v, global: v, local: 0, ibot: 0))
        case .stablerep, .simclr:
            let z = student.projector!(student.backbone(batch.globals)).l2Normalized(axis: -1)
            let l = contrastive(queries: z, keys: z, queryGroups: batch.groups, keyGroups: batch.groups, ownKey: (0..<n).map { $0 })
            let v = l.item()
            return (l, StepLosses(total: v, global: v, local: 0, ibot: 0))
        case .synclr:
            // Teacher keys from the unmasked global crops (no gradient).
            let (keys, teacherPatch) = withNoGrad { () -> (Tensor, Tensor?) in
                let tok = teacher!.backbone.forwardTokens(batch.globals)
                let k = teacher!.projector(tok.select(1, 0)).l2Normalized(axis: -1)
                var tp: Tensor? = nil
                if config.usesIBOT, !batch.maskedImages.isEmpty, let head = teacher!.ibotHead {
                    tp = head(maskedRows(tok, batch))
                }
                return (k, tp)
            }
            let tokens = student.backbone.forwardTokens(batch.globals, mask: batch.masks)
            let qg = student.predictor!(student.projector!(tokens.select(1, 0))).l2Normalized(axis: -1)
            let lg = contrastive(queries: qg, keys: keys, queryGroups: batch.groups, keyGroups: batch.groups, ownKey: (0..<n).map { $0 })
            var total = lg
            var ll = Tensor(0)
            if !batch.locals.isEmpty {
                let localCLS = batch.locals.map { student.backbone($0) }
                let ql = student.predictor!(student.projector!(Tensor.concatenate(localCLS, axis: 0))).l2Normalized(axis: -1)
                let L = batch.locals.count
                let qGroups = (0..<L).flatMap { _ in batch.groups }
                let own: [Int?] = (0..<L).flatMap { _ in (0..<n).map { config.excludeOwnGlobalForLocal ? $0 : nil } }
                ll = contrastive(queries: ql, keys: keys, queryGroups: qGroups, keyGroups: batch.groups, ownKey: own)
                total = total + ll
            }
            var lib = Tensor(0)
            if let teacherPatch, let head = student.ibotHead {
                let studentScores = head(maskedRows(tokens, batch))
                let temp = LinearSchedule(start: config.teacherTemperature, end: config.finalTeacherTemperature,
                                          steps: config.teacherTemperatureWarmup).value(at: step)
                lib = MaskedPatchLoss(studentTemperature: config.studentTemperature)(
                    studentScores: studentScores, teacherScores: teacherPatch, imageOfPatch: maskedOwners(batch), teacherTemperature: temp)
                total = total + lib * config.ibotWeight
            }
            return (total, StepLosses(total: total.item(), global: lg.item(), local: ll.item(), ibot: lib.item()))
        }
    }

    /// Patch tokens [P, D] at the masked positions of masked images, in (image, patch) order.
    func maskedRows(_ tokens: Tensor, _ batch: BatchCrops) -> Tensor {
        let N = tokens.shape[1] - 1, D = tokens.shape[2]
        let m = batch.masks!.scalars
        var rows: [Int] = []
        for i in batch.maskedImages {
            for p in 0..<N where m[i * N + p] != 0 { rows.append(i * (N + 1) + 1 + p) }
        }
        return tokens.reshaped([-1, D]).indexSelect(axis: 0, indices: rows)
    }

    /// Image index of each row of `maskedRows`.
    func maskedOwners(_ batch: BatchCrops) -> [Int] {
        let N = config.model.gridSize * config.model.gridSize
        let m = batch.masks!.scalars
        var owners: [Int] = []
        for i in batch.maskedImages {
            for p in 0..<N where m[i * N + p] != 0 { owners.append(i) }
        }
        return owners
    }

    func contrastive(queries: Tensor, keys: Tensor, queryGroups: [Int], keyGroups: [Int], ownKey: [Int?]) -> Tensor {
        MultiPositiveContrastive(temperature: config.temperature)(queries: queries, keys: keys, queryGroups: queryGroups,
                                                                   keyGroups: keyGroups, ownKey: ownKey)
    }
}

/// A raw pointer that may be written from several workers at distinct indices.
struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}

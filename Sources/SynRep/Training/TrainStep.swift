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
    /// Group ids of the global batch when this process holds a slice of it (nil: `groups` is the batch).
    var globalGroups: [Int]?
    /// Group id of every image of the global batch (all processes); `groups` is a slice of it.
    var allGroups: [Int] { globalGroups ?? groups }
    /// Index of this process's first image in the global batch.
    var offset = 0
    /// Masked images of the global batch when this process holds a slice of it.
    var globalMaskedCount: Int?
    /// Images carrying a mask in the global batch.
    var globalMaskedImages: Int { globalMaskedCount ?? maskedImages.count }

    /// Crops of a whole batch held by one process.
    init(globals: Tensor, locals: [Tensor], groups: [Int], labels: [Int], masks: Tensor?, maskedImages: [Int]) {
        self.init(globals: globals, locals: locals, groups: groups, labels: labels, masks: masks, maskedImages: maskedImages,
                  allGroups: nil, offset: 0, globalMaskedImages: nil)
    }

    init(globals: Tensor, locals: [Tensor], groups: [Int], labels: [Int], masks: Tensor?, maskedImages: [Int],
         allGroups: [Int]?, offset: Int, globalMaskedImages: Int?) {
        self.globals = globals
        self.locals = locals
        self.groups = groups
        self.labels = labels
        self.masks = masks
        self.maskedImages = maskedImages
        self.globalGroups = allGroups
        self.offset = offset
        self.globalMaskedCount = globalMaskedImages
    }

    /// Images of the global batch.
    var globalCount: Int { allGroups.count }
    /// This process's share of the global batch, the weight of its mean losses in the global mean.
    var share: Float { Float(groups.count) / Float(allGroups.count) }
}

extension Trainer {
    /// Builds step `step`'s crops and masks; every random choice derives from (seed, step, slot).
    ///
    /// The batch is global: this process builds the crops of its slice of whole captions, with the
    /// random streams of their global positions, so N processes together build exactly the crops one
    /// process would.
    func makeBatch(step: Int) -> BatchCrops {
        let (allIndices, allGroups) = sampler.batch(step: step)
        let captions = communicator.slice(of: config.groupsPerBatch)
        let mine = captions.lowerBound * config.imagesPerGroup ..< captions.upperBound * config.imagesPerGroup
        let offset = mine.lowerBound
        let indices = Array(allIndices[mine]), groups = Array(allGroups[mine])
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
                    var g = base.derived(UInt64(offset + i))
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
        var globalMasked = 0
        if config.usesIBOT {
            // Drawn for the whole batch on every process (cheap), then sliced.
            let total = allIndices.count
            var mg = RandomGenerator(seed: config.seed).derived("mask").derived(UInt64(step))
            let N = config.model.gridSize * config.model.gridSize
            let count = Int((config.maskedPatchFraction * Float(N)).rounded())
            var m = [Float](repeating: 0, count: total * N)
            let chosen = mg.sample(total, count: Int((config.maskedImageFraction * Float(total)).rounded())).sorted()
            for i in chosen {
                for p in mg.sample(N, count: count) { m[i * N + p] = 1 }
            }
            masks = Tensor(shape: [n, N], data: Array(m[offset * N ..< (offset + n) * N]))
            masked = count > 0 ? chosen.filter { mine.contains($0) }.map { $0 - offset } : []
            globalMasked = count > 0 ? chosen.count : 0
        }
        return BatchCrops(globals: globalT, locals: localT, groups: groups, labels: indices.map { data.labels[$0] },
                          masks: masks, maskedImages: masked, allGroups: allGroups, offset: offset,
                          globalMaskedImages: globalMasked)
    }

    /// Forward pass and loss of one batch for the configured objective.
    ///
    /// In a data-parallel run the returned loss is this process's share of the global loss (its
    /// queries' terms over the global count), so the processes' losses sum to the loss one process
    /// computes on the whole batch; contrastive keys are gathered from every process.
    func loss(_ batch: BatchCrops, step: Int) -> (Tensor, StepLosses) {
        let n = batch.groups.count
        let share = batch.share
        let own = (0..<n).map { Optional(batch.offset + $0) }
        switch config.objective {
        case .supervised:
            var l = student.classifier!(student.backbone(batch.globals)).crossEntropy(labels: batch.labels)
            if communicator.size > 1 { l = l * share }
            let v = l.item()
            return (l, StepLosses(total: v, global: v, local: 0, ibot: 0))
        case .stablerep, .simclr:
            let z = student.projector!(student.backbone(batch.globals)).l2Normalized(axis: -1)
            let keys = communicator.allGatherRows(z).tensor
            var l = contrastive(queries: z, keys: keys, queryGroups: batch.groups, keyGroups: batch.allGroups, ownKey: own)
            if communicator.size > 1 { l = l * share }
            let v = l.item()
            return (l, StepLosses(total: v, global: v, local: 0, ibot: 0))
        case .synclr:
            let ibot = config.usesIBOT && batch.globalMaskedImages > 0
            let localMasked = !batch.maskedImages.isEmpty
            // Teacher keys from the unmasked global crops of every process (no gradient).
            let (keys, teacherPatch) = withNoGrad { () -> (Tensor, Tensor?) in
                let tok = teacher!.backbone.forwardTokens(batch.globals)
                let k = communicator.allGatherRows(teacher!.projector(tok.select(1, 0)).l2Normalized(axis: -1)).tensor
                var tp: Tensor? = nil
                if ibot, localMasked, let head = teacher!.ibotHead {
                    tp = head(maskedRows(tok, batch))
                }
                return (k, tp)
            }
            let tokens = student.backbone.forwardTokens(batch.globals, mask: batch.masks)
            // MoCo v3's predictor maps projector outputs to queries; without one they are the queries.
            func query(_ cls: Tensor) -> Tensor {
                let z = student.projector!(cls)
                return (student.predictor.map { $0(z) } ?? z).l2Normalized(axis: -1)
            }
            let qg = query(tokens.select(1, 0))
            var lg = contrastive(queries: qg, keys: keys, queryGroups: batch.groups, keyGroups: batch.allGroups, ownKey: own)
            if communicator.size > 1 { lg = lg * share }
            var total = lg
            var ll = Tensor(0)
            if !batch.locals.isEmpty {
                // All local crops in one forward (crop-major, as the query groups below): fewer, larger kernels.
                let localCLS = student.backbone(Tensor.concatenate(batch.locals, axis: 0))
                let ql = query(localCLS)
                let L = batch.locals.count
                let qGroups = (0..<L).flatMap { _ in batch.groups }
                let ownLocal: [Int?] = (0..<L).flatMap { _ in own.map { config.excludeOwnGlobalForLocal ? $0 : nil } }
                ll = contrastive(queries: ql, keys: keys, queryGroups: qGroups, keyGroups: batch.allGroups, ownKey: ownLocal)
                if communicator.size > 1 { ll = ll * share }
                total = total + ll
            }
            var lib = Tensor(0)
            if ibot, let head = student.ibotHead {
                let temp = LinearSchedule(start: config.teacherTemperature, end: config.finalTeacherTemperature,
                                          steps: config.teacherTemperatureWarmup).value(at: step)
                let patchLoss = MaskedPatchLoss(studentTemperature: config.studentTemperature)
                if communicator.size == 1 {
                    lib = patchLoss(studentScores: head(maskedRows(tokens, batch)), teacherScores: teacherPatch!,
                                    imageOfPatch: maskedOwners(batch), teacherTemperature: temp)
                } else {
                    // Every process joins the global Sinkhorn-Knopp, even one without masked patches.
                    let targets = sinkhornKnopp(teacherPatch, prototypes: config.ibotPrototypes, temperature: temp,
                                                iterations: patchLoss.iterations, communicator: communicator)
                    if let targets, localMasked {
                        lib = patchLoss(studentScores: head(maskedRows(tokens, batch)), targets: targets,
                                        imageOfPatch: maskedOwners(batch), maskedImages: batch.globalMaskedImages)
                    }
                }
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

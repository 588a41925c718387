import Synchronization
import SynTensor

/// Chooses the groups and images of training step `step` as a pure function of (seed, step), so a
/// resumed run sees exactly the batches an uninterrupted one would.
///
/// Groups are visited in a fresh random order each epoch; each chosen group contributes
/// `imagesPerGroup` of its images (a random subset, or with replacement when it has fewer).
public struct BatchSampler: Sendable {
    /// Image indices per group.
    public let members: [[Int]]
    /// Groups per batch (B captions).
    public let groupsPerBatch: Int
    /// Images drawn per group (4 in SynCLR).
    public let imagesPerGroup: Int
    /// Base random stream.
    public let generator: RandomGenerator
    // With one group per image (SimCLR, 60,000 real images) drawing the epoch's order again for
    // every group of every batch took 14% of a training step; it is a pure function of the epoch.
    private let lastOrder = EpochOrder()

    /// A sampler over `set`'s groups.
    public init(set: ImageSet, groupsPerBatch: Int, imagesPerGroup: Int, seed: UInt64) {
        members = set.members().filter { !$0.isEmpty }
        precondition(!members.isEmpty, "no groups to sample from")
        self.groupsPerBatch = groupsPerBatch
        self.imagesPerGroup = imagesPerGroup
        generator = RandomGenerator(seed: seed).derived("batch-sampler")
    }

    /// Image indices of step `step` ([groupsPerBatch * imagesPerGroup], grouped) and each one's group slot.
    public func batch(step: Int) -> (images: [Int], slots: [Int]) {
        let G = members.count
        var images: [Int] = [], slots: [Int] = []
        for j in 0..<groupsPerBatch {
            let flat = step * groupsPerBatch + j
            let epoch = flat / G, pos = flat % G
            let perm = order(epoch: epoch)
            let group = members[perm[pos]]
            var pick = generator.derived("pick").derived(UInt64(flat))
            let chosen: [Int]
            if group.count >= imagesPerGroup {
                chosen = pick.sample(group.count, count: imagesPerGroup).map { group[$0] }
            } else {
                chosen = (0..<imagesPerGroup).map { _ in group[pick.int(below: group.count)] }
            }
            images += chosen
            slots += Array(repeating: perm[pos], count: imagesPerGroup)
        }
        return (images, slots)
    }

    /// The order in which epoch `epoch` visits the groups.
    func order(epoch: Int) -> [Int] {
        if let hit = lastOrder.slot.withLock({ $0?.epoch == epoch ? $0?.order : nil }) { return hit }
        var stream = generator.derived(UInt64(epoch))
        let order = stream.permutation(members.count)
        lastOrder.slot.withLock { $0 = (epoch, order) }
        return order
    }
}

/// The most recent epoch's group order, shared by copies of a sampler.
private final class EpochOrder: Sendable {
    let slot = Mutex<(epoch: Int, order: [Int])?>(nil)
}

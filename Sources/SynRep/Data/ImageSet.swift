import SynTensor

/// Decoded images held in memory, with the caption (group) and class label of each.
///
/// Groups are what SynCLR treats as positives of each other (the caption an image was generated
/// from); labels are concept/class indices used by the supervised objective and by evaluation.
public struct ImageSet: Sendable {
    /// The images, all of one channel count.
    public var images: [ImageBuffer]
    /// Group index (0..<groupCount) of each image.
    public var groups: [Int]
    /// Class index of each image, or -1 when unknown.
    public var labels: [Int]
    /// Class names by index.
    public var classNames: [String]
    /// Where each image came from (file path or dataset:index).
    public var sources: [String]

    /// A set; every per-image array must have the same length.
    public init(images: [ImageBuffer], groups: [Int], labels: [Int], classNames: [String], sources: [String]) {
        precondition(images.count == groups.count && images.count == labels.count && images.count == sources.count,
                     "ImageSet arrays differ in length")
        self.images = images
        self.groups = groups
        self.labels = labels
        self.classNames = classNames
        self.sources = sources
    }

    /// Number of images.
    public var count: Int { images.count }
    /// Channels of the images.
    public var channels: Int { images.first?.channels ?? 0 }
    /// Number of distinct groups.
    public var groupCount: Int { (groups.max() ?? -1) + 1 }

    /// Image indices of each group, in image order.
    public func members() -> [[Int]] {
        var m = [[Int]](repeating: [], count: groupCount)
        for (i, g) in groups.enumerated() { m[g].append(i) }
        return m
    }

    /// The same images with every image its own group (SimCLR: each image is its own class).
    public func imagesAsGroups() -> ImageSet {
        var s = self
        s.groups = Array(0..<count)
        return s
    }

    /// A subset by image indices (groups renumbered densely in first-seen order).
    public func subset(_ indices: [Int]) -> ImageSet {
        var remap: [Int: Int] = [:]
        var groupsOut: [Int] = []
        for i in indices {
            let g = groups[i]
            if remap[g] == nil { remap[g] = remap.count }
            groupsOut.append(remap[g]!)
        }
        return ImageSet(images: indices.map { images[$0] }, groups: groupsOut, labels: indices.map { labels[$0] },
                        classNames: classNames, sources: indices.map { sources[$0] })
    }

    /// All images as one normalized tensor [N, C, H, W] (they must share a size).
    public func tensor(mean: [Float], std: [Float], indices: Range<Int>? = nil) -> Tensor {
        let r = indices ?? 0..<count
        return batchTensor(Array(images[r]), mean: mean, std: std)
    }
}

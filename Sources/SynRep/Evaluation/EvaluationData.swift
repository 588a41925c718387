import Foundation
import SynTensor

/// Train and test image sets for evaluation, resolved from a dataset spec.
public struct EvaluationSplits {
    /// Labeled training images (fit the probe / kNN memory).
    public var train: ImageSet
    /// Labeled test images (scored).
    public var test: ImageSet
}

/// Loads `fashion-mnist` (the real train/test splits), `fashion-mnist:val` (the training split
/// alone: a fixed, class-stratified 10,000 images held out as the test set, for choosing recipes
/// without looking at the test set) or an ImageFolder root: `root/train` and `root/test` (or
/// `root/val`) when present, otherwise a stratified 80/20 split of `root` (seeded).
public func loadEvaluationSplits(_ spec: String, channels: Int, size: Int, trainLimit: Int? = nil, seed: UInt64 = 0) throws -> EvaluationSplits {
    try requireImageShape(channels: channels, size: size)
    var train: ImageSet, test: ImageSet
    if spec == "fashion-mnist" {
        try FashionMNIST.requireGrayscale(channels)
        train = try FashionMNIST.load(.train, padTo: size)
        test = try FashionMNIST.load(.test, padTo: size)
    } else if spec == "fashion-mnist:val" {
        try FashionMNIST.requireGrayscale(channels)
        let all = try FashionMNIST.load(.train, padTo: size)
        // The held-out part never depends on the run's seed, so every recipe is scored on the same images.
        let split = StratifiedSplit(labels: all.labels, validationFraction: 1.0 / 6.0, seed: 0x7661_6c69_6461_7465)
        train = all.subset(split.train)
        test = all.subset(split.validation)
    } else {
        let root = URL(fileURLWithPath: spec)
        let fm = FileManager.default
        let trainDir = root.appendingPathComponent("train")
        let testDir = ["test", "val"].map { root.appendingPathComponent($0) }.first { fm.fileExists(atPath: $0.path) }
        if fm.fileExists(atPath: trainDir.path), let testDir {
            train = try ImageFolder.load(trainDir, channels: channels, size: size)
            test = try ImageFolder.load(testDir, channels: channels, size: size)
            guard train.classNames == test.classNames else {
                throw DatasetError.inconsistentImages(path: root.path, reason: "train and test folders have different classes")
            }
        } else {
            let all = try ImageFolder.load(root, channels: channels, size: size)
            let split = StratifiedSplit(labels: all.labels, validationFraction: 0.2, seed: seed)
            train = all.subset(split.train)
            test = all.subset(split.validation)
        }
    }
    if let trainLimit, trainLimit < train.count {
        // A class-balanced subset keeps probe time bounded (e.g. in the demo).
        let split = StratifiedSplit(labels: train.labels, validationFraction: 1 - Double(trainLimit) / Double(train.count), seed: seed)
        train = train.subset(split.train)
    }
    return EvaluationSplits(train: train, test: test)
}

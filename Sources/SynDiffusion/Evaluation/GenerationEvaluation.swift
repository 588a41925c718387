import Foundation
import SynTensor

/// Quality of generated Fashion-MNIST images as judged by a classifier trained on real images:
/// conditional accuracy (predicted class = the caption's concept) and the Frechet distance to the
/// real test set in the classifier's feature space.
public struct GenerationScore: Codable, Sendable {
    /// Guidance scale of the generated set.
    public var guidance: Float
    /// Generated images scored.
    public var images: Int
    /// Fraction classified as their caption's concept.
    public var accuracy: Double
    /// Frechet distance of their features to the real test set's.
    public var frechetDistance: Double
    /// Accuracy per class (by the class names of `FashionMNISTImages`), for classes that occur.
    public var perClassAccuracy: [String: Double] = [:]
    /// Confusion counts: row = caption's class, column = predicted class.
    public var confusion: [[Int]] = []

    /// A score.
    public init(guidance: Float, images: Int, accuracy: Double, frechetDistance: Double) {
        self.guidance = guidance
        self.images = images
        self.accuracy = accuracy
        self.frechetDistance = frechetDistance
    }

    enum CodingKeys: String, CodingKey {
        case guidance, images, accuracy, frechetDistance = "frechet_distance", perClassAccuracy = "per_class_accuracy", confusion
    }

    /// Fills the per-class accuracy and confusion matrix from predictions.
    public mutating func tally(predicted: [Int], labels: [Int], classes: Int = FashionMNISTImages.classNames.count) {
        confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (p, l) in zip(predicted, labels) { confusion[l][p] += 1 }
        perClassAccuracy = [:]
        for c in 0..<classes {
            let n = confusion[c].reduce(0, +)
            if n > 0 { perClassAccuracy[FashionMNISTImages.classNames[c]] = Double(confusion[c][c]) / Double(n) }
        }
    }
}

/// The classifier side of the evaluation: train (or load) the classifier, score real data.
public enum GenerationEvaluation {
    /// Loads the classifier at `url`, or trains one on the real training set (and saves it there).
    public static func classifier(at url: URL, train: (images: Tensor, labels: [Int]), epochs: Int, seed: UInt64,
                                  progress: ((Int, Int) -> Void)? = nil) throws -> (FashionClassifier, trained: Bool) {
        var g = RandomGenerator(seed: seed).derived("classifier-init")
        let net = FashionClassifier(generator: &g)
        if FileManager.default.fileExists(atPath: url.path) {
            try net.loadSafetensors(url)
            net.eval()
            return (net, false)
        }
        net.fit(images: train.images, labels: train.labels, epochs: epochs, seed: seed, progress: progress)
        try net.saveSafetensors(to: url, metadata: ["format": "synclr-fashion-classifier", "epochs": String(epochs),
                                                    "seed": String(seed)])
        return (net, true)
    }

    /// Reads the PNGs listed in a generation job's manifest as [N, 1, H, W] in [0, 1], with the
    /// class of each line's `concept`; lines without a Fashion-MNIST concept are an error.
    public static func generatedImages(_ directory: URL) throws -> (images: Tensor, labels: [Int], paths: [String]) {
        let url = ManifestFile.url(in: directory)
        var images: [Tensor] = [], labels: [Int] = [], paths: [String] = []
        for (n, record) in try ManifestFile.read(directory).enumerated() {
            guard let concept = record.concept, let cls = FashionMNISTImages.classIndex(ofConcept: concept) else {
                throw DiffusionError.badData(path: url.path, reason: "record \(n + 1) (\(record.path)) has no Fashion-MNIST \"concept\" to score against")
            }
            images.append(try ImageIO.readTensor(directory.appendingPathComponent(record.path), channels: 1).unsqueezed(0))
            labels.append(cls)
            paths.append(record.path)
        }
        guard !images.isEmpty else { throw DiffusionError.badData(path: url.path, reason: "the manifest lists no images") }
        return (Tensor.concatenate(images, axis: 0), labels, paths)
    }

    /// Writes DIR/predictions.jsonl: each image's path, caption class and predicted class.
    public static func writePredictions(_ directory: URL, paths: [String], labels: [Int], predicted: [Int]) throws {
        let names = FashionMNISTImages.classNames
        var out = ""
        for (p, (l, q)) in zip(paths, zip(labels, predicted)) {
            out += "{\"path\":\(JSONText.quote(p)),\"class\":\(JSONText.quote(names[l])),\"predicted\":\(JSONText.quote(names[q]))}\n"
        }
        try Data(out.utf8).write(to: directory.appendingPathComponent("predictions.jsonl"), options: .atomic)
    }

    /// Accuracy of `predicted` against `labels`.
    public static func accuracy(_ predicted: [Int], _ labels: [Int]) -> Double {
        Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(max(labels.count, 1))
    }
}

import Foundation
import SynTensor

/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) as diffusion training data: the IDX files of Debian's
/// `dataset-fashion-mnist`, 28x28 zero-padded to 32x32 and scaled to [-1, 1].
public enum FashionMNISTImages {
    /// The 10 class names, in label order (the dataset's own names).
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Caption concepts accepted for each class (compared case-insensitively after trimming):
    /// SynCaption's `fashion-mnist` list ("T-shirt or top", "trouser", ..., "ankle boot"), the
    /// dataset's names and a few plurals and synonyms.
    public static let conceptAliases: [[String]] = [
        ["t-shirt/top", "t-shirt or top", "t-shirt", "t-shirts", "tshirt", "tee shirt", "top"],
        ["trouser", "trousers", "pants"],
        ["pullover", "pullovers", "sweater"],
        ["dress", "dresses"],
        ["coat", "coats"],
        ["sandal", "sandals"],
        ["shirt", "shirts"],
        ["sneaker", "sneakers"],
        ["bag", "bags", "handbag"],
        ["ankle boot", "ankle boots", "boot", "boots"],
    ]

    /// The class index of a caption concept, or nil when it names no Fashion-MNIST class.
    public static func classIndex(ofConcept concept: String) -> Int? {
        let key = concept.trimmingCharacters(in: .whitespaces).lowercased()
        return conceptAliases.firstIndex { $0.contains(key) }
    }

    /// `$SYNCLR_FASHION_MNIST`, else Debian's `/usr/share/datasets/fashion-mnist`.
    public static var defaultRoot: URL { FashionMNISTFiles.defaultRoot }

    /// Images [N, 1, 32, 32] in [-1, 1] (background -1) and labels of the `train` or `test` split.
    public static func load(root: URL? = nil, train: Bool = true, limit: Int? = nil) throws -> (images: Tensor, labels: [Int]) {
        let dir = root ?? defaultRoot
        func file(_ kind: String) throws -> URL {
            let found = FashionMNISTFiles.locate(root: dir, train: train, kind: kind)
            if let u = found.url { return u }
            throw DiffusionError.missingFile(path: found.expected.path,
                                             hint: "Install Debian's dataset-fashion-mnist or set SYNCLR_FASHION_MNIST (or `fashionMNIST`).")
        }
        let imagesURL = try file("images-idx3"), labelsURL = try file("labels-idx1")
        let raw = try IDX.readImages(imagesURL)
        let labels = try IDX.readLabels(labelsURL)
        guard raw.rank == 4, raw.shape[1] == 1, raw.shape[2] <= 32, raw.shape[3] <= 32 else {
            throw DiffusionError.badData(path: imagesURL.path, reason: "expected 1-channel images of at most 32x32, got \(raw.shape)")
        }
        guard labels.count == raw.shape[0] else {
            throw DiffusionError.badData(path: labelsURL.path, reason: "\(labels.count) labels for \(raw.shape[0]) images")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classNames.count }) {
            throw DiffusionError.badData(path: labelsURL.path, reason: "label \(bad) outside 0..<\(classNames.count)")
        }
        let n = min(raw.shape[0], limit ?? Int.max)
        let h = raw.shape[2], w = raw.shape[3], top = (32 - h) / 2, left = (32 - w) / 2
        var px = [Float](repeating: -1, count: n * 32 * 32)
        raw.withUnsafeBufferPointer { src in
            for i in 0..<n {
                for y in 0..<h {
                    for x in 0..<w {
                        // IDX.readImages gives [0, 1]; map to [-1, 1].
                        px[i * 1024 + (y + top) * 32 + x + left] = src[i * h * w + y * w + x] * 2 - 1
                    }
                }
            }
        }
        return (Tensor(shape: [n, 1, 32, 32], data: px), Array(labels.prefix(n)))
    }
}

import Foundation
import SynTensor

/// Fashion-MNIST (Xiao et al. 2017) from the IDX files of Debian's `dataset-fashion-mnist`.
public enum FashionMNIST {
    /// The 10 class names, in label order.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Default location: `$SYNCLR_FASHION_MNIST`, else Debian's `/usr/share/datasets/fashion-mnist`.
    public static var defaultRoot: URL { FashionMNISTFiles.defaultRoot }

    /// Dataset split.
    public enum Split: String, Sendable {
        /// 60000 training images.
        case train
        /// 10000 test images.
        case test
    }

    /// Side of the stored images in pixels.
    public static let imageSide = 28

    /// Throws unless `channels` is 1 (the dataset is grayscale; a 3-channel model cannot read it).
    public static func requireGrayscale(_ channels: Int) throws {
        try ParameterError.require(channels == 1, "channels", channels,
                                   allowed: "1 for Fashion-MNIST, which is grayscale (a \(channels)-channel model needs RGB data)")
    }

    /// Loads a split as 1-channel images zero-padded from 28x28 to `padTo` (32 suits 4 px patches).
    /// Every image is its own group; labels are the classes.
    public static func load(_ split: Split, root: URL? = nil, padTo: Int = 32, limit: Int? = nil) throws -> ImageSet {
        try ParameterError.require(padTo >= imageSide, "size", padTo,
                                   allowed: "at least \(imageSide): Fashion-MNIST images are \(imageSide)x\(imageSide) and are padded, never shrunk (a model for \(padTo)-pixel inputs cannot read them)")
        try ParameterError.require((limit ?? 0) >= 0, "limit", limit ?? 0, allowed: ">= 0")
        let dir = root ?? defaultRoot
        func file(_ kind: String) throws -> URL {
            let found = FashionMNISTFiles.locate(root: dir, train: split == .train, kind: kind)
            if let u = found.url { return u }
            throw DatasetError.missing(path: found.expected.path,
                                       hint: "Install Debian's dataset-fashion-mnist (Scripts/setup/setup.sh does) or set SYNCLR_FASHION_MNIST.")
        }
        let images = try IDX.readImages(try file("images-idx3"))
        let labels = try IDX.readLabels(try file("labels-idx1"))
        let n = min(images.shape[0], labels.count, limit ?? Int.max)
        let h = images.shape[2], w = images.shape[3]
        guard padTo >= h && padTo >= w else {
            throw DatasetError.inconsistentImages(path: dir.path, reason: "images are \(h)x\(w), larger than the requested size \(padTo)")
        }
        let top = (padTo - h) / 2, left = (padTo - w) / 2
        let flat = images.scalars
        var out: [ImageBuffer] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            var px = [Float](repeating: 0, count: padTo * padTo)
            flat.withUnsafeBufferPointer { src in
                for y in 0..<h {
                    for x in 0..<w { px[(y + top) * padTo + x + left] = src[i * h * w + y * w + x] }
                }
            }
            out.append(ImageBuffer(channels: 1, height: padTo, width: padTo, pixels: px))
        }
        return ImageSet(images: out, groups: Array(0..<n), labels: Array(labels.prefix(n)), classNames: classNames,
                        sources: (0..<n).map { "fashion-mnist:\(split.rawValue):\($0)" })
    }
}

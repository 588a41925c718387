import Foundation
import SynTensor

/// Where images come from, parsed from a command-line string:
/// `fashion-mnist[:train|:test]`, a folder holding `manifest.jsonl`, or an ImageFolder tree.
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    /// Fashion-MNIST split from the Debian package (or `$SYNCLR_FASHION_MNIST`).
    case fashionMNIST(FashionMNIST.Split)
    /// Generated images listed by DIR/manifest.jsonl.
    case manifest(URL)
    /// root/class/*.png|jpg.
    case imageFolder(URL)

    /// Parses `spec`; `defaultSplit` applies to a bare `fashion-mnist`.
    public init(_ spec: String, defaultSplit: FashionMNIST.Split = .train) {
        if spec == "fashion-mnist" { self = .fashionMNIST(defaultSplit); return }
        if spec == "fashion-mnist:train" { self = .fashionMNIST(.train); return }
        if spec == "fashion-mnist:test" { self = .fashionMNIST(.test); return }
        let url = URL(fileURLWithPath: spec)
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("manifest.jsonl").path) {
            self = .manifest(url)
        } else {
            self = .imageFolder(url)
        }
    }

    /// Loads the images at `channels` channels and `size` pixels (Fashion-MNIST is padded to it), the
    /// first `limit` of Fashion-MNIST or a manifest when given (an image folder refuses a limit).
    public func load(channels: Int, size: Int, limit: Int? = nil) throws -> ImageSet {
        try requireImageShape(channels: channels, size: size)
        switch self {
        case .fashionMNIST(let split):
            try FashionMNIST.requireGrayscale(channels)
            return try FashionMNIST.load(split, padTo: size, limit: limit)
        case .manifest(let dir):
            return try ImageManifest.load(dir, channels: channels, size: size, limit: limit)
        case .imageFolder(let root):
            // Its order is by class, so a prefix would drop whole classes: refuse rather than mislead.
            try ParameterError.require(limit == nil, "limit", limit ?? 0,
                                       allowed: "0 for an image folder (a limit takes the first images of fashion-mnist or a manifest)")
            return try ImageFolder.load(root, channels: channels, size: size)
        }
    }

    /// Readable form.
    public var description: String {
        switch self {
        case .fashionMNIST(let s): return "fashion-mnist:\(s.rawValue)"
        case .manifest(let u): return u.path
        case .imageFolder(let u): return u.path
        }
    }
}

/// Throws a `ParameterError` unless images can be loaded at `channels` channels and `size` pixels.
func requireImageShape(channels: Int, size: Int) throws {
    try ParameterError.require(channels == 1 || channels == 3, "channels", channels, allowed: "1 (gray) or 3 (RGB)")
    try ParameterError.require(size >= 1, "size", size, allowed: ">= 1")
}

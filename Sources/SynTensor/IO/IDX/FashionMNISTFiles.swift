import Foundation

/// Where Fashion-MNIST's IDX files are: `$SYNCLR_FASHION_MNIST`, else Debian's
/// `dataset-fashion-mnist` folder; `.gz` or plain files. Shared by every library that reads them.
public enum FashionMNISTFiles {
    /// `$SYNCLR_FASHION_MNIST`, else /usr/share/datasets/fashion-mnist.
    public static var defaultRoot: URL {
        if let p = ProcessInfo.processInfo.environment["SYNCLR_FASHION_MNIST"], !p.isEmpty { return URL(fileURLWithPath: p) }
        return URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
    }

    /// The existing file of a split (`train` or `t10k`) and kind (`images-idx3`, `labels-idx1`), or
    /// nil with the path that was expected.
    public static func locate(root: URL, train: Bool, kind: String) -> (url: URL?, expected: URL) {
        let prefix = train ? "train" : "t10k"
        for name in ["\(prefix)-\(kind)-ubyte.gz", "\(prefix)-\(kind)-ubyte"] {
            let u = root.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: u.path) { return (u, u) }
        }
        return (nil, root.appendingPathComponent("\(prefix)-\(kind)-ubyte.gz"))
    }
}

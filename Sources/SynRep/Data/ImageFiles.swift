import Foundation
import SynTensor

/// Decodes an image file into a [C, H, W] buffer in [0, 1] with `channels` channels, resized
/// (bilinear, whole image) to size x size when `size` is given and differs.
public func loadImageBuffer(_ url: URL, channels: Int, size: Int? = nil) throws -> ImageBuffer {
    let img = try ImageIO.read(url).converted(toChannels: channels == 1 ? 1 : 3)
    let c = img.channels, h = img.height, w = img.width
    var px = [Float](repeating: 0, count: c * h * w)
    img.pixels.withUnsafeBufferPointer { s in
        px.withUnsafeMutableBufferPointer { d in
            for y in 0..<h {
                for x in 0..<w {
                    for ch in 0..<c { d[ch * h * w + y * w + x] = Float(s[(y * w + x) * c + ch]) / 255 }
                }
            }
        }
    }
    let buf = ImageBuffer(channels: c, height: h, width: w, pixels: px)
    if let size, size != h || size != w {
        return cropResize(buf, x: 0, y: 0, w: Float(w), h: Float(h), size: size)
    }
    return buf
}

/// Image files under a folder whose extension is a supported format.
func imageFiles(in dir: URL) -> [URL] {
    let exts: Set<String> = ["png", "jpg", "jpeg"]
    guard let items = try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil) else { return [] }
    return items.filter { exts.contains($0.pathExtension.lowercased()) }.sorted { $0.path < $1.path }
}

/// An ImageFolder tree (root/class/*.png|jpg): labels are the sorted class folder indices and
/// every image is its own group. Images are decoded in parallel; a corrupt file is an error naming it.
public enum ImageFolder {
    /// Loads every image at `channels` channels, resized to `size` if given.
    public static func load(_ root: URL, channels: Int, size: Int?) throws -> ImageSet {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError.missing(path: root.path, hint: "Expected a folder of class folders (root/class/*.png).")
        }
        let classes = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: [.isDirectoryKey])
            .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var files: [URL] = [], labels: [Int] = []
        for (i, c) in classes.enumerated() {
            let f = imageFiles(in: c)
            files += f
            labels += Array(repeating: i, count: f.count)
        }
        guard !files.isEmpty else { throw DatasetError.empty(path: root.path) }
        // Links (class folders or files) must not lead out of the tree: a dataset folder names
        // exactly the files it contains, whatever links a downloaded archive brought along.
        let inside = root.resolvingSymlinksInPath().standardizedFileURL.path
        let prefix = inside.hasSuffix("/") ? inside : inside + "/"
        for f in files where !f.resolvingSymlinksInPath().standardizedFileURL.path.hasPrefix(prefix) {
            throw DatasetError.outsideFolder(path: f.path, folder: root.path)
        }
        let images = try decodeAll(files, channels: channels, size: size)
        return ImageSet(images: images, groups: Array(0..<files.count), labels: labels,
                        classNames: classes.map(\.lastPathComponent), sources: files.map(\.path))
    }
}

/// Decodes files in parallel, keeping order; the first failure is rethrown.
func decodeAll(_ files: [URL], channels: Int, size: Int?) throws -> [ImageBuffer] {
    let results = UnsafeMutableBufferPointer<Result<ImageBuffer, Error>?>.allocate(capacity: files.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    let box = UncheckedPointer(results.baseAddress!)
    Threading.concurrentPerform(files.count) { i in
        box.pointer[i] = Result { try loadImageBuffer(files[i], channels: channels, size: size) }
    }
    var out: [ImageBuffer] = []
    out.reserveCapacity(files.count)
    for i in 0..<files.count { out.append(try results[i]!.get()) }
    let s = out[0]
    if let bad = out.firstIndex(where: { $0.height != s.height || $0.width != s.width }) {
        throw DatasetError.inconsistentImages(path: files[bad].path,
                                              reason: "is \(out[bad].height)x\(out[bad].width), others are \(s.height)x\(s.width); pass a size")
    }
    return out
}

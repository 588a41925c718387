import Foundation
import SynTensor

/// Synthetic images listed by a manifest: groups are captions, labels are concepts.
public enum ImageManifest {
    /// Loads the images of `dir/manifest.jsonl` (decoded in parallel).
    public static func load(_ dir: URL, channels: Int, size: Int?) throws -> ImageSet {
        let list = try ManifestFile.read(dir)
        guard !list.isEmpty else { throw DatasetError.empty(path: ManifestFile.url(in: dir).path) }
        var groupOf: [String: Int] = [:]
        let concepts = Array(Set(list.compactMap(\.concept))).sorted()
        let conceptIndex = Dictionary(uniqueKeysWithValues: concepts.enumerated().map { ($1, $0) })
        var groups: [Int] = [], labels: [Int] = []
        for e in list {
            let id = e.captionID.description
            if groupOf[id] == nil { groupOf[id] = groupOf.count }
            groups.append(groupOf[id]!)
            labels.append(e.concept.flatMap { conceptIndex[$0] } ?? -1)
        }
        let files = list.map { dir.appendingPathComponent($0.path) }
        let images = try decodeAll(files, channels: channels, size: size)
        return ImageSet(images: images, groups: groups, labels: labels, classNames: concepts, sources: files.map(\.path))
    }
}

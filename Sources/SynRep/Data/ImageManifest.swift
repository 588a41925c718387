import Foundation
import SynTensor

/// Synthetic images listed by a manifest: groups are captions, labels are concepts.
public enum ImageManifest {
    /// Loads the images of `dir/manifest.jsonl` (decoded in parallel), only its first `limit` lines when given.
    public static func load(_ dir: URL, channels: Int, size: Int?, limit: Int? = nil) throws -> ImageSet {
        try ParameterError.require((limit ?? 0) >= 0, "limit", limit ?? 0, allowed: ">= 0")
        let all = try ManifestFile.read(dir)
        let list = limit.map { Array(all.prefix($0)) } ?? all
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

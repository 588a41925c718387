import Foundation
import SynTensor

/// One line of `images/manifest.jsonl` as written by `synclr images`.
public struct ManifestEntry: Codable, Sendable, Hashable {
    /// Image path relative to the manifest's folder.
    public var path: String
    /// Caption id (images of one caption are positives of each other).
    public var captionID: String
    /// The caption text.
    public var caption: String
    /// Index of the image among its caption's images.
    public var index: Int
    /// Seed the image was generated with.
    public var seed: UInt64
    /// Guidance scale.
    public var guidance: Float
    /// Sampler steps.
    public var steps: Int
    /// Generator model.
    public var model: String
    /// Concept the caption was written for, when known (labels for the supervised objective).
    public var concept: String?

    enum CodingKeys: String, CodingKey {
        case path, captionID = "caption_id", caption, index, seed, guidance, steps, model, concept
    }

    /// Decodes a line; `caption_id` may be a JSON string or number (caption files use either).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        if let s = try? c.decode(String.self, forKey: .captionID) {
            captionID = s
        } else {
            captionID = String(try c.decode(Int64.self, forKey: .captionID))
        }
        caption = try c.decode(String.self, forKey: .caption)
        index = try c.decode(Int.self, forKey: .index)
        seed = try c.decode(UInt64.self, forKey: .seed)
        guidance = try c.decode(Float.self, forKey: .guidance)
        steps = try c.decode(Int.self, forKey: .steps)
        model = try c.decode(String.self, forKey: .model)
        concept = try c.decodeIfPresent(String.self, forKey: .concept)
    }

    /// A manifest entry.
    public init(path: String, captionID: String, caption: String, index: Int, seed: UInt64, guidance: Float, steps: Int,
                model: String, concept: String? = nil) {
        self.path = path
        self.captionID = captionID
        self.caption = caption
        self.index = index
        self.seed = seed
        self.guidance = guidance
        self.steps = steps
        self.model = model
        self.concept = concept
    }
}

/// Synthetic images listed by a manifest: groups are captions, labels are concepts.
public enum ImageManifest {
    /// Parses every line of `DIR/manifest.jsonl` (a malformed line is an error naming file and line).
    public static func entries(_ manifest: URL) throws -> [ManifestEntry] {
        guard let data = FileManager.default.contents(atPath: manifest.path) else {
            throw DatasetError.missing(path: manifest.path, hint: "Run `synclr images` to create it.")
        }
        var out: [ManifestEntry] = []
        let dec = JSONDecoder()
        for (i, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            do { out.append(try dec.decode(ManifestEntry.self, from: Data(line))) } catch {
                throw DatasetError.badManifestLine(path: manifest.path, line: i + 1, reason: "not a manifest record (\(error))")
            }
        }
        return out
    }

    /// Loads the images of `dir/manifest.jsonl` (decoded in parallel).
    public static func load(_ dir: URL, channels: Int, size: Int?) throws -> ImageSet {
        let manifest = dir.appendingPathComponent("manifest.jsonl")
        let list = try entries(manifest)
        guard !list.isEmpty else { throw DatasetError.empty(path: manifest.path) }
        var groupOf: [String: Int] = [:]
        let concepts = Array(Set(list.compactMap(\.concept))).sorted()
        let conceptIndex = Dictionary(uniqueKeysWithValues: concepts.enumerated().map { ($1, $0) })
        var groups: [Int] = [], labels: [Int] = []
        for e in list {
            if groupOf[e.captionID] == nil { groupOf[e.captionID] = groupOf.count }
            groups.append(groupOf[e.captionID]!)
            labels.append(e.concept.flatMap { conceptIndex[$0] } ?? -1)
        }
        let files = list.map { dir.appendingPathComponent($0.path) }
        let images = try decodeAll(files, channels: channels, size: size)
        return ImageSet(images: images, groups: groups, labels: labels, classNames: concepts, sources: files.map(\.path))
    }
}

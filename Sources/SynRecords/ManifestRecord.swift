import Foundation
import SynTensor

/// One line of `images/manifest.jsonl`, the file between the image stage (SynDiffusion writes it)
/// and its readers (training data, the contact sheet, the generation evaluation). Images of one
/// caption are positives of each other.
public struct ManifestRecord: Sendable, Hashable, Codable {
    /// The format this release writes (`format_version`; manifests of earlier releases have none and read as version 0).
    public static let formatVersion = 1

    /// Image path relative to the manifest's folder (never absolute, never through `..`).
    public var path: String
    /// Id of the caption the image was rendered from.
    public var captionID: CaptionID
    /// The caption text.
    public var caption: String
    /// Index of the image among its caption's images.
    public var index: Int
    /// Seed the image was rendered with.
    public var seed: UInt64
    /// Classifier-free guidance scale.
    public var guidance: Float
    /// Guidance rescale weight, when not 0.
    public var guidanceRescale: Float?
    /// Training timesteps where guidance applied, when not all.
    public var guidanceInterval: ClosedRange<Float>?
    /// Dynamic thresholding (quantile, maximum), when used.
    public var dynamicThreshold: [Float]?
    /// Sampler steps.
    public var steps: Int
    /// Generator model name.
    public var model: String
    /// Concept the caption was written for, when known (labels for the supervised objective and the evaluation).
    public var concept: String?

    /// A record.
    public init(path: String, captionID: CaptionID, caption: String, index: Int, seed: UInt64, guidance: Float,
                guidanceRescale: Float? = nil, guidanceInterval: ClosedRange<Float>? = nil, dynamicThreshold: [Float]? = nil,
                steps: Int, model: String, concept: String? = nil) {
        self.path = path
        self.captionID = captionID
        self.caption = caption
        self.index = index
        self.seed = seed
        self.guidance = guidance
        self.guidanceRescale = guidanceRescale
        self.guidanceInterval = guidanceInterval
        self.dynamicThreshold = dynamicThreshold
        self.steps = steps
        self.model = model
        self.concept = concept
    }

    enum CodingKeys: String, CodingKey {
        case path, captionID = "caption_id", caption, index, seed, guidance, guidanceRescale = "guidance_rescale"
        case guidanceInterval = "guidance_interval", dynamicThreshold = "dynamic_threshold", steps, model, concept
        case formatVersion = "format_version"
    }

    /// The JSON object on one line without a newline, fields in a fixed order (optional ones only
    /// when set), then `format_version`. This is the only writer of manifest lines.
    public var jsonLine: String {
        var s = "{\"path\":" + JSONText.quote(path, style: .serde)
        s += ",\"caption_id\":" + captionID.json
        s += ",\"caption\":" + JSONText.quote(caption, style: .serde)
        s += ",\"index\":\(index)"
        s += ",\"seed\":\(seed)"
        s += ",\"guidance\":\(guidance)"
        if let r = guidanceRescale { s += ",\"guidance_rescale\":\(r)" }
        if let i = guidanceInterval { s += ",\"guidance_interval\":[\(i.lowerBound),\(i.upperBound)]" }
        if let t = dynamicThreshold { s += ",\"dynamic_threshold\":[" + t.map { "\($0)" }.joined(separator: ",") + "]" }
        s += ",\"steps\":\(steps)"
        s += ",\"model\":" + JSONText.quote(model, style: .serde)
        if let c = concept { s += ",\"concept\":" + JSONText.quote(c, style: .serde) }
        return s + ",\"format_version\":\(Self.formatVersion)}"
    }

    /// Decodes a line (`caption_id` a number or a string; `format_version` absent in earlier releases).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try JSONLines.checkVersion(try? c.decodeIfPresent(Int.self, forKey: .formatVersion), current: Self.formatVersion)
        path = try c.decode(String.self, forKey: .path)
        captionID = try c.decode(CaptionID.self, forKey: .captionID)
        caption = try c.decode(String.self, forKey: .caption)
        index = try c.decode(Int.self, forKey: .index)
        seed = try c.decode(UInt64.self, forKey: .seed)
        guidance = try c.decode(Float.self, forKey: .guidance)
        guidanceRescale = try c.decodeIfPresent(Float.self, forKey: .guidanceRescale)
        if let v = try c.decodeIfPresent([Float].self, forKey: .guidanceInterval) {
            guard v.count == 2, v[0] <= v[1] else { throw RecordError.field("\"guidance_interval\" must be [lo, hi] with lo <= hi") }
            guidanceInterval = v[0]...v[1]
        }
        dynamicThreshold = try c.decodeIfPresent([Float].self, forKey: .dynamicThreshold)
        steps = try c.decode(Int.self, forKey: .steps)
        model = try c.decode(String.self, forKey: .model)
        concept = try c.decodeIfPresent(String.self, forKey: .concept)
    }

    /// Encodes the same fields as `jsonLine`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(captionID, forKey: .captionID)
        try c.encode(caption, forKey: .caption)
        try c.encode(index, forKey: .index)
        try c.encode(seed, forKey: .seed)
        try c.encode(guidance, forKey: .guidance)
        try c.encodeIfPresent(guidanceRescale, forKey: .guidanceRescale)
        try c.encodeIfPresent(guidanceInterval.map { [$0.lowerBound, $0.upperBound] }, forKey: .guidanceInterval)
        try c.encodeIfPresent(dynamicThreshold, forKey: .dynamicThreshold)
        try c.encode(steps, forKey: .steps)
        try c.encode(model, forKey: .model)
        try c.encodeIfPresent(concept, forKey: .concept)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
    }
}

/// `DIR/manifest.jsonl`: the one reader and writer of image manifests.
public enum ManifestFile {
    /// The manifest of the image folder `directory`.
    public static func url(in directory: URL) -> URL { directory.appendingPathComponent("manifest.jsonl") }

    /// Every record of `directory/manifest.jsonl` in file order. Throws `RecordError` naming the
    /// file and line on a malformed line, a newer `format_version`, or a `path` that is absolute or
    /// goes through `..` (an image must stay inside the folder).
    public static func read(_ directory: URL) throws -> [ManifestRecord] {
        let url = url(in: directory)
        var out: [ManifestRecord] = []
        let decoder = JSONDecoder()
        for (number, line) in try JSONLines.read(url, what: "the manifest of an image folder, written by the image stage") {
            let record: ManifestRecord
            do { record = try decoder.decode(ManifestRecord.self, from: line) } catch let e as RecordError {
                throw RecordError.malformedLine(path: url.path, line: number, reason: e.description)
            } catch DecodingError.dataCorrupted(let ctx) where ctx.codingPath.isEmpty {
                throw RecordError.malformedLine(path: url.path, line: number, reason: "not a JSON object")
            } catch {
                throw RecordError.malformedLine(path: url.path, line: number, reason: "not a manifest record (\(Self.reason(error)))")
            }
            if let problem = unsafe(record.path) {
                throw RecordError.malformedLine(path: url.path, line: number, reason: "image path '\(record.path)' \(problem)")
            }
            out.append(record)
        }
        return out
    }

    /// Why `path` could leave the image folder, or nil when it stays inside.
    static func unsafe(_ path: String) -> String? {
        if path.isEmpty { return "is empty" }
        if path.hasPrefix("/") { return "is absolute; manifest paths are relative to the manifest's folder" }
        if path.split(separator: "/", omittingEmptySubsequences: false).contains("..") { return "goes through '..' and would leave the image folder" }
        if path.contains("\0") { return "contains a NUL character" }
        return nil
    }

    /// A short reason from a decoding error.
    static func reason(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case let .keyNotFound(key, _): return "missing field \"\(key.stringValue)\""
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx), let .dataCorrupted(ctx):
            return "bad value for \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\""
        @unknown default: return "\(e)"
        }
    }

    /// The file's text for `records` (one `jsonLine` per record, each ending in a newline).
    public static func text(_ records: [ManifestRecord]) -> String {
        records.map { $0.jsonLine + "\n" }.joined()
    }

    /// Writes `records` as `directory/manifest.jsonl` atomically.
    public static func write(_ records: [ManifestRecord], in directory: URL) throws {
        try Data(text(records).utf8).write(to: url(in: directory), options: .atomic)
    }
}

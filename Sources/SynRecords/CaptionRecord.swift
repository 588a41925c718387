import Foundation
import SynTensor

/// One line of `captions.jsonl`, the file between the caption stage (SynCaption writes it) and the
/// image stage (SynDiffusion reads it). `id` and `caption` are what every reader needs; the other
/// fields are written by SynCaption and optional in hand-made files.
public struct CaptionRecord: Sendable, Hashable, Codable {
    /// The format this release writes (`format_version`; files of earlier releases have none and read as version 0).
    public static let formatVersion = 1

    /// The caption's id (when a line has none, its 0-based position among the file's captions).
    public var id: CaptionID
    /// The caption.
    public var caption: String
    /// The concept it was written for.
    public var concept: String?
    /// Name of the concept list.
    public var source: String?
    /// How it was asked for.
    public var mode: CaptionMode?
    /// The background (background mode).
    public var background: String?
    /// The relation word (relation mode).
    public var relation: String?
    /// The generator's name (e.g. `template (no language model)` or `openai:MODEL`).
    public var generator: String?
    /// The per-caption sampling seed.
    public var seed: UInt64?

    /// A record.
    public init(id: CaptionID, caption: String, concept: String? = nil, source: String? = nil, mode: CaptionMode? = nil,
                background: String? = nil, relation: String? = nil, generator: String? = nil, seed: UInt64? = nil) {
        self.id = id
        self.caption = caption
        self.concept = concept
        self.source = source
        self.mode = mode
        self.background = background
        self.relation = relation
        self.generator = generator
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case id, caption, concept, source, mode, background, relation, generator, seed
        case formatVersion = "format_version"
    }

    /// The JSON object on one line without a newline: every field in the documented order (absent
    /// ones as null), then `format_version`. This is the only writer of captions lines.
    public var jsonLine: String {
        func text(_ s: String?) -> String { s.map { JSONText.quote($0, style: .lineSafe) } ?? "null" }
        return "{\"id\":\(idJSON),\"caption\":\(text(caption)),\"concept\":\(text(concept)),"
            + "\"source\":\(text(source)),\"mode\":\(text(mode?.rawValue)),"
            + "\"background\":\(text(background)),\"relation\":\(text(relation)),"
            + "\"generator\":\(text(generator)),\"seed\":\(seed.map { String($0) } ?? "null"),"
            + "\"format_version\":\(Self.formatVersion)}"
    }

    private var idJSON: String {
        switch id {
        case .number(let n): return String(n)
        case .text(let s): return JSONText.quote(s, style: .lineSafe)
        }
    }

    /// Parses one line (a line without `id` is an error here; `CaptionsFile.read` numbers such lines).
    public static func parse(_ line: Data) throws -> CaptionRecord {
        try JSONDecoder().decode(CaptionRecord.self, from: line)
    }

    /// Decodes a line. Missing optional fields and nulls read as nil; a missing `id` takes the
    /// decoder's `CaptionRecord.defaultID` user-info value when set.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try JSONLines.checkVersion(try? c.decodeIfPresent(Int.self, forKey: .formatVersion), current: Self.formatVersion)
        guard let caption = try? c.decode(String.self, forKey: .caption) else {
            throw RecordError.field("missing string field \"caption\"")
        }
        self.caption = caption
        if try c.contains(.id) && !c.decodeNil(forKey: .id) {
            do { id = try c.decode(CaptionID.self, forKey: .id) } catch {
                throw RecordError.field("\"id\" must be an integer or a string")
            }
        } else if let fallback = decoder.userInfo[Self.defaultID] as? CaptionID {
            id = fallback
        } else {
            throw RecordError.field("missing field \"id\"")
        }
        func string(_ key: CodingKeys) throws -> String? {
            guard try c.contains(key) && !c.decodeNil(forKey: key) else { return nil }
            guard let s = try? c.decode(String.self, forKey: key) else { throw RecordError.field("\"\(key.rawValue)\" must be a string") }
            return s
        }
        concept = try string(.concept)
        source = try string(.source)
        if let m = try string(.mode) {
            guard let mode = CaptionMode(rawValue: m) else { throw RecordError.field("\"mode\" must be concept, background or relation, got '\(m)'") }
            self.mode = mode
        }
        background = try string(.background)
        relation = try string(.relation)
        generator = try string(.generator)
        if try c.contains(.seed) && !c.decodeNil(forKey: .seed) {
            guard let s = try? c.decode(UInt64.self, forKey: .seed) else { throw RecordError.field("\"seed\" must be a non-negative integer") }
            seed = s
        }
    }

    /// Encodes the same fields as `jsonLine` (for embedding a record in other JSON).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(caption, forKey: .caption)
        try c.encode(concept, forKey: .concept)
        try c.encode(source, forKey: .source)
        try c.encode(mode, forKey: .mode)
        try c.encode(background, forKey: .background)
        try c.encode(relation, forKey: .relation)
        try c.encode(generator, forKey: .generator)
        try c.encode(seed, forKey: .seed)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
    }

    /// User-info key of the id a line without `id` gets.
    public static let defaultID = CodingUserInfoKey(rawValue: "synclr.caption.defaultID")!
}

/// `captions.jsonl`: the one reader and writer of caption files.
public enum CaptionsFile {
    /// All records of `url` in file order; blank lines are skipped, a line without `id` gets its
    /// 0-based position among the captions. Throws `RecordError` naming the file and line on a
    /// malformed line, a missing caption, a repeated id or a newer `format_version`.
    public static func read(_ url: URL) throws -> [CaptionRecord] {
        var records: [CaptionRecord] = []
        var seen = Set<CaptionID>()
        let decoder = JSONDecoder()
        for (number, line) in try JSONLines.read(url, what: "a captions JSONL file, e.g. from the caption stage") {
            decoder.userInfo[CaptionRecord.defaultID] = CaptionID.number(records.count)
            let record: CaptionRecord
            do { record = try decoder.decode(CaptionRecord.self, from: line) } catch let e as RecordError {
                throw RecordError.malformedLine(path: url.path, line: number, reason: e.description)
            } catch {
                throw RecordError.malformedLine(path: url.path, line: number, reason: "not a valid JSON object")
            }
            guard seen.insert(record.id).inserted else {
                throw RecordError.malformedLine(path: url.path, line: number, reason: "id \(record.id) appears more than once")
            }
            records.append(record)
        }
        return records
    }

    /// The file's text for `records` (one `jsonLine` per record, each ending in a newline).
    public static func text(_ records: [CaptionRecord]) -> String {
        records.map { $0.jsonLine + "\n" }.joined()
    }

    /// Writes `records` to `url` atomically.
    public static func write(_ records: [CaptionRecord], to url: URL) throws {
        try Data(text(records).utf8).write(to: url, options: .atomic)
    }
}

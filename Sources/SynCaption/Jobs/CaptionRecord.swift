import Foundation

/// One JSONL output line.
public struct CaptionRecord: Sendable, Hashable, Codable {
    /// 0-based position of the caption in the output file.
    public var id: Int
    /// The caption.
    public var caption: String
    /// The concept it was asked for.
    public var concept: String
    /// Name of the concept list.
    public var source: String
    /// `concept`, `background` or `relation`.
    public var mode: CaptionMode
    /// The background (background mode), else nil.
    public var background: String?
    /// The relation word (relation mode), else nil.
    public var relation: String?
    /// The generator's name (e.g. `template (no language model)` or `openai:MODEL`).
    public var generator: String
    /// The per-caption sampling seed.
    public var seed: UInt64

    /// A record.
    public init(id: Int, caption: String, concept: String, source: String, mode: CaptionMode,
                background: String?, relation: String?, generator: String, seed: UInt64) {
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

    /// The JSON object on one line, fields in the documented order, without a newline.
    public var jsonLine: String {
        "{\"id\":\(id),\"caption\":\(JSONText.quote(caption)),\"concept\":\(JSONText.quote(concept)),"
            + "\"source\":\(JSONText.quote(source)),\"mode\":\"\(mode.rawValue)\","
            + "\"background\":\(JSONText.quoteOrNull(background)),\"relation\":\(JSONText.quoteOrNull(relation)),"
            + "\"generator\":\(JSONText.quote(generator)),\"seed\":\(seed)}"
    }

    /// Parses one JSONL line.
    public static func parse(_ line: Data) throws -> CaptionRecord {
        try JSONDecoder().decode(CaptionRecord.self, from: line)
    }
}

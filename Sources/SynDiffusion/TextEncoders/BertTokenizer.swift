import Foundation
import SynTensor

/// BERT's WordPiece tokenizer: basic splitting then greedy longest-match subwords, with [CLS]/[SEP].
///
/// Reference: BERT (Devlin et al., 2019, section 3) and WordPiece as in HF `BertTokenizer`
/// (tokenizers' `BertNormalizer` + `BertPreTokenizer` + `WordPiece`, what `AutoTokenizer` and
/// sentence-transformers run; `transformers`' Python `BertTokenizerLegacy` differs only in applying
/// the final-sigma rule and dropping unassigned code points). Steps, on Unicode scalars:
/// 1. special-token text (`[MASK]`, `[CLS]`, ... exactly as written) is matched in the raw text first;
/// 2. clean: drop NUL, U+FFFD and categories Cc/Cf/Co/Cs (except tab/newline/CR), White_Space -> ' ';
/// 3. pad CJK ideographs with spaces; 4. if `stripAccents`: NFD and drop Mn; if `lowercase`:
///    per-scalar lowercase mapping; 5. split on whitespace and isolate punctuation (ASCII
///    punctuation or category P*); 6. WordPiece each word (`##` continuation, [UNK] for a word
///    longer than `maxInputCharsPerWord` scalars or with no full segmentation).
public struct BertTokenizer: Sendable {
    /// Token string -> id (line number in vocab.txt).
    public let vocabulary: [String: Int]
    /// Id -> token string.
    public let tokens: [String]
    /// Lowercase the text (`do_lower_case`).
    public let lowercase: Bool
    /// Strip accents (NFD, drop Mn); HF's `strip_accents: null` means "same as lowercase".
    public let stripAccents: Bool
    /// Put spaces around CJK ideographs (`tokenize_chinese_chars`).
    public let splitCJK: Bool
    /// Longest word (in scalars) WordPiece tries to split; longer words become [UNK].
    public let maxInputCharsPerWord: Int
    /// Sequence length cap including [CLS] and [SEP].
    public private(set) var maxLength: Int
    /// Ids of the special tokens.
    public let clsID: Int, sepID: Int, padID: Int, unkID: Int
    /// Special-token strings matched verbatim in the raw text, longest first.
    private let specials: [(scalars: [Unicode.Scalar], id: Int)]
    /// First scalars of the special tokens (fast rejection).
    private let specialStarts: Set<Unicode.Scalar>

    /// A tokenizer over `vocabulary` (one token per entry, id = index), HF BertTokenizer defaults.
    public init(vocabulary list: [String], lowercase: Bool = true, stripAccents: Bool? = nil, splitCJK: Bool = true,
                maxLength: Int = 512, maxInputCharsPerWord: Int = 100,
                specialTokens: (cls: String, sep: String, pad: String, unk: String, mask: String) =
                    ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")) throws {
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(list.count)
        for (i, t) in list.enumerated() { vocab[t] = i }  // a repeated token keeps its last id, as HF
        func id(_ t: String) throws -> Int {
            guard let i = vocab[t] else { throw TextEncoderError.invalidVocabulary("special token \(t) is not in the vocabulary") }
            return i
        }
        guard maxLength >= 2 else { throw TextEncoderError.invalidConfiguration("maxLength \(maxLength) leaves no room for [CLS] and [SEP]") }
        vocabulary = vocab
        tokens = list
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.splitCJK = splitCJK
        self.maxLength = maxLength
        self.maxInputCharsPerWord = maxInputCharsPerWord
        clsID = try id(specialTokens.cls)
        sepID = try id(specialTokens.sep)
        padID = try id(specialTokens.pad)
        unkID = try id(specialTokens.unk)
        let names = [specialTokens.cls, specialTokens.sep, specialTokens.pad, specialTokens.unk, specialTokens.mask]
        var sp: [(scalars: [Unicode.Scalar], id: Int)] = []
        for n in Set(names) where !n.isEmpty { if let i = vocab[n] { sp.append((Array(n.unicodeScalars), i)) } }
        specials = sp.sorted { $0.scalars.count > $1.scalars.count }
        specialStarts = Set(sp.compactMap { $0.scalars.first })
    }

    /// Reads `vocab.txt` and `tokenizer_config.json` (if present) from a model folder.
    /// `maxLength` defaults to sentence-transformers' `max_seq_length` (sentence_bert_config.json),
    /// else `model_max_length`, else 512.
    public init(directory: URL, maxLength: Int? = nil) throws {
        let vocabURL = directory.appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: vocabURL.path) else { throw TextEncoderError.missingFile(vocabURL.path) }
        let text = try String(contentsOf: vocabURL, encoding: .utf8)
        var list = text.components(separatedBy: "\n")
        if list.last == "" { list.removeLast() }
        list = list.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }

        let config = try Self.readJSON(directory.appendingPathComponent("tokenizer_config.json")) ?? [:]
        let st = try Self.readJSON(directory.appendingPathComponent("sentence_bert_config.json")) ?? [:]
        func token(_ key: String, _ fallback: String) -> String {
            if let s = config[key] as? String { return s }
            if let d = config[key] as? [String: Any], let s = d["content"] as? String { return s }
            return fallback
        }
        let lower = config["do_lower_case"] as? Bool ?? true
        let length = maxLength ?? (st["max_seq_length"] as? Int) ?? (config["model_max_length"] as? Int).flatMap { $0 <= 1 << 20 ? $0 : nil } ?? 512
        try self.init(vocabulary: list, lowercase: lower, stripAccents: config["strip_accents"] as? Bool,
                      splitCJK: config["tokenize_chinese_chars"] as? Bool ?? true, maxLength: length,
                      specialTokens: (token("cls_token", "[CLS]"), token("sep_token", "[SEP]"), token("pad_token", "[PAD]"),
                                      token("unk_token", "[UNK]"), token("mask_token", "[MASK]")))
    }

    private static func readJSON(_ url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw TextEncoderError.invalidConfiguration("\(url.path) is not a JSON object")
        }
        return obj
    }

    /// Same tokenizer with another length cap (at least 2).
    public func withMaxLength(_ n: Int) throws -> BertTokenizer {
        guard n >= 2 else { throw TextEncoderError.invalidConfiguration("maxLength \(n) leaves no room for [CLS] and [SEP]") }
        var t = self
        t.maxLength = n
        return t
    }

    /// Ids of `text` without special tokens and without truncation.
    public func tokenIDs(_ text: String) -> [Int] {
        var out: [Int] = []
        let scalars = Array(text.unicodeScalars)
        var start = 0, i = 0
        while i < scalars.count {
            if let (len, id) = special(at: i, in: scalars) {
                wordpieceSegment(scalars[start..<i], into: &out)
                out.append(id)
                i += len
                start = i
            } else {
                i += 1
            }
        }
        wordpieceSegment(scalars[start..<scalars.count], into: &out)
        return out
    }

    /// Token strings of `text` (no special tokens added), for inspection.
    public func tokenize(_ text: String) -> [String] { tokenIDs(text).map { tokens[$0] } }

    /// [CLS] ids [SEP], the ids truncated so the whole fits `maxLength` (default: the tokenizer's).
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        let cap = maxLength ?? self.maxLength
        precondition(cap >= 2, "maxLength \(cap) leaves no room for [CLS] and [SEP]")
        let ids = tokenIDs(text)
        return [clsID] + ids.prefix(cap - 2) + [sepID]
    }

    /// Encodes a batch padded with [PAD] to its longest member (HF `padding=True, truncation=True`).
    public func encodeBatch(_ texts: [String], maxLength: Int? = nil) -> TokenBatch {
        TokenBatch(sequences: texts.map { encode($0, maxLength: maxLength) }, padID: padID)
    }

    // MARK: - Pipeline

    /// The special token starting at `i`, if any (longest match).
    private func special(at i: Int, in s: [Unicode.Scalar]) -> (Int, Int)? {
        guard specialStarts.contains(s[i]) else { return nil }
        for sp in specials where i + sp.scalars.count <= s.count {
            var ok = true
            for (k, c) in sp.scalars.enumerated() where s[i + k] != c { ok = false; break }
            if ok { return (sp.scalars.count, sp.id) }
        }
        return nil
    }

    /// Normalizes, pre-tokenizes and WordPieces one special-token-free stretch of text.
    private func wordpieceSegment(_ raw: ArraySlice<Unicode.Scalar>, into out: inout [Int]) {
        if raw.isEmpty { return }
        // Clean and space out CJK ideographs.
        var text: [Unicode.Scalar] = []
        text.reserveCapacity(raw.count)
        var ascii = true
        for c in raw {
            let v = c.value
            if v == 0 || v == 0xFFFD || isControl(c) { continue }
            if isWhitespace(c) { text.append(" "); continue }
            if v >= 0x80 { ascii = false }
            if splitCJK && isCJK(v) {
                text.append(" "); text.append(c); text.append(" ")
            } else {
                text.append(c)
            }
        }
        if stripAccents && !ascii {
            let nfd = String(String.UnicodeScalarView(text)).decomposedStringWithCanonicalMapping
            text = nfd.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(text.count)
            for c in text {
                if c.value < 0x80 {
                    lowered.append(c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c)
                } else {
                    lowered.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
                }
            }
            text = lowered
        }
        // Split on whitespace, isolating punctuation.
        var word: [Unicode.Scalar] = []
        for c in text {
            if isWhitespace(c) {
                wordpiece(word, into: &out); word.removeAll(keepingCapacity: true)
            } else if isPunctuation(c) {
                wordpiece(word, into: &out); word.removeAll(keepingCapacity: true)
                wordpiece([c], into: &out)
            } else {
                word.append(c)
            }
        }
        wordpiece(word, into: &out)
    }

    /// Greedy longest-match-first WordPiece of one word.
    private func wordpiece(_ word: [Unicode.Scalar], into out: inout [Int]) {
        if word.isEmpty { return }
        if word.count > maxInputCharsPerWord { out.append(unkID); return }
        let mark = out.count
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int? = nil
            while start < end {
                var piece = start > 0 ? "##" : ""
                piece.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else {
                out.removeSubrange(mark...)
                out.append(unkID)
                return
            }
            out.append(id)
            start = end
        }
    }

    private func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse: return true
        default: return false
        }
    }

    private func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c == " " || c == "\t" || c == "\n" || c == "\r" { return true }
        return c.value >= 0x80 && c.properties.isWhitespace
    }

    private func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        if v < 0x80 { return false }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    private func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

/// A padded batch of token ids: row-major [batch, length] ids and 0/1 mask.
public struct TokenBatch: Sendable, Equatable {
    /// Token ids [batch * length], [PAD] after each sequence.
    public let ids: [Int]
    /// 1 for real tokens, 0 for padding [batch * length].
    public let mask: [Float]
    /// Real length of each sequence (with [CLS] and [SEP]).
    public let lengths: [Int]
    /// Number of sequences B.
    public let batch: Int
    /// Padded length L.
    public let length: Int

    /// Right-pads `sequences` with `padID` to the longest one.
    public init(sequences: [[Int]], padID: Int) {
        let L = sequences.map(\.count).max() ?? 0
        var ids = [Int](repeating: padID, count: sequences.count * L)
        var mask = [Float](repeating: 0, count: sequences.count * L)
        for (b, s) in sequences.enumerated() {
            for (j, t) in s.enumerated() {
                ids[b * L + j] = t
                mask[b * L + j] = 1
            }
        }
        self.init(ids: ids, mask: mask, lengths: sequences.map(\.count), batch: sequences.count, length: L)
    }

    init(ids: [Int], mask: [Float], lengths: [Int], batch: Int, length: Int) {
        self.ids = ids
        self.mask = mask
        self.lengths = lengths
        self.batch = batch
        self.length = length
    }
}

/// Errors from loading or running a text encoder.
public enum TextEncoderError: Error, CustomStringConvertible, Equatable {
    /// A model file is absent; the message says how to install it.
    case missingFile(String)
    /// vocab.txt lacks a required token.
    case invalidVocabulary(String)
    /// A config value is unusable.
    case invalidConfiguration(String)

    /// Message naming the file or value and the fix.
    public var description: String {
        switch self {
        case let .missingFile(path):
            return "text encoder file not found: \(path). Install the models with Scripts/setup/install_models.sh (or `make setup`); "
                + "set SYNCLR_HOME if they live elsewhere."
        case let .invalidVocabulary(m): return "invalid vocabulary: \(m)"
        case let .invalidConfiguration(m): return "invalid text encoder configuration: \(m)"
        }
    }
}

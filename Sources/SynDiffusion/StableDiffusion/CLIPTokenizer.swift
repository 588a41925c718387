import Foundation
import SynTensor

/// CLIP's byte-level BPE tokenizer as transformers' `CLIPTokenizer` (tokenizers backend) runs it,
/// which is what Stable Diffusion pipelines use. Steps:
/// 1. the special tokens' text (start, end, unknown and pad token, e.g. SD 2.x's "!") is matched
///    verbatim in the raw text, longest first, and becomes that token;
/// 2. every other stretch is normalized: NFC, each run of whitespace -> one space, lower-cased;
/// 3. pre-tokenized with CLIP's pattern `'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`
///    (leftmost alternative first; whitespace between matches is dropped);
/// 4. each piece's UTF-8 bytes are mapped to the GPT-2 byte alphabet, `</w>` marks its last
///    symbol, and BPE merges are applied lowest rank first;
/// 5. sequences are framed by the start and end tokens, truncated and padded to `maxLength` (77).
///
/// Reference: Radford et al. 2021 (CLIP, section 2.4: "lower-cased byte pair encoding ... 49,152
/// vocab size ... bracketed with [SOS] and [EOS]"); Sennrich et al. 2016 (BPE).
public struct CLIPTokenizer: Sendable {
    /// Token -> id.
    public let vocabulary: [String: Int]
    /// Merge rank of each symbol pair (lower merges first).
    let ranks: [SymbolPair: Int]
    /// Start, end, pad and unknown token ids.
    public let bosID: Int, eosID: Int, padID: Int, unkID: Int
    /// Sequence length after padding / truncation (CLIP's 77 positions).
    public let maxLength: Int
    /// Special-token strings matched verbatim in the raw text, longest first.
    private let specials: [(scalars: [Unicode.Scalar], id: Int)]

    struct SymbolPair: Hashable, Sendable {
        let a: String, b: String
    }

    /// A tokenizer over `vocabulary` and ranked `merges`; the special tokens must be in the vocabulary.
    public init(vocabulary: [String: Int], merges: [(String, String)], bos: String = "<|startoftext|>",
                eos: String = "<|endoftext|>", pad: String = "<|endoftext|>", unk: String = "<|endoftext|>",
                maxLength: Int = 77) throws {
        func id(_ t: String, _ role: String) throws -> Int {
            guard let i = vocabulary[t] else {
                throw TextEncoderError.invalidVocabulary("the \(role) token \(t.debugDescription) is not in the vocabulary")
            }
            return i
        }
        guard maxLength >= 2 else { throw TextEncoderError.invalidConfiguration("maxLength \(maxLength) leaves no room for the start and end tokens") }
        self.vocabulary = vocabulary
        var r: [SymbolPair: Int] = [:]
        r.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() where r[SymbolPair(a: m.0, b: m.1)] == nil { r[SymbolPair(a: m.0, b: m.1)] = i }
        ranks = r
        bosID = try id(bos, "start")
        eosID = try id(eos, "end")
        padID = try id(pad, "pad")
        unkID = try id(unk, "unknown")
        self.maxLength = maxLength
        var sp: [(scalars: [Unicode.Scalar], id: Int)] = []
        for (t, i) in [(bos, bosID), (eos, eosID), (pad, padID), (unk, unkID)] where !t.isEmpty && !sp.contains(where: { $0.id == i }) {
            sp.append((Array(t.unicodeScalars), i))
        }
        specials = sp.sorted { $0.scalars.count > $1.scalars.count }
    }

    /// Reads a tokenizer folder as Stable Diffusion ships it: `vocab.json`, `merges.txt` and the
    /// special tokens (and `model_max_length`) from `special_tokens_map.json` / `tokenizer_config.json`.
    public init(directory: URL) throws {
        let vocabURL = directory.appendingPathComponent("vocab.json"), mergesURL = directory.appendingPathComponent("merges.txt")
        for u in [vocabURL, mergesURL] where !FileManager.default.fileExists(atPath: u.path) {
            throw TextEncoderError.missingFile(u.path)
        }
        guard let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: vocabURL)) as? [String: Any] else {
            throw TextEncoderError.invalidVocabulary("\(vocabURL.path) is not a JSON object")
        }
        var vocab: [String: Int] = [:]
        for (k, v) in raw {
            guard let i = (v as? NSNumber)?.intValue else { throw TextEncoderError.invalidVocabulary("\(vocabURL.path): id of \(k.debugDescription) is not a number") }
            vocab[k] = i
        }
        let merges = try Self.parseMerges(String(contentsOf: mergesURL, encoding: .utf8), path: mergesURL.path)
        var special: [String: Any] = [:]
        for file in ["tokenizer_config.json", "special_tokens_map.json"] {
            let u = directory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: u.path) else { continue }
            guard let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: u)) as? [String: Any] else {
                throw TextEncoderError.invalidConfiguration("\(u.path) is not a JSON object")
            }
            special.merge(obj) { _, new in new }
        }
        func token(_ key: String, _ fallback: String) -> String {
            if let s = special[key] as? String { return s }
            if let o = special[key] as? [String: Any], let s = o["content"] as? String { return s }
            return fallback
        }
        var maxLength = 77
        if let m = (special["model_max_length"] as? NSNumber)?.intValue, m < 100_000 { maxLength = m }
        try self.init(vocabulary: vocab, merges: merges, bos: token("bos_token", "<|startoftext|>"),
                      eos: token("eos_token", "<|endoftext|>"), pad: token("pad_token", "<|endoftext|>"),
                      unk: token("unk_token", "<|endoftext|>"), maxLength: maxLength)
    }

    /// The vocabulary and merges of open_clip's `bpe_simple_vocab_16e6.txt.gz` (the 48,894 merges
    /// after its header line; tokens = 256 byte symbols, the same with `</w>`, every merge, then
    /// the start and end tokens: 49,408 ids, as CLIP's and Stable Diffusion's `vocab.json`).
    public static func openCLIPVocabulary(_ url: URL) throws -> (vocabulary: [String: Int], merges: [(String, String)]) {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TextEncoderError.missingFile(url.path) }
        let text = String(decoding: try Gzip.decompress(contentsOf: url), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let count = 49152 - 256 - 2
        guard lines.count > count else { throw TextEncoderError.invalidVocabulary("\(url.path) has \(lines.count) lines, expected more than \(count)") }
        let merges = try parseMerges(lines[1...count].joined(separator: "\n"), path: url.path)
        // bytes_to_unicode's order: the printable bytes, then the others, each by byte value.
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let order = printable + (0..<256).filter { !printable.contains($0) }
        let base = order.map { String(byteAlphabet[$0]) }
        var tokens = base + base.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var vocab: [String: Int] = [:]
        for (i, t) in tokens.enumerated() { vocab[t] = i }
        return (vocab, merges)
    }

    static func parseMerges(_ text: String, path: String) throws -> [(String, String)] {
        var out: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty || (n == 0 && l.hasPrefix("#version")) { continue }
            let parts = l.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TextEncoderError.invalidVocabulary("\(path): line \(n + 1) is not a merge pair: \(String(l).debugDescription)") }
            out.append((String(parts[0]), String(parts[1])))
        }
        return out
    }

    /// GPT-2's reversible byte -> printable character table: printable Latin-1 bytes map to
    /// themselves, the others to U+0100 onwards in byte order.
    static let byteAlphabet: [Character] = {
        var keep = Set<Int>()
        for r in [33...126, 161...172, 174...255] { for b in r { keep.insert(b) } }
        var table = [Character](repeating: " ", count: 256)
        var n = 0
        for b in 0..<256 {
            if keep.contains(b) {
                table[b] = Character(Unicode.Scalar(UInt8(b)))
            } else {
                table[b] = Character(Unicode.Scalar(UInt32(256 + n))!)
                n += 1
            }
        }
        return table
    }()

    /// Token ids of `text` without start/end tokens.
    public func tokenize(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in splitSpecials(text) {
            switch segment {
            case let .special(id): ids.append(id)
            case let .text(s):
                for piece in Self.preTokenize(Self.normalize(s)) { ids += bpe(piece) }
            }
        }
        return ids
    }

    /// [start] + tokens + [end] (unpadded, untruncated).
    public func encode(_ text: String) -> [Int] { [bosID] + tokenize(text) + [eosID] }

    /// [start] + tokens (cut to maxLength - 2) + [end], padded with the pad token to `maxLength`.
    public func encodePadded(_ text: String) -> [Int] {
        let body = tokenize(text).prefix(maxLength - 2)
        let ids = [bosID] + body + [eosID]
        return ids + [Int](repeating: padID, count: maxLength - ids.count)
    }

    enum Segment { case special(Int), text(String) }

    private func splitSpecials(_ text: String) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        var out: [Segment] = []
        var current = String.UnicodeScalarView()
        var i = 0
        outer: while i < scalars.count {
            for s in specials where i + s.scalars.count <= scalars.count && scalars[i..<(i + s.scalars.count)].elementsEqual(s.scalars) {
                if !current.isEmpty { out.append(.text(String(current))); current = String.UnicodeScalarView() }
                out.append(.special(s.id))
                i += s.scalars.count
                continue outer
            }
            current.append(scalars[i])
            i += 1
        }
        if !current.isEmpty { out.append(.text(String(current))) }
        return out
    }

    /// NFC, whitespace runs -> " ", lower case (tokenizers' Unicode lower-casing).
    static func normalize(_ s: String) -> String {
        let nfc = s.precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var inSpace = false
        for u in nfc.unicodeScalars {
            if isSpace(u) {
                if !inSpace { out.append(" ") }
                inSpace = true
            } else {
                out.append(u)
                inSpace = false
            }
        }
        return String(out).lowercased()
    }

    static func isSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }

    static func isLetter(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// CLIP's pre-tokenization pattern applied leftmost-first, dropping unmatched whitespace.
    static func preTokenize(_ s: String) -> [String] {
        let u = Array(s.unicodeScalars)
        var out: [String] = []
        var i = 0
        let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }
        func emit(_ a: Int, _ b: Int) {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: u[a..<b])
            out.append(String(v))
        }
        scan: while i < u.count {
            let c = u[i]
            if c == "'" {
                for t in contractions where i + 1 + t.count <= u.count && u[(i + 1)..<(i + 1 + t.count)].elementsEqual(t) {
                    emit(i, i + 1 + t.count)
                    i += 1 + t.count
                    continue scan
                }
            }
            if isLetter(c) {
                var j = i + 1
                while j < u.count && isLetter(u[j]) { j += 1 }
                emit(i, j)
                i = j
            } else if isNumber(c) {
                emit(i, i + 1)
                i += 1
            } else if isSpace(c) {
                i += 1
            } else {
                var j = i + 1
                while j < u.count && !isSpace(u[j]) && !isLetter(u[j]) && !isNumber(u[j]) { j += 1 }
                emit(i, j)
                i = j
            }
        }
        return out
    }

    /// BPE of one pre-token: byte symbols (the last with `</w>`), merged lowest rank first.
    func bpe(_ piece: String) -> [Int] {
        var symbols = Array(piece.utf8).map { String(Self.byteAlphabet[Int($0)]) }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += "</w>"
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for k in 0..<(symbols.count - 1) {
                if let r = ranks[SymbolPair(a: symbols[k], b: symbols[k + 1])], r < (best?.rank ?? Int.max) { best = (r, k) }
            }
            guard let best else { break }
            let a = symbols[best.index], b = symbols[best.index + 1]
            var merged: [String] = []
            merged.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k + 1 < symbols.count && symbols[k] == a && symbols[k + 1] == b {
                    merged.append(a + b)
                    k += 2
                } else {
                    merged.append(symbols[k])
                    k += 1
                }
            }
            symbols = merged
        }
        return symbols.map { vocabulary[$0] ?? unkID }
    }
}

import SynTensor

/// Byte-level BPE (GPT-2 style) built from a GGUF file's `tokenizer.ggml.*` metadata.
///
/// Text is split by the model's pre-tokenizer, each piece's UTF-8 bytes are mapped to GPT-2's
/// printable byte alphabet, and merges are applied lowest rank first (leftmost on ties). Control
/// tokens (`<|im_start|>` ...) are recognized in the text only when asked (`parseSpecial`).
/// Decoding maps tokens back to bytes, so UTF-8 text round-trips (except bytes the vocabulary lacks).
public struct BPETokenizer: Sendable {
    /// Token texts by id (byte-level alphabet for normal tokens).
    public let tokens: [String]
    /// ggml token types by id (1 normal, 3 control, 4 user-defined, 6 byte).
    public let tokenTypes: [Int32]
    /// The pre-tokenizer named by `tokenizer.ggml.pre`.
    public let preTokenizer: PreTokenizer
    /// Beginning-of-sequence token, if any.
    public let bos: Int32?
    /// End-of-sequence token, if any.
    public let eos: Int32?
    /// Whether encoding a prompt should start with `bos` (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool
    /// Tokens that end a generation (EOS, end-of-turn, `<|endoftext|>`, `<|im_end|>`).
    public let stopTokens: Set<Int32>

    let ids: [String: Int32]
    /// (left id << 32 | right id) -> (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    /// Initial symbol id per byte (-1: not in the vocabulary, dropped).
    let byteIDs: [Int32]
    /// Decoded bytes per token.
    let tokenBytes: [[UInt8]]
    /// Special token texts, longest first.
    let specials: [(text: String, id: Int32)]

    /// GPT-2's byte -> printable scalar table: bytes `!`..`~`, `¡`..`¬`, `®`..`ÿ` map to themselves,
    /// the other 68 bytes to U+0100 and up, in byte order.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s] = UInt8(b) }
        return map
    }()

    /// Reads the tokenizer of `file`; throws `LlamaError.invalidTokenizer` when it is not a GPT-2 style BPE.
    public init(gguf file: GGUFFile) throws {
        let path = file.path
        guard let model = file["tokenizer.ggml.model"]?.string else {
            throw LlamaError.invalidTokenizer(path: path, reason: "tokenizer.ggml.model is missing")
        }
        if model != "gpt2" {
            throw LlamaError.invalidTokenizer(path: path, reason: "tokenizer model \"\(model)\" is not supported (only byte-level BPE, \"gpt2\")")
        }
        let preName = file["tokenizer.ggml.pre"]?.string ?? "gpt2"
        guard let pre = PreTokenizer(ggmlName: preName) else {
            throw LlamaError.invalidTokenizer(path: path, reason: "pre-tokenizer \"\(preName)\" is not supported")
        }
        guard let tokens = file["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else {
            throw LlamaError.invalidTokenizer(path: path, reason: "tokenizer.ggml.tokens is missing")
        }
        guard let merges = file["tokenizer.ggml.merges"]?.strings else {
            throw LlamaError.invalidTokenizer(path: path, reason: "tokenizer.ggml.merges is missing")
        }
        let types = file["tokenizer.ggml.token_type"]?.ints?.map(Int32.init) ?? [Int32](repeating: 1, count: tokens.count)
        if types.count != tokens.count {
            throw LlamaError.invalidTokenizer(path: path, reason: "\(types.count) token types for \(tokens.count) tokens")
        }
        func optionalID(_ key: String) throws -> Int32? {
            guard let v = file[key]?.int else { return nil }
            if v < 0 || v >= tokens.count { throw LlamaError.invalidTokenizer(path: path, reason: "\(key) \(v) is out of range") }
            return Int32(v)
        }
        try self.init(tokens: tokens, types: types, merges: merges, preTokenizer: pre,
                      bos: optionalID("tokenizer.ggml.bos_token_id"), eos: optionalID("tokenizer.ggml.eos_token_id"),
                      eot: optionalID("tokenizer.ggml.eot_token_id"),
                      addBOS: file["tokenizer.ggml.add_bos_token"]?.bool ?? false, path: path)
    }

    /// A tokenizer from its parts (`merges` as `"left right"` lines).
    public init(tokens: [String], types: [Int32], merges mergeLines: [String], preTokenizer: PreTokenizer,
                bos: Int32?, eos: Int32?, eot: Int32? = nil, addBOS: Bool, path: String = "<tokenizer>") throws {
        self.tokens = tokens
        self.tokenTypes = types
        self.preTokenizer = preTokenizer
        self.bos = bos
        self.eos = eos
        self.addBOS = addBOS
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
        self.ids = ids
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        merges.reserveCapacity(mergeLines.count)
        for (rank, line) in mergeLines.enumerated() {
            guard let space = line.firstIndex(of: " ") else {
                throw LlamaError.invalidTokenizer(path: path, reason: "merge \(rank) \"\(line)\" has no space")
            }
            let left = String(line[..<space]), right = String(line[line.index(after: space)...])
            guard let l = ids[left], let r = ids[right], let m = ids[left + right] else { continue }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if merges[key] == nil { merges[key] = (Int32(rank), m) }
        }
        self.merges = merges
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let s = String(Character(Unicode.Scalar(BPETokenizer.byteToScalar[b])!))
            if let id = ids[s] { byteIDs[b] = id }
        }
        // Bytes that never occur in training text (0xC0, 0xF5...0xFF, some control characters) may be
        // absent from the vocabulary; they are dropped, as `tokenizers`' BPE does without an unknown token.
        self.byteIDs = byteIDs
        var bytes: [[UInt8]] = []
        bytes.reserveCapacity(tokens.count)
        var specials: [(String, Int32)] = []
        for (i, t) in tokens.enumerated() {
            if types[i] == 3 || types[i] == 4 {
                bytes.append(Array(t.utf8))
                if !t.isEmpty { specials.append((t, Int32(i))) }
            } else {
                var out: [UInt8] = []
                for s in t.unicodeScalars {
                    if let b = BPETokenizer.scalarToByte[s.value] { out.append(b) } else { out.append(contentsOf: String(s).utf8) }
                }
                bytes.append(out)
            }
        }
        self.tokenBytes = bytes
        self.specials = specials.sorted { $0.0.utf8.count > $1.0.utf8.count }
        var stops = Set<Int32>()
        if let eos { stops.insert(eos) }
        if let eot { stops.insert(eot) }
        for name in ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "</s>"] {
            if let id = ids[name], types[Int(id)] == 3 { stops.insert(id) }
        }
        self.stopTokens = stops
    }

    /// Number of tokens.
    public var vocabularySize: Int { tokens.count }

    /// The id of a token text, if it is in the vocabulary.
    public func id(of token: String) -> Int32? { ids[token] }

    /// Token ids of `text` (no BOS; control tokens in the text are matched only with `parseSpecial`).
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        var out: [Int32] = []
        if !parseSpecial || specials.isEmpty {
            encodeOrdinary(text, into: &out)
            return out
        }
        var rest = Substring(text)
        while !rest.isEmpty {
            var best: (range: Range<Substring.Index>, id: Int32)?
            for (s, id) in specials {
                if let r = rest.range(of: s), best == nil || r.lowerBound < best!.range.lowerBound {
                    best = (r, id)
                }
            }
            guard let found = best else {
                encodeOrdinary(String(rest), into: &out)
                break
            }
            if found.range.lowerBound > rest.startIndex { encodeOrdinary(String(rest[..<found.range.lowerBound]), into: &out) }
            out.append(found.id)
            rest = rest[found.range.upperBound...]
        }
        return out
    }

    /// Encodes text that holds no control tokens.
    func encodeOrdinary(_ text: String, into out: inout [Int32]) {
        for piece in preTokenizer.split(text) {
            var symbols: [Int32] = []
            symbols.reserveCapacity(piece.utf8.count)
            for b in piece.utf8 where byteIDs[Int(b)] >= 0 { symbols.append(byteIDs[Int(b)]) }
            // A whole piece that is a token is common: skip the merge loop for single bytes only.
            if symbols.count > 1 { applyMerges(&symbols) }
            out.append(contentsOf: symbols)
        }
    }

    /// Merges adjacent symbols, lowest rank first (leftmost on ties), until no merge applies.
    func applyMerges(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var bestRank = Int32.max, bestAt = -1, bestID: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let m = merges[key], m.rank < bestRank {
                    bestRank = m.rank
                    bestAt = i
                    bestID = m.id
                }
            }
            if bestAt < 0 { return }
            symbols[bestAt] = bestID
            symbols.remove(at: bestAt + 1)
        }
    }

    /// The bytes of `ids` (control tokens as their text).
    public func decodeBytes(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < tokenBytes.count { out.append(contentsOf: tokenBytes[Int(id)]) }
        return out
    }

    /// The bytes of one token.
    public func bytes(of id: Int32) -> [UInt8] {
        id >= 0 && Int(id) < tokenBytes.count ? tokenBytes[Int(id)] : []
    }

    /// The text of `ids` (invalid UTF-8, such as a cut multi-byte character, becomes U+FFFD).
    public func decode(_ ids: [Int32]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    /// Whether `id` is a control token.
    public func isControl(_ id: Int32) -> Bool { id >= 0 && Int(id) < tokenTypes.count && tokenTypes[Int(id)] == 3 }
}

/// Splits text into the pieces that byte-level BPE encodes separately, as the model's
/// `tokenizer.ggml.pre` says.
///
/// `gpt2`: GPT-2's pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// `digits` (SmolLM, StarCoder, ...): every `\p{N}` character is first isolated, then the GPT-2
/// pattern splits the rest. The pattern is evaluated by hand over Unicode scalars (no regex engine).
public enum PreTokenizer: String, Sendable, Hashable {
    /// GPT-2's pattern.
    case gpt2
    /// Each number character alone, then GPT-2's pattern (llama.cpp's `smollm`, `starcoder`, ...).
    case digits

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value, or nil when unsupported.
    public init?(ggmlName: String) {
        switch ggmlName {
        case "gpt2", "gpt-2", "mpt", "olmo", "jais", "trillion": self = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva": self = .digits
        default: return nil
        }
    }

    /// Character classes of the pattern.
    enum CharClass: UInt8 {
        case letter, number, space, other
    }

    @inline(__always)
    static func classify(_ s: Unicode.Scalar) -> CharClass {
        let v = s.value
        if v < 0x80 {
            switch v {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The pieces of `text`, in order; concatenated they give `text` back.
    public func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let classes = scalars.map(PreTokenizer.classify)
        var pieces: [String] = []
        func emit(_ r: Range<Int>) {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[r])
            pieces.append(String(s))
        }
        switch self {
        case .gpt2:
            PreTokenizer.gpt2Split(scalars, classes, 0..<scalars.count, emit)
        case .digits:
            var start = 0
            for i in 0..<scalars.count where classes[i] == .number {
                if start < i { PreTokenizer.gpt2Split(scalars, classes, start..<i, emit) }
                emit(i..<(i + 1))
                start = i + 1
            }
            if start < scalars.count { PreTokenizer.gpt2Split(scalars, classes, start..<scalars.count, emit) }
        }
        return pieces
    }

    /// GPT-2's pattern over `range` (matches never cross the range's ends, as with a regex run on the piece).
    static func gpt2Split(_ s: [Unicode.Scalar], _ c: [CharClass], _ range: Range<Int>, _ emit: (Range<Int>) -> Void) {
        var i = range.lowerBound
        let end = range.upperBound
        func run(from j: Int, _ cls: CharClass) -> Int {
            var k = j
            while k < end && c[k] == cls { k += 1 }
            return k
        }
        func runOther(from j: Int) -> Int {
            var k = j
            while k < end && c[k] == .other { k += 1 }
            return k
        }
        while i < end {
            // Contractions: 's 't 're 've 'm 'll 'd (case-sensitive, as GPT-2's pattern).
            if s[i] == "'" && i + 1 < end {
                let a = s[i + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" {
                    emit(i..<(i + 2)); i += 2; continue
                }
                if i + 2 < end {
                    let b = s[i + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                        emit(i..<(i + 3)); i += 3; continue
                    }
                }
            }
            // An optional single space (U+0020) before letters, numbers or other symbols.
            let lead = (s[i] == " " && i + 1 < end) ? 1 : 0
            let cls = c[i + lead]
            if lead == 0 || cls != .space {
                switch cls {
                case .letter, .number:
                    let k = run(from: i + lead, cls)
                    emit(i..<k); i = k; continue
                case .other:
                    let k = runOther(from: i + lead)
                    emit(i..<k); i = k; continue
                case .space:
                    break
                }
            }
            // Whitespace: `\s+(?!\S)` keeps the last space for the next word; else `\s+`.
            let k = run(from: i, .space)
            if k == end || k - i == 1 {
                emit(i..<k); i = k
            } else {
                emit(i..<(k - 1)); i = k - 1
            }
        }
    }
}

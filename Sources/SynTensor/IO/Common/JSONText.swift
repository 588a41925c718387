/// JSON string literals for the files this package writes by hand in a fixed field order (one
/// escaper for every writer; the two styles exist because files already written must keep their bytes).
public enum JSONText {
    /// How control and separator characters are spelled.
    public enum Style: Sendable {
        /// serde_json's spelling (what Python's safetensors writes): `\b \f \n \r \t`, other
        /// control characters as `\u00xx`; U+2028 and U+2029 kept as UTF-8.
        case serde
        /// Safe inside JavaScript and line-oriented tools: `\n \r \t`, every other control
        /// character and U+2028 / U+2029 as `\uXXXX` (the captions files' spelling).
        case lineSafe
    }

    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped; other
    /// non-ASCII kept as UTF-8, `/` not escaped).
    public static func quote(_ s: String, style: Style = .serde) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        append(s, to: &out, style: style)
        return String(decoding: out, as: UTF8.self)
    }

    /// `s` quoted, or `null` when nil.
    public static func quoteOrNull(_ s: String?, style: Style = .serde) -> String { s.map { quote($0, style: style) } ?? "null" }

    /// Appends `s` as a JSON string literal to `out`.
    public static func append(_ s: String, to out: inout [UInt8], style: Style = .serde) {
        let hex = Array("0123456789abcdef".utf8)
        func unicodeEscape(_ v: UInt32) {
            out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
            for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
        }
        out.append(0x22)
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08 where style == .serde: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C where style == .serde: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x00..<0x20: unicodeEscape(UInt32(c))
            case 0xE2 where style == .lineSafe && i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                // U+2028 / U+2029 end a line in JavaScript.
                unicodeEscape(bytes[i + 2] == 0xA8 ? 0x2028 : 0x2029)
                i += 2
            default: out.append(c)
            }
            i += 1
        }
        out.append(0x22)
    }
}

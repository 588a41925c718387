/// Fast text helpers over Unicode scalars (Character iteration and Foundation's `contains` are
/// slow on Linux, and these run several times per caption).
enum TextScan {
    /// Lowercased letters and digits of `s`, each run of anything else collapsed to one space, trimmed.
    static func foldedWords(_ s: String) -> String {
        if let ascii = foldedASCIIWords(s) { return ascii }
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in s.unicodeScalars {
            let v = scalar.value
            if v < 0x80 {
                if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
                    if pendingSpace && !out.isEmpty { out.append(" ") }
                    pendingSpace = false
                    out.append(scalar)
                } else if v >= 0x41 && v <= 0x5A {
                    if pendingSpace && !out.isEmpty { out.append(" ") }
                    pendingSpace = false
                    out.append(Unicode.Scalar(v + 32)!)
                } else {
                    pendingSpace = true
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                if pendingSpace && !out.isEmpty { out.append(" ") }
                pendingSpace = false
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .spacingMark {
                out.append(scalar)
            } else {
                pendingSpace = true
            }
        }
        return String(out)
    }

    /// `foldedWords` for pure-ASCII text using bytes (nil if `s` has non-ASCII characters).
    static func foldedASCIIWords(_ s: String) -> String? {
        var s = s
        return s.withUTF8 { bytes -> String? in
            var out = [UInt8]()
            out.reserveCapacity(bytes.count)
            var pendingSpace = false
            for b in bytes {
                if b >= 0x80 { return nil }
                var c = b
                if c >= 0x41 && c <= 0x5A { c += 32 }
                if (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) {
                    if pendingSpace && !out.isEmpty { out.append(0x20) }
                    pendingSpace = false
                    out.append(c)
                } else {
                    pendingSpace = true
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Words of `foldedWords(s)`.
    static func words(_ s: String) -> [Substring] { foldedWords(s).split(separator: " ") }

    /// Whether `haystack` contains `needle`, comparing UTF-8 bytes (ASCII case-insensitively when `ignoreCase`).
    static func contains(_ haystack: String, _ needle: String, ignoreCase: Bool = false) -> Bool {
        let h = Array(haystack.utf8), n = Array(needle.utf8)
        if n.isEmpty { return true }
        if n.count > h.count { return false }
        @inline(__always) func fold(_ b: UInt8) -> UInt8 { ignoreCase && b >= 0x41 && b <= 0x5A ? b + 32 : b }
        let first = fold(n[0])
        var i = 0
        while i <= h.count - n.count {
            if fold(h[i]) == first {
                var j = 1
                while j < n.count && fold(h[i + j]) == fold(n[j]) { j += 1 }
                if j == n.count { return true }
            }
            i += 1
        }
        return false
    }

    /// Whitespace test with an ASCII fast path.
    @inline(__always) static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        return scalar.properties.isWhitespace
    }

    /// Line-break test (LF, CR, VT, FF, NEL, LS, PS).
    @inline(__always) static func isNewline(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// Number of whitespace-separated words.
    static func wordCount(_ s: String) -> Int {
        var count = 0
        var inWord = false
        for scalar in s.unicodeScalars {
            if isSpace(scalar) {
                inWord = false
            } else if !inWord {
                inWord = true
                count += 1
            }
        }
        return count
    }
}

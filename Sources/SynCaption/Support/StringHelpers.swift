extension String {
    /// Trimmed, with every run of whitespace (including newlines) replaced by one space.
    func collapsingWhitespace() -> String {
        split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Trimmed of leading and trailing whitespace and newlines.
    func trimmed() -> String {
        var s = Substring(self).unicodeScalars
        while let f = s.first, TextScan.isSpace(f) { s.removeFirst() }
        while let l = s.last, TextScan.isSpace(l) { s.removeLast() }
        return String(s)
    }
}

/// "a" or "an" for a noun phrase, by its first letter (a simple, good-enough rule).
func indefiniteArticle(for phrase: String) -> String {
    guard let first = phrase.lowercased().first else { return "a" }
    if "aeiou".contains(first) {
        let lower = phrase.lowercased()
        for exception in ["uni", "use", "usu", "uti", "eu", "one", "once"] where lower.hasPrefix(exception) { return "a" }
        return "an"
    }
    if first.isNumber {
        return phrase.hasPrefix("8") || phrase.hasPrefix("11") || phrase.hasPrefix("18") ? "an" : "a"
    }
    for silent in ["hour", "honest", "honor", "heir"] where phrase.lowercased().hasPrefix(silent) { return "an" }
    return "a"
}

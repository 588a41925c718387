import Foundation

/// Tick positions and their labels for one chart axis.
public struct AxisTicks: Sendable, Equatable {
    /// Major tick values (labeled), ascending.
    public var values: [Double]
    /// One label per major tick, formatted alike (same decimals or notation).
    public var labels: [String]
    /// Unlabeled minor tick values (log axes: 2...9 times each decade), ascending.
    public var minor: [Double]

    /// Ticks from their parts.
    public init(values: [Double], labels: [String], minor: [Double] = []) {
        self.values = values
        self.labels = labels
        self.minor = minor
    }
}

/// "Nice" axis ticks: steps of 1, 2 or 5 times a power of ten, with exact decimal labels.
public enum NiceTicks {
    /// Ticks at multiples of the smallest 1-2-5 step that puts at most `maxCount` of them in
    /// [lo, hi] (an empty or reversed range is widened around its center).
    public static func linear(_ lo: Double, _ hi: Double, maxCount: Int = 8) -> AxisTicks {
        let (lo, hi) = widened(lo, hi)
        let m = max(2, maxCount)
        let span = hi - lo
        guard span.isFinite, span > 0 else { return AxisTicks(values: [], labels: []) }
        // Clamped so that subnormal spans cannot make the exponent infinite.
        var e = Int(min(max(log10(span / Double(m)), -330), 330).rounded(.down)) - 1
        while true {
            for mantissa in [1, 2, 5] {
                let step = power(mantissa, e)
                let k0 = (lo / step - 1e-9).rounded(.up), k1 = (hi / step + 1e-9).rounded(.down)
                // Beyond 2^52 multiples the decimal construction loses integers: fall back to the ends.
                if !(abs(k0) <= 1e15 && abs(k1) <= 1e15) {
                    return AxisTicks(values: [lo, hi], labels: [shortest(lo), shortest(hi)])
                }
                if k1 - k0 + 1 <= Double(m) {
                    let ns = stride(from: Int(k0), through: Int(k1), by: 1).map { $0 * mantissa }
                    return AxisTicks(values: ns.map { power($0, e) }, labels: labels(ns, exponent: e))
                }
            }
            e += 1
        }
    }

    /// Ticks for a logarithmic axis over [lo, hi] (both > 0): whole decades when the range
    /// spans at least three (every n-th decade to stay within `maxCount`, 2...9 x decade as minor
    /// ticks), else 1-2-5 x decade values, else linear ticks inside the range.
    public static func logarithmic(_ lo: Double, _ hi: Double, maxCount: Int = 8) -> AxisTicks {
        guard lo > 0, hi > lo, lo.isFinite, hi.isFinite else { return linear(lo, hi, maxCount: maxCount) }
        let m = max(2, maxCount)
        let dLo = Int((log10(lo) - 1e-9).rounded(.up)), dHi = Int((log10(hi) + 1e-9).rounded(.down))
        let decades = dHi - dLo + 1
        let inRange = { (v: Double) in v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) }
        if decades < 3 {
            // 1-2-5 within each decade touching the range.
            var values: [Double] = [], labels: [String] = [], minor: [Double] = []
            let first = Int(log10(lo).rounded(.down)), last = Int(log10(hi).rounded(.down))
            for d in first...last {
                for mantissa in 1...9 {
                    let v = power(mantissa, d)
                    guard inRange(v) else { continue }
                    if [1, 2, 5].contains(mantissa) {
                        values.append(v)
                        labels.append(d < -4 || d > 5 ? scientific(mantissa, d) : fixed(mantissa, d, decimals: max(0, -d)))
                    } else {
                        minor.append(v)
                    }
                }
            }
            if values.count >= 3 && values.count <= m { return AxisTicks(values: values, labels: labels, minor: minor) }
            var ticks = linear(lo, hi, maxCount: min(m, 6))
            ticks.minor = []
            return ticks
        }
        let every = (decades + m - 1) / m
        var values: [Double] = [], labels: [String] = [], minor: [Double] = []
        let plain = dLo >= -3 && dHi <= 4
        for d in (dLo - 1)...dHi {
            let isMajor = d >= dLo && ((d % every) + every) % every == 0
            if isMajor {
                values.append(power(1, d))
                labels.append(plain ? fixed(1, d, decimals: max(0, -d)) : "1e\(d)")
            } else if d >= dLo {
                minor.append(power(1, d))
            }
            if every == 1 {
                for mantissa in 2...9 where inRange(power(mantissa, d)) { minor.append(power(mantissa, d)) }
            }
        }
        return AxisTicks(values: values, labels: labels, minor: minor.sorted())
    }

    /// A short label for any value: up to 4 significant digits, trailing zeros dropped,
    /// scientific outside [1e-4, 1e6).
    public static func shortest(_ v: Double) -> String {
        if !v.isFinite { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        if v == 0 { return "0" }
        let a = abs(v)
        var s: String
        if a >= 1e6 || a < 1e-4 {
            s = String(format: "%.3e", v)
            // "1.500e-05" -> "1.5e-5"
            if let eIndex = s.firstIndex(of: "e") {
                var mantissa = String(s[..<eIndex]), exponent = String(s[s.index(after: eIndex)...])
                if mantissa.contains(".") {
                    while mantissa.hasSuffix("0") { mantissa.removeLast() }
                    if mantissa.hasSuffix(".") { mantissa.removeLast() }
                }
                let negative = exponent.hasPrefix("-")
                exponent = String(exponent.drop(while: { $0 == "-" || $0 == "+" || $0 == "0" }))
                s = mantissa + "e" + (negative ? "-" : "") + (exponent.isEmpty ? "0" : exponent)
            }
            return s
        }
        let decimals = max(0, 3 - Int(log10(a).rounded(.down)))
        s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// `v` with `decimals` digits after the point (the bar chart's value labels).
    public static func format(_ v: Double, decimals: Int) -> String {
        if !v.isFinite { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        let s = String(format: "%.\(max(0, decimals))f", v)
        return s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(s.dropFirst()) : s
    }

    /// An empty or reversed range widened around its center (1 unit, or 10% of the value).
    static func widened(_ lo: Double, _ hi: Double) -> (Double, Double) {
        if hi > lo { return (lo, hi) }
        let c = (lo + hi) / 2
        let d = c == 0 ? 1 : abs(c) * 0.1
        return (c - d, c + d)
    }

    /// n x 10^e, built so that decimal values are the closest doubles (3 x 10^-1 is 0.3).
    static func power(_ n: Int, _ e: Int) -> Double {
        e >= 0 ? Double(n) * pow(10, Double(e)) : Double(n) / pow(10, Double(-e))
    }

    /// Labels for the values ns[i] x 10^e, all in one notation.
    static func labels(_ ns: [Int], exponent e: Int) -> [String] {
        let maxAbs = ns.map { abs(power($0, e)) }.max() ?? 0
        if e <= -5 || maxAbs >= 1e12 { return ns.map { scientific($0, e) } }
        if e >= 6 && maxAbs >= 1e7 { return ns.map { fixed($0, e - 6, decimals: 0) + ($0 == 0 ? "" : "M") } }
        if e >= 3 && maxAbs >= 1e4 { return ns.map { fixed($0, e - 3, decimals: 0) + ($0 == 0 ? "" : "k") } }
        return ns.map { fixed($0, e, decimals: max(0, -e)) }
    }

    /// n x 10^e written out with exactly `decimals` digits after the point (enough for e < 0).
    static func fixed(_ n: Int, _ e: Int, decimals: Int) -> String {
        let sign = n < 0 ? "-" : ""
        var digits = String(abs(n))
        if e >= 0 {
            if n != 0 { digits += String(repeating: "0", count: e) }
            return sign + digits + (decimals > 0 ? "." + String(repeating: "0", count: decimals) : "")
        }
        let shift = -e
        if digits.count <= shift { digits = String(repeating: "0", count: shift - digits.count + 1) + digits }
        var whole = String(digits.prefix(digits.count - shift)), fraction = String(digits.suffix(shift))
        if fraction.count > decimals { fraction = String(fraction.prefix(decimals)) }
        if fraction.count < decimals { fraction += String(repeating: "0", count: decimals - fraction.count) }
        if whole.isEmpty { whole = "0" }
        return (n == 0 ? "" : sign) + whole + (decimals > 0 ? "." + fraction : "")
    }

    /// n x 10^e as "d.ddde-x" with trailing zeros dropped ("1.5e-5", "2e-6", "0").
    static func scientific(_ n: Int, _ e: Int) -> String {
        if n == 0 { return "0" }
        var m = abs(n), exp = e
        while m % 10 == 0 { m /= 10; exp += 1 }
        let digits = String(m)
        exp += digits.count - 1
        let mantissa = digits.count > 1 ? String(digits.prefix(1)) + "." + digits.dropFirst() : digits
        return (n < 0 ? "-" : "") + mantissa + "e\(exp)"
    }
}

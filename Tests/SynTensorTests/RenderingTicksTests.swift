import Foundation
import Testing
@testable import SynTensor

@Suite struct RenderingTicksTests {
    /// Whether every tick is an integer multiple of one 1-2-5 x 10^e step, evenly spaced.
    static func isNice(_ values: [Double]) -> Bool {
        guard values.count >= 2 else { return values.count == 1 }
        let step = values[1] - values[0]
        let e = (log10(step)).rounded(.down)
        let mantissa = (step / pow(10, e)).rounded()
        guard [1, 2, 5, 10].contains(mantissa), abs(step / pow(10, e) - mantissa) < 1e-6 else { return false }
        return values.allSatisfy { v in abs(v / step - (v / step).rounded()) < 1e-6 }
            && zip(values, values.dropFirst()).allSatisfy { abs(($1 - $0) - step) < step * 1e-6 }
    }

    @Test func linearTicksForTypicalRanges() {
        let unit = NiceTicks.linear(0, 1)
        #expect(unit.values == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(unit.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let small = NiceTicks.linear(0.013, 0.027)
        #expect(small.values == [0.014, 0.016, 0.018, 0.020, 0.022, 0.024, 0.026])
        #expect(small.labels == ["0.014", "0.016", "0.018", "0.020", "0.022", "0.024", "0.026"])
        let fewer = NiceTicks.linear(0.013, 0.027, maxCount: 4)
        #expect(fewer.values == [0.015, 0.02, 0.025] && fewer.labels == ["0.015", "0.020", "0.025"])
        #expect(NiceTicks.linear(-3, 3, maxCount: 7).labels == ["-3", "-2", "-1", "0", "1", "2", "3"])
        #expect(NiceTicks.linear(0, 20_000, maxCount: 5).labels == ["0", "5k", "10k", "15k", "20k"])
        #expect(NiceTicks.linear(0, 3e7, maxCount: 4).labels == ["0", "10M", "20M", "30M"])
        #expect(NiceTicks.linear(0, 5e-5, maxCount: 6).labels == ["0", "1e-5", "2e-5", "3e-5", "4e-5", "5e-5"])
        #expect(NiceTicks.linear(0, 5e-4, maxCount: 6).labels == ["0.0000", "0.0001", "0.0002", "0.0003", "0.0004", "0.0005"])
        #expect(NiceTicks.linear(2.5, 2.5).values == [2.3, 2.4, 2.5, 2.6, 2.7])  // widened by 10%
        #expect(NiceTicks.linear(0, 0).values.contains(0))
        // Extreme spans give some ticks without trapping.
        #expect(!NiceTicks.linear(0, Double.leastNonzeroMagnitude).values.isEmpty)
        #expect(!NiceTicks.linear(1, 1 + 4e-16).values.isEmpty)
        #expect(!NiceTicks.linear(-8e307, 8e307).values.isEmpty)
        #expect(NiceTicks.linear(0, .infinity).values.isEmpty)
    }

    @Test func linearTicksAreNiceForManyRanges() {
        var state: UInt64 = 7
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        for _ in 0..<500 {
            let magnitude = pow(10, uniform() * 12 - 6)
            let lo = (uniform() * 2 - 1) * magnitude
            let hi = lo + magnitude * (0.01 + uniform() * 3)
            let m = 2 + Int(uniform() * 9)
            let t = NiceTicks.linear(lo, hi, maxCount: m)
            #expect(t.values.count >= 1 && t.values.count <= m, "[\(lo), \(hi)] max \(m): \(t.values)")
            if m >= 5 { #expect(t.values.count >= 2, "[\(lo), \(hi)] max \(m): \(t.values)") }
            #expect(Self.isNice(t.values), "[\(lo), \(hi)]: \(t.values)")
            #expect(t.values.allSatisfy { $0 >= lo - (hi - lo) * 1e-9 && $0 <= hi + (hi - lo) * 1e-9 })
            #expect(Set(t.labels).count == t.labels.count, "duplicate labels \(t.labels)")
            // Plain labels read back as their values.
            for (v, label) in zip(t.values, t.labels) {
                if let parsed = Double(label) { #expect(abs(parsed - v) <= abs(v) * 1e-9 + 1e-300, "\(label) vs \(v)") }
            }
        }
    }

    @Test func logarithmicTicks() {
        let wide = NiceTicks.logarithmic(1e-4, 10)
        #expect(wide.values == [1e-4, 1e-3, 1e-2, 1e-1, 1, 10])
        #expect(wide.labels == ["1e-4", "1e-3", "1e-2", "1e-1", "1e0", "1e1"])
        #expect(wide.minor.count == 8 * 5 && wide.minor.contains(2e-4) && wide.minor.contains(9))
        let sparse = NiceTicks.logarithmic(1e-4, 10, maxCount: 3)
        #expect(sparse.values == [1e-4, 1e-2, 1])
        #expect(sparse.minor.contains(1e-3) && sparse.minor.contains(10))
        let plain = NiceTicks.logarithmic(0.001, 100)
        #expect(plain.labels == ["0.001", "0.01", "0.1", "1", "10", "100"])
        let short = NiceTicks.logarithmic(0.05, 2)
        #expect(short.values == [0.05, 0.1, 0.2, 0.5, 1, 2])
        #expect(short.labels == ["0.05", "0.1", "0.2", "0.5", "1", "2"])
        // Less than a decade with one 1-2-5 value: linear ticks inside the range.
        let narrow = NiceTicks.logarithmic(1.2, 8.5)
        #expect(narrow.values == [2, 4, 6, 8] && narrow.minor.isEmpty)
        // Every major log tick is 1, 2 or 5 times a power of ten, or a linear fallback.
        for (lo, hi) in [(3e-7, 2e3), (0.9, 1.1e9), (1e-12, 1e-9)] {
            let t = NiceTicks.logarithmic(lo, hi)
            #expect(t.values.count >= 2 && t.values.count <= 8, "\(lo)...\(hi): \(t.values)")
            for v in t.values {
                let m = v / pow(10, (log10(v) + 1e-9).rounded(.down))
                #expect([1, 2, 5].contains(m.rounded()) && abs(m - m.rounded()) < 1e-9, "\(v)")
            }
        }
    }

    @Test func labelFormatting() {
        #expect(NiceTicks.shortest(0.5) == "0.5")
        #expect(NiceTicks.shortest(1234.5678) == "1235")
        #expect(NiceTicks.shortest(0.012346) == "0.01235")
        #expect(NiceTicks.shortest(1.5e-5) == "1.5e-5")
        #expect(NiceTicks.shortest(2e6) == "2e6")
        #expect(NiceTicks.shortest(-0.00012) == "-0.00012")
        #expect(NiceTicks.shortest(.nan) == "nan" && NiceTicks.shortest(0) == "0")
        #expect(NiceTicks.format(85.25, decimals: 1) == "85.2" || NiceTicks.format(85.25, decimals: 1) == "85.3")
        #expect(NiceTicks.format(-0.0001, decimals: 1) == "0.0")
        #expect(NiceTicks.format(-2, decimals: 0) == "-2")
        #expect(NiceTicks.fixed(-15, -3, decimals: 3) == "-0.015")
        #expect(NiceTicks.fixed(7, 2, decimals: 0) == "700")
        #expect(NiceTicks.scientific(-150, -7) == "-1.5e-5")
    }
}

import Foundation
import Testing
@testable import SynTensor

@Suite struct RenderingChartTests {
    /// Pixels of `canvas` exactly equal to `color`.
    static func pixels(of color: RGBA, in canvas: Canvas) -> [[Int]] {
        var out: [[Int]] = []
        for y in 0..<canvas.height {
            for x in 0..<canvas.width where canvas.pixel(x: x, y: y) == color { out.append([x, y]) }
        }
        return out
    }

    @Test func linePlotDrawsSeriesWhereTheDataIs() {
        let red = RGBA(220, 0, 0)
        var plot = LinePlot(title: "Loss", xLabel: "step", yLabel: "loss")
        plot.series.append(.init(name: "flat", x: [0, 10], y: [5, 5], color: red, lineWidth: 2))
        plot.yRange = 0...10
        let canvas = plot.render()
        #expect(canvas.width == 800 && canvas.height == 480)
        let line = Self.pixels(of: red, in: canvas)
        // One or two adjacent full-color rows across the plot (the legend swatch is short).
        let rows = Dictionary(grouping: line, by: { $0[1] }).filter { $0.value.count > 300 }.keys.sorted()
        #expect(rows.count == 1 || (rows.count == 2 && rows[1] == rows[0] + 1), "\(rows)")
        if let row = rows.first {
            #expect(row > 480 * 35 / 100 && row < 480 * 65 / 100, "line at row \(row)")
        }
        // Title and axis labels are inked.
        #expect(inkBounds(canvas)!.y0 <= 14)
    }

    @Test func linePlotSkipsNonFiniteAndNonPositivePoints() throws {
        let blue = RGBA(0, 0, 230)
        var plot = LinePlot(width: 300, height: 200)
        plot.series.append(.init(name: "", x: [0, 1, 2, 3, 4, 5], y: [.nan, 1, 2, .infinity, 3, -1], color: blue))
        plot.logY = true
        plot.smoothing = 0.6
        let canvas = plot.render()
        #expect(!Self.pixels(of: blue, in: canvas).isEmpty)
        // No drawable point: axes and "no data", no series color.
        var empty = LinePlot(width: 300, height: 200)
        empty.series.append(.init(name: "nothing", x: [0, 1], y: [.nan, .nan], color: blue))
        #expect(Self.pixels(of: blue, in: empty.render()).count < 60)  // only the legend swatch
        #expect(LinePlot().render().width == 800)
        // Ranges: degenerate data and huge values still render.
        var odd = LinePlot(width: 200, height: 120)
        odd.add("const", y: [3, 3, 3])
        odd.add("huge", x: [0, 1e300], y: [-1e300, 1e300])
        _ = odd.render()
        odd.add("limits", x: [-1e308, 1e308], y: [Double.greatestFiniteMagnitude, -1e308])
        odd.yRange = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        _ = odd.render()
        var extremes = BarChart(categories: ["a", "b"], width: 200, height: 120)
        extremes.add("v", values: [Double.greatestFiniteMagnitude, -1e308], errors: [1e308, .infinity])
        _ = extremes.render()
    }

    @Test func decimationKeepsEachColumnsEnvelope() {
        // 50 points per pixel column, a zig-zag: the first, lowest, highest and last survive.
        let points = (0..<1000).map { i in SIMD2(Double(i) / 50, Double((i * 37) % 101)) }
        let kept = LinePlot.decimate(points)
        #expect(kept.count <= 4 * 20 && kept.count >= 2 * 20)
        for column in 0..<20 {
            let all = points.filter { Int($0.x) == column }, some = kept.filter { Int($0.x) == column }
            #expect(some.first == all.first && some.last == all.last)
            #expect(some.map(\.y).min() == all.map(\.y).min() && some.map(\.y).max() == all.map(\.y).max())
        }
        // Order is preserved.
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $0.x <= $1.x })
    }

    @Test func exponentialMovingAverageIsDebiased() {
        #expect(LinePlot.exponentialMovingAverage([1, 1, 1], weight: 0.9) == [1, 1, 1])
        let s = LinePlot.exponentialMovingAverage([0, 10, .nan, 10], weight: 0.5)
        #expect(s[0] == 0 && abs(s[1] - 20.0 / 3) < 1e-12 && s[2].isNaN)
        #expect(abs(s[3] - (0.5 * 5 + 5) / 0.875) < 1e-12)
    }

    @Test func barHeightsAreProportionalToValues() {
        let red = RGBA(200, 30, 30)
        var chart = BarChart(title: "Accuracy", categories: ["a", "b", "c"], yLabel: "%", width: 600, height: 400)
        chart.add("kNN", values: [10, 20, 40], color: red)
        chart.yRange = 0...50
        chart.showValues = false
        let canvas = chart.render()
        // Split the red pixels below the legend into runs of adjacent columns: one per bar.
        let red2 = Self.pixels(of: red, in: canvas).filter { $0[1] > 52 }
        let byColumn = Dictionary(grouping: red2, by: { $0[0] })
        var bars: [Int: [[Int]]] = [:]
        var run = -1, lastX = Int.min
        for x in byColumn.keys.sorted() {
            if x != lastX + 1 { run += 1 }
            lastX = x
            bars[run, default: []] += byColumn[x]!
        }
        #expect(bars.count == 3)
        // Rows spanned minus one (a bar of value 0 would be the baseline row alone).
        let heights = (0..<3).map { k in Set(bars[k]?.map { $0[1] } ?? []).count - 1 }
        #expect(abs(heights[1] - 2 * heights[0]) <= 2 && abs(heights[2] - 4 * heights[0]) <= 3, "\(heights)")
        // Bars share one baseline.
        let bottoms = (0..<3).map { k in bars[k]?.map { $0[1] }.max() ?? -1 }
        #expect(Set(bottoms).count == 1)
        // Values with errors, NaN and negatives render.
        var mixed = BarChart(categories: ["raw pixels", "SynCLR (synthetic)"])
        mixed.add("kNN", values: [85.4, .nan], errors: [0.3, 0.1])
        mixed.add("linear", values: [-3, 86.2])
        #expect(mixed.render().width == 800)
        #expect(mixed.valueLabel(mixed.series[0], 0) == ("85.4", "\u{b1}0.3"))
        #expect(mixed.valueLabel(mixed.series[0], 1) == ("n/a", nil))
    }

    @Test func contactSheetLayout() {
        let green = ByteImage(width: 14, height: 5, channels: 3, pixels: (0..<210).map { $0 % 3 == 1 ? 200 : 0 })
        let gray = ByteImage(width: 28, height: 28, channels: 1, pixels: [UInt8](repeating: 90, count: 784))
        var sheet = ContactSheet(cellWidth: 32, cellHeight: 24)
        sheet.add("a", images: [green, gray, green])
        sheet.add("b", images: [gray])
        // 12 + 3 x 32 + 2 x 4 + 12 wide; 12 + 2 x (9 + 4 + 24) + 10 + 12 tall.
        #expect(sheet.size == (width: 128, height: 108))
        let canvas = sheet.render()
        #expect(canvas.width == 128 && canvas.height == 108)
        // Cell (row 0, column 0) starts at (12, 12 + 13); a 14x5 image fills its width.
        #expect(canvas.pixel(x: 12 + 16, y: 25 + 12) == RGBA(0, 200, 0))
        #expect(canvas.pixel(x: 12, y: 25 + 12) == RGBA(0, 200, 0))
        // Letterbox above the image shows the cell background.
        #expect(canvas.pixel(x: 12 + 16, y: 25) == sheet.cellBackground)
        // Gray image in (row 1, column 0), cell top 12 + 37 + 10 + 13.
        #expect(canvas.pixel(x: 12 + 16, y: 72 + 12) == RGBA(gray: 90))
        // Missing cells stay background.
        #expect(canvas.pixel(x: 12 + 36 + 16, y: 72 + 12) == .white)
        // Title, headers and a long caption add their lines.
        sheet.title = "Sheet"
        sheet.columnHeaders = ["s0", "s1", "s2"]
        sheet.rows[0].label = String(repeating: "word ", count: 40)
        #expect(sheet.size == (width: 128, height: 108 + 26 + 17 + 2 * 11))
        #expect(sheet.render().height == sheet.size.height)
        // Labels at the left: the label column widens the sheet.
        sheet.labelPlacement = .left(width: 60)
        #expect(sheet.size.width == 128 + 60 + 8)
        #expect(sheet.size.height == 12 + 26 + 17 + 24 + 10 + 24 + 12)
    }

    @Test func chartsWriteReadablePNGs() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        var plot = LinePlot(title: "t", width: 320, height: 200)
        plot.add("a", y: [3, 1, 2])
        try plot.write(to: dir.file("plot.png"))
        #expect(try ImageIO.read(dir.file("plot.png")) == plot.render().image)
        var bars = BarChart(categories: ["x"], width: 200, height: 150)
        bars.add("v", values: [1])
        try bars.write(to: dir.file("bars.png"))
        #expect(try ImageIO.read(dir.file("bars.png")).width == 200)
        var sheet = ContactSheet(cellWidth: 16, cellHeight: 16)
        sheet.add("x", images: [ByteImage(width: 2, height: 2, channels: 4, pixels: [UInt8](repeating: 128, count: 16))])
        try sheet.write(to: dir.file("sheet.png"))
        #expect(try ImageIO.read(dir.file("sheet.png")) == sheet.render().image)
        #expect(try dir.contents() == ["bars.png", "plot.png", "sheet.png"])
    }
}

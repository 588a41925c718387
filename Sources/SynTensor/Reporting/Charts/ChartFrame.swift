import Foundation

/// Maps data values along one axis to a fraction 0...1 of the plot (linear or log10).
struct AxisScale: Sendable {
    /// Value at fraction 0.
    var lo: Double
    /// Value at fraction 1.
    var hi: Double
    /// Logarithmic (lo and hi must be positive).
    var log: Bool

    /// A scale over [lo, hi], both clamped to +-8e307 so that its span stays finite.
    init(lo: Double, hi: Double, log: Bool) {
        self.lo = AxisScale.clamped(lo)
        self.hi = AxisScale.clamped(hi)
        self.log = log
        if !(self.hi > self.lo) { (self.lo, self.hi) = NiceTicks.widened(self.lo, self.hi) }
    }

    /// `v` limited to +-8e307 (twice that still fits in a Double); NaN stays NaN.
    static func clamped(_ v: Double) -> Double { min(max(v, -8e307), 8e307) }

    /// Fraction of the axis where `v` sits (outside 0...1 when outside the range).
    func fraction(_ v: Double) -> Double {
        log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo)
    }

    /// Whether `v` can be placed (finite, and positive on a log axis).
    func accepts(_ v: Double) -> Bool { v.isFinite && (!log || v > 0) }
}

/// Layout constants and drawing of the parts every chart shares: title, frame, ticks, labels.
enum ChartFrame {
    /// Space between the canvas edge and anything drawn.
    static let margin = 12
    /// Length of tick marks outside the frame.
    static let tickLength = 4
    /// Gap between a tick mark and its label.
    static let labelGap = 3
    /// Frame color.
    static let frameColor = RGBA(170, 170, 170)
    /// Major grid line color.
    static let gridColor = RGBA(230, 230, 230)
    /// Minor grid line color.
    static let minorGridColor = RGBA(244, 244, 244)

    /// Draws `title` centered at the top (scale 2 when it fits, else scale 1, truncated); returns
    /// the first row below it.
    static func drawTitle(_ canvas: inout Canvas, _ title: String) -> Int {
        if title.isEmpty { return margin }
        let available = canvas.width - 2 * margin
        let scale = BitmapFont.measure(title, scale: 2).width <= available ? 2 : 1
        let text = BitmapFont.truncate(title, maxWidth: available, scale: scale)
        canvas.drawText(text, x: canvas.width / 2, y: margin, scale: scale, color: .ink, anchor: .top)
        return margin + BitmapFont.height(ofLines: 1, scale: scale) + 10
    }

    /// Row of the pixel center for fraction `f` of the plot's height (0 at the bottom).
    static func row(_ f: Double, in plot: PixelRect) -> Double {
        Double(plot.maxY - 1) - f * Double(plot.height - 1)
    }

    /// Column of the pixel center for fraction `f` of the plot's width (0 at the left).
    static func column(_ f: Double, in plot: PixelRect) -> Double {
        Double(plot.x) + f * Double(plot.width - 1)
    }

    /// Grid lines, the frame around `plot`, and left-side ticks and labels for `ticks`.
    static func drawYAxis(_ canvas: inout Canvas, plot: PixelRect, scale: AxisScale, ticks: AxisTicks, grid: Bool) {
        let left = plot.x - 1
        for v in ticks.minor where scale.accepts(v) {
            let f = scale.fraction(v)
            guard f >= -1e-9 && f <= 1 + 1e-9 else { continue }
            let y = Int(row(f, in: plot).rounded())
            if grid { canvas.fillRect(PixelRect(x: plot.x, y: y, width: plot.width, height: 1), minorGridColor) }
            canvas.fillRect(PixelRect(x: left - tickLength / 2, y: y, width: tickLength / 2, height: 1), frameColor)
        }
        for (v, label) in zip(ticks.values, ticks.labels) where scale.accepts(v) {
            let f = scale.fraction(v)
            guard f >= -1e-9 && f <= 1 + 1e-9 else { continue }
            let y = Int(row(f, in: plot).rounded())
            if grid { canvas.fillRect(PixelRect(x: plot.x, y: y, width: plot.width, height: 1), gridColor) }
            canvas.fillRect(PixelRect(x: left - tickLength, y: y, width: tickLength, height: 1), frameColor)
            canvas.drawText(label, x: left - tickLength - labelGap, y: y - 3, color: .ink, anchor: .topRight)
        }
    }

    /// Vertical grid lines and bottom ticks and labels for `ticks`.
    static func drawXAxis(_ canvas: inout Canvas, plot: PixelRect, scale: AxisScale, ticks: AxisTicks, grid: Bool) {
        let bottom = plot.maxY
        for (v, label) in zip(ticks.values, ticks.labels) where scale.accepts(v) {
            let f = scale.fraction(v)
            guard f >= -1e-9 && f <= 1 + 1e-9 else { continue }
            let x = Int(column(f, in: plot).rounded())
            if grid { canvas.fillRect(PixelRect(x: x, y: plot.y, width: 1, height: plot.height), gridColor) }
            canvas.fillRect(PixelRect(x: x, y: bottom + 1, width: 1, height: tickLength), frameColor)
            canvas.drawText(label, x: x, y: bottom + 1 + tickLength + labelGap, color: .ink, anchor: .top)
        }
    }

    /// The 1-pixel frame just outside `plot`.
    static func drawFrame(_ canvas: inout Canvas, plot: PixelRect) {
        canvas.strokeRect(plot.insetBy(-1), frameColor)
    }

    /// Height of the band below the plot holding tick labels and, when present, the axis label.
    static func bottomBand(hasLabel: Bool) -> Int {
        1 + tickLength + labelGap + BitmapFont.glyphHeight + (hasLabel ? 8 + BitmapFont.glyphHeight : 0) + margin
    }

    /// Width of the band left of the plot for tick labels `maxLabelWidth` wide and the axis label.
    static func leftBand(maxLabelWidth: Int, hasLabel: Bool) -> Int {
        margin + (hasLabel ? BitmapFont.glyphHeight + 8 : 0) + maxLabelWidth + labelGap + tickLength + 1
    }

    /// The x-axis label centered under the plot and the y-axis label (reading upward) at the left.
    static func drawAxisLabels(_ canvas: inout Canvas, plot: PixelRect, xLabel: String, yLabel: String) {
        if !xLabel.isEmpty {
            let text = BitmapFont.truncate(xLabel, maxWidth: canvas.width - 2 * margin)
            canvas.drawText(text, x: plot.x + plot.width / 2, y: canvas.height - margin, color: .ink, anchor: .bottom)
        }
        if !yLabel.isEmpty {
            let text = BitmapFont.truncate(yLabel, maxWidth: plot.height + 40)
            canvas.drawText(text, x: margin, y: plot.y + plot.height / 2, color: .ink, anchor: .left, vertical: true)
        }
    }

    /// Chooses x ticks whose labels do not collide: the most ticks (up to 10) with at least
    /// 12 pixels between neighbouring labels.
    static func xTicks(_ scale: AxisScale, plotWidth: Int) -> AxisTicks {
        var best = NiceTicks.linear(scale.lo, scale.hi, maxCount: 2)
        for count in stride(from: 10, through: 2, by: -1) {
            let ticks = scale.log ? NiceTicks.logarithmic(scale.lo, scale.hi, maxCount: count)
                                  : NiceTicks.linear(scale.lo, scale.hi, maxCount: count)
            let xs = ticks.values.map { column(scale.fraction($0), in: PixelRect(x: 0, y: 0, width: plotWidth, height: 1)) }
            let widths = ticks.labels.map { BitmapFont.measure($0).width }
            var fits = true
            for i in xs.indices.dropFirst() where xs[i] - xs[i - 1] < Double(widths[i] + widths[i - 1]) / 2 + 12 {
                fits = false
            }
            if fits { best = ticks; break }
        }
        return best
    }

    /// y ticks for a plot `plotHeight` tall: about one per 50 pixels, at least 22 pixels apart,
    /// and three or more when the height allows.
    static func yTicks(_ scale: AxisScale, plotHeight: Int) -> AxisTicks {
        let target = Double(max(3, plotHeight / 50))
        let hardMax = max(2, min(12, plotHeight / 22))
        var best: AxisTicks? = nil
        func score(_ t: AxisTicks) -> (Int, Double) {
            (t.values.count >= 3 ? 0 : 1, abs(Double(t.values.count) - target))
        }
        for m in 2...hardMax {
            let t = scale.log ? NiceTicks.logarithmic(scale.lo, scale.hi, maxCount: m)
                              : NiceTicks.linear(scale.lo, scale.hi, maxCount: m)
            if let b = best, score(b) <= score(t) { continue }
            best = t
        }
        return best!
    }
}

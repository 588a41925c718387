import Foundation

extension LinePlot {
    /// Draws the plot on a new white canvas of `width` x `height`.
    public func render() -> Canvas {
        var canvas = Canvas(width: max(width, 64), height: max(height, 48))
        let w = smoothing > 0 && smoothing < 1 ? smoothing : 0
        let smoothed: [[Double]?] = series.map { w > 0 ? LinePlot.exponentialMovingAverage($0.y, weight: w) : nil }
        let (xScale, yScale, hasData) = scales(smoothed: smoothed)

        // Layout: title, bands for labels, then the plot rectangle.
        let top = ChartFrame.drawTitle(&canvas, title) + 4
        let bottomY = canvas.height - ChartFrame.bottomBand(hasLabel: !xLabel.isEmpty)
        let yTicks = ChartFrame.yTicks(yScale, plotHeight: bottomY - top)
        let labelWidth = yTicks.labels.map { BitmapFont.measure($0).width }.max() ?? 0
        let left = ChartFrame.leftBand(maxLabelWidth: labelWidth, hasLabel: !yLabel.isEmpty)
        var right = canvas.width - ChartFrame.margin - 8
        var xTicks = ChartFrame.xTicks(xScale, plotWidth: right - left)
        // Room for half of the last x label past the plot's right edge.
        if let last = xTicks.labels.last, let v = xTicks.values.last, xScale.fraction(v) > 0.98 {
            let overhang = BitmapFont.measure(last).width / 2 - (canvas.width - ChartFrame.margin - right)
            if overhang > 0 {
                right -= overhang
                xTicks = ChartFrame.xTicks(xScale, plotWidth: right - left)
            }
        }
        let plot = PixelRect(x: left, y: top, width: max(8, right - left), height: max(8, bottomY - top))

        ChartFrame.drawYAxis(&canvas, plot: plot, scale: yScale, ticks: yTicks, grid: showGrid)
        ChartFrame.drawXAxis(&canvas, plot: plot, scale: xScale, ticks: xTicks, grid: showGrid)
        ChartFrame.drawFrame(&canvas, plot: plot)
        ChartFrame.drawAxisLabels(&canvas, plot: plot, xLabel: xLabel, yLabel: yLabel)

        var drawn: [SIMD2<Double>] = []
        for (i, s) in series.enumerated() {
            let color = s.color ?? RGBA.series(i)
            if let sm = smoothed[i] {
                drawSeries(&canvas, x: s.x, y: s.y, color: color.opacity(0.3), width: 1, markers: false,
                           plot: plot, xScale: xScale, yScale: yScale, drawn: &drawn)
                drawSeries(&canvas, x: s.x, y: sm, color: color, width: s.lineWidth, markers: s.markers,
                           plot: plot, xScale: xScale, yScale: yScale, drawn: &drawn)
            } else {
                drawSeries(&canvas, x: s.x, y: s.y, color: color, width: s.lineWidth, markers: s.markers,
                           plot: plot, xScale: xScale, yScale: yScale, drawn: &drawn)
            }
        }
        if !hasData {
            canvas.drawText("no data", x: plot.x + plot.width / 2, y: plot.y + plot.height / 2, color: .gray, anchor: .center)
        }
        drawLegend(&canvas, plot: plot, drawn: drawn)
        return canvas
    }

    /// Axis scales from the ranges given or the finite data (with 5% y headroom); whether any point exists.
    private func scales(smoothed: [[Double]?]) -> (AxisScale, AxisScale, Bool) {
        var xLo = Double.infinity, xHi = -Double.infinity, yLo = Double.infinity, yHi = -Double.infinity
        for (i, s) in series.enumerated() {
            for (k, (x, y)) in zip(s.x, s.y).enumerated() {
                let ys = [y] + (smoothed[i].map { [$0[k]] } ?? [])
                for v in ys where v.isFinite && x.isFinite && (!logY || v > 0) {
                    xLo = min(xLo, x); xHi = max(xHi, x); yLo = min(yLo, v); yHi = max(yHi, v)
                }
            }
        }
        let hasData = xLo <= xHi
        if !hasData { xLo = 0; xHi = 1; yLo = logY ? 1 : 0; yHi = logY ? 10 : 1 }
        // Keep spans (and headroom) finite for data near the limits of Double.
        xLo = AxisScale.clamped(xLo); xHi = AxisScale.clamped(xHi); yLo = AxisScale.clamped(yLo); yHi = AxisScale.clamped(yHi)
        if let r = xRange { xLo = r.lowerBound; xHi = r.upperBound }
        (xLo, xHi) = NiceTicks.widened(xLo, xHi)
        if let r = yRange {
            yLo = r.lowerBound; yHi = r.upperBound
            if logY && yLo <= 0 { yLo = yHi > 0 ? yHi / 1e6 : 1 }
            (yLo, yHi) = logY && yHi <= yLo ? (yLo / 2, yLo * 2) : NiceTicks.widened(yLo, yHi)
        } else if logY {
            if yHi <= yLo { yLo /= 2; yHi *= 2 }
            let a = log10(yLo), b = log10(yHi), pad = (b - a) * 0.05
            yLo = pow(10, a - pad); yHi = pow(10, b + pad)
        } else {
            (yLo, yHi) = NiceTicks.widened(yLo, yHi)
            let pad = (yHi - yLo) * 0.05
            yLo -= pad; yHi += pad
        }
        return (AxisScale(lo: xLo, hi: xHi, log: false), AxisScale(lo: yLo, hi: yHi, log: logY), hasData)
    }

    /// Draws one line, broken at unplaceable points; collects the pixel positions in `drawn`.
    private func drawSeries(_ canvas: inout Canvas, x: [Double], y: [Double], color: RGBA, width: Double, markers: Bool,
                            plot: PixelRect, xScale: AxisScale, yScale: AxisScale, drawn: inout [SIMD2<Double>]) {
        var run: [SIMD2<Double>] = []
        func flush() {
            if run.count > 4 * plot.width { run = LinePlot.decimate(run) }
            if run.count == 1 {
                canvas.fillCircle(centerX: run[0].x, centerY: run[0].y, radius: max(1.5, width), color: color)
            } else if run.count > 1 {
                canvas.drawPolyline(run, color: color, width: width, clip: plot)
            }
            for (k, p) in run.enumerated() {
                if k > 0 {
                    // Sample long segments so the legend placement sees them.
                    let q = run[k - 1]
                    let length = ((p - q) * (p - q)).sum().squareRoot()
                    let steps = length.isFinite ? Int(min(length / 8, 200)) : 0
                    for i in stride(from: 1, to: steps, by: 1) { drawn.append(q + (p - q) * (Double(i) / Double(steps))) }
                }
                drawn.append(p)
            }
            run.removeAll(keepingCapacity: true)
        }
        for (xv, yv) in zip(x, y) {
            guard xScale.accepts(xv), yScale.accepts(yv) else { flush(); continue }
            let p = SIMD2(ChartFrame.column(xScale.fraction(xv), in: plot), ChartFrame.row(yScale.fraction(yv), in: plot))
            guard p.x.isFinite && p.y.isFinite else { flush(); continue }
            run.append(p)
            if markers && p.x >= Double(plot.x) && p.x < Double(plot.maxX) && p.y >= Double(plot.y) && p.y < Double(plot.maxY) {
                canvas.fillCircle(centerX: p.x, centerY: p.y, radius: width + 1.5, color: color)
            }
        }
        flush()
    }

    /// `points` (pixel positions) reduced to the first, lowest, highest and last point of each
    /// run of points in the same pixel column, in their order: the drawn line looks the same.
    static func decimate(_ points: [SIMD2<Double>]) -> [SIMD2<Double>] {
        var out: [SIMD2<Double>] = []
        var i = 0
        while i < points.count {
            let column = points[i].x.rounded(.down)
            var j = i, lowest = i, highest = i
            while j < points.count && points[j].x.rounded(.down) == column {
                if points[j].y < points[lowest].y { lowest = j }
                if points[j].y > points[highest].y { highest = j }
                j += 1
            }
            for k in Set([i, lowest, highest, j - 1]).sorted() { out.append(points[k]) }
            i = j
        }
        return out
    }

    /// The legend box listing named series, in the requested or least crowded corner.
    private func drawLegend(_ canvas: inout Canvas, plot: PixelRect, drawn: [SIMD2<Double>]) {
        let entries = series.enumerated().filter { !$0.element.name.isEmpty }
        guard legend != .hidden, !entries.isEmpty else { return }
        let swatch = 18, pad = 6, rowHeight = BitmapFont.lineHeight + 3
        let maxText = plot.width - 2 * pad - swatch - 6 - 16
        let names = entries.map { BitmapFont.truncate($0.element.name, maxWidth: max(maxText, 6)) }
        let textWidth = names.map { BitmapFont.measure($0).width }.max() ?? 0
        let boxW = pad + swatch + 6 + textWidth + pad
        let boxH = pad + entries.count * rowHeight - 3 + pad
        let inset = 8
        let corners: [(LegendPlacement, PixelRect)] = [
            (.topRight, PixelRect(x: plot.maxX - inset - boxW, y: plot.y + inset, width: boxW, height: boxH)),
            (.topLeft, PixelRect(x: plot.x + inset, y: plot.y + inset, width: boxW, height: boxH)),
            (.bottomRight, PixelRect(x: plot.maxX - inset - boxW, y: plot.maxY - inset - boxH, width: boxW, height: boxH)),
            (.bottomLeft, PixelRect(x: plot.x + inset, y: plot.maxY - inset - boxH, width: boxW, height: boxH)),
        ]
        let box: PixelRect
        if let chosen = corners.first(where: { $0.0 == legend }) {
            box = chosen.1
        } else {
            // Fewest covered points, with the segments between points sampled too.
            func crowding(_ r: PixelRect) -> Int {
                var n = 0
                for p in drawn where p.x >= Double(r.x) && p.x < Double(r.maxX) && p.y >= Double(r.y) && p.y < Double(r.maxY) { n += 1 }
                return n
            }
            box = corners.min(by: { crowding($0.1) < crowding($1.1) })!.1
        }
        canvas.fillRect(box, RGBA(255, 255, 255, 235))
        canvas.strokeRect(box, RGBA(200, 200, 200))
        for (row, (entry, name)) in zip(entries, names).enumerated() {
            let color = entry.element.color ?? RGBA.series(entry.offset)
            let cy = box.y + pad + row * rowHeight + 3
            canvas.drawLine(x0: Double(box.x + pad), y0: Double(cy), x1: Double(box.x + pad + swatch), y1: Double(cy),
                            color: color, width: max(2, entry.element.lineWidth))
            if entry.element.markers {
                canvas.fillCircle(centerX: Double(box.x + pad + swatch / 2), centerY: Double(cy), radius: 3, color: color)
            }
            canvas.drawText(name, x: box.x + pad + swatch + 6, y: cy - 3, color: .ink)
        }
    }
}

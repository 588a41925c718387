import Foundation

extension BarChart {
    /// Draws the chart on a new white canvas of `width` x `height`.
    public func render() -> Canvas {
        var canvas = Canvas(width: max(width, 64), height: max(height, 48))
        let groups = max(categories.count, series.map(\.values.count).max() ?? 0)
        var top = ChartFrame.drawTitle(&canvas, title)
        top = drawLegend(&canvas, top: top) + 4
        let yScale = scale()

        // Bottom band: wrapped category names (up to 3 lines) and the x label.
        let provisionalLeft = ChartFrame.leftBand(maxLabelWidth: 30, hasLabel: !yLabel.isEmpty)
        let provisionalGroup = max(1, (canvas.width - ChartFrame.margin - provisionalLeft) / max(groups, 1))
        let nameLines = categories.map { BitmapFont.wrap($0, maxWidth: provisionalGroup - 6, maxLines: 3).count }.max() ?? 1
        let namesHeight = BitmapFont.height(ofLines: max(nameLines, 1))
        let bottomY = canvas.height - ChartFrame.margin - (xLabel.isEmpty ? 0 : BitmapFont.glyphHeight + 8)
            - namesHeight - ChartFrame.labelGap - ChartFrame.tickLength - 1
        let yTicks = ChartFrame.yTicks(yScale, plotHeight: bottomY - top)
        let labelWidth = yTicks.labels.map { BitmapFont.measure($0).width }.max() ?? 0
        let left = ChartFrame.leftBand(maxLabelWidth: labelWidth, hasLabel: !yLabel.isEmpty)
        let right = canvas.width - ChartFrame.margin
        let plot = PixelRect(x: left, y: top, width: max(8, right - left), height: max(8, bottomY - top))

        ChartFrame.drawYAxis(&canvas, plot: plot, scale: yScale, ticks: yTicks, grid: showGrid)
        ChartFrame.drawFrame(&canvas, plot: plot)
        ChartFrame.drawAxisLabels(&canvas, plot: plot, xLabel: xLabel, yLabel: yLabel)
        guard groups > 0 else {
            canvas.drawText("no data", x: plot.x + plot.width / 2, y: plot.y + plot.height / 2, color: .gray, anchor: .center)
            return canvas
        }

        let groupWidth = Double(plot.width) / Double(groups)
        let barWidth = max(1, groupWidth * 0.8 / Double(max(series.count, 1)))
        let baseFraction = min(max(yScale.fraction(0), 0), 1)
        let baseY = ChartFrame.row(baseFraction, in: plot)
        for g in 0..<groups {
            let gx = Double(plot.x) + Double(g) * groupWidth
            let center = Int((gx + groupWidth / 2).rounded())
            // Category name under the group, with a tick between groups.
            if g < categories.count {
                let lines = BitmapFont.wrap(categories[g], maxWidth: Int(groupWidth) - 6, maxLines: 3)
                canvas.drawText(lines.joined(separator: "\n"), x: center,
                                y: plot.maxY + 1 + ChartFrame.tickLength + ChartFrame.labelGap, color: .ink, anchor: .top)
            }
            if g > 0 {
                canvas.fillRect(PixelRect(x: Int(gx.rounded()), y: plot.maxY + 1, width: 1, height: ChartFrame.tickLength),
                                ChartFrame.frameColor)
            }
            for (j, s) in series.enumerated() {
                let x0 = gx + groupWidth * 0.1 + Double(j) * barWidth
                drawBar(&canvas, series: s, index: j, group: g, x0: x0, barWidth: barWidth, baseY: baseY, plot: plot, scale: yScale)
            }
        }
        if yScale.lo < 0 && yScale.hi > 0 {
            canvas.fillRect(PixelRect(x: plot.x, y: Int(baseY.rounded()), width: plot.width, height: 1), ChartFrame.frameColor)
        }
        return canvas
    }

    /// The y scale: the given range, or [min(0, lowest), highest] with 12% headroom for labels.
    private func scale() -> AxisScale {
        if let r = yRange {
            let (lo, hi) = NiceTicks.widened(r.lowerBound, r.upperBound)
            return AxisScale(lo: lo, hi: hi, log: false)
        }
        var lo = 0.0, hi = 0.0
        for s in series {
            for (k, v) in s.values.enumerated() where v.isFinite {
                let e = s.errors.map { $0[k].isFinite ? abs($0[k]) : 0 } ?? 0
                lo = min(lo, v - e); hi = max(hi, v + e)
            }
        }
        (lo, hi) = NiceTicks.widened(AxisScale.clamped(lo), AxisScale.clamped(hi))
        let span = hi - lo
        return AxisScale(lo: lo < 0 ? lo - span * 0.12 : lo, hi: hi > 0 ? hi + span * 0.12 : hi, log: false)
    }

    /// One bar with its error bar and printed value.
    private func drawBar(_ canvas: inout Canvas, series s: Series, index j: Int, group g: Int, x0: Double, barWidth: Double,
                         baseY: Double, plot: PixelRect, scale: AxisScale) {
        let color = s.color ?? RGBA.series(j)
        let v = g < s.values.count ? s.values[g] : .nan
        let gap = series.count > 1 && barWidth >= 6 ? 1.0 : 0
        let left = Int((x0 + gap).rounded()), right = Int((x0 + barWidth - gap).rounded())
        let cx = (left + right) / 2
        guard v.isFinite else {
            if showValues {
                canvas.drawText("n/a", x: cx, y: Int(baseY) - 3, color: .gray, anchor: .bottom, vertical: barWidth < 18)
            }
            return
        }
        let f = min(max(scale.fraction(v), 0), 1)
        let y = ChartFrame.row(f, in: plot)
        let y0 = Int(min(y, baseY).rounded()), y1 = Int(max(y, baseY).rounded())
        canvas.fillRect(PixelRect(x: left, y: y0, width: max(1, right - left), height: max(1, y1 - y0 + 1)).intersection(plot), color)

        var labelEdge = v >= 0 ? Double(y0) : Double(y1)
        if let e = s.errors?[g], e.isFinite, e > 0 {
            let ya = ChartFrame.row(min(max(scale.fraction(v - e), 0), 1), in: plot)
            let yb = ChartFrame.row(min(max(scale.fraction(v + e), 0), 1), in: plot)
            let ex = Double(cx)
            let cap = max(2, Double(right - left) / 4)
            let ink = RGBA(50, 50, 50)
            canvas.drawLine(x0: ex, y0: ya, x1: ex, y1: yb, color: ink, width: 1)
            canvas.drawLine(x0: ex - cap, y0: ya, x1: ex + cap, y1: ya, color: ink, width: 1)
            canvas.drawLine(x0: ex - cap, y0: yb, x1: ex + cap, y1: yb, color: ink, width: 1)
            labelEdge = v >= 0 ? min(labelEdge, yb) : max(labelEdge, ya)
        }
        guard showValues else { return }
        let (value, error) = valueLabel(s, g)
        let oneLine = value + (error ?? "")
        let room = Int(barWidth + (series.count > 1 ? 0 : barWidth * 0.2))
        let above = v >= 0
        let anchorY = above ? Int(labelEdge.rounded()) - 3 : Int(labelEdge.rounded()) + 4
        if BitmapFont.measure(oneLine).width <= room {
            canvas.drawText(oneLine, x: cx + 1, y: anchorY, color: .ink, anchor: above ? .bottom : .top)
        } else if let error, max(BitmapFont.measure(value).width, BitmapFont.measure(error).width) <= room {
            canvas.drawText(value + "\n" + error, x: cx + 1, y: anchorY, color: .ink, anchor: above ? .bottom : .top)
        } else {
            canvas.drawText(oneLine, x: cx + 1, y: anchorY, color: .ink, anchor: above ? .bottom : .top, vertical: true)
        }
    }

    /// A centered row of color swatches and series names under the title; returns the row below it.
    private func drawLegend(_ canvas: inout Canvas, top: Int) -> Int {
        let named = series.enumerated().filter { !$0.element.name.isEmpty }
        guard !named.isEmpty else { return top }
        let swatch = 10, spacing = 18
        let widths = named.map { swatch + 5 + BitmapFont.measure($0.element.name).width }
        let total = widths.reduce(0, +) + spacing * (named.count - 1)
        var x = max(ChartFrame.margin, (canvas.width - total) / 2)
        for (entry, w) in zip(named, widths) {
            let color = entry.element.color ?? RGBA.series(entry.offset)
            canvas.fillRect(PixelRect(x: x, y: top, width: swatch, height: swatch - 2), color)
            canvas.drawText(entry.element.name, x: x + swatch + 5, y: top, color: .ink)
            x += w + spacing
        }
        return top + BitmapFont.glyphHeight + 8
    }
}

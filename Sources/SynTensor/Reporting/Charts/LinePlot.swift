import Foundation

/// A line chart of one or more named (x, y) series: title, axis labels, 1-2-5 ticks, grid,
/// optional log y axis, legend, and an optional exponential-moving-average overlay.
///
/// Points with a NaN or infinite coordinate (or y <= 0 on a log axis) are left out and break
/// the line there; an isolated point is drawn as a dot.
public struct LinePlot: Sendable {
    /// One named line.
    public struct Series: Sendable {
        /// Legend text (series with an empty name are not listed).
        public var name: String
        /// x coordinates, one per point.
        public var x: [Double]
        /// y coordinates, one per point.
        public var y: [Double]
        /// Line color; nil takes the palette color of the series' position.
        public var color: RGBA?
        /// Line width in pixels (1...3 look best).
        public var lineWidth: Double
        /// Draws a dot at every point (for short series such as per-epoch evaluations).
        public var markers: Bool

        /// A series of points (x[i], y[i]); `x` and `y` must have the same length.
        public init(name: String, x: [Double], y: [Double], color: RGBA? = nil, lineWidth: Double = 1.5, markers: Bool = false) {
            precondition(x.count == y.count, "series \(name): \(x.count) x values but \(y.count) y values")
            self.name = name
            self.x = x
            self.y = y
            self.color = color
            self.lineWidth = lineWidth
            self.markers = markers
        }

        /// A series with x = 0, 1, 2, ...
        public init(name: String, y: [Double], color: RGBA? = nil, lineWidth: Double = 1.5, markers: Bool = false) {
            self.init(name: name, x: y.indices.map(Double.init), y: y, color: color, lineWidth: lineWidth, markers: markers)
        }
    }

    /// Where the legend goes.
    public enum LegendPlacement: Sendable, Hashable {
        /// The plot corner its box covers the fewest data points in.
        case automatic
        /// Top-left corner inside the plot.
        case topLeft
        /// Top-right corner inside the plot.
        case topRight
        /// Bottom-left corner inside the plot.
        case bottomLeft
        /// Bottom-right corner inside the plot.
        case bottomRight
        /// No legend.
        case hidden
    }

    /// Title above the plot (empty: none).
    public var title: String
    /// x-axis label (empty: none).
    public var xLabel: String
    /// y-axis label, drawn reading upward (empty: none).
    public var yLabel: String
    /// The lines, drawn in order (later on top).
    public var series: [Series]
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// Logarithmic y axis (y <= 0 points are left out).
    public var logY: Bool = false
    /// EMA smoothing weight in [0, 1) as TensorBoard's slider (0: off): when on, each series
    /// is drawn faint as recorded, with its debiased EMA on top.
    public var smoothing: Double = 0
    /// x range shown (nil: the data's).
    public var xRange: ClosedRange<Double>? = nil
    /// y range shown (nil: the data's, with 5% headroom).
    public var yRange: ClosedRange<Double>? = nil
    /// Grid lines at the ticks.
    public var showGrid: Bool = true
    /// Legend position.
    public var legend: LegendPlacement = .automatic

    /// An empty plot, 800x480 unless told.
    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [Series] = [],
                width: Int = 800, height: Int = 480) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.width = width
        self.height = height
    }

    /// Appends a series of points (x[i], y[i]).
    public mutating func add(_ name: String, x: [Double], y: [Double], color: RGBA? = nil) {
        series.append(Series(name: name, x: x, y: y, color: color))
    }

    /// Appends a series with x = 0, 1, 2, ...
    public mutating func add(_ name: String, y: [Double], color: RGBA? = nil) {
        series.append(Series(name: name, y: y, color: color))
    }

    /// Writes the rendered plot atomically (PNG, or JPEG by extension).
    public func write(to url: URL) throws {
        try render().write(to: url)
    }

    /// The debiased exponential moving average of `values` with weight `w` (TensorBoard's
    /// smoothing): s_t = w s_(t-1) + (1 - w) v_t, divided by 1 - w^n; non-finite values stay
    /// in place and do not enter the average.
    public static func exponentialMovingAverage(_ values: [Double], weight w: Double) -> [Double] {
        var last = 0.0, n = 0.0
        return values.map { v in
            guard v.isFinite else { return v }
            last = last * w + (1 - w) * v
            n += 1
            let debias = 1 - pow(w, n)
            return debias > 0 ? last / debias : v
        }
    }
}

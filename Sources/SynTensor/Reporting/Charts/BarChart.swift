import Foundation

/// A grouped bar chart: one group per category (e.g. a method), one bar per series within it
/// (e.g. kNN and linear probe), the value printed above each bar, optional error bars
/// (e.g. the spread over seeds), a legend row under the title.
public struct BarChart: Sendable {
    /// One bar per category, in one color.
    public struct Series: Sendable {
        /// Legend text.
        public var name: String
        /// One value per category (NaN: no bar, "n/a" is printed).
        public var values: [Double]
        /// Optional half-length of an error bar per value (e.g. a standard deviation).
        public var errors: [Double]?
        /// Bar color; nil takes the palette color of the series' position.
        public var color: RGBA?

        /// A series of values (and optional error half-lengths, same count).
        public init(name: String, values: [Double], errors: [Double]? = nil, color: RGBA? = nil) {
            precondition(errors == nil || errors!.count == values.count,
                         "bar series \(name): \(values.count) values but \(errors!.count) errors")
            self.name = name
            self.values = values
            self.errors = errors
            self.color = color
        }
    }

    /// Title above the chart (empty: none).
    public var title: String
    /// Label under the category names (empty: none).
    public var xLabel: String
    /// y-axis label, drawn reading upward (empty: none).
    public var yLabel: String
    /// Group names along the x axis, wrapped to the group's width.
    public var categories: [String]
    /// The bars of each group, in order.
    public var series: [Series]
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// Digits after the point in the printed values.
    public var valueDecimals: Int = 1
    /// Text after each printed value (e.g. "%").
    public var valueSuffix: String = ""
    /// Prints each value above its bar.
    public var showValues: Bool = true
    /// y range shown (nil: from 0, or the smallest value when negative, to the largest plus headroom).
    public var yRange: ClosedRange<Double>? = nil
    /// Horizontal grid lines at the ticks.
    public var showGrid: Bool = true

    /// A chart of `categories` groups, 800x480 unless told.
    public init(title: String = "", categories: [String] = [], series: [Series] = [], xLabel: String = "",
                yLabel: String = "", width: Int = 800, height: Int = 480) {
        self.title = title
        self.categories = categories
        self.series = series
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.width = width
        self.height = height
    }

    /// Appends a series: one value (and optional error) per category.
    public mutating func add(_ name: String, values: [Double], errors: [Double]? = nil, color: RGBA? = nil) {
        series.append(Series(name: name, values: values, errors: errors, color: color))
    }

    /// Writes the rendered chart atomically (PNG, or JPEG by extension).
    public func write(to url: URL) throws {
        try render().write(to: url)
    }

    /// The printed label of value `k` of `s` ("85.2", "85.2±0.4" with an error).
    func valueLabel(_ s: Series, _ k: Int) -> (value: String, error: String?) {
        let v = k < s.values.count ? s.values[k] : .nan
        guard v.isFinite else { return ("n/a", nil) }
        let value = NiceTicks.format(v, decimals: valueDecimals) + valueSuffix
        if let e = s.errors?[k], e.isFinite, e > 0 {
            return (value, "\u{b1}" + NiceTicks.format(e, decimals: valueDecimals))
        }
        return (value, nil)
    }
}

import Foundation
import SynTensor

/// Reads metrics.jsonl records (skipping lines that do not parse).
public func readTrainMetrics(_ url: URL) -> [TrainMetrics] {
    guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
    let dec = JSONDecoder()
    return data.split(separator: 0x0A).compactMap { try? dec.decode(TrainMetrics.self, from: Data($0)) }
}

/// Draws every loss term of a run (and the learning rate scaled to the loss range is omitted:
/// it has its own chart) as a PNG line plot with an EMA-smoothed overlay.
public func writeLossCurve(metrics: [TrainMetrics], title: String, to url: URL) throws {
    guard !metrics.isEmpty else { return }
    var plot = LinePlot(title: title, xLabel: "step", yLabel: "loss")
    let x = metrics.map { Double($0.step) }
    plot.add("total", x: x, y: metrics.map { Double($0.losses.total) })
    if metrics.contains(where: { $0.losses.local != 0 }) {
        plot.add("global contrastive", x: x, y: metrics.map { Double($0.losses.global) })
        plot.add("local contrastive", x: x, y: metrics.map { Double($0.losses.local) })
    }
    if metrics.contains(where: { $0.losses.ibot != 0 }) {
        plot.add("iBOT", x: x, y: metrics.map { Double($0.losses.ibot) })
    }
    plot.smoothing = metrics.count > 20 ? 0.8 : 0
    try plot.write(to: url)
}

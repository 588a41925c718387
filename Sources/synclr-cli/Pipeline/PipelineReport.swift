import Foundation
import SynPipeline
import SynDiffusion
import SynRep
import SynTensor

/// Writes RUN/report.md (and eval.png): caption samples per mode, the contact sheet, training
/// curves, the evaluation table, the configuration and the wall time of each stage.
func writeReport(_ result: PipelineResult, config: PipelineConfig, directory: URL, preset: String) throws {
    var md = "# SynCLR pipeline report (\(preset))\n\n"
    md += "Everything below was produced offline on this machine from the configuration at the end: "
    md += "captions written by the `\(config.captions.backend)` backend for the `\(config.captions.concepts)` concepts, "
    md += "\(config.images.perCaption) images per caption from the text-to-image model at guidance \(config.images.guidance)"
    if let data = FileManager.default.contents(atPath: directory.appendingPathComponent("images/job.json").path),
       let job = try? JSONDecoder().decode(ImageJobDescription.self, from: data) {
        md += job.options.refinementsSummary
    }
    md += ", "
    md += "a `\(config.train.model)` ViT trained for \(config.train.steps) steps, and kNN / linear-probe accuracy on real `\(config.eval.dataset)` test images.\n\n"

    md += "## Wall time per stage\n\n| stage | time |\n|---|---|\n"
    for (s, t) in result.stageSeconds { md += "| \(s) | \(ProgressReporter.formatDuration(t)) |\n" }
    md += "| total | \(ProgressReporter.formatDuration(result.stageSeconds.reduce(0) { $0 + $1.1 })) |\n\n"

    if let records = try? CaptionsFile.read(directory.appendingPathComponent("captions.jsonl")) {
        md += "## Captions (a sample per mode)\n\n"
        var byMode: [String: [(String, String)]] = [:]
        for r in records {
            let mode = r.mode?.rawValue ?? "?"
            if byMode[mode, default: []].count < 6 { byMode[mode, default: []].append((r.concept ?? "", r.caption)) }
        }
        md += "\(records.count) captions in `captions.jsonl`.\n\n"
        for mode in byMode.keys.sorted() {
            md += "**\(mode)**\n\n"
            for (concept, caption) in byMode[mode]! { md += "- *\(concept)*: \(caption)\n" }
            md += "\n"
        }
    }
    if FileManager.default.fileExists(atPath: directory.appendingPathComponent("sheet.png").path) {
        md += "## Generated images\n\nEach row: one caption and its \(config.images.perCaption) images.\n\n![contact sheet](sheet.png)\n\n"
    }

    md += "## Training curves\n\n"
    for t in result.trainDirectories {
        let rel = t.url.path.replacingOccurrences(of: directory.path + "/", with: "")
        if FileManager.default.fileExists(atPath: t.url.appendingPathComponent("loss.png").path) {
            md += "**\(t.name)** (seed \(t.seed))\n\n![\(t.name) loss](\(rel)/loss.png)\n\n"
        }
    }

    md += "## Evaluation on real \(config.eval.dataset) test images\n\n"
    md += "Top-1 accuracy (%) of a weighted kNN (k = 20, cosine) and of a linear probe (logistic regression, regularization chosen on a held-out part of the training split)"
    md += config.eval.trainLimit > 0 ? ", both fitted on \(config.eval.trainLimit) class-balanced training images.\n\n" : ", fitted on the full training split.\n\n"
    md += "| features | trained on | kNN top-1 | linear top-1 | seeds |\n|---|---|---|---|---|\n"
    let dataOf = Dictionary(result.evaluations.map { ($0.name, $0.data) }, uniquingKeysWith: { a, _ in a })
    for g in result.groupedMeans() {
        let d = dataOf[g.name] ?? "-"
        let trainedOn = d == "synthetic" ? "synthetic images only" : (d == "-" ? "-" : "real \(d) train images")
        let pm = { (m: Double, s: Double) in g.count > 1 ? String(format: "%.2f ± %.2f", m, s) : String(format: "%.2f", m) }
        md += "| \(g.name) | \(trainedOn) | \(pm(g.knn.mean, g.knn.std)) | \(pm(g.linear.mean, g.linear.std)) | \(g.count) |\n"
    }
    md += "\n![evaluation](eval.png)\n\n"
    var chart = BarChart(title: "\(config.eval.dataset) test accuracy (%)", categories: result.groupedMeans().map(\.name), yLabel: "top-1 (%)")
    let groups = result.groupedMeans()
    chart.add("kNN", values: groups.map { $0.knn.mean }, errors: groups.map { $0.count > 1 ? $0.knn.std : 0 })
    chart.add("linear probe", values: groups.map { $0.linear.mean }, errors: groups.map { $0.count > 1 ? $0.linear.std : 0 })
    chart.valueDecimals = 1
    try chart.write(to: directory.appendingPathComponent("eval.png"))

    md += "## Configuration\n\n```json\n\(config.json())\n```\n"
    try Data(md.utf8).write(to: directory.appendingPathComponent("report.md"), options: .atomic)
}

/// The part of an image folder's job.json the report reads.
private struct ImageJobDescription: Decodable {
    var options: ImageJobOptions
}

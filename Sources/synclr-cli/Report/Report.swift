import ArgumentParser
import Foundation

/// `synclr report RUN`: rebuilds a pipeline run's report.html from its report.md and images.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate RUN/report.html (self-contained web page) from a pipeline run folder.")

    @Argument(help: "Pipeline run folder (holds report.md).") var runFolder: String

    func run() throws {
        let url = try HTMLReport.write(runDirectory: URL(fileURLWithPath: runFolder))
        print("report: \(url.path)")
    }
}

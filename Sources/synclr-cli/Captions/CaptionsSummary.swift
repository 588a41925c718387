import ArgumentParser
import SynCaption

/// `synclr captions summary FILE`: counts per source, mode and concept, duplicates and rejections.
struct CaptionsSummary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Summarize a caption JSONL file (or the job still writing it)."
    )

    @Argument(help: "Caption JSONL file.")
    var file: String

    @Option(help: "How many of the most frequent concepts to list.")
    var top: Int = 15

    func run() throws {
        print(try CaptionSummary.load(path: file).report(top: top))
    }
}

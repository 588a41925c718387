import ArgumentParser
import Foundation
import SynDiffusion
import SynTensor

/// `synclr images sheet DIR --out sheet.png`: captions x their images in one PNG.
struct ImagesSheet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheet",
        abstract: "Write a contact sheet (one row per caption, its images left to right) of a generated folder.")

    @Argument(help: "Folder written by `synclr images`.") var directory: String
    @Option(help: "Output PNG.") var out: String
    @Option(help: "At most this many captions (rows).") var maxCaptions: Int = 64
    @Flag(help: "Images only, without the caption beside each row.") var noLabels = false

    func run() async throws {
        try Self.execute(directory: URL(fileURLWithPath: directory), out: URL(fileURLWithPath: out), maxCaptions: maxCaptions, labels: !noLabels)
    }

    /// Writes the sheet of the image folder `directory` to `out` (also the pipeline's sheet).
    static func execute(directory: URL, out: URL, maxCaptions: Int, labels: Bool) throws {
        if labels {
            let sheet = try SynDiffusion.ContactSheet.labeled(directory: directory, maxCaptions: maxCaptions)
            try sheet.write(to: out)
            report("sheet: \(sheet.rows.count) captions -> \(out.path) (\(sheet.size.width)x\(sheet.size.height))")
        } else {
            let (image, rows) = try SynDiffusion.ContactSheet.make(directory: directory, maxCaptions: maxCaptions)
            try ImageIO.write(image, to: out)
            report("sheet: \(rows.count) captions -> \(out.path) (\(image.shape[2])x\(image.shape[1]))")
        }
    }
}

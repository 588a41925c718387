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
        let dir = URL(fileURLWithPath: directory)
        if noLabels {
            let (image, rows) = try SynDiffusion.ContactSheet.make(directory: dir, maxCaptions: maxCaptions)
            try ImageIO.write(image, to: URL(fileURLWithPath: out))
            report("sheet: \(rows.count) captions -> \(out) (\(image.shape[2])x\(image.shape[1]))")
        } else {
            let sheet = try SynDiffusion.ContactSheet.labeled(directory: dir, maxCaptions: maxCaptions)
            try sheet.write(to: URL(fileURLWithPath: out))
            report("sheet: \(sheet.rows.count) captions -> \(out) (\(sheet.size.width)x\(sheet.size.height))")
        }
    }
}

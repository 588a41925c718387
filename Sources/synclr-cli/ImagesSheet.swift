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

    func run() async throws {
        let (image, rows) = try ContactSheet.make(directory: URL(fileURLWithPath: directory), maxCaptions: maxCaptions)
        try ImageIO.write(image, to: URL(fileURLWithPath: out))
        report("sheet: \(rows.count) captions -> \(out) (\(image.shape[2])x\(image.shape[1]))")
        for (i, caption) in rows.enumerated() { print(String(format: "%3d  %@", i + 1, caption)) }
    }
}

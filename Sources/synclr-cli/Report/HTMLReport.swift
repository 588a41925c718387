import Foundation
import Ink

/// report.html: the run's report.md rendered as one self-contained web page (every image the
/// report shows is inlined as a data URL, so the file can be mailed or archived alone).
enum HTMLReport {
    /// Errors of the HTML report.
    enum Failure: Error, CustomStringConvertible {
        case missingMarkdown(String)
        var description: String {
            switch self {
            case .missingMarkdown(let path): return "\(path) does not exist: run `synclr pipeline` into this folder first"
            }
        }
    }

    /// Renders RUN/report.md into RUN/report.html (atomically) and returns its URL.
    @discardableResult
    static func write(runDirectory: URL) throws -> URL {
        let mdURL = runDirectory.appendingPathComponent("report.md")
        guard let data = FileManager.default.contents(atPath: mdURL.path) else { throw Failure.missingMarkdown(mdURL.path) }
        var markdown = String(decoding: data, as: UTF8.self)
        markdown += "\n\n## Curves in TensorBoard\n\nEvery training folder of this run holds TensorBoard event files: "
        markdown += "`tensorboard --logdir \(runDirectory.path)` shows each loss term, the schedules, images/s, the augmented views and the configuration.\n"
        let body = inlineImages(MarkdownParser().html(from: markdown), base: runDirectory)
        let title = markdown.split(separator: "\n").first.map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : String($0) } ?? "SynCLR report"
        let page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>
            body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #1d1d1f; }
            h1 { font-size: 1.7em; border-bottom: 1px solid #ddd; padding-bottom: .3em; }
            h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #eee; padding-bottom: .2em; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #d0d7de; padding: .35em .8em; text-align: left; }
            th { background: #f6f8fa; }
            tr:nth-child(even) td { background: #fbfbfb; }
            img { max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
            pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: 13px; }
            code { font-family: "DejaVu Sans Mono", Menlo, monospace; }
            .missing { color: #b00020; font-weight: bold; }
            </style>
            </head>
            <body>
            \(body)
            <script>
            // Marks any image that did not load, so a broken report is visible at a glance.
            window.addEventListener("load", function () {
              var broken = 0;
              document.querySelectorAll("img").forEach(function (img) {
                if (!img.complete || img.naturalWidth === 0) {
                  broken += 1;
                  var note = document.createElement("span");
                  note.className = "missing";
                  note.textContent = "image not found: " + img.getAttribute("alt");
                  img.replaceWith(note);
                }
              });
              document.body.setAttribute("data-images", String(document.querySelectorAll("img").length));
              document.body.setAttribute("data-broken-images", String(broken));
            });
            </script>
            </body>
            </html>

            """
        let out = runDirectory.appendingPathComponent("report.html")
        try Data(page.utf8).write(to: out, options: .atomic)
        return out
    }

    /// Replaces `src="relative.png"` by a data URL of the file under `base`; a file that is not
    /// there keeps its relative link (and shows as missing in the browser).
    static func inlineImages(_ html: String, base: URL) -> String {
        var out = ""
        var rest = Substring(html)
        while let r = rest.range(of: "src=\"") {
            out += rest[..<r.upperBound]
            rest = rest[r.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            let src = String(rest[..<end])
            rest = rest[end...]
            let lower = src.lowercased()
            let mime = lower.hasSuffix(".png") ? "image/png" : (lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg")) ? "image/jpeg" : nil
            let isRelative = !src.contains(":") && !src.hasPrefix("/") && !src.split(separator: "/").contains("..")
            if let mime, isRelative, let data = FileManager.default.contents(atPath: base.appendingPathComponent(src).path) {
                out += "data:\(mime);base64," + data.base64EncodedString()
            } else {
                out += src
            }
        }
        return out + rest
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

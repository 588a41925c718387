import Foundation
import SynTensor

/// A contact sheet of a generation job: one row per caption, its images left to right.
public enum ContactSheet {
    /// One manifest entry the sheet needs.
    public struct Entry: Sendable {
        /// Image path relative to the job folder.
        public var path: String
        /// Caption id as text.
        public var captionID: String
        /// Caption text.
        public var caption: String
        /// Image index within the caption.
        public var index: Int
    }

    /// Reads DIR/manifest.jsonl; throws `DiffusionError` naming the file and line on a malformed line.
    public static func readManifest(_ directory: URL) throws -> [Entry] {
        let url = directory.appendingPathComponent("manifest.jsonl")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DiffusionError.missingFile(path: url.path, hint: "Run `synclr images --captions ... --out \(directory.path)` first.")
        }
        var entries: [Entry] = []
        var n = 0
        for raw in try Data(contentsOf: url).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            n += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any] else {
                throw DiffusionError.malformedLine(path: url.path, line: n, reason: "not a JSON object")
            }
            guard let path = obj["path"] as? String, let caption = obj["caption"] as? String,
                  let index = (obj["index"] as? NSNumber)?.intValue, let id = obj["caption_id"] else {
                throw DiffusionError.malformedLine(path: url.path, line: n, reason: "needs string \"path\", \"caption\", a \"caption_id\" and integer \"index\"")
            }
            entries.append(Entry(path: path, captionID: "\(id)", caption: caption, index: index))
        }
        return entries
    }

    /// One sheet row: a caption and its image paths by image index.
    struct Row {
        var caption: String
        var images: [Int: String]
    }

    /// The first `maxCaptions` captions of DIR/manifest.jsonl in manifest order, with their images.
    static func captionRows(directory: URL, maxCaptions: Int) throws -> [Row] {
        var order: [String] = [], rows: [String: Row] = [:]
        for e in try readManifest(directory) {
            if rows[e.captionID] == nil {
                guard order.count < maxCaptions else { continue }
                order.append(e.captionID)
                rows[e.captionID] = Row(caption: e.caption, images: [:])
            }
            rows[e.captionID]!.images[e.index] = e.path
        }
        guard !order.isEmpty else {
            throw DiffusionError.badData(path: directory.appendingPathComponent("manifest.jsonl").path, reason: "the manifest lists no images")
        }
        return order.map { rows[$0]! }
    }

    /// The sheet [C, H', W'] of the first `maxCaptions` captions (rows in manifest order) and the
    /// caption of each row.
    public static func make(directory: URL, maxCaptions: Int = 64, gap: Int = 2) throws -> (image: Tensor, rows: [String]) {
        let rows = try captionRows(directory: directory, maxCaptions: maxCaptions)
        let columns = rows.map { ($0.images.keys.max() ?? 0) + 1 }.max() ?? 1
        var cells: [Tensor?] = []
        for row in rows {
            for k in 0..<columns {
                if let p = row.images[k] {
                    cells.append(try ImageIO.readTensor(directory.appendingPathComponent(p)))
                } else {
                    cells.append(nil)
                }
            }
        }
        return (ImageGrid.tile(cells, columns: columns, gap: gap), rows.map(\.caption))
    }

    /// A labeled sheet of the first `maxCaptions` captions: each caption's text on the left, its
    /// images (scaled to `cellSize`, nearest neighbour so pixels stay visible) to the right.
    public static func labeled(directory: URL, maxCaptions: Int = 64, cellSize: Int = 64,
                               labelWidth: Int = 420, title: String = "") throws -> SynTensor.ContactSheet {
        let rows = try captionRows(directory: directory, maxCaptions: maxCaptions)
        var sheet = SynTensor.ContactSheet(title: title, cellWidth: cellSize, cellHeight: cellSize)
        sheet.labelPlacement = .left(width: labelWidth)
        sheet.scaling = .nearest
        sheet.rowGap = 6
        for row in rows {
            let images = try row.images.keys.sorted().map { try ImageIO.read(directory.appendingPathComponent(row.images[$0]!)) }
            sheet.add(row.caption, images: images)
        }
        return sheet
    }
}

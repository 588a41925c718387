import Foundation
import SynTensor

/// A contact sheet of a generation job: one row per caption, its images left to right.
public enum ContactSheet {
    /// One sheet row: a caption and its image paths by image index.
    struct Row {
        var caption: String
        var images: [Int: String]
    }

    /// The first `maxCaptions` captions of DIR/manifest.jsonl in manifest order, with their images.
    static func captionRows(directory: URL, maxCaptions: Int) throws -> [Row] {
        var order: [String] = [], rows: [String: Row] = [:]
        for e in try ManifestFile.read(directory) {
            let id = e.captionID.description
            if rows[id] == nil {
                guard order.count < maxCaptions else { continue }
                order.append(id)
                rows[id] = Row(caption: e.caption, images: [:])
            }
            rows[id]!.images[e.index] = e.path
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

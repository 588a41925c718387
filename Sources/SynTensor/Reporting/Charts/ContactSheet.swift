import Foundation

/// A contact sheet: rows of images, each row with a text label (e.g. a caption and the images
/// generated from it), optional column headers and title. Images of any size and channel count
/// are scaled to fit a fixed cell, keeping their aspect ratio.
///
/// Named `ContactSheet` rather than `ImageGrid`, which SynDiffusion uses for its tensor tiler.
public struct ContactSheet: Sendable {
    /// One row: a label and its images, left to right.
    public struct Row: Sendable {
        /// The row's text (wrapped to the row's width, cut with "…" past `maxLabelLines`).
        public var label: String
        /// The images (gray, RGB or RGBA; any size).
        public var images: [ByteImage]

        /// A row of `images` labeled `label`.
        public init(label: String, images: [ByteImage]) {
            self.label = label
            self.images = images
        }
    }

    /// Where row labels go.
    public enum LabelPlacement: Sendable, Hashable {
        /// On the lines above the row's images, as wide as the row.
        case above
        /// In a column `width` pixels wide left of the images, as many lines as the cell height holds.
        case left(width: Int)
    }

    /// The rows, top to bottom.
    public var rows: [Row]
    /// Title above everything (empty: none).
    public var title: String
    /// Optional header text per column, centered over it.
    public var columnHeaders: [String] = []
    /// Width of an image cell in pixels.
    public var cellWidth: Int
    /// Height of an image cell in pixels.
    public var cellHeight: Int
    /// Pixels between cells of a row.
    public var gap: Int = 4
    /// Pixels between rows.
    public var rowGap: Int = 10
    /// Where the row labels go.
    public var labelPlacement: LabelPlacement = .above
    /// Most label lines per row (with `.above`).
    public var maxLabelLines: Int = 2
    /// Integer scale of the label and header text.
    public var textScale: Int = 1
    /// How images are resampled to their cells.
    public var scaling: ImageScaling = .bilinear
    /// Sheet background.
    public var background: RGBA = .white
    /// Color behind each image (shows where an image does not fill its cell).
    public var cellBackground: RGBA = RGBA(236, 236, 236)
    /// Columns (nil: the longest row's image count, or the header count if larger).
    public var columns: Int? = nil

    /// A sheet of `rows` with cells of `cellWidth` x `cellHeight`.
    public init(rows: [Row] = [], title: String = "", cellWidth: Int = 128, cellHeight: Int = 128) {
        self.rows = rows
        self.title = title
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
    }

    /// Appends a row.
    public mutating func add(_ label: String, images: [ByteImage]) {
        rows.append(Row(label: label, images: images))
    }

    /// Writes the rendered sheet atomically (PNG, or JPEG by extension).
    public func write(to url: URL) throws {
        try render().write(to: url)
    }

    /// Columns laid out.
    public var columnCount: Int {
        max(1, columns ?? max(rows.map(\.images.count).max() ?? 0, columnHeaders.count))
    }

    /// The rendered size: margins of 12, title (scale 2) + 8, headers + 8, and per row the label
    /// block (+ 4) and the cells, rows `rowGap` apart.
    public var size: (width: Int, height: Int) {
        let l = layout()
        return (l.width, l.height)
    }

    /// Pixel positions of every part.
    struct Layout {
        var width = 0, height = 0
        var gridLeft = 0, labelLeft = 0, labelWidth = 0
        var titleTop = 0, headerTop = 0
        var rowTops: [Int] = []
        var labelLines: Int = 0
        var rowHeight = 0
    }

    /// Computes the layout from the rows and options.
    func layout() -> Layout {
        var l = Layout()
        let m = ChartFrame.margin, s = max(1, textScale)
        let cols = columnCount
        let cw = max(1, cellWidth), ch = max(1, cellHeight)
        let gridWidth = cols * cw + (cols - 1) * gap
        var top = m
        l.titleTop = top
        if !title.isEmpty { top += BitmapFont.height(ofLines: 1, scale: 2) + 8 }
        switch labelPlacement {
        case .above:
            l.labelLeft = m
            l.labelWidth = gridWidth
            l.gridLeft = m
            l.width = 2 * m + gridWidth
            let wrapped = rows.map { BitmapFont.wrap($0.label, maxWidth: gridWidth, scale: s, maxLines: max(1, maxLabelLines)).count }
            l.labelLines = wrapped.max() ?? 0
            l.rowHeight = (l.labelLines > 0 ? BitmapFont.height(ofLines: l.labelLines, scale: s) + 4 : 0) + ch
        case .left(let width):
            l.labelLeft = m
            l.labelWidth = max(0, width)
            l.gridLeft = m + l.labelWidth + (l.labelWidth > 0 ? 2 * gap : 0)
            l.width = l.gridLeft + gridWidth + m
            l.labelLines = max(1, (ch / s - BitmapFont.glyphHeight) / BitmapFont.lineHeight + 1)
            l.rowHeight = ch
        }
        l.headerTop = top
        if !columnHeaders.isEmpty { top += BitmapFont.height(ofLines: 1, scale: s) + 8 }
        for _ in rows {
            l.rowTops.append(top)
            top += l.rowHeight + rowGap
        }
        l.height = (rows.isEmpty ? top : top - rowGap) + m
        return l
    }

    /// Draws the sheet on a new canvas of `size`.
    public func render() -> Canvas {
        let l = layout()
        let s = max(1, textScale)
        let cw = max(1, cellWidth), ch = max(1, cellHeight)
        var canvas = Canvas(width: max(l.width, 1), height: max(l.height, 1), background: background)
        _ = ChartFrame.drawTitle(&canvas, title)
        for (c, header) in columnHeaders.prefix(columnCount).enumerated() {
            let text = BitmapFont.truncate(header, maxWidth: cw, scale: s)
            canvas.drawText(text, x: l.gridLeft + c * (cw + gap) + cw / 2, y: l.headerTop, scale: s, color: .gray, anchor: .top)
        }
        for (r, row) in rows.enumerated() {
            var cellTop = l.rowTops[r]
            switch labelPlacement {
            case .above:
                if l.labelLines > 0 {
                    let lines = BitmapFont.wrap(row.label, maxWidth: l.labelWidth, scale: s, maxLines: l.labelLines)
                    canvas.drawText(lines.joined(separator: "\n"), x: l.labelLeft, y: cellTop, scale: s, color: .ink)
                    cellTop += BitmapFont.height(ofLines: l.labelLines, scale: s) + 4
                }
            case .left:
                let lines = BitmapFont.wrap(row.label, maxWidth: l.labelWidth, scale: s, maxLines: l.labelLines)
                if !lines.isEmpty {
                    canvas.drawText(lines.joined(separator: "\n"), x: l.labelLeft, y: cellTop + ch / 2, scale: s,
                                    color: .ink, anchor: .left)
                }
            }
            for (c, image) in row.images.prefix(columnCount).enumerated() {
                let cell = PixelRect(x: l.gridLeft + c * (cw + gap), y: cellTop, width: cw, height: ch)
                canvas.fillRect(cell, cellBackground)
                if image.width > 0 && image.height > 0 {
                    canvas.draw(image, fitting: cell, scaling: scaling)
                }
            }
        }
        return canvas
    }
}

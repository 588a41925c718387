/// Text in the built-in `BitmapFont`.
extension Canvas {
    /// Draws `text` (lines split at "\n") at integer `scale`, placed so that `anchor` of its box
    /// lies at (x, y); `vertical` rotates it a quarter turn counter-clockwise (reading upward),
    /// lines align within the box by the anchor's horizontal fraction. Returns the box it occupies.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGBA = .ink,
                                  anchor: TextAnchor = .topLeft, vertical: Bool = false) -> PixelRect {
        let s = max(1, scale)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let size = BitmapFont.measure(text, scale: s)
        // Box in canvas space (swapped for vertical text).
        let boxW = vertical ? size.height : size.width, boxH = vertical ? size.width : size.height
        let bx = x - Int((Double(boxW) * anchor.horizontal).rounded())
        let by = y - Int((Double(boxH) * anchor.vertical).rounded())
        let box = PixelRect(x: bx, y: by, width: boxW, height: boxH)
        if color.a == 0 || box.intersection(bounds).isEmpty { return box }
        let w = width, h = height, c = channels, alpha = Int(color.a)
        let advance = BitmapFont.advance * s, lineStep = BitmapFont.lineHeight * s
        let table = BitmapFont.table.bits
        pixels.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            table.withUnsafeBufferPointer { bits in
                // Fills the s x s block at text-space (tx, ty).
                func block(_ tx: Int, _ ty: Int) {
                    let x0 = vertical ? bx + ty : bx + tx
                    let y0 = vertical ? by + size.width - tx - s : by + ty
                    let ya = max(y0, 0), yb = min(y0 + s, h), xa = max(x0, 0), xb = min(x0 + s, w)
                    if ya >= yb || xa >= xb { return }
                    for yy in ya..<yb {
                        let row = base + yy * w * c
                        for xx in xa..<xb { Canvas.blend(row + xx * c, channels: c, color, alpha: alpha) }
                    }
                }
                for (l, line) in lines.enumerated() {
                    let lineWidth = BitmapFont.width(ofCharacters: line.count, scale: s)
                    var tx = Int((Double(size.width - lineWidth) * anchor.horizontal).rounded())
                    let ty = l * lineStep
                    for character in line {
                        let g = BitmapFont.glyphIndex(character) * BitmapFont.glyphHeight
                        for row in 0..<BitmapFont.glyphHeight {
                            let byte = bits[g + row]
                            if byte == 0 { continue }
                            for col in 0..<BitmapFont.glyphWidth where byte & (1 << UInt8(BitmapFont.glyphWidth - 1 - col)) != 0 {
                                block(tx + col * s, ty + row * s)
                            }
                        }
                        tx += advance
                    }
                }
            }
        }
        return box
    }
}

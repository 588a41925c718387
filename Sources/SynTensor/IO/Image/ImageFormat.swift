/// A supported image file format.
public enum ImageFormat: String, Sendable, CaseIterable {
    case png
    case jpeg

    /// Display name ("PNG", "JPEG").
    public var name: String { self == .png ? "PNG" : "JPEG" }

    /// The format whose signature starts `bytes` (PNG: 89 50 4E 47 0D 0A 1A 0A; JPEG: FF D8 FF), if any.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 8 && bytes.prefix(8).elementsEqual(png) { return .png }
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        return nil
    }

    /// The format a file name extension names ("png"; "jpg", "jpeg", "jpe"), case-insensitive.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg", "jpe": self = .jpeg
        default: return nil
        }
    }
}

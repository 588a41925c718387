import CSynImage
import Foundation

/// PNG and JPEG files to and from `ByteImage` (UInt8 HWC) and `Tensor` (Float [C, H, W] in [0, 1]).
///
/// Reading detects the format from the file's first bytes, never from its name; a file
/// that is empty, not an image, corrupt or truncated is a thrown `ImageError` naming it.
/// Writing is atomic (temporary file + rename): a failed write leaves no partial file.
public enum ImageIO {
    /// Default JPEG quality of the writers (1...100).
    public static let defaultJPEGQuality = 90

    /// Default largest image the decoders accept: 2^26 (67,108,864) pixels, e.g. 8192x8192, at most
    /// 256 MiB decoded. A file whose header declares more is refused before any pixel memory is
    /// allocated (a few hundred bytes of PNG or JPEG can claim 4 billion pixels).
    public static let defaultMaxPixels = 1 << 26

    /// Reads the PNG or JPEG file at `url` as 8-bit gray, RGB or RGBA (at most `maxPixels` pixels).
    public static func read(_ url: URL, maxPixels: Int = defaultMaxPixels) throws -> ByteImage {
        let file = try MappedFile(path: url.path)
        return try file.withBytes { try decode($0, path: url.path, maxPixels: maxPixels) }
    }

    /// Reads the image at `url` as a tensor [C, H, W] in [0, 1]; `channels` (1, 3 or 4)
    /// converts it (e.g. 3 makes every file RGB), nil keeps the file's channels.
    public static func readTensor(_ url: URL, channels: Int? = nil, maxPixels: Int = defaultMaxPixels) throws -> Tensor {
        var image = try read(url, maxPixels: maxPixels)
        if let channels { image = image.converted(toChannels: channels) }
        return image.tensor()
    }

    /// Decodes PNG or JPEG bytes; `path` names the source in errors; images declaring more than
    /// `maxPixels` pixels are refused before decoding.
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String = "<memory>",
                              maxPixels: Int = defaultMaxPixels) throws -> ByteImage {
        if bytes.isEmpty { throw ImageError.empty(path: path) }
        guard let format = ImageFormat.detect(bytes) else {
            throw ImageError.unrecognizedFormat(path: path, magic: Array(bytes.prefix(8)))
        }
        var image = csyn_image()
        var message = [CChar](repeating: 0, count: 256)
        let rc: Int32
        let limit = maxPixels > 0 ? maxPixels : 0
        switch format {
        case .png: rc = csyn_png_decode(bytes.baseAddress, bytes.count, limit, &image, &message, message.count)
        case .jpeg: rc = csyn_jpeg_decode(bytes.baseAddress, bytes.count, limit, &image, &message, message.count)
        }
        defer { csyn_image_free(&image) }
        if rc != 0 {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw ImageError.corrupt(path: path, format: format, reason: reason)
        }
        let count = Int(image.width) * Int(image.height) * Int(image.channels)
        let pixels = Array(UnsafeBufferPointer(start: image.pixels, count: count))
        return ByteImage(width: Int(image.width), height: Int(image.height), channels: Int(image.channels), pixels: pixels)
    }

    /// Decodes PNG or JPEG bytes held in an array.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>", maxPixels: Int = defaultMaxPixels) throws -> ByteImage {
        try bytes.withUnsafeBytes { try decode($0, path: path, maxPixels: maxPixels) }
    }

    /// Writes `image` atomically as `format` (nil: from the file extension); JPEG takes 1 or 3 channels.
    public static func write(_ image: ByteImage, to url: URL, format: ImageFormat? = nil,
                             jpegQuality: Int = defaultJPEGQuality) throws {
        let path = url.path
        guard let format = format ?? ImageFormat(pathExtension: url.pathExtension) else {
            throw ImageError.unsupported(path: path, reason: "cannot tell the image format from extension \"\(url.pathExtension)\"; pass format:")
        }
        if format == .jpeg && image.channels == 4 {
            throw ImageError.unsupported(path: path, reason: "JPEG cannot store an alpha channel; convert to 3 channels first")
        }
        if image.width == 0 || image.height == 0 {
            throw ImageError.unsupported(path: path, reason: "cannot write an empty \(image.width)x\(image.height) image")
        }
        if format == .jpeg && max(image.width, image.height) > 65_500 {
            throw ImageError.unsupported(path: path, reason: "JPEG dimensions are limited to 65500, image is \(image.width)x\(image.height)")
        }
        guard image.width <= Int(Int32.max) / image.channels, image.height <= Int(Int32.max) else {
            throw ImageError.unsupported(path: path, reason: "image of \(image.width)x\(image.height) is too large")
        }
        try writeAtomically(to: path) { temporary in
            var message = [CChar](repeating: 0, count: 256)
            let rc = image.pixels.withUnsafeBufferPointer { p -> Int32 in
                switch format {
                case .png:
                    return csyn_png_encode_file(temporary, p.baseAddress, Int32(image.width), Int32(image.height),
                                                Int32(image.channels), &message, message.count)
                case .jpeg:
                    return csyn_jpeg_encode_file(temporary, p.baseAddress, Int32(image.width), Int32(image.height),
                                                 Int32(image.channels), Int32(jpegQuality), &message, message.count)
                }
            }
            if rc != 0 {
                let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                throw ImageError.encodingFailed(path: path, format: format, reason: reason)
            }
        }
    }

    /// Encodes `image` as PNG bytes in memory (for embedding in logs and web pages).
    public static func encodePNG(_ image: ByteImage) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = image.pixels.withUnsafeBufferPointer { p in
            csyn_png_encode_memory(p.baseAddress, Int32(clamping: image.width), Int32(clamping: image.height),
                                   Int32(image.channels), &out, &size, &message, message.count)
        }
        defer { csyn_free(out) }
        guard rc == 0, let out else {
            let reason = message.withUnsafeBufferPointer { $0.baseAddress.map { String(cString: $0) } ?? "" }
            throw ImageError.encodingFailed(path: "<memory>", format: .png, reason: reason)
        }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// Writes a tensor [C, H, W] or [H, W] with values in [0, 1] atomically (see `ByteImage(tensor:)`).
    public static func write(_ tensor: Tensor, to url: URL, format: ImageFormat? = nil,
                             jpegQuality: Int = defaultJPEGQuality) throws {
        try write(ByteImage(tensor: tensor), to: url, format: format, jpegQuality: jpegQuality)
    }
}

import Foundation

/// Errors of TensorBoard event files.
public enum TensorBoardError: Error, CustomStringConvertible {
    /// A record of the file is not a valid event.
    case malformed(path: String, reason: String)

    /// Message naming the file.
    public var description: String {
        switch self {
        case let .malformed(path, reason): return "TensorBoard event file \(path): \(reason)"
        }
    }
}

/// Reads TensorBoard event files (`events.out.tfevents.*`).
public enum TensorBoardEventFile {
    /// The event files in `directory` (not its subfolders), sorted by name as TensorBoard reads them.
    public static func files(in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("events.out.tfevents.") }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// The events of one file, and whether it ended cleanly (a killed writer can leave a cut
    /// last record, which TensorBoard ignores too).
    public static func read(_ url: URL) throws -> (events: [TensorBoardEvent], clean: Bool) {
        let bytes = [UInt8](try Data(contentsOf: url))
        let (records, clean) = TFRecord.payloads(bytes)
        let events = try records.enumerated().map { i, r in
            do { return try TensorBoardEvent.decode(r) } catch {
                throw TensorBoardError.malformed(path: url.path, reason: "record \(i): \(error)")
            }
        }
        return (events, clean)
    }
}

/// Writes a TensorBoard event file into a run folder, so `tensorboard --logdir` shows the run's
/// curves, images and configuration beside its metrics.jsonl.
///
/// A resumed run first rewrites the folder's event files into one, keeping only the events of
/// steps before the resume step, so the curves have no duplicate steps after a restart.
///
/// ```swift
/// let tb = try TensorBoardWriter(directory: runFolder)
/// try tb.add([TensorBoardValue(tag: "loss/total", content: .scalar(0.5))], step: 10)
/// ```
public final class TensorBoardWriter {
    /// The event file being written.
    public let url: URL
    private let handle: FileHandle

    /// Opens a new event file in `directory`. With `resumingAt` nil every earlier event file of
    /// the folder is removed (a fresh run); with a step, earlier events of steps below it are kept.
    /// `wallTime` (default: now) stamps the file-version event and names the file.
    public init(directory: URL, resumingAt resumeStep: Int? = nil, wallTime: Double? = nil) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let now = wallTime ?? Date().timeIntervalSince1970
        var kept: [TensorBoardEvent] = []
        let old = TensorBoardEventFile.files(in: directory)
        if let resumeStep {
            for file in old {
                // A damaged earlier file loses only its damaged tail, as in TensorBoard itself.
                let events = (try? TensorBoardEventFile.read(file).events) ?? []
                kept += events.filter {
                    if case .fileVersion = $0.kind { return false }
                    return $0.step < resumeStep
                }
            }
        }
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
        url = directory.appendingPathComponent(String(format: "events.out.tfevents.%010d.%@", Int(now), host))
        var bytes = TFRecord.frame(TensorBoardEvent(wallTime: now, step: 0, kind: .fileVersion("brain.Event:2")).encoded())
        for e in kept { bytes += TFRecord.frame(e.encoded()) }
        try Data(bytes).write(to: url, options: .atomic)
        for file in old where file.lastPathComponent != url.lastPathComponent { try? fm.removeItem(at: file) }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Appends one event holding `values` at `step`.
    public func add(_ values: [TensorBoardValue], step: Int, wallTime: Double? = nil) throws {
        let event = TensorBoardEvent(wallTime: wallTime ?? Date().timeIntervalSince1970, step: step, kind: .summary(values))
        try handle.write(contentsOf: TFRecord.frame(event.encoded()))
    }

    /// Appends scalars, one value per tag, at `step`.
    public func scalars(_ values: [(String, Float)], step: Int, wallTime: Double? = nil) throws {
        try add(values.map { TensorBoardValue(tag: $0.0, content: .scalar($0.1)) }, step: step, wallTime: wallTime)
    }

    /// Appends an image (encoded as PNG) at `step`.
    public func image(_ tag: String, _ image: ByteImage, step: Int, wallTime: Double? = nil) throws {
        let png = try ImageIO.encodePNG(image)
        try add([TensorBoardValue(tag: tag, content: .image(width: image.width, height: image.height, channels: image.channels, png: png))],
                step: step, wallTime: wallTime)
    }

    /// Appends a text (Markdown) at `step`.
    public func text(_ tag: String, _ text: String, step: Int, wallTime: Double? = nil) throws {
        try add([TensorBoardValue(tag: tag, content: .text(text))], step: step, wallTime: wallTime)
    }
}

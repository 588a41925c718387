import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams a file's lines as raw bytes (for resuming and summarizing large JSONL files).
struct LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var cursor = 0
    private var eof = false
    /// Bytes consumed up to and including the last returned complete line's newline.
    private(set) var consumed: Int64 = 0

    /// A reader over `path`.
    init(path: String) throws {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw CaptionError.unreadable(path: path, reason: "cannot open for reading")
        }
        handle = h
    }

    /// The next line without its newline; a trailing fragment without a newline comes back with
    /// `complete == false`. Nil at the end of the file.
    mutating func next() -> (line: Data, complete: Bool)? {
        var searchFrom = cursor
        while true {
            if let nl = buffer[searchFrom...].firstIndex(of: 0x0A) {
                let line = Data(buffer[cursor..<nl])
                consumed += Int64(nl - cursor + 1)
                cursor = nl + 1
                return (line, true)
            }
            if eof {
                if cursor >= buffer.count { return nil }
                let rest = Data(buffer[cursor...])
                cursor = buffer.count
                return (rest, false)
            }
            buffer.removeSubrange(0..<cursor)
            cursor = 0
            searchFrom = buffer.count
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { eof = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    /// Closes the file.
    func close() { try? handle.close() }
}

/// An append-only file written with raw `write(2)` calls, one call per committed chunk.
final class AppendFile {
    private let fd: Int32
    /// Path of the file.
    let path: String

    /// Opens (creating if needed) `path` for appending, first truncating it to `length` bytes if given.
    init(path: String, truncateTo length: Int64? = nil) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 { throw CaptionError.cannotWrite(path: path, reason: "cannot open for writing: \(String(cString: strerror(errno)))") }
        if let length, ftruncate(fd, off_t(length)) != 0 {
            let reason = String(cString: strerror(errno))
            closeDescriptor(fd)
            throw CaptionError.cannotWrite(path: path, reason: "cannot truncate: \(reason)")
        }
    }

    /// Writes all of `text`'s bytes (normally one system call).
    func append(_ text: String) throws {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CaptionError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
        bytes.removeAll()
    }

    /// Flushes to stable storage.
    func sync() { fsync(fd) }

    deinit { closeDescriptor(fd) }
}

/// `close(2)`.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// `rename(2)`.
private func renamePath(_ from: String, _ to: String) -> Int32 { rename(from, to) }

/// File helpers.
enum Files {
    /// Whether a regular file exists at `path`.
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Writes `text` to `path` atomically (temporary file, fsync, rename).
    static func writeAtomically(_ text: String, to path: String) throws {
        let tmp = path + ".tmp"
        try? FileManager.default.removeItem(atPath: tmp)
        do {
            let file = try AppendFile(path: tmp, truncateTo: 0)
            try file.append(text)
            file.sync()
            try rename(tmp, to: path)
        } catch {
            // Name the file the caller asked for, and leave no temporary behind (a full disk).
            try? FileManager.default.removeItem(atPath: tmp)
            if case let CaptionError.cannotWrite(_, reason) = error { throw CaptionError.cannotWrite(path: path, reason: reason) }
            throw error
        }
    }

    /// Renames `from` over `to` (atomic on one file system).
    static func rename(_ from: String, to: String) throws {
        if renamePath(from, to) != 0 {
            throw CaptionError.cannotWrite(path: to, reason: "cannot rename \(from): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes `path` if it exists.
    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
}

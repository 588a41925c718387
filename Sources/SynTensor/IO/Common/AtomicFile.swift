import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Distinguishes concurrent temporary files of one process.
private let temporaryFileCounter = Atomic<Int>(0)

/// Writes a file atomically: `body` writes a temporary file beside `path`, which is then
/// flushed to disk and renamed over `path`. Readers see the old file or the new one, never a
/// partial one; on any error the temporary file is removed and `path` is left untouched.
func writeAtomically(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let n = temporaryFileCounter.wrappingAdd(1, ordering: .relaxed).oldValue
    let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(n)"
    do {
        try body(temporary)
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileError.cannotWrite(path: path, reason: "reopen temporary file: \(errnoMessage())") }
        let synced = fsync(fd)
        let code = errno
        close(fd)
        if synced != 0 { throw FileError.cannotWrite(path: path, reason: "fsync: \(errnoMessage(code))") }
        if rename(temporary, path) != 0 {
            throw FileError.cannotWrite(path: path, reason: "rename: \(errnoMessage())")
        }
    } catch {
        unlink(temporary)
        throw error
    }
}

/// An unbuffered POSIX file opened for writing that retries short writes and EINTR.
final class FileSink {
    /// Path shown in errors (the final path, not the temporary one).
    let displayPath: String
    private var fd: Int32

    /// Creates (or truncates) `path` for writing.
    init(path: String, displayPath: String) throws {
        self.displayPath = displayPath
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw FileError.cannotWrite(path: displayPath, reason: errnoMessage()) }
    }

    deinit {
        #if canImport(Glibc)
        if fd >= 0 { _ = Glibc.close(fd) }
        #else
        if fd >= 0 { _ = Darwin.close(fd) }
        #endif
    }

    /// Closes the file, reporting a failed close (some file systems report write errors there).
    func close() throws {
        guard fd >= 0 else { return }
        #if canImport(Glibc)
        let rc = Glibc.close(fd)
        #else
        let rc = Darwin.close(fd)
        #endif
        fd = -1
        if rc != 0 { throw FileError.cannotWrite(path: displayPath, reason: "close: \(errnoMessage())") }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            #if canImport(Glibc)
            let n = Glibc.write(fd, p, left)
            #else
            let n = Darwin.write(fd, p, left)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.cannotWrite(path: displayPath, reason: errnoMessage())
            }
            p += n
            left -= n
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Removes temporary files of `writeAtomically` (`.NAME.tmp-PID-N`) anywhere under `directory`
/// whose writing process is gone: a writer killed between creating and renaming its temporary
/// leaves one behind, and a resumed job would otherwise keep it forever. Temporaries of live
/// processes (another shard writing the same folder) are left alone. Returns how many went.
@discardableResult
public func removeStaleTemporaries(under directory: URL) -> Int {
    guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return 0 }
    var removed = 0
    let me = getpid()
    while let relative = walker.nextObject() as? String {
        let name = (relative as NSString).lastPathComponent
        guard name.hasPrefix("."), let r = name.range(of: ".tmp-", options: .backwards) else { continue }
        let parts = name[r.upperBound...].split(separator: "-")
        guard parts.count == 2, let pid = Int32(parts[0]), Int(parts[1]) != nil else { continue }
        // Alive: our own, or signalable, or existing but not ours to signal.
        if pid == me || kill(pid, 0) == 0 || errno == EPERM { continue }
        if unlink(directory.appendingPathComponent(relative).path) == 0 { removed += 1 }
    }
    return removed
}

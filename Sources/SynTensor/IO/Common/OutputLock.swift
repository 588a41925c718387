import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Another process (or another job of this process) holds the lock of an output folder or file.
public struct OutputLockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The folder or file the holder writes.
    public var output: String
    /// The lock file.
    public var lockFile: String
    /// The holder's process id, nil if it had not recorded it yet.
    public var holderPID: Int32?
    /// What the holder recorded about itself (its job), empty if unknown.
    public var holderJob: String

    /// A sentence naming the output, the holder's PID and what to do.
    public var description: String {
        let who = holderPID.map { "process \($0)" } ?? "another process"
        let job = holderJob.isEmpty ? "" : " (\(holderJob))"
        return "\(output) is being written by \(who)\(job); two jobs writing one output would corrupt it. "
            + "Wait for it to finish, stop it, or choose another output (lock file \(lockFile))."
    }
}

/// An advisory, exclusive lock that one job holds on its output folder (or output file) while it
/// writes there, so a second process started on the same output is refused instead of
/// interleaving its writes with the first.
///
/// The lock is `flock(2)` on a small lock file: the kernel releases it when the holder's
/// descriptor closes, including when the holder is killed (`kill -9` leaves no stale lock; the
/// file may stay, but unlocked, and the next job takes it over). `flock` locks belong to an open
/// file description; within one process the lock is re-entrant (a CLI command that locks its
/// folder may call a library job that locks it again), counted per lock file. The holder writes
/// its PID and job into the file only for the error message of a refused job.
///
/// A lock is released by `release()` or when the value is deinitialized; when the last holder in
/// the process releases it the lock file is removed, so a finished output folder holds only the
/// job's files.
public final class OutputLock: Sendable {
    /// Name of the lock file inside a locked folder.
    public static let folderLockName = ".synclr.lock"

    /// The folder or file this lock guards.
    public let output: String
    /// The lock file.
    public let lockFile: String
    private let released = Atomic<Bool>(false)

    /// Lock files this process holds: descriptor and number of `OutputLock` values sharing it.
    private static let held = Mutex<[String: (fd: Int32, count: Int)]>([:])

    private init(output: String, lockFile: String) {
        self.output = output
        self.lockFile = lockFile
    }

    deinit { release() }

    /// Locks the folder `directory` (created if missing) through `directory/.synclr.lock`, or
    /// `directory/<name>` when several jobs share a folder by design (e.g. image shards), then
    /// removes temporaries that killed writers left in it (`removeStaleTemporaries(under:)`).
    /// Throws `OutputLockError` naming the folder and the holder's PID when it is held.
    public static func folder(_ directory: URL, name: String = folderLockName, job: String) throws -> OutputLock {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError.cannotWrite(path: directory.path, reason: "cannot create the output folder: \(error.localizedDescription)")
        }
        let lock = try acquire(output: directory.path, lockFile: directory.appendingPathComponent(name).path, job: job)
        // Now no other job writes here (or, for shards, their temporaries belong to live processes).
        removeStaleTemporaries(under: directory)
        return lock
    }

    /// Locks the output file `file` through a hidden `.<name>.lock` beside it (the file itself is
    /// replaced by renames, so it cannot carry the lock).
    public static func file(_ file: URL, job: String) throws -> OutputLock {
        let directory = file.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError.cannotWrite(path: directory.path, reason: "cannot create the output folder: \(error.localizedDescription)")
        }
        let lockFile = directory.appendingPathComponent("." + file.lastPathComponent + ".lock").path
        return try acquire(output: file.path, lockFile: lockFile, job: job)
    }

    private static func acquire(output: String, lockFile: String, job: String) throws -> OutputLock {
        let lockFile = URL(fileURLWithPath: lockFile).standardizedFileURL.path
        return try held.withLock { held in
            if let h = held[lockFile] {
                held[lockFile] = (h.fd, h.count + 1)
            } else {
                held[lockFile] = (try lockExclusively(output: output, lockFile: lockFile, job: job), 1)
            }
            return OutputLock(output: output, lockFile: lockFile)
        }
    }

    /// Creates, locks and labels the lock file; returns its descriptor.
    private static func lockExclusively(output: String, lockFile: String, job: String) throws -> Int32 {
        // A releasing holder unlinks the file; a job that opened the old file just before then
        // locks an unlinked inode. Checking that the path still names the locked inode, and
        // retrying otherwise, keeps one holder per path.
        for _ in 0..<100 {
            let fd = open(lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 { throw FileError.cannotWrite(path: lockFile, reason: "cannot create the lock file: \(errnoMessage())") }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                if code == EINTR { close(fd); continue }
                if code != EWOULDBLOCK && code != EAGAIN {
                    close(fd)
                    throw FileError.cannotWrite(path: lockFile, reason: "cannot lock: \(errnoMessage(code))")
                }
                let holder = readHolder(fd)
                close(fd)
                throw OutputLockError(output: output, lockFile: lockFile, holderPID: holder.pid, holderJob: holder.job)
            }
            var opened = stat(), named = stat()
            if fstat(fd, &opened) != 0 || stat(lockFile, &named) != 0 || opened.st_ino != named.st_ino || opened.st_dev != named.st_dev {
                close(fd)
                continue
            }
            let text = "\(getpid())\n\(job.replacingOccurrences(of: "\n", with: " "))\n"
            _ = ftruncate(fd, 0)
            let wrote = text.utf8CString.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count - 1, 0) }
            if wrote < 0 {
                let code = errno
                close(fd)
                unlink(lockFile)
                throw FileError.cannotWrite(path: lockFile, reason: errnoMessage(code))
            }
            return fd
        }
        throw FileError.cannotWrite(path: lockFile, reason: "the lock file kept being replaced while locking it")
    }

    /// The PID and job a holder wrote into the lock file (it may not have written them yet).
    private static func readHolder(_ fd: Int32) -> (pid: Int32?, job: String) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return (nil, "") }
        let lines = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let pid = lines.first.flatMap { Int32($0) }
        let job = lines.count > 1 ? String(lines[1]) : ""
        return (pid, job)
    }

    /// Removes the lock file and releases the lock (idempotent).
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Self.held.withLock { held in
            guard let h = held[lockFile] else { return }
            if h.count > 1 { held[lockFile] = (h.fd, h.count - 1); return }
            held[lockFile] = nil
            // Unlink while still holding the lock: a job that opened the file just before sees
            // the path no longer names its inode and starts over (see `lockExclusively`).
            unlink(lockFile)
            close(h.fd)
        }
    }
}

import Foundation
import Testing
@testable import SynTensor

/// `OutputLock` against a real second process: util-linux `flock(1)` takes the same kind of
/// lock (flock(2)) on the same file, so it stands in for another synclr job.
@Suite struct OutputLockTests {
    let fm = FileManager.default

    func scratch() throws -> URL {
        let url = fm.temporaryDirectory.appendingPathComponent("synclr-lock-\(UUID().uuidString)")
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A shell that records its PID in the lock file like a synclr job, locks the file through
    /// descriptor 9 with flock(1), and becomes `sleep` (exec keeps the PID and descriptor 9), so
    /// one process, the one killed, holds the lock.
    func holder(of lockFile: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "printf '%s\\nfake job\\n' $$ > \"$0\"; exec 9<\"$0\"; flock -x 9; exec sleep 600", lockFile.path]
        try p.run()
        return p
    }

    func waitUntilLocked(_ lockFile: URL) -> Bool {
        for _ in 0..<500 {
            let fd = open(lockFile.path, O_RDONLY)
            if fd >= 0 {
                let busy = flock(fd, LOCK_EX | LOCK_NB) != 0
                if !busy { _ = flock(fd, LOCK_UN) }
                close(fd)
                if busy { return true }
            }
            usleep(10_000)
        }
        return false
    }

    @Test func anotherProcessHoldingTheFolderIsNamedAndKill9ReleasesIt() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let lockFile = dir.appendingPathComponent(OutputLock.folderLockName)
        let other = try holder(of: lockFile)
        defer { if other.isRunning { kill(other.processIdentifier, SIGKILL); other.waitUntilExit() } }
        #expect(waitUntilLocked(lockFile))

        #expect { try OutputLock.folder(dir, job: "test") } throws: { error in
            guard let e = error as? OutputLockError else { return false }
            let text = "\(e)"
            return e.holderPID == other.processIdentifier && e.holderJob == "fake job" && text.contains(dir.path)
                && text.contains("process \(other.processIdentifier)")
        }

        kill(other.processIdentifier, SIGKILL)
        other.waitUntilExit()
        #expect(fm.fileExists(atPath: lockFile.path), "the killed holder's lock file stays ...")
        let lock = try OutputLock.folder(dir, job: "test")   // ... but is no longer locked
        let recorded = try String(contentsOf: lockFile, encoding: .utf8)
        #expect(recorded == "\(getpid())\ntest\n")
        lock.release()
        #expect(!fm.fileExists(atPath: lockFile.path))
    }

    @Test func aFileLockSitsBesideTheFileAndIsReentrantWithinAProcess() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let output = dir.appendingPathComponent("captions.jsonl")
        let lockFile = dir.appendingPathComponent(".captions.jsonl.lock")
        let outer = try OutputLock.file(output, job: "outer")
        let inner = try OutputLock.file(output, job: "inner")   // a library job inside a locked command
        inner.release()
        #expect(fm.fileExists(atPath: lockFile.path), "releasing the inner holder must keep the outer lock")
        let probe = open(lockFile.path, O_RDONLY)
        #expect(flock(probe, LOCK_EX | LOCK_NB) != 0, "the outer holder no longer holds the lock")
        close(probe)
        outer.release()
        outer.release()
        #expect(!fm.fileExists(atPath: lockFile.path))
        // A folder lock and a file lock in one folder are different locks.
        let a = try OutputLock.folder(dir, job: "a")
        let b = try OutputLock.file(output, job: "b")
        a.release()
        b.release()
    }

    @Test func temporariesOfDeadWritersAreRemovedWhenAFolderIsLocked() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        // A PID that certainly exited: a finished child's.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        try fm.createDirectory(at: dir.appendingPathComponent("checkpoint"), withIntermediateDirectories: true)
        let stale = dir.appendingPathComponent("checkpoint/.state.safetensors.tmp-\(dead)-12")
        let mine = dir.appendingPathComponent(".model.safetensors.tmp-\(getpid())-3")
        let unrelated = dir.appendingPathComponent(".notes.tmp-backup")
        for url in [stale, mine, unrelated] { try Data([1, 2, 3]).write(to: url) }
        let lock = try OutputLock.folder(dir, job: "test")
        defer { lock.release() }
        #expect(!fm.fileExists(atPath: stale.path), "a killed writer's temporary survived")
        #expect(fm.fileExists(atPath: mine.path) && fm.fileExists(atPath: unrelated.path))
    }
}

import Foundation
import Testing
import SynTensor

/// Issue 17, item 4 (Docs/reliability.md): one writer per output folder, resume after kill -9
/// (Scripts/checks/chaos.sh in a short mode) and after a full disk, all with real `synclr` processes.
@Suite(.serialized) struct ReliabilityTests {
    let fm = FileManager.default

    /// A fresh temporary folder.
    func scratch(_ label: String) throws -> URL {
        let url = fm.temporaryDirectory.appendingPathComponent("synclr-\(label)-\(UUID().uuidString)")
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The package root (Scripts/ lives there).
    var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Starts synclr in the background; its output goes to `log`.
    func startSynclr(_ arguments: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = synclrExecutable()
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SYNCLR_NUM_THREADS"] = "1"
        p.environment = env
        _ = fm.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    /// Waits up to `seconds` for `condition`.
    func wait(seconds: Double, until condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// A tiny image folder (template captions, 6 DDIM steps) to train on.
    func makeImages(in root: URL) throws -> URL {
        let captions = root.appendingPathComponent("captions.jsonl")
        let c = try runSynclr(["captions", "--backend", "template", "--count", "12", "--out", captions.path])
        #expect(c.status == 0, "captions failed:\n\(c.output)")
        let images = root.appendingPathComponent("images")
        let i = try runSynclr(["images", "--captions", captions.path, "--out", images.path, "--per-caption", "2", "--steps", "4",
                               "--batch-captions", "4"])
        #expect(i.status == 0, "images failed:\n\(i.output)")
        return images
    }

    func trainArguments(data: URL, out: URL, steps: Int, resume: Bool = true) -> [String] {
        ["train", "--data", data.path, "--objective", "simclr", "--steps", "\(steps)", "--batch-captions", "4", "--images-per-caption", "2",
         "--warmup", "2", "--checkpoint-every", "2", "--out", out.path] + (resume ? ["--resume"] : [])
    }

    @Test func aSecondProcessOnTheSameOutputIsRefusedAndKill9LeavesNoStaleLock() throws {
        let root = try scratch("lock")
        defer { try? fm.removeItem(at: root) }
        let images = try makeImages(in: root)
        let out = root.appendingPathComponent("train")
        let lockFile = out.appendingPathComponent(".synclr.lock")

        // 1. A long training run holds the folder.
        let first = try startSynclr(trainArguments(data: images, out: out, steps: 100_000), log: root.appendingPathComponent("first.log"))
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        let pid = first.processIdentifier
        #expect(wait(seconds: 60) { ((try? String(contentsOf: lockFile, encoding: .utf8)) ?? "").hasPrefix("\(pid)\n") },
                "the first run did not take the lock")
        // Mid-training: its first checkpoint is on disk.
        #expect(wait(seconds: 120) { fm.fileExists(atPath: out.appendingPathComponent("checkpoint/state.safetensors").path) })

        // 2. A second process on the same folder is refused, naming the folder and the holder.
        let second = try runSynclr(trainArguments(data: images, out: out, steps: 4))
        #expect(second.status != 0)
        #expect(second.output.contains(out.path) && second.output.contains("process \(pid)"), "unexpected refusal:\n\(second.output)")
        // ... and so is an image job, whose folder lock is the same file.
        let images2 = try runSynclr(["images", "--captions", root.appendingPathComponent("captions.jsonl").path, "--out", out.path,
                                     "--per-caption", "2", "--steps", "4"])
        #expect(images2.status != 0 && images2.output.contains("process \(pid)"), "\(images2.output)")
        #expect(first.isRunning, "the refused jobs must not disturb the holder")

        // 3. kill -9: the kernel drops the lock; the file may stay but the next run takes it over
        // (a fresh run: the killed one may have left a checkpoint of its 100,000-step options).
        kill(pid, SIGKILL)
        first.waitUntilExit()
        let resumed = try runSynclr(trainArguments(data: images, out: out, steps: 4, resume: false))
        #expect(resumed.status == 0, "the run after kill -9 was refused or failed:\n\(resumed.output)")
        #expect(!fm.fileExists(atPath: lockFile.path), "a finished run leaves its lock file behind")
    }

    @Test func chaosShortModeResumesByteIdentically() throws {
        let work = try scratch("chaos")
        defer { try? fm.removeItem(at: work) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [packageRoot.appendingPathComponent("Scripts/checks/chaos.sh").path, "--kills", "3", "--seed", "5",
                       "--jobs", "captions-template images train-synclr", "--work", work.path]
        var env = ProcessInfo.processInfo.environment
        env["SYNCLR"] = synclrExecutable().path
        p.environment = env
        let log = work.appendingPathComponent("chaos.log")
        _ = fm.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "chaos.sh failed:\n\(output)")
        for job in ["captions-template", "images", "train-synclr"] {
            #expect(output.contains("\(job): 3/3 identical"), "\(job) did not resume byte-identically:\n\(output)")
        }
    }

    /// Mounts a tmpfs of `kilobytes` at `url` (root with CAP_SYS_ADMIN); false where not allowed.
    func mountTmpfs(_ url: URL, kilobytes: Int, remount: Bool = false) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", (remount ? "remount," : "") + "size=\(kilobytes)k", "tmpfs", url.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    func unmount(_ url: URL) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/umount")
        p.arguments = [url.path]
        if (try? p.run()) != nil { p.waitUntilExit() }
    }

    /// Files of a training folder that must not depend on the interruption (everything but the
    /// TensorBoard events; metrics without their throughput field).
    func trainingOutputs(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in ["model.safetensors", "checkpoint/state.safetensors", "loss.png"] {
            out[name] = try Data(contentsOf: dir.appendingPathComponent(name))
        }
        let metrics = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let stripped = metrics.replacingOccurrences(of: #""imagesPerSecond":[-0-9.eE+]+,"#, with: "", options: .regularExpression)
        out["metrics.jsonl"] = Data(stripped.utf8)
        return out
    }

    @Test func aFullDiskIsAClearErrorAndTheJobResumesWhenSpaceReturns() throws {
        let root = try scratch("full-disk")
        defer { try? fm.removeItem(at: root) }
        let images = try makeImages(in: root)
        let reference = root.appendingPathComponent("reference")
        let ref = try runSynclr(trainArguments(data: images, out: reference, steps: 6))
        #expect(ref.status == 0, "\(ref.output)")

        let disk = root.appendingPathComponent("disk")
        try fm.createDirectory(at: disk, withIntermediateDirectories: true)
        let out = disk.appendingPathComponent("train")
        let full: (status: Int32, output: String)
        // A tmpfs of 1.5 checkpoints holds the first checkpoint but not the temporary of the second.
        let checkpointBytes = try Data(contentsOf: reference.appendingPathComponent("checkpoint/state.safetensors")).count
        if mountTmpfs(disk, kilobytes: checkpointBytes * 3 / 2 / 1024) {
            defer { unmount(disk) }
            full = try runSynclr(trainArguments(data: images, out: out, steps: 6))
            #expect(full.status != 0)
            #expect(full.output.contains("checkpoint/state.safetensors") && full.output.contains("No space left on device"),
                    "the full-disk error does not name the file and the cause:\n\(full.output)")
            #expect(fm.fileExists(atPath: out.appendingPathComponent("checkpoint/state.safetensors").path),
                    "the first checkpoint should have fit")
            #expect(mountTmpfs(disk, kilobytes: checkpointBytes * 4 / 1024, remount: true))
            let resumed = try runSynclr(trainArguments(data: images, out: out, steps: 6))
            #expect(resumed.status == 0, "\(resumed.output)")
            #expect(resumed.output.contains("resumed from"), "the job started over instead of resuming:\n\(resumed.output)")
            let a = try trainingOutputs(reference), b = try trainingOutputs(out)
            for (name, bytes) in a { #expect(b[name] == bytes, "\(name) differs from the uninterrupted run") }
            let leftovers = (try fm.subpathsOfDirectory(atPath: out.path)).filter { $0.contains(".tmp-") || $0.hasSuffix(".lock") }
            #expect(leftovers.isEmpty, "left behind: \(leftovers)")
        } else {
            // No tmpfs without CAP_SYS_ADMIN: a file-size limit (ulimit -f, SIGXFSZ ignored so the
            // write fails with EFBIG) stands in for the full disk.
            let args = trainArguments(data: images, out: out, steps: 6).map { "'\($0)'" }.joined(separator: " ")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "trap '' XFSZ; ulimit -f \(checkpointBytes / 4096); exec '\(synclrExecutable().path)' \(args) 2>&1"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus != 0)
            #expect(text.contains("checkpoint/state.safetensors") && text.contains("too large"), "\(text)")
            let resumed = try runSynclr(trainArguments(data: images, out: out, steps: 6))
            #expect(resumed.status == 0, "\(resumed.output)")
            let a = try trainingOutputs(reference), b = try trainingOutputs(out)
            for (name, bytes) in a { #expect(b[name] == bytes, "\(name) differs from the uninterrupted run") }
        }
    }
}

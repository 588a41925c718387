import Foundation

/// The PyTorch side of the benchmark: Scripts/bench/bench_torch.py running as a child process that
/// executes one repetition per request, so the two sides interleave on the same machine state.
///
/// A peer that cannot run (script missing, Python package missing, a crash) leaves the PyTorch
/// columns empty and says why on standard error, quoting the last line the script wrote there.
final class TorchPeer {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors: PeerErrorLog
    private var buffer = Data()
    private let script: String

    /// Starts the peer, or says why it cannot and returns nil.
    init?(script: String, threads: Int) {
        self.script = script
        guard peerScriptFound(script, column: "PyTorch columns") else { return nil }
        guard let errors = PeerErrorLog() else {
            benchNotice("cannot create a temporary file for \(script)'s error output: no PyTorch columns")
            return nil
        }
        self.errors = errors
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors.handle
        do { try process.run() } catch {
            benchNotice("cannot start python3 \(script): \(error.localizedDescription): no PyTorch columns")
            return nil
        }
        guard (try? request("threads \(threads)")) == "ok" else {
            benchNotice("\(script) did not start (\(errors.lastLine ?? "no error output")): no PyTorch columns")
            return nil
        }
    }

    /// Sends one command and returns its one-line answer.
    func request(_ line: String) throws -> String {
        guard process.isRunning else { throw BenchError.peerDied(line) }
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let answer = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                return answer
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw BenchError.peerDied(line) }
            buffer.append(chunk)
        }
    }

    /// Prepares a workload (and warms it up); says why when the peer cannot run it.
    func setup(_ name: String) -> Bool {
        do {
            let answer = try request("setup \(name)")
            if answer == "ok" { return true }
            benchNotice("\(script): \(name) \(answer)")
        } catch {
            benchNotice("\(script) stopped at \(name) (\(errors.lastLine ?? "no error output"))")
        }
        return false
    }

    /// Peak resident memory (MiB) of the peer since its last `setup`.
    func peakMegabytes() -> Double? { (try? request("rss")).flatMap(Double.init) }

    /// Seconds for one repetition.
    func run(_ name: String) -> Double? { (try? request("run \(name)")).flatMap(Double.init) }

    deinit {
        if process.isRunning {
            try? input.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
            process.waitUntilExit()
        }
    }
}

/// A peer's standard error, kept in a temporary file (a pipe nobody reads could fill and stall the
/// peer), so a failure can quote its last line.
final class PeerErrorLog {
    /// Where the peer writes.
    let handle: FileHandle
    private let url: URL

    init?() {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("synclr-bench-peer-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let h = try? FileHandle(forWritingTo: url) else { return nil }
        handle = h
    }

    /// The last non-empty line written so far (a Python traceback ends with the exception).
    var lastLine: String? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init)
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }
}

/// True when the peer script exists; otherwise says so (naming the `column` left empty).
func peerScriptFound(_ script: String, column: String) -> Bool {
    if FileManager.default.fileExists(atPath: script) { return true }
    benchNotice("\(script) not found: no \(column) (run from the repository root or pass the script's path)")
    return false
}

/// One line on standard error, apart from the table on standard output.
func benchNotice(_ message: String) {
    FileHandle.standardError.write(Data("synclr-bench: \(message)\n".utf8))
}

/// Benchmark failures.
enum BenchError: Error {
    /// The PyTorch child process stopped answering.
    case peerDied(String)
}

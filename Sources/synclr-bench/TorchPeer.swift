import Foundation

/// The PyTorch side of the benchmark: Scripts/bench/bench_torch.py running as a child process that
/// executes one repetition per request, so the two sides interleave on the same machine state.
final class TorchPeer {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()

    /// Starts the peer, or returns nil when Python or torch is unavailable.
    init?(script: String, threads: Int) {
        guard FileManager.default.fileExists(atPath: script) else { return nil }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        guard (try? request("threads \(threads)")) == "ok" else { return nil }
    }

    /// Sends one command and returns its one-line answer.
    func request(_ line: String) throws -> String {
        input.fileHandleForWriting.write((line + "\n").data(using: .utf8)!)
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

    /// Prepares a workload (and warms it up).
    func setup(_ name: String) -> Bool { (try? request("setup \(name)")) == "ok" }

    /// Peak resident memory (MiB) of the peer since its last `setup`.
    func peakMegabytes() -> Double? { (try? request("rss")).flatMap(Double.init) }

    /// Seconds for one repetition.
    func run(_ name: String) -> Double? { (try? request("run \(name)")).flatMap(Double.init) }

    deinit {
        try? input.fileHandleForWriting.write(contentsOf: "quit\n".data(using: .utf8)!)
        process.waitUntilExit()
    }
}

/// Benchmark failures.
enum BenchError: Error {
    /// The PyTorch child process stopped answering.
    case peerDied(String)
}

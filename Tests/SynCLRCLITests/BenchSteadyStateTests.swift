import Foundation
import Testing

/// The buffer cache is the activation arena of a training step: after one warm-up step, every
/// tensor buffer of 64 KiB and up that the next steps need comes from it. Measured in a process of
/// its own (`synclr-bench`), since the counts are process-wide and the other tests run alongside.
@Suite struct BenchSteadyStateTests {
    @Test func trainingStepsAllocateNothingFreshAfterWarmUp() throws {
        let bench = synclrExecutable().deletingLastPathComponent().appendingPathComponent("synclr-bench")
        try #require(FileManager.default.isExecutableFile(atPath: bench.path), "synclr-bench not built beside synclr")
        for workload in ["vit_tiny_step", "vit_s_block"] {
            let p = Process()
            p.executableURL = bench
            p.arguments = ["--filter", workload, "--no-torch", "--repeats", "2", "--json"]
            var env = ProcessInfo.processInfo.environment
            env["SYNCLR_NUM_THREADS"] = "2"
            p.environment = env
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let rows = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            let row = try #require(rows.first { $0["name"] as? String == workload }, "no \(workload) row")
            let fresh = try #require(row["synclrFreshBuffersPerRepetition"] as? Double)
            #expect(fresh == 0, "\(workload): \(fresh) fresh buffers per step after the warm-up")
        }
    }

    /// A peer script that is not there leaves the PyTorch columns empty and says so, instead of
    /// printing a table whose empty columns look like a peer that was never asked.
    @Test func missingPeerIsReported() throws {
        let bench = synclrExecutable().deletingLastPathComponent().appendingPathComponent("synclr-bench")
        try #require(FileManager.default.isExecutableFile(atPath: bench.path), "synclr-bench not built beside synclr")
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-peer-\(UUID().uuidString).py").path
        let p = Process()
        p.executableURL = bench
        p.arguments = ["--filter", "sgemm_512", "--repeats", "1", "--torch-script", missing]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let table = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let notice = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(notice.contains(missing) && notice.contains("not found"), "stderr: \(notice)")
        #expect(table.contains("sgemm_512x512x512"), "stdout: \(table)")
    }
}

import CSynKernels
import Foundation

/// The process's resident memory, for measuring what a workload needs (Linux; nil elsewhere).
///
/// ```swift
/// ResidentMemory.resetPeak()
/// try trainer.step()
/// print(ResidentMemory.peakMegabytes() ?? 0)   // the step's high-water mark, baseline included
/// ```
public enum ResidentMemory {
    /// Peak resident set since the process started or the last `resetPeak()` (VmHWM), in MiB.
    public static func peakMegabytes() -> Double? { statusField("VmHWM:") }

    /// Large tensor buffers served so far, reused or fresh (process-wide; compare two readings).
    public static func tensorBuffers() -> TensorBufferStatistics { BufferCache.shared.statistics }

    /// Current resident set (VmRSS), in MiB.
    public static func currentMegabytes() -> Double? { statusField("VmRSS:") }

    /// Returns the tensor buffers kept for reuse and malloc's free pages to the system, then makes the
    /// peak equal to the current resident set (Linux `clear_refs` 5), so the next reading covers only
    /// what runs after this call.
    public static func resetPeak() {
        BufferCache.shared.releaseAll()
        csyn_malloc_trim()
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    private static func statusField(_ key: String) -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
              let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kb / 1024
    }
}

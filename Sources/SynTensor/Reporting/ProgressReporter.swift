import Foundation
import Synchronization

/// A one-line progress display (count, rate, ETA) for long jobs, drawn on a terminal only.
///
/// When standard error is not a terminal (logs, CI) nothing is drawn, so logs stay quiet;
/// callers print their own final summary.
public final class ProgressReporter: Sendable {
    /// Text before the counter (e.g. "captions").
    public let label: String
    /// Expected total, or nil when unknown.
    public let total: Int?
    /// Unit for the rate (e.g. "img").
    public let unit: String
    private let start: Date
    private let state = Mutex<(completed: Int, lastDraw: Double, detail: String)>((0, 0, ""))
    private let enabled: Bool

    /// A reporter; `enabled` defaults to "standard error is a terminal".
    public init(label: String, total: Int?, unit: String = "it", enabled: Bool? = nil, startingAt completed: Int = 0) {
        self.label = label
        self.total = total
        self.unit = unit
        self.start = Date()
        self.enabled = enabled ?? (isatty(STDERR_FILENO) != 0)
        state.withLock { $0.completed = completed }
        baseline = completed
    }

    private let baseline: Int

    /// Sets the completed count (and an optional trailing detail such as a loss); redraws at most 10x/s.
    public func update(completed: Int, detail: String? = nil) {
        let line: String? = state.withLock { s in
            s.completed = completed
            if let detail { s.detail = detail }
            let now = Date().timeIntervalSince(start)
            guard enabled, now - s.lastDraw >= 0.1 || completed == total else { return nil }
            s.lastDraw = now
            return render(completed: completed, elapsed: now, detail: s.detail)
        }
        if let line { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) }
    }

    /// Adds `n` to the completed count.
    public func advance(by n: Int = 1, detail: String? = nil) {
        let c = state.withLock { $0.completed } + n
        update(completed: c, detail: detail)
    }

    /// Ends the line on a terminal.
    public func finish() {
        guard enabled else { return }
        let line = state.withLock { s in render(completed: s.completed, elapsed: Date().timeIntervalSince(start), detail: s.detail) }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + "\n").utf8))
    }

    /// Seconds since the reporter started.
    public var elapsed: Double { Date().timeIntervalSince(start) }

    private func render(completed: Int, elapsed: Double, detail: String) -> String {
        let done = completed - baseline
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var s = "\(label) \(completed)"
        if let total { s += "/\(total)" }
        s += String(format: "  %.1f %@/s", rate, unit)
        if let total, rate > 0, completed < total {
            s += "  ETA " + ProgressReporter.formatDuration(Double(total - completed) / rate)
        } else {
            s += "  " + ProgressReporter.formatDuration(elapsed)
        }
        if !detail.isEmpty { s += "  " + detail }
        return s
    }

    /// "1h02m", "3m05s", "12.3s".
    public static func formatDuration(_ seconds: Double) -> String {
        if seconds >= 3600 { return String(format: "%dh%02dm", Int(seconds) / 3600, (Int(seconds) % 3600) / 60) }
        if seconds >= 60 { return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60) }
        return String(format: "%.1fs", seconds)
    }
}

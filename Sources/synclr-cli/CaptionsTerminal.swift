import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Messages on standard error, and a progress line that is only drawn on a terminal.
enum Terminal {
    /// True when standard error is a terminal.
    static let isTTY = isatty(STDERR_FILENO) != 0

    /// Prints `message` on standard error.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// `1234567` as `1,234,567`.
    static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    /// Seconds as `1h02m`, `3m05s` or `42s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}

/// A throttled single-line progress display on standard error (no output unless it is a TTY).
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    /// Redraws with `text` at most ~8 times per second (always when `force`).
    func update(_ text: String, force: Bool = false) {
        guard Terminal.isTTY else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        if !force && now.timeIntervalSince(lastDraw) < 0.125 { return }
        lastDraw = now
        drawn = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    /// Ends the line so later output starts on a fresh one.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}

/// Turns the first Ctrl-C into cancellation of `task` (a second one ends the process at once).
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal

    /// Installs the handler.
    init(onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue.global())
        source.setEventHandler {
            signal(SIGINT, SIG_DFL)
            onInterrupt()
        }
        source.resume()
    }

    /// Removes the handler and restores the default action.
    func remove() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

import Dispatch
import Foundation
import Synchronization
import ArgumentParser
import SynTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Messages on standard error.
enum Terminal {
    /// Prints `message` on standard error.
    static func note(_ message: String) {
        Output.note(message)
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
}

/// SynTensor's `ProgressReporter`, created on the first update so that a resumed job's rate
/// and ETA count only the work of this run.
final class JobProgress: Sendable {
    private let slot = Mutex<ProgressReporter?>(nil)
    private let label: String
    private let unit: String
    private let total: Int

    /// A display for `total` items named `label`, rate in `unit`/s.
    init(label: String, unit: String, total: Int) {
        self.label = label
        self.unit = unit
        self.total = total
    }

    /// Updates the line (drawn on a terminal only).
    func update(completed: Int, resumedFrom: Int, detail: String? = nil) {
        let reporter = slot.withLock { r in
            if r == nil { r = ProgressReporter(label: label, total: total, unit: unit, startingAt: resumedFrom) }
            return r!
        }
        reporter.update(completed: completed, detail: detail)
    }

    /// Ends the line.
    func finish() { slot.withLock { $0 }?.finish() }
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

/// Runs `body` as a task that the first Ctrl-C cancels: the progress `line` is ended either way,
/// and an interruption becomes exit status 130 with a note that `whenInterrupted` and that
/// rerunning the same command resumes.
func runInterruptibly<T: Sendable>(_ line: JobProgress, whenInterrupted: String,
                                   _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    let interrupt = InterruptHandler { task.cancel() }
    defer { interrupt.remove() }
    do {
        let value = try await task.value
        line.finish()
        return value
    } catch is CancellationError {
        line.finish()
        Terminal.note("interrupted; \(whenInterrupted) — rerun the same command to resume")
        throw ExitCode(130)
    } catch {
        line.finish()
        throw error
    }
}

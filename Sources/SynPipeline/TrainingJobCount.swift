import Foundation

/// `synclr pipeline --jobs`: `auto` or a number of training runs at a time.
public enum TrainingJobCount: Equatable, Sendable {
    /// One run per core (see `resolved`).
    case auto
    /// This many runs at a time (1: one after another in one process).
    case count(Int)

    /// Parses `auto` or an integer; nil for anything else.
    public init?(argument: String) {
        if argument == "auto" { self = .auto } else if let n = Int(argument) { self = .count(n) } else { return nil }
    }

    /// SYNCLR_NUM_THREADS when it is a positive integer (each run's threads), else nil.
    public static var environmentThreadsPerRun: Int? {
        ProcessInfo.processInfo.environment["SYNCLR_NUM_THREADS"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
    }

    /// The runs to train at a time. `auto` gives each run one core (or `threadsPerRun` cores when
    /// SYNCLR_NUM_THREADS is set), at most one job per run of the configuration, and 1 under MPI,
    /// where the ranks train each run together. It depends on the configuration and the machine
    /// only, never on which runs are finished, so a resumed pipeline trains each run with the
    /// same thread count (and so the same bits) as an uninterrupted one.
    public func resolved(runs: Int, cores: Int, threadsPerRun: Int?, distributed: Bool) -> Int {
        switch self {
        case .count(let n): return n
        case .auto:
            if distributed { return 1 }
            let threads = max(1, threadsPerRun ?? 1)
            return max(1, min(runs, cores / threads))
        }
    }
}

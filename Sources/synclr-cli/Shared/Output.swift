import Foundation

/// The tool's one output helper: results on standard output, flushed per line so they reach a log
/// file (nohup, pipes) as they happen; diagnostics and progress notes on standard error.
enum Output {
    /// A result line on standard output.
    static func result(_ line: String) {
        print(line)
        fflush(nil)
    }

    /// A diagnostic line on standard error.
    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// A result line (`Output.result`), the form most commands use.
func report(_ line: String) { Output.result(line) }

import Foundation

/// Prints a line and flushes, so progress lines reach a log file (nohup, pipes) as they happen.
func report(_ line: String) {
    print(line)
    fflush(nil)
}

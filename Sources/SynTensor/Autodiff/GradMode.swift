/// Whether operations record a graph for reverse-mode autodiff (per task).
public enum GradMode {
    /// True unless inside `withNoGrad`.
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording any autodiff graph (inference, optimizer updates, EMA).
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$isEnabled.withValue(false) { try body() }
}

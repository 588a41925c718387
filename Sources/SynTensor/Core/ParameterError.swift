/// A configuration value outside its allowed range. It names the parameter as the library
/// spells it (e.g. `imagesPerGroup`), the value given and what is allowed, so a command-line
/// tool or a config file reader can relay it without knowing the rule.
public struct ParameterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The parameter's name in the library's configuration type.
    public var parameter: String
    /// The value that was given, as text.
    public var value: String
    /// The allowed range or the rule the value breaks.
    public var allowed: String

    /// An error for `parameter` = `value`, which must be `allowed`.
    public init(_ parameter: String, _ value: Any, allowed: String) {
        self.parameter = parameter
        self.value = "\(value)"
        self.allowed = allowed
    }

    /// "parameter = value is invalid: must be allowed".
    public var description: String { "\(parameter) = \(value) is invalid: must be \(allowed)" }

    /// Throws `ParameterError(parameter, value, allowed:)` unless `condition` holds.
    public static func require(_ condition: Bool, _ parameter: String, _ value: @autoclosure () -> Any, allowed: String) throws {
        if !condition { throw ParameterError(parameter, value(), allowed: allowed) }
    }
}

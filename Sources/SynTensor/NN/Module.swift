/// Base class of neural-network modules with PyTorch-style dotted parameter names.
///
/// Subclasses list their own parameters and children (with the names a PyTorch checkpoint uses);
/// everything else (recursion, train/eval, state dicts, seeding) is derived from those lists.
open class Module {
    /// True in training mode (dropout and drop-path active).
    public private(set) var isTraining = true
    /// Random stream for stochastic layers; set per step by `seedRandomness` for reproducibility.
    public var randomGenerator = RandomGenerator(seed: 0)

    /// Creates a module in training mode.
    public init() {}

    /// Parameters owned directly by this module, by local name (e.g. "weight", "bias").
    open var ownParameters: [(String, Parameter)] { [] }
    /// Non-trainable state saved in the state dict (e.g. running statistics), by local name.
    open var ownBuffers: [(String, Parameter)] { [] }
    /// Direct submodules, by local name (e.g. "attn", "0").
    open var children: [(String, Module)] { [] }

    /// Every parameter with its dotted name (`blocks.0.attn.qkv.weight`), in definition order.
    public func namedParameters(prefix: String = "") -> [(String, Parameter)] {
        var out: [(String, Parameter)] = []
        for (n, p) in ownParameters { out.append((prefix + n, p)) }
        for (n, c) in children { out += c.namedParameters(prefix: prefix + n + ".") }
        return out
    }

    /// Every buffer with its dotted name.
    public func namedBuffers(prefix: String = "") -> [(String, Parameter)] {
        var out: [(String, Parameter)] = []
        for (n, p) in ownBuffers { out.append((prefix + n, p)) }
        for (n, c) in children { out += c.namedBuffers(prefix: prefix + n + ".") }
        return out
    }

    /// Every submodule (including self at "") with its dotted path.
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for (n, c) in children { out += c.namedModules(prefix: prefix.isEmpty ? n : prefix + "." + n) }
        return out
    }

    /// All parameters.
    public func parameters() -> [Parameter] { namedParameters().map { $0.1 } }

    /// Trainable parameters only.
    public func trainableParameters() -> [Parameter] { parameters().filter { $0.isTrainable } }

    /// Total number of parameter elements.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.value.count } }

    /// Switches this module and its children to training (true) or evaluation mode.
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.isTraining = on }
    }

    /// Evaluation mode (dropout and drop-path off).
    public func eval() { train(false) }

    /// Gives every submodule its own random stream derived from `generator` and its path.
    public func seedRandomness(_ generator: RandomGenerator) {
        for (path, m) in namedModules() { m.randomGenerator = generator.derived("module:" + path) }
    }

    /// Parameters and buffers as a name -> tensor dictionary (PyTorch `state_dict`).
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (n, p) in namedParameters() { d[n] = p.value.detached() }
        for (n, b) in namedBuffers() { d[n] = b.value.detached() }
        return d
    }

    /// Loads tensors by name. Strict mode throws on missing, unexpected or mis-shaped keys;
    /// non-strict mode loads what matches and reports the rest.
    @discardableResult
    public func loadStateDict(_ dict: [String: Tensor], strict: Bool = true, source: String = "state dict") throws -> StateDictReport {
        var report = StateDictReport()
        let targets = namedParameters() + namedBuffers()
        var known = Set<String>()
        for (name, p) in targets {
            known.insert(name)
            guard let t = dict[name] else { report.missing.append(name); continue }
            if t.shape != p.value.shape {
                report.mismatched.append(.init(name: name, expected: p.value.shape, found: t.shape))
                continue
            }
        }
        report.unexpected = dict.keys.filter { !known.contains($0) }.sorted()
        if strict && !report.isClean { throw StateDictError.incompatible(source: source, report: report) }
        for (name, p) in targets {
            if let t = dict[name], t.shape == p.value.shape {
                var v = t.contiguous().detached()
                v.id = p.value.id
                v.setRequiresGrad(p.isTrainable)
                p.value = v
            }
        }
        return report
    }
}

/// What `loadStateDict` matched and what it did not.
public struct StateDictReport: Sendable, CustomStringConvertible {
    /// A key whose tensor has the wrong shape.
    public struct Mismatch: Sendable {
        /// Parameter name.
        public let name: String
        /// Shape the module expects.
        public let expected: [Int]
        /// Shape found in the file.
        public let found: [Int]
    }
    /// Module keys absent from the source.
    public var missing: [String] = []
    /// Source keys the module does not have.
    public var unexpected: [String] = []
    /// Keys present in both with different shapes.
    public var mismatched: [Mismatch] = []
    /// True when every key matched.
    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    /// Human-readable listing.
    public var description: String {
        var lines: [String] = []
        if !missing.isEmpty { lines.append("missing keys: " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("unexpected keys: " + unexpected.joined(separator: ", ")) }
        for m in mismatched { lines.append("shape mismatch for \(m.name): expected \(m.expected), found \(m.found)") }
        return lines.isEmpty ? "all keys matched" : lines.joined(separator: "\n")
    }
}

/// Errors from loading parameters.
public enum StateDictError: Error, CustomStringConvertible {
    /// The source does not fit the module (strict load).
    case incompatible(source: String, report: StateDictReport)

    /// Message naming the source and every problem.
    public var description: String {
        switch self {
        case let .incompatible(source, report): return "cannot load \(source):\n\(report)"
        }
    }
}

/// A module mapping one tensor to one tensor (usable in `Sequential`).
public protocol UnaryLayer: Module {
    /// Forward pass.
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// Element type of a torch storage; every one is converted to `Float` on load.
public enum TorchDType: String, Sendable, Equatable, CaseIterable {
    /// The storage element types torch.save writes that this reader converts.
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Name of the legacy storage class (`torch.<name>`) that torch.save pickles for this dtype.
    public var storageClass: String {
        switch self {
        case .float32: return "FloatStorage"
        case .float64: return "DoubleStorage"
        case .float16: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .int64: return "LongStorage"
        case .int32: return "IntStorage"
        case .int16: return "ShortStorage"
        case .int8: return "CharStorage"
        case .uint8: return "ByteStorage"
        case .bool: return "BoolStorage"
        }
    }

    /// The dtype whose storage class is `torch.<name>`, if supported.
    init?(storageClass name: String) {
        guard let match = TorchDType.allCases.first(where: { $0.storageClass == name }) else { return nil }
        self = match
    }
}

/// A tensor as the pickle describes it: a strided view into a storage record, not yet read.
public struct TorchTensorReference: Sendable, Equatable {
    /// Name of the storage record (`<archive>/data/<key>`).
    public let storageKey: String
    /// Element type of the storage.
    public let dtype: TorchDType
    /// Elements in the storage.
    public let storageCount: Int
    /// Index of the view's first element in the storage.
    public let offset: Int
    /// Size of each dimension.
    public let shape: [Int]
    /// Element strides of each dimension.
    public let strides: [Int]
}

/// A value from a checkpoint's pickle: containers, scalars, tensors and opaque objects.
///
/// Nothing in it is executable: `object` keeps only a class name and its pickled state.
public indirect enum TorchValue: Sendable, Equatable {
    /// Python `None`.
    case none
    /// `True` / `False`.
    case bool(Bool)
    /// An integer that fits in `Int`.
    case int(Int)
    /// An integer too large for `Int`, as decimal digits.
    case bigInt(String)
    /// A Python float.
    case float(Double)
    /// A Python str.
    case string(String)
    /// A Python bytes object.
    case bytes([UInt8])
    /// A list (sets are read as lists too).
    case list([TorchValue])
    /// A tuple.
    case tuple([TorchValue])
    /// A dict or OrderedDict, in insertion order.
    case dict([Entry])
    /// A tensor (or Parameter), read on demand through `TorchCheckpoint.tensor(_:)`.
    case tensor(TorchTensorReference)
    /// An allow-listed object kept opaque, e.g. `argparse.Namespace` with its attribute dict.
    case object(type: String, state: TorchValue)

    /// One key/value pair of a dict.
    public struct Entry: Sendable, Equatable {
        /// The key.
        public let key: TorchValue
        /// The value.
        public let value: TorchValue

        /// A key/value pair.
        public init(key: TorchValue, value: TorchValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value under string key `key` of a dict, or attribute `key` of an object.
    public subscript(key: String) -> TorchValue? {
        switch self {
        case let .dict(entries): return entries.first { $0.key == .string(key) }?.value
        case let .object(_, state): return state[key]
        default: return nil
        }
    }

    /// The integer, if this is one.
    public var intValue: Int? {
        if case let .int(v) = self { return v }
        return nil
    }

    /// The number as a Double, if this is an int or a float.
    public var doubleValue: Double? {
        switch self {
        case let .int(v): return Double(v)
        case let .float(v): return v
        default: return nil
        }
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case let .string(v) = self { return v }
        return nil
    }
}

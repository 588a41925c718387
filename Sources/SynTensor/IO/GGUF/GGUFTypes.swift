/// Type tags of GGUF metadata values (`gguf_type` in ggml).
public enum GGUFValueType: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Unsigned 8-bit integer.
    case uint8 = 0
    /// Signed 8-bit integer.
    case int8 = 1
    /// Unsigned 16-bit integer.
    case uint16 = 2
    /// Signed 16-bit integer.
    case int16 = 3
    /// Unsigned 32-bit integer.
    case uint32 = 4
    /// Signed 32-bit integer.
    case int32 = 5
    /// IEEE single.
    case float32 = 6
    /// One byte, 0 or 1.
    case bool = 7
    /// UInt64 length, then UTF-8 bytes without a terminator.
    case string = 8
    /// Element type, UInt64 count, then the elements.
    case array = 9
    /// Unsigned 64-bit integer.
    case uint64 = 10
    /// Signed 64-bit integer.
    case int64 = 11
    /// IEEE double.
    case float64 = 12

    /// Bytes of one value of a fixed-size type (nil for strings and arrays).
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The lowercase name used in error messages.
    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }
}

/// One GGUF metadata value.
public enum GGUFValue: Sendable, Hashable, CustomStringConvertible {
    /// Unsigned 8-bit integer.
    case uint8(UInt8)
    /// Signed 8-bit integer.
    case int8(Int8)
    /// Unsigned 16-bit integer.
    case uint16(UInt16)
    /// Signed 16-bit integer.
    case int16(Int16)
    /// Unsigned 32-bit integer.
    case uint32(UInt32)
    /// Signed 32-bit integer.
    case int32(Int32)
    /// IEEE single.
    case float32(Float)
    /// Boolean.
    case bool(Bool)
    /// UTF-8 text (invalid sequences are repaired with U+FFFD on reading).
    case string(String)
    /// Homogeneous array of `elementType` values (arrays of arrays allowed).
    case array(elementType: GGUFValueType, values: [GGUFValue])
    /// Unsigned 64-bit integer.
    case uint64(UInt64)
    /// Signed 64-bit integer.
    case int64(Int64)
    /// IEEE double.
    case float64(Double)

    /// The type tag of this value.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// The value as an integer when it is an integer type that fits in `Int`.
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(exactly: v)
        default: return nil
        }
    }

    /// The value as a Double when it is numeric.
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return int.map(Double.init)
        }
    }

    /// The value as a Float when it is numeric.
    public var float: Float? { double.map(Float.init) }

    /// The value when it is a bool.
    public var bool: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    /// The value when it is a string.
    public var string: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    /// The elements when this is an array.
    public var array: [GGUFValue]? {
        if case let .array(_, values) = self { return values }
        return nil
    }

    /// The elements when this is an array of strings.
    public var strings: [String]? {
        guard case let .array(t, values) = self, t == .string else { return nil }
        return values.map { $0.string! }
    }

    /// The elements when this is an array of integers.
    public var ints: [Int]? {
        guard case let .array(_, values) = self else { return nil }
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let i = v.int else { return nil }
            out.append(i)
        }
        return out
    }

    /// The elements when this is an array of numbers.
    public var floats: [Float]? {
        guard case let .array(_, values) = self else { return nil }
        var out: [Float] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let f = v.float else { return nil }
            out.append(f)
        }
        return out
    }

    /// A short rendering (long arrays and strings abbreviated).
    public var description: String {
        switch self {
        case let .string(s): return s.count > 80 ? "\"\(s.prefix(77))...\"" : "\"\(s)\""
        case let .array(t, values):
            let head = values.prefix(4).map(\.description).joined(separator: ", ")
            return "[\(t) x \(values.count)]" + (values.isEmpty ? "" : " [\(head)\(values.count > 4 ? ", ..." : "")]")
        case let .bool(b): return String(b)
        case let .float32(f): return String(f)
        case let .float64(d): return String(d)
        default: return String(int ?? 0)
        }
    }
}

/// Tensor element types of ggml (`ggml_type`), with the block geometry every quantized format uses.
public enum GGMLType: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IEEE single.
    case f32 = 0
    /// IEEE half.
    case f16 = 1
    /// 32 values: f16 scale d, 16 bytes of 4-bit q; x = d (q - 8).
    case q4_0 = 2
    /// 32 values: f16 scale d, f16 minimum m, 16 bytes of 4-bit q; x = d q + m.
    case q4_1 = 3
    /// 32 values: f16 d, 32 high bits, 16 bytes of low nibbles; x = d (q - 16).
    case q5_0 = 6
    /// 32 values: f16 d, f16 m, 32 high bits, 16 bytes of low nibbles; x = d q + m.
    case q5_1 = 7
    /// 32 values: f16 scale d, 32 int8 q; x = d q.
    case q8_0 = 8
    /// 32 values: f16 d, f16 sum, 32 int8 (an activation format).
    case q8_1 = 9
    /// 2-bit k-quant (256-value super-blocks).
    case q2_K = 10
    /// 3-bit k-quant.
    case q3_K = 11
    /// 4-bit k-quant: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles.
    case q4_K = 12
    /// 5-bit k-quant.
    case q5_K = 13
    /// 6-bit k-quant: 128 bytes low nibbles, 64 bytes high bit pairs, 16 int8 scales, f16 d.
    case q6_K = 14
    /// 8-bit k-quant (an activation format).
    case q8_K = 15
    /// i-quant.
    case iq2_xxs = 16
    /// i-quant.
    case iq2_xs = 17
    /// i-quant.
    case iq3_xxs = 18
    /// i-quant.
    case iq1_s = 19
    /// i-quant.
    case iq4_nl = 20
    /// i-quant.
    case iq3_s = 21
    /// i-quant.
    case iq2_s = 22
    /// i-quant.
    case iq4_xs = 23
    /// Signed 8-bit integer.
    case i8 = 24
    /// Signed 16-bit integer.
    case i16 = 25
    /// Signed 32-bit integer.
    case i32 = 26
    /// Signed 64-bit integer.
    case i64 = 27
    /// IEEE double.
    case f64 = 28
    /// i-quant.
    case iq1_m = 29
    /// bfloat16.
    case bf16 = 30
    /// Ternary quant.
    case tq1_0 = 34
    /// Ternary quant.
    case tq2_0 = 35
    /// Microscaling FP4.
    case mxfp4 = 39

    /// Values per block (1 for plain types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: return 32
        default: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        let qk = 256
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16
        case .q4_1: return 4 + 16
        case .q5_0: return 2 + 4 + 16
        case .q5_1: return 4 + 4 + 16
        case .q8_0: return 2 + 32
        case .q8_1: return 4 + 32
        case .q2_K: return 4 + qk / 16 + qk / 4
        case .q3_K: return 2 + qk / 4 + qk / 8 + 12
        case .q4_K: return 4 + 12 + qk / 2
        case .q5_K: return 4 + 12 + qk / 2 + qk / 8
        case .q6_K: return 2 + qk / 2 + qk / 4 + qk / 16
        case .q8_K: return 4 + qk + qk / 8
        case .iq2_xxs: return 2 + qk / 4
        case .iq2_xs: return 2 + qk / 4 + qk / 32
        case .iq3_xxs: return 2 + qk / 4 + qk / 8
        case .iq1_s: return 2 + qk / 8 + qk / 16
        case .iq4_nl: return 2 + 16
        case .iq3_s: return 2 + qk / 4 + qk / 8 + qk / 32 + 4
        case .iq2_s: return 2 + qk / 4 + qk / 16
        case .iq4_xs: return 4 + qk / 2 + qk / 64
        case .i8: return 1
        case .i16: return 2
        case .i32: return 4
        case .i64, .f64: return 8
        case .iq1_m: return qk / 8 + qk / 16 + qk / 32
        case .tq1_0: return 2 + 4 * 13
        case .tq2_0: return 2 + 64
        case .mxfp4: return 1 + 16
        }
    }

    /// Whether `GGMLDequantizer` can turn this type into Float32.
    public var isDequantizable: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return true
        default: return false
        }
    }

    /// Bytes needed for `count` values (count must be a multiple of `blockSize`).
    public func byteCount(forValues count: Int) -> Int { count / blockSize * blockBytes }

    /// ggml's name for the type (`Q4_1`, `F32`, ...).
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        case .iq2_xxs: return "IQ2_XXS"
        case .iq2_xs: return "IQ2_XS"
        case .iq3_xxs: return "IQ3_XXS"
        case .iq1_s: return "IQ1_S"
        case .iq4_nl: return "IQ4_NL"
        case .iq3_s: return "IQ3_S"
        case .iq2_s: return "IQ2_S"
        case .iq4_xs: return "IQ4_XS"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        case .iq1_m: return "IQ1_M"
        case .bf16: return "BF16"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        case .mxfp4: return "MXFP4"
        }
    }
}

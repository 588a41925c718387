/// An element type of the safetensors format (the header's `dtype` string).
///
/// All dtypes of the format are recognised, so any valid file can be listed and validated.
/// `SafetensorsFile.tensor(_:)` converts to Float32 every dtype except the packed sub-byte
/// floats (F4, F6_*) and complex C64; the writer stores F64, F32, F16 and BF16.
public enum SafetensorsDType: String, Sendable, CaseIterable, Comparable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element.
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Position in the reference implementation's `Dtype` enum (its writer sorts by it, descending).
    var rank: Int { Self.allCases.firstIndex(of: self)! }

    /// Ordered as the reference implementation's `Dtype` enum (increasing alignment).
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }

    /// Whether `SafetensorsFile` can convert this dtype to Float32.
    public var isConvertibleToFloat: Bool {
        switch self {
        case .f4, .f6E2M3, .f6E3M2, .c64: return false
        default: return true
        }
    }

    /// Whether the writer can store this dtype.
    public var isWritable: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16: return true
        default: return false
        }
    }

    /// Whether elements are integers or booleans.
    public var isInteger: Bool {
        switch self {
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64: return true
        default: return false
        }
    }
}

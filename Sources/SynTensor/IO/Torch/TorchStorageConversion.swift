/// Little-endian torch storage bytes -> Float32, one raw-pointer loop per dtype.
///
/// Sources may be unaligned (deflated or hand-made archives), so every load is unaligned.
/// float64 rounds to nearest even (as `tensor.float()`); int64 beyond 2^24 rounds likewise;
/// float16 and bfloat16 are exact, NaN payloads included; bool reads as 0 or 1.
enum TorchStorageConversion {
    /// Converts `count` elements of `dtype` at `source` into `destination`.
    static func convert(_ source: UnsafeRawPointer, dtype: TorchDType, count: Int, into destination: UnsafeMutablePointer<Float>) {
        parallelRows(rows: count, work: count * 2) { range in
            convertRange(source, dtype: dtype, range: range, into: destination)
        }
    }

    private static func convertRange(_ src: UnsafeRawPointer, dtype: TorchDType, range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .float32:
            #if _endian(little)
            // Same bits on a little-endian host: a byte copy (the source may be unaligned).
            UnsafeMutableRawPointer(dst + range.lowerBound).copyMemory(from: src + 4 * range.lowerBound, byteCount: 4 * range.count)
            #else
            for i in range {
                dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
            #endif
        case .float64:
            for i in range {
                dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .float16:
            for i in range {
                dst[i] = halfBitsToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bfloat16:
            for i in range {
                dst[i] = bfloat16BitsToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .int64:
            for i in range {
                dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            }
        case .int32:
            for i in range {
                dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            }
        case .int16:
            for i in range {
                dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            }
        case .int8:
            for i in range { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .uint8:
            for i in range { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .bool:
            for i in range { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        }
    }
}

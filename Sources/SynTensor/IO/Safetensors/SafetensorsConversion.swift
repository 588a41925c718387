import Foundation

// Raw little-endian safetensors elements -> Float32, one tight loop per dtype. Sources are
// read with unaligned loads: a tensor's offset inside an mmapped file has no alignment promise.

/// Float32 values of all 256 codes of an 8-bit float format (0xFF... NaN codes included).
private func minifloatTable(exponentBits: Int, mantissaBits: Int, bias: Int, isNaN: (UInt8) -> Bool,
                            ieeeSpecials: Bool) -> [Float] {
    (0..<256).map { code -> Float in
        let byte = UInt8(code)
        if isNaN(byte) { return .nan }
        let sign: Double = byte & 0x80 != 0 ? -1 : 1
        let e = Int(byte >> UInt8(mantissaBits)) & ((1 << exponentBits) - 1)
        let m = Double(Int(byte) & ((1 << mantissaBits) - 1))
        let scale = Double(1 << mantissaBits)
        if ieeeSpecials && e == (1 << exponentBits) - 1 { return Float(sign * .infinity) }
        if e == 0 { return Float(sign * (m / scale) * pow(2, Double(1 - bias))) }
        return Float(sign * (1 + m / scale) * pow(2, Double(e - bias)))
    }
}

/// F8_E5M2: IEEE-style (bias 15, infinities, NaNs).
private let f8E5M2Table = minifloatTable(exponentBits: 5, mantissaBits: 2, bias: 15,
                                         isNaN: { $0 & 0x7F > 0x7C }, ieeeSpecials: true)
/// F8_E4M3 (OCP "FN"): bias 7, no infinities, NaN only at S.1111.111.
private let f8E4M3Table = minifloatTable(exponentBits: 4, mantissaBits: 3, bias: 7,
                                         isNaN: { $0 & 0x7F == 0x7F }, ieeeSpecials: false)
/// F8_E4M3FNUZ: bias 8, no infinities, no negative zero, NaN at 0x80.
private let f8E4M3FNUZTable = minifloatTable(exponentBits: 4, mantissaBits: 3, bias: 8,
                                             isNaN: { $0 == 0x80 }, ieeeSpecials: false)
/// F8_E5M2FNUZ: bias 16, no infinities, no negative zero, NaN at 0x80.
private let f8E5M2FNUZTable = minifloatTable(exponentBits: 5, mantissaBits: 2, bias: 16,
                                             isNaN: { $0 == 0x80 }, ieeeSpecials: false)
/// F8_E8M0 (OCP scale): 2^(code - 127), NaN at 0xFF.
private let f8E8M0Table: [Float] = (0..<256).map { $0 == 255 ? .nan : Float(pow(2, Double($0 - 127))) }

/// Maps every byte through a 256-entry table.
private func convertByTable(_ table: [Float], _ source: UnsafeRawPointer, count: Int,
                            into destination: UnsafeMutablePointer<Float>) {
    table.withUnsafeBufferPointer { t in
        let bytes = source.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { destination[i] = t[Int(bytes[i])] }
    }
}

/// Converts one fixed-width little-endian integer type.
@inline(__always)
private func convertIntegers<T: FixedWidthInteger>(_ type: T.Type, _ source: UnsafeRawPointer, count: Int,
                                                   into destination: UnsafeMutablePointer<Float>) {
    let width = MemoryLayout<T>.size
    for i in 0..<count {
        destination[i] = Float(T(littleEndian: source.loadUnaligned(fromByteOffset: i * width, as: T.self)))
    }
}

/// Writes `count` elements of `dtype` at `source` as Float32; false when the dtype is not convertible.
func convertToFloat(_ dtype: SafetensorsDType, _ source: UnsafeRawPointer, count: Int,
                    into destination: UnsafeMutablePointer<Float>) -> Bool {
    switch dtype {
    case .f32:
        UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
    case .f16:
        convertHalfToFloat(source, count: count, into: destination)
    case .bf16:
        convertBFloat16ToFloat(source, count: count, into: destination)
    case .f64:
        for i in 0..<count {
            let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
            destination[i] = Float(Double(bitPattern: bits))
        }
    case .u8:
        let bytes = source.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { destination[i] = Float(bytes[i]) }
    case .bool:
        let bytes = source.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { destination[i] = bytes[i] != 0 ? 1 : 0 }
    case .i8: convertIntegers(Int8.self, source, count: count, into: destination)
    case .i16: convertIntegers(Int16.self, source, count: count, into: destination)
    case .u16: convertIntegers(UInt16.self, source, count: count, into: destination)
    case .i32: convertIntegers(Int32.self, source, count: count, into: destination)
    case .u32: convertIntegers(UInt32.self, source, count: count, into: destination)
    case .i64: convertIntegers(Int64.self, source, count: count, into: destination)
    case .u64: convertIntegers(UInt64.self, source, count: count, into: destination)
    case .f8E5M2: convertByTable(f8E5M2Table, source, count: count, into: destination)
    case .f8E4M3: convertByTable(f8E4M3Table, source, count: count, into: destination)
    case .f8E4M3FNUZ: convertByTable(f8E4M3FNUZTable, source, count: count, into: destination)
    case .f8E5M2FNUZ: convertByTable(f8E5M2FNUZTable, source, count: count, into: destination)
    case .f8E8M0: convertByTable(f8E8M0Table, source, count: count, into: destination)
    case .f4, .f6E2M3, .f6E3M2, .c64:
        return false
    }
    return true
}

/// Reads `count` integer (or boolean) elements of `dtype` at `source` exactly as `Int64`.
/// U64 values above `Int64.max` wrap; nil when `dtype` is not an integer type.
func readIntegers(_ dtype: SafetensorsDType, _ source: UnsafeRawPointer, count: Int) -> [Int64]? {
    guard dtype.isInteger else { return nil }
    return [Int64](unsafeUninitializedCapacity: count) { out, initialized in
        func load<T: FixedWidthInteger>(_: T.Type) {
            let width = MemoryLayout<T>.size
            for i in 0..<count {
                out[i] = Int64(truncatingIfNeeded: T(littleEndian: source.loadUnaligned(fromByteOffset: i * width, as: T.self)))
            }
        }
        switch dtype {
        case .bool:
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { out[i] = bytes[i] != 0 ? 1 : 0 }
        case .u8: load(UInt8.self)
        case .i8: load(Int8.self)
        case .i16: load(Int16.self)
        case .u16: load(UInt16.self)
        case .i32: load(Int32.self)
        case .u32: load(UInt32.self)
        case .i64: load(Int64.self)
        case .u64: load(UInt64.self)
        default: break
        }
        initialized = count
    }
}

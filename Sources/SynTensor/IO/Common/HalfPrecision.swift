// Float16 / bfloat16 <-> Float32 conversions over raw buffers, bit-exact with PyTorch's c10
// (c10/util/Half.h `fp16_ieee_to_fp32_value` / `fp16_ieee_from_fp32_value`, c10/util/BFloat16.h
// `round_to_nearest_even`). Written on bit patterns so they need no `Float16` type (absent on
// Intel macOS) and compile to branch-free loops. Sources may be unaligned (mmap offsets).

/// IEEE half bits -> Float32, exact (subnormals, infinities and NaN payloads preserved).
@inline(__always)
func halfBitsToFloat(_ h: UInt16) -> Float {
    let w = UInt32(h) << 16
    let sign = w & 0x8000_0000
    let twoW = w &+ w
    let expOffset: UInt32 = 0xE0 << 23
    let expScale = Float(bitPattern: 0x0780_0000)  // 0x1.0p-112
    let normalized = Float(bitPattern: (twoW >> 4) &+ expOffset) * expScale
    let magicMask: UInt32 = 126 << 23
    let denormalized = Float(bitPattern: (twoW >> 17) | magicMask) - 0.5
    let cutoff: UInt32 = 1 << 27
    let bits = sign | (twoW < cutoff ? denormalized.bitPattern : normalized.bitPattern)
    return Float(bitPattern: bits)
}

/// Float32 -> IEEE half bits, round to nearest even (overflow to infinity, NaN -> 0x7E00 | sign).
@inline(__always)
func floatToHalfBits(_ f: Float) -> UInt16 {
    let scaleToInf = Float(bitPattern: 0x7780_0000)   // 0x1.0p+112
    let scaleToZero = Float(bitPattern: 0x0880_0000)  // 0x1.0p-110
    var base = (abs(f) * scaleToInf) * scaleToZero
    let w = f.bitPattern
    let shl1W = w &+ w
    let sign = w & 0x8000_0000
    var bias = shl1W & 0xFF00_0000
    if bias < 0x7100_0000 { bias = 0x7100_0000 }
    base = Float(bitPattern: (bias >> 1) &+ 0x0780_0000) + base
    let bits = base.bitPattern
    let expBits = (bits >> 13) & 0x0000_7C00
    let mantissaBits = bits & 0x0000_0FFF
    let nonsign = expBits &+ mantissaBits
    return UInt16(truncatingIfNeeded: (sign >> 16) | (shl1W > 0xFF00_0000 ? 0x7E00 : nonsign))
}

/// bfloat16 bits -> Float32 (exact: the upper half of a Float32).
@inline(__always)
func bfloat16BitsToFloat(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Float32 -> bfloat16 bits, round to nearest even; every NaN becomes 0xFFFF, which is what
/// PyTorch's vectorized CPU conversion (`tensor.bfloat16()`, any tensor of rank >= 1) writes
/// (its scalar c10 path, used for 0-d tensors, writes 0x7FC0; both are NaN).
@inline(__always)
func floatToBFloat16Bits(_ f: Float) -> UInt16 {
    if f.isNaN { return 0xFFFF }
    let u = f.bitPattern
    let roundingBias: UInt32 = ((u >> 16) & 1) &+ 0x7FFF
    return UInt16(truncatingIfNeeded: (u &+ roundingBias) >> 16)
}

/// Decodes `count` little-endian 16-bit values at `source` (any alignment) through `convert`.
@inline(__always)
private func convert16(
    _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>,
    _ convert: (UInt16) -> Float
) {
    for i in 0..<count {
        destination[i] = convert(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
    }
}

/// Converts `count` little-endian IEEE halves at `source` into Float32.
func convertHalfToFloat(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
    convert16(source, count: count, into: destination, halfBitsToFloat)
}

/// Converts `count` little-endian bfloat16 values at `source` into Float32.
func convertBFloat16ToFloat(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
    convert16(source, count: count, into: destination, bfloat16BitsToFloat)
}

/// Writes `count` Float32 values as little-endian IEEE halves.
func convertFloatToHalf(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) {
    for i in 0..<count {
        destination.storeBytes(of: floatToHalfBits(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
    }
}

/// Writes `count` Float32 values as little-endian bfloat16.
func convertFloatToBFloat16(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) {
    for i in 0..<count {
        destination.storeBytes(of: floatToBFloat16Bits(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
    }
}

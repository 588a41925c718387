// Dequantization of ggml's block formats into Float32, computed exactly as ggml's reference
// `dequantize_row_*` functions and gguf-py's numpy versions define them: the f16 scales are widened
// to Float32 and every product and sum is rounded separately (no fused multiply-add), so the
// results are bit-identical to gguf-py (which `transformers` uses to load GGUF files).

/// Turns ggml tensor data (plain or block-quantized) into Float32.
public enum GGMLDequantizer {
    /// Converts `count` values of `type` stored at `source` (any alignment) into `destination`.
    ///
    /// `count` must be a multiple of `type.blockSize`, the source must hold
    /// `type.byteCount(forValues: count)` bytes, and `type.isDequantizable` must be true.
    public static func dequantize(_ type: GGMLType, from source: UnsafeRawPointer, count: Int,
                                  into destination: UnsafeMutablePointer<Float>) {
        precondition(type.isDequantizable, "no dequantizer for ggml type \(type)")
        precondition(count % type.blockSize == 0, "\(count) values is not a whole number of \(type) blocks")
        let blocks = count / type.blockSize
        let bs = type.blockSize, bb = type.blockBytes
        // Large tensors are split over the worker threads by whole blocks.
        let chunks = count >= (1 << 16) ? Swift.min(Threading.count, blocks) : 1
        if chunks <= 1 {
            convert(type, source, blocks: blocks, destination)
            return
        }
        let src = UncheckedBox(source), dst = SendablePointer(destination)
        Threading.concurrentPerform(chunks) { c in
            let lo = blocks * c / chunks, hi = blocks * (c + 1) / chunks
            if hi > lo { convert(type, src.value + lo * bb, blocks: hi - lo, dst.p + lo * bs) }
        }
    }

    /// Converts `blocks` whole blocks on the calling thread.
    static func convert(_ type: GGMLType, _ s: UnsafeRawPointer, blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            for i in 0..<blocks { y[i] = Float(bitPattern: UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16: convertHalfToFloat(s, count: blocks, into: y)
        case .bf16: convertBFloat16ToFloat(s, count: blocks, into: y)
        case .f64:
            for i in 0..<blocks {
                y[i] = Float(Double(bitPattern: UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .i8: for i in 0..<blocks { y[i] = Float(s.load(fromByteOffset: i, as: Int8.self)) }
        case .i16: for i in 0..<blocks { y[i] = Float(Int16(littleEndian: s.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .i32: for i in 0..<blocks { y[i] = Float(Int32(littleEndian: s.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .q8_0: q8_0(s, blocks, y)
        case .q4_0: q4_0(s, blocks, y)
        case .q4_1: q4_1(s, blocks, y)
        case .q5_0: q5_0(s, blocks, y)
        case .q5_1: q5_1(s, blocks, y)
        case .q4_K: q4_K(s, blocks, y)
        case .q5_K: q5_K(s, blocks, y)
        case .q6_K: q6_K(s, blocks, y)
        default: preconditionFailure("no dequantizer for ggml type \(type)")
        }
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        halfBitsToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }

    /// x = q * d with q int8.
    static func q8_0(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 34, out = y + b * 32
            let d = half(p, 0)
            for j in 0..<32 { out[j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
        }
    }

    /// x = (q - 8) * d; element j is the low nibble of byte j, element j + 16 its high nibble.
    static func q4_0(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 18, out = y + b * 32
            let d = half(p, 0)
            for j in 0..<16 {
                let q = byte(p, 2 + j)
                out[j] = Float(Int32(q & 0x0F) - 8) * d
                out[j + 16] = Float(Int32(q >> 4) - 8) * d
            }
        }
    }

    /// x = q * d + m.
    static func q4_1(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 20, out = y + b * 32
            let d = half(p, 0), m = half(p, 2)
            for j in 0..<16 {
                let q = byte(p, 4 + j)
                out[j] = Float(q & 0x0F) * d + m
                out[j + 16] = Float(q >> 4) * d + m
            }
        }
    }

    /// x = (q - 16) * d; bit i of the 32-bit qh is the fifth bit of element i.
    static func q5_0(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 22, out = y + b * 32
            let d = half(p, 0)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(p, 6 + j))
                let lo = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
                let hi = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
                out[j] = Float(Int32(lo) - 16) * d
                out[j + 16] = Float(Int32(hi) - 16) * d
            }
        }
    }

    /// x = q * d + m with 5-bit q.
    static func q5_1(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 24, out = y + b * 32
            let d = half(p, 0), m = half(p, 2)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(p, 8 + j))
                let lo = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
                let hi = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
                out[j] = Float(lo) * d + m
                out[j + 16] = Float(hi) * d + m
            }
        }
    }

    /// The 6-bit scale and minimum of sub-block `j` (0..<8) from the 12 packed bytes at `sc`.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ sc: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 {
            return (Float(byte(sc, j) & 63), Float(byte(sc, j + 4) & 63))
        }
        let s = (byte(sc, j + 4) & 0x0F) | ((byte(sc, j - 4) >> 6) << 4)
        let m = (byte(sc, j + 4) >> 4) | ((byte(sc, j) >> 6) << 4)
        return (Float(s), Float(m))
    }

    /// 256 values in 8 sub-blocks of 32: x = (d * scale) * q - (dmin * min).
    static func q4_K(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 144, out = y + b * 256
            let d = half(p, 0), dmin = half(p, 2)
            let scales = p + 4, qs = p + 16
            for c in 0..<4 {
                let (s1, m1) = scaleMinK4(2 * c, scales), (s2, m2) = scaleMinK4(2 * c + 1, scales)
                let d1 = d * s1, dm1 = dmin * m1, d2 = d * s2, dm2 = dmin * m2
                for l in 0..<32 {
                    let q = byte(qs, c * 32 + l)
                    out[c * 64 + l] = d1 * Float(q & 0x0F) - dm1
                    out[c * 64 + 32 + l] = d2 * Float(q >> 4) - dm2
                }
            }
        }
    }

    /// Like Q4_K with a fifth bit per value from 32 bytes of qh (bit g of qh[l] for sub-block g).
    static func q5_K(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 176, out = y + b * 256
            let d = half(p, 0), dmin = half(p, 2)
            let scales = p + 4, qh = p + 16, qs = p + 48
            for c in 0..<4 {
                let (s1, m1) = scaleMinK4(2 * c, scales), (s2, m2) = scaleMinK4(2 * c + 1, scales)
                let d1 = d * s1, dm1 = dmin * m1, d2 = d * s2, dm2 = dmin * m2
                for l in 0..<32 {
                    let q = byte(qs, c * 32 + l), h = byte(qh, l)
                    let lo = (q & 0x0F) | (((h >> UInt8(2 * c)) & 1) << 4)
                    let hi = (q >> 4) | (((h >> UInt8(2 * c + 1)) & 1) << 4)
                    out[c * 64 + l] = d1 * Float(lo) - dm1
                    out[c * 64 + 32 + l] = d2 * Float(hi) - dm2
                }
            }
        }
    }

    /// 256 values: 4 low bits in ql, 2 high bits in qh, int8 scale per 16 values; x = (d * scale) * (q - 32).
    static func q6_K(_ s: UnsafeRawPointer, _ blocks: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = s + b * 210, out = y + b * 256
            let d = half(p, 208)
            for h in 0..<2 {
                let ql = p + h * 64, qh = p + 128 + h * 32, sc = p + 192 + h * 8
                let o = out + h * 128
                for l in 0..<32 {
                    let si = l / 16
                    let a = byte(ql, l), c = byte(ql, l + 32), hb = byte(qh, l)
                    let q1 = Int32((a & 0x0F) | ((hb & 3) << 4)) - 32
                    let q2 = Int32((c & 0x0F) | (((hb >> 2) & 3) << 4)) - 32
                    let q3 = Int32((a >> 4) | (((hb >> 4) & 3) << 4)) - 32
                    let q4 = Int32((c >> 4) | (((hb >> 6) & 3) << 4)) - 32
                    o[l] = d * Float(sc.load(fromByteOffset: si, as: Int8.self)) * Float(q1)
                    o[l + 32] = d * Float(sc.load(fromByteOffset: si + 2, as: Int8.self)) * Float(q2)
                    o[l + 64] = d * Float(sc.load(fromByteOffset: si + 4, as: Int8.self)) * Float(q3)
                    o[l + 96] = d * Float(sc.load(fromByteOffset: si + 6, as: Int8.self)) * Float(q4)
                }
            }
        }
    }
}

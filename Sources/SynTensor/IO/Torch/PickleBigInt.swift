/// Python ints from LONG1/LONG4 operands (little-endian two's complement of any length).
enum PickleBigInt {
    /// `.int` when the value fits in `Int`, otherwise `.bigInt` with its decimal digits.
    static func value(littleEndianTwosComplement raw: [UInt8]) -> PickleObject {
        guard let last = raw.last else { return .int(0) }
        let negative = last & 0x80 != 0
        let significant = raw.count - (raw.reversed().prefix { $0 == (negative ? 0xFF : 0) }.count)
        if significant < 8 || (significant == 8 && (raw[7] & 0x80 != 0) == negative) {
            var v: UInt64 = negative ? ~0 : 0
            for i in 0..<min(raw.count, 8) {
                v &= ~(UInt64(0xFF) << (8 * i))
                v |= UInt64(raw[i]) << (8 * i)
            }
            return .int(Int(Int64(bitPattern: v)))
        }
        // Magnitude as little-endian bytes (negate two's complement for negatives).
        var magnitude = raw
        if negative {
            var carry = 1
            for i in magnitude.indices {
                let v = Int(~magnitude[i]) + carry
                magnitude[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
        }
        return .bigInt((negative ? "-" : "") + decimal(magnitude))
    }

    /// Decimal digits of a little-endian unsigned magnitude (schoolbook division by 10^9).
    private static func decimal(_ bytes: [UInt8]) -> String {
        var limbs: [UInt32] = stride(from: 0, to: bytes.count, by: 4).map { start in
            var v: UInt32 = 0
            for j in 0..<min(4, bytes.count - start) { v |= UInt32(bytes[start + j]) << (8 * j) }
            return v
        }
        while limbs.last == 0 { limbs.removeLast() }
        if limbs.isEmpty { return "0" }
        var chunks: [UInt32] = []
        while !limbs.isEmpty {
            var remainder: UInt64 = 0
            for i in stride(from: limbs.count - 1, through: 0, by: -1) {
                let cur = (remainder << 32) | UInt64(limbs[i])
                limbs[i] = UInt32(cur / 1_000_000_000)
                remainder = cur % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
            while limbs.last == 0 { limbs.removeLast() }
        }
        var out = String(chunks.removeLast())
        for chunk in chunks.reversed() {
            let s = String(chunk)
            out += String(repeating: "0", count: 9 - s.count) + s
        }
        return out
    }
}

// TFRecord framing as TensorBoard reads event files: little-endian UInt64 length, masked CRC32C
// of those 8 bytes, the payload, masked CRC32C of the payload.

/// CRC-32C (Castagnoli), the checksum of TFRecord files.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// The checksum of `bytes`.
    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// TFRecord's masked form, which keeps a CRC of data that itself holds CRCs well distributed.
    static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

enum TFRecord {
    /// One framed record.
    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 16)
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { out.append(contentsOf: $0) }
        let header = out
        withUnsafeBytes(of: CRC32C.masked(header).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
        withUnsafeBytes(of: CRC32C.masked(payload).littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The payloads of the complete, intact records at the start of `bytes`, and whether the file
    /// ended cleanly (false: a truncated or corrupt record, e.g. from a killed writer, ends it).
    static func payloads(_ bytes: [UInt8]) -> (records: [ArraySlice<UInt8>], clean: Bool) {
        var records: [ArraySlice<UInt8>] = []
        var i = 0
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        while i < bytes.count {
            guard bytes.count - i >= 12 else { return (records, false) }
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
            guard u32(i + 8) == CRC32C.masked(bytes[i..<(i + 8)]) else { return (records, false) }
            guard bytes.count - i >= 16, length <= UInt64(bytes.count - i - 16) else { return (records, false) }
            let start = i + 12, end = start + Int(length)
            guard u32(end) == CRC32C.masked(bytes[start..<end]) else { return (records, false) }
            records.append(bytes[start..<end])
            i = end + 4
        }
        return (records, true)
    }
}

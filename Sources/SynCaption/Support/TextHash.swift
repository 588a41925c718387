import SynTensor

/// Stable (process- and platform-independent) string hashes; never `hashValue`.
public enum TextHash {
    /// FNV-1a 64-bit of the UTF-8 bytes.
    public static func fnv1a(_ s: String) -> UInt64 { stableHash(s) }

    /// A second, independent 64-bit hash (multiply-rotate with a SplitMix finalizer).
    public static func mix64(_ s: String) -> UInt64 {
        var h: UInt64 = 0x2545_F491_4F6C_DD1D
        for b in s.utf8 {
            h = (h ^ UInt64(b)) &* 0x9E37_79B9_7F4A_7C15
            h = (h << 29) | (h >> 35)
        }
        h ^= UInt64(s.utf8.count)
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    /// 128-bit key from both hashes, for deduplication sets (collisions negligible at 10^9 items).
    public static func key128(_ s: String) -> TextKey { TextKey(a: fnv1a(s), b: mix64(s)) }

    /// Lowercase hex of a 64-bit value, 16 digits.
    public static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// A 128-bit text digest.
public struct TextKey: Hashable, Sendable {
    /// First 64 bits.
    public var a: UInt64
    /// Second 64 bits.
    public var b: UInt64
}

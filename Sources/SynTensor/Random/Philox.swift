/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
/// a counter-based generator, so value i of a stream is a pure function of (key, stream, i)
/// and tensors fill in parallel with results independent of the thread count.
@inlinable
public func philox4x32(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
    var c = counter
    var k = key
    for _ in 0..<10 {
        let p0 = UInt64(0xD251_1F53) &* UInt64(c.0)
        let p1 = UInt64(0xCD9E_8D57) &* UInt64(c.2)
        let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
        let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
        c = (hi1 ^ c.1 ^ k.0, lo1, hi0 ^ c.3 ^ k.1, lo0)
        k.0 = k.0 &+ 0x9E37_79B9
        k.1 = k.1 &+ 0xBB67_AE85
    }
    return c
}

/// SplitMix64 finalizer, used to turn user seeds and stream labels into well-mixed keys.
@inlinable
public func mixSeed(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A seeded, counter-based random stream. Its whole state is (seed, stream, position), so it
/// can be saved in a checkpoint and a resumed run continues with exactly the same numbers.
public struct RandomGenerator: Sendable, Hashable, Codable {
    /// The user seed.
    public let seed: UInt64
    /// Independent sub-stream label (e.g. a hash of a job name or an item id).
    public let stream: UInt64
    /// Number of 32-bit words consumed so far.
    public var position: UInt64

    /// A generator for `seed` on sub-stream `stream`, starting at word 0.
    public init(seed: UInt64, stream: UInt64 = 0, position: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.position = position
    }

    /// A child stream derived from this one's seed and a label (does not advance `self`).
    public func derived(_ label: UInt64) -> RandomGenerator {
        RandomGenerator(seed: seed, stream: mixSeed(stream ^ mixSeed(label &+ 0x5851_F42D_4C95_7F2D)))
    }

    /// A child stream derived from a string label via FNV-1a (stable across runs, unlike `hashValue`).
    public func derived(_ label: String) -> RandomGenerator { derived(stableHash(label)) }

    @inlinable var key: (UInt32, UInt32) {
        let k = mixSeed(seed)
        return (UInt32(truncatingIfNeeded: k), UInt32(truncatingIfNeeded: k >> 32))
    }

    /// The 32-bit word at absolute index `i` of this stream (pure; does not advance).
    @inlinable public func word(at i: UInt64) -> UInt32 {
        let block = i >> 2
        let r = philox4x32(counter: (UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32),
                                     UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)), key: key)
        switch i & 3 {
        case 0: return r.0
        case 1: return r.1
        case 2: return r.2
        default: return r.3
        }
    }

    /// Next 32 random bits.
    public mutating func nextUInt32() -> UInt32 {
        let w = word(at: position)
        position &+= 1
        return w
    }

    /// Next 64 random bits.
    public mutating func nextUInt64() -> UInt64 {
        UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { uniformFloat(nextUInt32()) }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }

    /// Uniform Double in [0, 1) from 53 random bits.
    public mutating func uniformDouble() -> Double {
        Double(nextUInt64() >> 11) * 0x1.0p-53
    }

    /// Uniform integer in 0..<n (Lemire's unbiased multiply-shift with rejection).
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "int(below:) needs n > 0")
        let bound = UInt64(n)
        while true {
            let x = nextUInt64()
            let (hi, lo) = x.multipliedFullWidth(by: bound)
            if lo >= (0 &- bound) % bound { return Int(hi) }
        }
    }

    /// True with probability `p`.
    public mutating func bernoulli(_ p: Float) -> Bool { uniform() < p }

    /// Standard normal sample.
    public mutating func normal() -> Float {
        let u1 = uniformOpenFloat(nextUInt32()), u2 = uniformFloat(nextUInt32())
        return boxMuller(u1, u2).0
    }

    /// A uniformly random permutation of 0..<n (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            p.swapAt(i, int(below: i + 1))
        }
        return p
    }

    /// `k` distinct indices from 0..<n, in draw order.
    public mutating func sample(_ n: Int, count k: Int) -> [Int] {
        precondition(k <= n, "cannot draw \(k) of \(n) without replacement")
        var pool = Array(0..<n)
        var out: [Int] = []
        for i in 0..<k {
            let j = i + int(below: n - i)
            pool.swapAt(i, j)
            out.append(pool[i])
        }
        return out
    }
}

/// 24 random bits to [0, 1).
@inlinable func uniformFloat(_ w: UInt32) -> Float { Float(w >> 8) * 0x1.0p-24 }
/// 24 random bits to (0, 1] (safe for log).
@inlinable func uniformOpenFloat(_ w: UInt32) -> Float { (Float(w >> 8) + 1) * 0x1.0p-24 }

/// Two independent standard normals from two uniforms.
@inlinable func boxMuller(_ u1: Float, _ u2: Float) -> (Float, Float) {
    let r = (-2 * _log(u1)).squareRoot()
    let t = 2 * Float.pi * u2
    return (r * _cos(t), r * _sin(t))
}

@usableFromInline func _log(_ x: Float) -> Float { Float(logHelper(Double(x))) }
@usableFromInline func _cos(_ x: Float) -> Float { Float(cosHelper(Double(x))) }
@usableFromInline func _sin(_ x: Float) -> Float { Float(sinHelper(Double(x))) }

/// FNV-1a 64-bit hash of a string's UTF-8 bytes (stable across processes and platforms).
public func stableHash(_ s: String) -> UInt64 {
    var h = FNV1a()
    h.combine(s)
    return h.value
}

/// The package's one FNV-1a 64-bit hasher, fed incrementally (fingerprints of several strings;
/// stable across processes and platforms, unlike `hashValue`).
public struct FNV1a: Sendable, Hashable {
    /// The hash of everything combined so far.
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    /// An empty hasher.
    public init() {}

    /// Feeds one byte.
    public mutating func combine(byte b: UInt8) {
        value = (value ^ UInt64(b)) &* 0x100_0000_01B3
    }

    /// Feeds the UTF-8 bytes of `s`.
    public mutating func combine(_ s: String) {
        for b in s.utf8 { combine(byte: b) }
    }

    /// The value as lowercase hex without leading zeros (the form job fingerprints were written in).
    public var hex: String { String(value, radix: 16) }
}

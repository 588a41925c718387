import CSynKernels
import Foundation
import SynTensor
import Testing

/// The integer matrix kernel (csynquant.h) against an exact reference computed here from its
/// definition: x quantized to 8-bit blocks, integer block products, scaled by the two block scales.
@Suite struct QuantDotTests {
    /// ggml block layouts: (bytes per block of 32, offset of the quantized values).
    static let layouts: [(type: Int32, name: String, bytes: Int)] = [
        (Int32(CSYN_W_Q4_0), "Q4_0", 18), (Int32(CSYN_W_Q4_1), "Q4_1", 20), (Int32(CSYN_W_Q8_0), "Q8_0", 34),
    ]

    static func putHalf(_ v: Float, _ p: UnsafeMutableRawPointer) {
        let bits = Float16(v).bitPattern
        p.storeBytes(of: UInt8(bits & 0xFF), as: UInt8.self)
        (p + 1).storeBytes(of: UInt8(bits >> 8), as: UInt8.self)
    }

    static func half(_ p: UnsafeRawPointer) -> Double {
        Double(Float(Float16(bitPattern: UInt16(p.load(as: UInt8.self)) | UInt16((p + 1).load(as: UInt8.self)) << 8)))
    }

    /// Random weight rows of `type` (scales 0.001...0.1, Q4_1 offsets -0.5...0).
    static func weights(type: Int32, bytes: Int, n: Int, k: Int, rng: inout RandomGenerator) -> [UInt8] {
        var w = [UInt8](repeating: 0, count: n * k / 32 * bytes)
        w.withUnsafeMutableBytes { buf in
            let p = buf.baseAddress!
            for b in 0..<(n * k / 32) {
                let blk = p + b * bytes
                for i in 0..<bytes { blk.storeBytes(of: UInt8(truncatingIfNeeded: rng.nextUInt32()), toByteOffset: i, as: UInt8.self) }
                putHalf(rng.uniform(0.001, 0.1), blk)
                if type == Int32(CSYN_W_Q4_1) { putHalf(rng.uniform(-0.5, 0), blk + 2) }
            }
        }
        return w
    }

    /// The 32 integer weight values of a block (elements 0...15 are the low nibbles).
    static func values(_ blk: UnsafeRawPointer, type: Int32) -> [Int] {
        if type == Int32(CSYN_W_Q8_0) { return (0..<32).map { Int(Int8(bitPattern: blk.load(fromByteOffset: 2 + $0, as: UInt8.self))) } }
        let q = blk + (type == Int32(CSYN_W_Q4_1) ? 4 : 2), off = type == Int32(CSYN_W_Q4_0) ? 8 : 0
        return (0..<32).map { e in Int(e < 16 ? q.load(fromByteOffset: e, as: UInt8.self) & 15 : q.load(fromByteOffset: e - 16, as: UInt8.self) >> 4) - off }
    }

    /// x quantized as the kernel defines it: d = max|x| / 127, q = round-half-even(x * (1 / d)) in [-127, 127].
    static func quantize(_ x: ArraySlice<Float>) -> (d: Float, s: Float, q: [Int]) {
        let amax = x.map { abs($0) }.max() ?? 0
        let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
        let q = x.map { Int(Swift.min(Swift.max($0 * id, -127), 127).rounded(.toNearestOrEven)) }
        return (d, d * Float(q.reduce(0, +)), q)
    }

    @Test(arguments: [0, 1, 2])
    func matchesTheExactIntegerReference(layout: Int) throws {
        let (type, name, bytes) = Self.layouts[layout]
        var rng = RandomGenerator(seed: 13, stream: UInt64(layout))
        for (m, n, k) in [(1, 1, 32), (3, 7, 96), (5, 13, 576), (9, 6, 160), (4, 4, 64)] {
            let x = (0..<(m * k)).map { _ in rng.normal() * (rng.bernoulli(0.05) ? 20 : 1) }
            let w = Self.weights(type: type, bytes: bytes, n: n, k: k, rng: &rng)
            let rowBytes = k / 32 * bytes
            var xq = [UInt8](repeating: 0, count: Int(csyn_q8_bytes(Int64(m), Int64(k))))
            csyn_quantize_q8(x, Int64(m), Int64(k), Int64(k), &xq)
            // The quantized rows are the definition's bytes: nb scales, nb scaled sums, k values.
            let nb = k / 32, stride = k + nb * 8
            for r in 0..<m {
                for b in 0..<nb {
                    let ref = Self.quantize(x[(r * k + b * 32)..<(r * k + b * 32 + 32)])
                    let (d, s) = xq.withUnsafeBytes { ($0.load(fromByteOffset: r * stride + 4 * b, as: Float.self),
                                                      $0.load(fromByteOffset: r * stride + 4 * (nb + b), as: Float.self)) }
                    #expect(d == ref.d && s == ref.s, "\(name) scale of row \(r) block \(b)")
                    let q = (0..<32).map { Int(Int8(bitPattern: xq[r * stride + nb * 8 + b * 32 + $0])) }
                    #expect(q == ref.q, "\(name) values of row \(r) block \(b)")
                }
            }
            // Every code path this CPU has, against the exact sum of the same terms in Double.
            var results: [[Float]] = []
            for path in 0...Int(csyn_q8_path()) {
                var y = [Float](repeating: .nan, count: m * n)
                let rc = w.withUnsafeBytes { csyn_matmul_q8_on(Int32(path), xq, Int64(m), Int64(k), $0.baseAddress, type, Int64(rowBytes), 0, Int64(n), &y, Int64(n)) }
                #expect(rc == 0)
                results.append(y)
            }
            w.withUnsafeBytes { wb in
                for r in 0..<m {
                    for j in 0..<n {
                        var exact = 0.0, magnitude = 0.0
                        for b in 0..<nb {
                            let blk = wb.baseAddress! + j * rowBytes + b * bytes
                            let ref = Self.quantize(x[(r * k + b * 32)..<(r * k + b * 32 + 32)])
                            let dot = zip(Self.values(blk, type: type), ref.q).reduce(0) { $0 + $1.0 * $1.1 }
                            let term = Self.half(blk) * Double(ref.d) * Double(dot)
                            let offset = type == Int32(CSYN_W_Q4_1) ? Self.half(blk + 2) * Double(ref.s) : 0
                            exact += term + offset
                            magnitude += abs(term) + abs(offset)
                        }
                        for (path, y) in results.enumerated() {
                            let err = abs(Double(y[r * n + j]) - exact)
                            #expect(err <= 1e-6 * magnitude + 1e-30, "\(name) m \(m) n \(n) k \(k) path \(path) [\(r), \(j)]: \(y[r * n + j]) vs \(exact)")
                        }
                    }
                }
            }
            // One arithmetic: every path gives the same bits.
            for (path, y) in results.enumerated().dropFirst() {
                #expect(y.map(\.bitPattern) == results[0].map(\.bitPattern), "\(name) m \(m) n \(n) k \(k): path \(path) differs from portable C")
            }
        }
    }

    /// A row's result does not depend on the rows beside it, nor on how the weight rows are split.
    @Test(arguments: [0, 1, 2])
    func resultsDoNotDependOnBatchOrSplit(layout: Int) throws {
        let (type, _, bytes) = Self.layouts[layout]
        var rng = RandomGenerator(seed: 31, stream: UInt64(layout))
        let m = 11, n = 23, k = 192, rowBytes = k / 32 * bytes
        let x = (0..<(m * k)).map { _ in rng.normal() }
        let w = Self.weights(type: type, bytes: bytes, n: n, k: k, rng: &rng)
        var all = [Float](repeating: 0, count: m * n)
        w.withUnsafeBytes { csyn_matmul_nt(x, Int64(m), Int64(k), Int64(k), $0.baseAddress, type, Int64(rowBytes), 0, Int64(n), &all, Int64(n)) }
        for r in 0..<m {
            var y = [Float](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xb in
                w.withUnsafeBytes { wb in
                    // Row r alone, the weight rows in three uneven pieces.
                    for (n0, n1) in [(0, 5), (5, 6), (6, n)] {
                        csyn_matmul_nt(xb.baseAddress! + r * k, 1, Int64(k), Int64(k), wb.baseAddress, type, Int64(rowBytes), Int64(n0), Int64(n1), &y, Int64(n))
                    }
                }
            }
            #expect(y.map(\.bitPattern) == all[(r * n)..<(r * n + n)].map(\.bitPattern), "row \(r)")
        }
    }
}

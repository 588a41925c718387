import Foundation

/// The collective operations data-parallel training and distributed jobs need, over all processes
/// of a job (MPI_COMM_WORLD). Every process must call the same collectives in the same order.
///
/// The protocol lives here, free of MPI, so SynRep, SynCaption and SynDiffusion can use it without
/// linking an MPI library; the MPI implementation is the separate `SynMPI` target, which only the
/// executables link. A run not started by a launcher uses `SingleProcessCommunicator`.
public protocol Communicator: AnyObject {
    /// This process's index, 0..<size.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Replaces each element by its sum over all processes.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
    /// Replaces each element by its sum over all processes.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>)
    /// Concatenates every process's bytes in rank order; `counts[r]` is rank r's byte count, known to all.
    func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, counts: [Int])
    /// Copies `root`'s bytes into every other process's buffer (all buffers have the same size).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int)
    /// Returns once every process has called it.
    func barrier()
    /// Ends the job's communication after a successful run (MPI_Finalize); a failing process exits
    /// without it so the launcher ends the others.
    func finalize()
}

/// A job of one process: every collective is the identity.
public final class SingleProcessCommunicator: Communicator {
    /// A one-process communicator.
    public init() {}
    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// No-op: the sum over one process.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    /// No-op: the sum over one process.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    /// Copies `send` into `receive`.
    public func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, counts: [Int]) {
        if send.count > 0 { receive.copyMemory(from: send) }
    }
    /// No-op.
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {}
    /// No-op.
    public func barrier() {}
    /// No-op.
    public func finalize() {}
}

/// Errors of distributed runs, raised identically on every process.
public enum DistributedError: Error, CustomStringConvertible {
    /// Processes were started with different configurations or data.
    case configurationMismatch(what: String, ranks: [Int])
    /// Rank 0 failed a step every rank depends on (e.g. reading the checkpoint).
    case rootFailed(String)
    /// The job cannot be split this way.
    case badLayout(String)

    /// True when every rank raises this error alike (a mismatch all of them find, or the other
    /// ranks' echo of rank 0's own failure), so one rank's report of it is enough.
    public var isRaisedAlikeOnEveryRank: Bool {
        switch self {
        case .configurationMismatch, .rootFailed: return true
        case .badLayout: return false
        }
    }

    /// Message naming what differs.
    public var description: String {
        switch self {
        case let .configurationMismatch(what, ranks):
            let who = ranks.count == 1 ? "rank \(ranks[0]) was" : "ranks \(ranks.map(String.init).joined(separator: ", ")) were"
            return "\(who) started with a different \(what) than rank 0; every rank must get the same options and data"
        case .rootFailed(let m): return "rank 0 failed: \(m)"
        case .badLayout(let m): return m
        }
    }
}

extension Communicator {
    /// True on the process that writes files and prints (rank 0).
    public var isRoot: Bool { rank == 0 }

    /// Sums `values` over all processes, in place.
    public func allReduceSum(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
    }

    /// Sums `values` over all processes, in place.
    public func allReduceSum(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
    }

    /// Every process's `values` (of any lengths), in rank order.
    public func allGather<T: BitwiseCopyable>(_ values: [T]) -> [[T]] {
        if size == 1 { return [values] }
        let counts = allGatherFixed(Int64(values.count)).map(Int.init)
        let flat = allGather(values, counts: counts)
        var out: [[T]] = [], start = 0
        for c in counts { out.append(Array(flat[start..<start + c])); start += c }
        return out
    }

    /// Concatenation of every process's `values` when every process knows each one's count.
    public func allGather<T: BitwiseCopyable>(_ values: [T], counts: [Int]) -> [T] {
        precondition(counts.count == size && counts[rank] == values.count,
                     "allGather: \(values.count) values on rank \(rank) but counts \(counts)")
        if size == 1 { return values }
        let stride = MemoryLayout<T>.stride
        let total = counts.reduce(0, +)
        var out = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        values.withUnsafeBytes { send in
            out.withUnsafeMutableBytes { recv in allGather(send, into: recv, counts: counts.map { $0 * stride }) }
        }
        return out
    }

    /// One value from every process, in rank order.
    public func allGatherFixed<T: BitwiseCopyable>(_ value: T) -> [T] {
        allGather([value], counts: Array(repeating: 1, count: size))
    }

    /// `root`'s value of `value` on every process.
    public func broadcast<T: BitwiseCopyable>(_ value: T, root: Int = 0) -> T {
        var v = value
        withUnsafeMutableBytes(of: &v) { broadcast($0, root: root) }
        return v
    }

    /// `root`'s bytes on every process (the others' `data` is ignored).
    public func broadcast(_ data: [UInt8], root: Int = 0) -> [UInt8] {
        let count = Int(broadcast(Int64(data.count), root: root))
        var buffer = rank == root ? data : [UInt8](repeating: 0, count: count)
        if count > 0 { buffer.withUnsafeMutableBytes { broadcast($0, root: root) } }
        return buffer
    }

    /// Throws `configurationMismatch` on every process if any process's `fingerprint` differs from
    /// rank 0's, so a job started with different options or data stops before its first step.
    public func requireIdentical(_ fingerprint: UInt64, what: String) throws {
        if size == 1 { return }
        let all = allGatherFixed(fingerprint)
        let differing = all.indices.filter { all[$0] != all[0] }
        if !differing.isEmpty { throw DistributedError.configurationMismatch(what: what, ranks: differing) }
    }

    /// The half-open slice `rank` owns when `count` items are split as evenly as possible in rank order.
    public func slice(of count: Int) -> Range<Int> {
        count * rank / size ..< count * (rank + 1) / size
    }
}

/// FNV-1a 64-bit, a stable fingerprint for comparing configurations and data across processes.
public struct Fingerprint: Sendable {
    /// Current hash value.
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// An empty fingerprint.
    public init() {}

    /// Mixes `bytes` in.
    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = h
    }

    /// Mixes a value's bytes in.
    public mutating func combine<T: BitwiseCopyable>(_ v: T) {
        withUnsafeBytes(of: v) { combine($0) }
    }

    /// Mixes an array's bytes and length in.
    public mutating func combine<T: BitwiseCopyable>(_ array: [T]) {
        combine(Int64(array.count))
        array.withUnsafeBytes { combine($0) }
    }

    /// Mixes a string's UTF-8 bytes and length in.
    public mutating func combine(_ s: String) {
        combine(Array(s.utf8))
    }
}

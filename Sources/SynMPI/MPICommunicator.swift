import CSynMPI
import Foundation
import SynTensor

/// `Communicator` over MPI_COMM_WORLD (Open MPI's C API).
///
/// Every collective is started non-blocking and then polled, so a watchdog sees a collective
/// that makes no progress: after `timeout` seconds (a rank died without the launcher noticing, or
/// hangs) it prints which collective stalled and calls MPI_Abort, which ends every rank of the job.
/// Only one thread calls into MPI at a time (MPI_THREAD_SERIALIZED).
public final class MPICommunicator: Communicator {
    /// This process's rank.
    public let rank: Int
    /// Processes in the job.
    public let size: Int
    /// Seconds a collective may wait for the other ranks before the job is aborted.
    public let timeout: Double
    private var finalized = false

    /// Joins the job (MPI_Init_thread). Call once per process, only when launched by MPI.
    public init(timeout: Double) throws {
        var provided: Int32 = 0
        guard synmpi_init_serialized(&provided) == synmpi_success() else {
            throw LaunchError("MPI_Init_thread failed")
        }
        guard provided >= synmpi_thread_serialized() else {
            throw LaunchError("the MPI library does not support MPI_THREAD_SERIALIZED (got level \(provided))")
        }
        var r: Int32 = 0, s: Int32 = 0
        _ = synmpi_rank(&r)
        _ = synmpi_size(&s)
        rank = Int(r)
        size = Int(s)
        self.timeout = timeout
    }

    /// MPI_Iallreduce (sum, in place), in chunks within MPI's int counts, under the watchdog.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress else { return }
        for chunk in Self.chunks(buffer.count) {
            var request: MPI_Request? = nil
            check(synmpi_iallreduce_float(base + chunk.lowerBound, Int32(chunk.count), &request), "MPI_Iallreduce")
            wait(&request, "all-reduce of \(buffer.count) floats")
        }
    }

    /// MPI_Iallreduce (sum, in place) of doubles, under the watchdog.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        guard let base = buffer.baseAddress else { return }
        for chunk in Self.chunks(buffer.count) {
            var request: MPI_Request? = nil
            check(synmpi_iallreduce_double(base + chunk.lowerBound, Int32(chunk.count), &request), "MPI_Iallreduce")
            wait(&request, "all-reduce of \(buffer.count) doubles")
        }
    }

    /// MPI_Iallgatherv of bytes in rank order, under the watchdog.
    public func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, counts: [Int]) {
        let total = counts.reduce(0, +)
        guard counts.allSatisfy({ $0 >= 0 }), total <= Int(Int32.max), receive.count >= total else {
            abortJob("all-gather of \(total) bytes exceeds MPI's int counts or the receive buffer")
        }
        var displacements: [Int32] = [], at = 0
        for c in counts { displacements.append(Int32(at)); at += c }
        let counts32 = counts.map { Int32($0) }
        // MPI wants valid pointers even for empty contributions.
        var dummy: UInt8 = 0
        withUnsafeMutablePointer(to: &dummy) { d in
            let sendPtr = send.baseAddress ?? UnsafeRawPointer(d)
            let recvPtr = receive.baseAddress ?? UnsafeMutableRawPointer(d)
            var request: MPI_Request? = nil
            check(synmpi_iallgatherv_bytes(sendPtr, Int32(send.count), recvPtr, counts32, displacements, &request), "MPI_Iallgatherv")
            wait(&request, "all-gather of \(total) bytes")
        }
    }

    /// MPI_Ibcast of bytes from `root`, under the watchdog.
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = buffer.baseAddress else { return }
        for chunk in Self.chunks(buffer.count) {
            var request: MPI_Request? = nil
            check(synmpi_ibcast_bytes(base + chunk.lowerBound, Int32(chunk.count), Int32(root), &request), "MPI_Ibcast")
            wait(&request, "broadcast of \(buffer.count) bytes from rank \(root)")
        }
    }

    /// MPI_Ibarrier, under the watchdog.
    public func barrier() {
        var request: MPI_Request? = nil
        check(synmpi_ibarrier(&request), "MPI_Ibarrier")
        wait(&request, "barrier")
    }

    /// A watched barrier, then MPI_Finalize (once).
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        barrier()  // under the watchdog: MPI_Finalize's own synchronization has no timeout
        _ = synmpi_finalize()
    }

    /// Element ranges of at most 2^28 elements, within MPI's int counts for any element size.
    private static func chunks(_ count: Int) -> [Range<Int>] {
        let step = 1 << 28
        return stride(from: 0, to: count, by: step).map { $0 ..< min($0 + step, count) }
    }

    private func check(_ code: Int32, _ call: String) {
        if code != synmpi_success() { abortJob("\(call) failed with error \(code)") }
    }

    /// Polls `request` to completion: spins briefly (a collective between busy ranks usually
    /// completes within microseconds), then yields the core, then sleeps, so a waiting rank on a
    /// shared machine leaves the cores to the ranks still computing.
    private func wait(_ request: inout MPI_Request?, _ what: String) {
        var done: Int32 = 0
        var polls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        while true {
            check(synmpi_test(&request, &done), "MPI_Test")
            if done != 0 { return }
            polls += 1
            if polls < 200 { continue }
            if polls < 2000 { sched_yield() } else { usleep(50) }
            if polls % 256 == 0 {
                let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if waited > timeout {
                    abortJob("no progress in the \(what) for \(Int(waited)) s: another rank died or hangs "
                             + "(the limit is SYNCLR_MPI_TIMEOUT=\(Int(timeout)) s)")
                }
            }
        }
    }

    private func abortJob(_ message: String) -> Never {
        FileHandle.standardError.write(Data("synclr: rank \(rank) of \(size): \(message); aborting the job\n".utf8))
        _ = synmpi_abort(3)
        exit(3)
    }
}

/// Picks the communicator for this process.
public enum Distributed {
    /// Default seconds a collective may wait before the job is aborted (`SYNCLR_MPI_TIMEOUT`).
    public static let defaultTimeout: Double = 600

    /// An MPI communicator when an MPI launcher started this process, otherwise a single-process
    /// one (MPI_Init is never called, so plain runs need no launcher). Under MPI the worker threads
    /// are set to the cores divided among the ranks on this machine unless SYNCLR_NUM_THREADS is set.
    public static func communicator(environment: LaunchEnvironment = LaunchEnvironment()) throws -> Communicator {
        guard environment.isMPILaunch else { return SingleProcessCommunicator() }
        var timeout = defaultTimeout
        if let s = environment.variables["SYNCLR_MPI_TIMEOUT"] {
            guard let t = Double(s), t > 0 else { throw LaunchError("SYNCLR_MPI_TIMEOUT must be a positive number of seconds, got '\(s)'") }
            timeout = t
        }
        let comm = try MPICommunicator(timeout: timeout)
        if let threads = environment.threadsPerProcess() { Threading.setCount(threads) }
        return comm
    }
}

import Foundation
import SynMPI
import SynTensor

/// `synclr-bench --mpi` under mpiexec: all-reduce time over message sizes, as medians over
/// `repeats` timed loops. Bus bandwidth uses the ring all-reduce's 2 (N - 1) / N bytes per byte
/// reduced, the figure the projections in Docs/scaling.md are built from.
func mpiBenchmarks(repeats: Int, quick: Bool) throws {
    let comm = try Distributed.communicator()
    let counts = quick ? [1, 1 << 10, 1 << 16, 1 << 20] : [1, 1 << 8, 1 << 12, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24]
    if comm.isRoot {
        print("all-reduce (sum, float32, in place) over \(comm.size) processes, \(Threading.count) threads each; medians of \(repeats)")
        print(["bytes", "time (us)", "alg GB/s", "bus GB/s"].enumerated()
            .map { String(repeating: " ", count: max(0, ($0.offset < 2 ? 12 : 14) - $0.element.count)) + $0.element }
            .joined(separator: " "))
    }
    for count in counts {
        var buffer = [Float](repeating: 1, count: count)
        let iterations = max(1, min(1000, (1 << 22) / max(count, 1)))
        comm.allReduceSum(&buffer)  // warm-up (connection setup)
        var times: [Double] = []
        for _ in 0..<repeats {
            comm.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { comm.allReduceSum(&buffer) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations))
        }
        // The mean of the ranks' medians, one figure for the job.
        var t = [times.sorted()[times.count / 2]]
        comm.allReduceSum(&t)
        let seconds = t[0] / Double(comm.size)
        let bytes = Double(count * 4)
        let bus = bytes * 2 * Double(comm.size - 1) / Double(comm.size) / seconds / 1e9
        if comm.isRoot {
            print(String(format: "%12d %12.1f %14.3f %14.3f", count * 4, seconds * 1e6, bytes / seconds / 1e9, bus))
        }
    }
    comm.finalize()
}

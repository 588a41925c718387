import Foundation
import Synchronization
import Testing
@testable import SynTensor

/// The worker pool behind `parallelRows`, `parallelFor` and `Threading.concurrentPerform`: every
/// index runs exactly once, back-to-back jobs never mix, and calls from inside a job or from several
/// threads at once finish (serially on their caller) instead of deadlocking.
@Suite struct WorkerPoolTests {
    @Test func everyIndexRunsOnceAcrossManyJobs() {
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 97)
        defer { counts.deallocate() }
        let box = UncheckedBox(counts)
        // n grows by one from job to job: a worker that checked the previous job's exhausted ticket
        // against this job's n ran index n - 1 twice, about once in 10^5 jobs on 2 cores; 200,000
        // jobs (about half a second) catch that with high probability.
        for job in 0..<200_000 {
            let n = 1 + job % 97
            counts.initialize(repeating: 0)
            // Each index writes only its own slot, so a lost or repeated index shows as a count != 1.
            poolRun(n, threads: 4) { i in box.value[i] += 1 }
            #expect(counts[0..<n].allSatisfy { $0 == 1 }, "job \(job): \(Array(counts[0..<n]))")
            if counts[0..<n].contains(where: { $0 != 1 }) { return }
        }
    }

    @Test func nestedAndConcurrentCallsFinish() async {
        let total = Atomic<Int>(0)
        poolRun(8, threads: 2) { _ in
            poolRun(8, threads: 2) { _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 64)
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let sum = Atomic<Int>(0)
                    for _ in 0..<200 { Threading.concurrentPerform(16) { i in sum.add(i, ordering: .relaxed) } }
                    return sum.load(ordering: .relaxed)
                }
            }
            for await s in group { #expect(s == 200 * 120) }
        }
    }
}

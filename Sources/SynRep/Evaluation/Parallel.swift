import Foundation
import SynTensor

/// A pointer handed to concurrent workers that each touch a disjoint part of the buffer.
struct SharedPointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// Carries a closure into `concurrentPerform` workers (they only run it on disjoint inputs).
private struct WorkBox: @unchecked Sendable {
    let run: (Int) -> Void
}

/// Calls `body(i)` for each `i in 0..<count` on up to `Threading.count` threads.
///
/// Work item `i` goes to worker `i % workers` and each worker runs its items in ascending order,
/// so the schedule is fixed; results stay deterministic as long as items write disjoint memory.
func concurrentItems(_ count: Int, _ body: (Int) -> Void) {
    let workers = min(Threading.count, count)
    if workers <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = WorkBox(run: body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in stride(from: w, to: count, by: workers) { box.run(i) }
        }
    }
}

/// `0..<n` cut into at most `maxParts` contiguous ranges of at least `minimumPerRange` (never empty).
///
/// The cut depends only on `n`, not on the thread count, so sums over the parts are reproducible.
func fixedRanges(_ n: Int, maxParts: Int = 16, minimumPerRange: Int = 1024) -> [Range<Int>] {
    let parts = max(1, min(maxParts, n / max(1, minimumPerRange)))
    return (0..<parts).map { (n * $0 / parts)..<(n * ($0 + 1) / parts) }
}

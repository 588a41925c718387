import Foundation
import SynTensor

/// A pointer handed to concurrent workers that each touch a disjoint part of the buffer.
struct SharedPointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// `0..<n` cut into at most `maxParts` contiguous ranges of at least `minimumPerRange` (never empty).
///
/// The cut depends only on `n`, not on the thread count, so sums over the parts are reproducible.
func fixedRanges(_ n: Int, maxParts: Int = 16, minimumPerRange: Int = 1024) -> [Range<Int>] {
    let parts = max(1, min(maxParts, n / max(1, minimumPerRange)))
    return (0..<parts).map { (n * $0 / parts)..<(n * ($0 + 1) / parts) }
}

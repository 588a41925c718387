import Foundation
import Synchronization
import CSynBLAS
import CSynKernels

/// A raw pointer that may cross into `concurrentPerform` workers; each worker writes a disjoint range.
@usableFromInline
struct SendablePointer: @unchecked Sendable {
    @usableFromInline let p: UnsafeMutablePointer<Float>
    @inlinable init(_ p: UnsafeMutablePointer<Float>) { self.p = p }
}

/// Threading settings shared by OpenBLAS and the elementwise kernels.
public enum Threading {
    static let configured = Atomic<Int>(0)

    /// Number of worker threads for kernels and BLAS (environment `SYNCLR_NUM_THREADS`, default: core count).
    public static var count: Int {
        let c = configured.load(ordering: .relaxed)
        if c > 0 { return c }
        let initial = defaultCount()
        setCount(initial)
        return initial
    }

    /// Sets the number of worker threads for every kernel, GEMMs included.
    ///
    /// OpenBLAS is kept single-threaded except inside the large products `sgemm` hands to it
    /// (`gemmMode`): its spinning workers would otherwise fight with this pool over the cores.
    public static func setCount(_ n: Int) {
        let v = max(1, n)
        configured.store(v, ordering: .relaxed)
        _ = BLAS.openblasChoice
        openblas_set_num_threads(1)
    }

    /// How a large matrix product uses the worker threads.
    public enum GEMMMode: Int, Sendable, CaseIterable {
        /// SynTensor splits C into row or column blocks, one single-threaded OpenBLAS call per thread.
        case split = 1
        /// One OpenBLAS call with OpenBLAS's own threads (`openblas_set_num_threads(count)` for the call).
        case blas = 2
        /// `blas` for products above 2^30 multiply-adds, `split` below.
        case auto = 3
    }

    static let gemmModeStorage = Atomic<Int>(defaultGEMMMode().rawValue)

    /// The GEMM threading of this process: `split` unless `SYNCLR_GEMM_THREADING` names another mode
    /// (`blas`, `auto`). On the shared 2-core test machine the modes measured within noise of each
    /// other on every benchmark shape (Docs/benchmarks.md), so the long-standing split stays the default.
    public static var gemmMode: GEMMMode {
        get { GEMMMode(rawValue: gemmModeStorage.load(ordering: .relaxed)) ?? .split }
        set { gemmModeStorage.store(newValue.rawValue, ordering: .relaxed) }
    }

    static func defaultGEMMMode() -> GEMMMode {
        switch ProcessInfo.processInfo.environment["SYNCLR_GEMM_THREADING"] {
        case "blas": return .blas
        case "auto": return .auto
        default: return .split
        }
    }

    static func defaultCount() -> Int {
        if let s = ProcessInfo.processInfo.environment["SYNCLR_NUM_THREADS"], let v = Int(s), v > 0 { return v }
        return ProcessInfo.processInfo.activeProcessorCount
    }
}

/// Below this many elements of work a kernel runs on the calling thread.
@usableFromInline let parallelThreshold = 1 << 15

/// Splits `0..<rows` into one contiguous chunk per thread when `work` (elements touched) is large.
@inline(__always)
func parallelRows(rows: Int, work: Int, _ body: (Range<Int>) -> Void) {
    let threads = Threading.count
    if threads <= 1 || work < parallelThreshold || rows < 2 {
        body(0..<rows)
        return
    }
    let chunks = min(threads, rows)
    poolRun(chunks, threads: threads) { c in
        let lo = rows * c / chunks, hi = rows * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}

/// Runs `body` over `0..<tasks` like `parallelRows`, but hands the tasks out one at a time as threads
/// finish their previous one, for tasks of unequal size (e.g. a short last run of images).
@inline(__always)
func parallelTasks(_ tasks: Int, work: Int, _ body: (Range<Int>) -> Void) {
    let threads = Threading.count
    if threads <= 1 || work < parallelThreshold || tasks < 2 {
        body(0..<tasks)
        return
    }
    poolRun(tasks, threads: threads) { t in body(t..<(t + 1)) }
}

/// Runs `body(i)` for `i in 0..<n`, spread over the worker threads (each index once).
@inline(__always)
func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    let threads = Threading.count
    if threads <= 1 || n < 2 {
        for i in 0..<n { body(i) }
        return
    }
    poolRun(n, threads: threads, body)
}

/// Runs `body(i)` for `i in 0..<n` on the worker pool (`csyn_pool_run`: the caller plus up to
/// `threads - 1` persistent workers), serially when the pool is already busy.
@inline(__always)
func poolRun(_ n: Int, threads: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        var job = body
        withUnsafeMutablePointer(to: &job) { ctx in
            _ = csyn_pool_run(Int64(n), Int64(threads), { ctx, i in
                ctx.unsafelyUnwrapped.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
            }, ctx)
        }
    }
}

/// Carries a non-Sendable value into workers that only read it or write disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Merges neighbouring dimensions that are jointly contiguous across all operands and drops
/// size-1 dimensions, so strided loops run over as few, as long rows as possible.
func coalesce(shape: [Int], strides: [[Int]]) -> ([Int], [[Int]]) {
    var outShape: [Int] = []
    var outStrides: [[Int]] = Array(repeating: [], count: strides.count)
    for d in 0..<shape.count where shape[d] != 1 {
        if let last = outShape.last {
            var mergeable = true
            for k in 0..<strides.count where outStrides[k].last! != strides[k][d] * shape[d] {
                mergeable = false
                break
            }
            if mergeable {
                outShape[outShape.count - 1] = last * shape[d]
                for k in 0..<strides.count { outStrides[k][outStrides[k].count - 1] = strides[k][d] }
                continue
            }
        }
        outShape.append(shape[d])
        for k in 0..<strides.count { outStrides[k].append(strides[k][d]) }
    }
    if outShape.isEmpty {
        return ([1], Array(repeating: [1], count: strides.count))
    }
    return (outShape, outStrides)
}

/// Odometer over all but the innermost dimension, tracking each operand's row offset.
struct RowCursor {
    let outerShape: [Int]
    let outerStrides: [[Int]]
    var index: [Int]
    var offsets: [Int]

    init(shape: [Int], strides: [[Int]], startRow: Int) {
        outerShape = Array(shape.dropLast())
        outerStrides = strides.map { Array($0.dropLast()) }
        index = [Int](repeating: 0, count: outerShape.count)
        offsets = [Int](repeating: 0, count: strides.count)
        var r = startRow
        for d in stride(from: outerShape.count - 1, through: 0, by: -1) {
            let i = r % outerShape[d]
            r /= outerShape[d]
            index[d] = i
            for k in 0..<offsets.count { offsets[k] += i * outerStrides[k][d] }
        }
    }

    @inline(__always)
    mutating func advance() {
        var d = outerShape.count - 1
        while d >= 0 {
            index[d] += 1
            for k in 0..<offsets.count { offsets[k] += outerStrides[k][d] }
            if index[d] < outerShape[d] { return }
            for k in 0..<offsets.count { offsets[k] -= outerStrides[k][d] * outerShape[d] }
            index[d] = 0
            d -= 1
        }
    }
}

extension Threading {
    /// Runs `body(i)` for every i in 0..<n on the shared worker threads (each index exactly once,
    /// in no particular order); for batch work such as decoding or augmenting images.
    public static func concurrentPerform(_ n: Int, _ body: (Int) -> Void) {
        if n <= 0 { return }
        let threads = count
        if threads <= 1 || n == 1 {
            for i in 0..<n { body(i) }
            return
        }
        let chunks = Swift.min(threads, n)
        poolRun(chunks, threads: threads) { c in
            for i in (n * c / chunks)..<(n * (c + 1) / chunks) { body(i) }
        }
    }
}

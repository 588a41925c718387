/// Shape, strides (in elements) and storage offset of a strided view.
///
/// Views (transpose, permute, expand, slicing) only build a new `Layout`; kernels that need
/// dense rows ask `isContiguous` and call `Tensor.contiguous()` otherwise.
public struct Layout: Sendable, Equatable, Hashable {
    /// Size of each dimension.
    public var shape: [Int]
    /// Step in elements between neighbours along each dimension (0 for a broadcast dimension).
    public var strides: [Int]
    /// Index of the first element in the storage.
    public var offset: Int

    /// A dense row-major layout of `shape` starting at `offset`.
    public init(contiguous shape: [Int], offset: Int = 0) {
        self.shape = shape
        self.strides = Layout.contiguousStrides(shape)
        self.offset = offset
    }

    /// A layout with explicit strides.
    public init(shape: [Int], strides: [Int], offset: Int) {
        precondition(shape.count == strides.count, "shape \(shape) and strides \(strides) differ in rank")
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// Number of elements.
    @inlinable public var count: Int { shape.reduce(1, *) }

    /// Row-major strides of a dense tensor with `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }

    /// True when elements are dense and in row-major order (size-1 dims may have any stride).
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[i] != 1 && strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Broadcast shape of two shapes (NumPy rules), or nil if incompatible.
    public static func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides that read this layout as if broadcast to `target` (0 where expanded).
    public func broadcastStrides(to target: [Int]) -> [Int] {
        let pad = target.count - shape.count
        precondition(pad >= 0, "cannot broadcast \(shape) to \(target)")
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count {
            let t = target[i + pad]
            if shape[i] == t { out[i + pad] = strides[i] } else {
                precondition(shape[i] == 1, "cannot broadcast \(shape) to \(target)")
                out[i + pad] = 0
            }
        }
        return out
    }
}

/// Normalizes a possibly negative axis against `rank`.
@inlinable
public func normalizeAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
    return a
}

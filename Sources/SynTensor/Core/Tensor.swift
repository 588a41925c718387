import Synchronization

/// Source of unique tensor identities (the gradient store is keyed by them).
let tensorIDCounter = Atomic<Int>(1)

@inline(__always)
func nextTensorID() -> Int {
    tensorIDCounter.wrappingAdd(1, ordering: .relaxed).oldValue
}

/// An n-dimensional array of `Float` with value semantics, strided views and reverse-mode autodiff.
///
/// Copies share storage until one of them is written (copy-on-write). Views such as
/// `transposed`, `permuted`, `expanded` and `narrow` only change the `Layout`.
public struct Tensor: @unchecked Sendable {
    /// Backing buffer, possibly shared with other views.
    public internal(set) var storage: TensorStorage
    /// Shape, strides and offset of this view into `storage`.
    public internal(set) var layout: Layout
    /// Identity used by the gradient store; stable across in-place updates of a parameter.
    public internal(set) var id: Int
    /// Whether gradients flow to this tensor.
    public internal(set) var requiresGrad: Bool
    /// The operation that produced this tensor, when it was recorded for autodiff.
    var node: AutogradNode?

    /// Wraps existing storage in a view.
    public init(storage: TensorStorage, layout: Layout) {
        self.storage = storage
        self.layout = layout
        self.id = nextTensorID()
        self.requiresGrad = false
        self.node = nil
    }

    /// A dense tensor over freshly allocated, uninitialized storage (kernels fill it).
    init(uninitializedShape shape: [Int]) {
        let layout = Layout(contiguous: shape)
        self.init(storage: TensorStorage(uninitializedCount: layout.count), layout: layout)
    }

    /// A tensor of `shape` holding `data` in row-major order.
    public init(shape: [Int], data: [Float]) {
        let layout = Layout(contiguous: shape)
        precondition(layout.count == data.count, "shape \(shape) needs \(layout.count) values, got \(data.count)")
        let storage = data.withUnsafeBufferPointer { TensorStorage(copying: $0.baseAddress!, count: data.count) }
        self.init(storage: storage, layout: layout)
    }

    /// A 1-D tensor holding `data`.
    public init(_ data: [Float]) {
        self.init(shape: [data.count], data: data)
    }

    /// A 0-d (scalar) tensor.
    public init(_ scalar: Float) {
        self.init(storage: TensorStorage(count: 1, repeating: scalar), layout: Layout(contiguous: []))
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        let layout = Layout(contiguous: shape)
        self.init(storage: TensorStorage(count: layout.count, repeating: value), layout: layout)
    }

    /// Size of each dimension.
    @inlinable public var shape: [Int] { layout.shape }
    /// Element strides of each dimension.
    @inlinable public var strides: [Int] { layout.strides }
    /// Number of dimensions.
    @inlinable public var rank: Int { layout.shape.count }
    /// Number of elements.
    @inlinable public var count: Int { layout.count }
    /// True when the view is dense and row-major.
    @inlinable public var isContiguous: Bool { layout.isContiguous }
    /// Size of dimension `axis` (negative counts from the end).
    public func size(_ axis: Int) -> Int { shape[normalizeAxis(axis, rank: rank)] }

    /// Pointer to the first element of this view (read-only use).
    @inlinable var basePointer: UnsafeMutablePointer<Float> { storage.pointer + layout.offset }

    /// Detached copy that does not require gradients and has no recorded history.
    public func detached() -> Tensor {
        var t = self
        t.node = nil
        t.requiresGrad = false
        t.id = nextTensorID()
        return t
    }

    /// This tensor marked as a leaf that receives gradients.
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        var t = self
        t.node = nil
        t.requiresGrad = flag
        return t
    }

    /// Marks this tensor as a gradient-receiving leaf in place (keeps its id).
    public mutating func setRequiresGrad(_ flag: Bool) {
        node = nil
        requiresGrad = flag
    }

    /// A dense row-major copy, or `self` when already dense with offset 0 storage of matching size.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        var out = Tensor(uninitializedShape: shape)
        copyStrided(from: self, into: out.basePointer)
        out = Tensor.record(out, inputs: [self], op: "contiguous") { g in [g] }
        return out
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.basePointer, count: c.count))
    }

    /// The single value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() needs exactly one element, tensor has shape \(shape)")
        return basePointer.pointee
    }

    /// Calls `body` with the elements in row-major order.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguous()
        return try withExtendedLifetime(c) { try body(UnsafeBufferPointer(start: c.basePointer, count: c.count)) }
    }

    /// Makes the storage dense and unshared, then lets `body` write the elements in place.
    ///
    /// Keeps `id`, so a parameter updated by an optimizer stays the same gradient key.
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isContiguous || layout.offset != 0 || storage.count != count || !isKnownUniquelyReferenced(&storage) {
            let fresh = TensorStorage(uninitializedCount: count)
            copyStrided(from: self, into: fresh.pointer)
            storage = fresh
            layout = Layout(contiguous: shape)
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }
}

extension Tensor: CustomStringConvertible {
    /// Shape and (for small tensors) the values.
    public var description: String {
        let vals = scalars
        let shown = vals.prefix(16).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(vals.count > 16 ? ", ..." : "")])"
    }
}

import Foundation

/// Copies a strided view into a dense row-major buffer.
func copyStrided(from t: Tensor, into dst: UnsafeMutablePointer<Float>) {
    let n = t.count
    if n == 0 { return }
    let src = t.basePointer
    if t.isContiguous {
        dst.update(from: src, count: n)
        return
    }
    let (shape, strides) = coalesce(shape: t.shape, strides: [t.strides])
    let inner = shape.last ?? 1
    let s = strides[0].last ?? 1
    let rows = n / inner
    let srcS = SendablePointer(src), dstS = SendablePointer(dst)
    parallelRows(rows: rows, work: n) { rowRange in
        var idx = RowCursor(shape: shape, strides: strides, startRow: rowRange.lowerBound)
        for r in rowRange {
            let from = srcS.p + idx.offsets[0]
            let to = dstS.p + r * inner
            if s == 1 {
                to.update(from: from, count: inner)
            } else if s == 0 {
                to.update(repeating: from.pointee, count: inner)
            } else {
                for i in 0..<inner { to[i] = from[i * s] }
            }
            idx.advance()
        }
    }
}

import Foundation

/// A reference-counted, 64-byte aligned buffer of `Float` that backs one or more tensor views.
///
/// Storage is never shared across *mutations*: `Tensor` checks uniqueness before writing
/// (copy-on-write), so a storage that two tensors see is effectively immutable.
public final class TensorStorage: @unchecked Sendable {
    /// Number of `Float` elements.
    public let count: Int
    /// Start of the buffer.
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` uninitialized elements.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative storage size \(count)")
        self.count = count
        let bytes = BufferCache.sizeClass(max(count, 1) * MemoryLayout<Float>.stride)
        let raw = BufferCache.shared.take(bytes) ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Allocates `count` elements set to `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        if value == 0 {
            memset(pointer, 0, count * MemoryLayout<Float>.stride)
        } else {
            pointer.initialize(repeating: value, count: count)
        }
    }

    /// Copies `count` elements starting at `source`.
    public convenience init(copying source: UnsafePointer<Float>, count: Int) {
        self.init(uninitializedCount: count)
        pointer.update(from: source, count: count)
    }

    deinit {
        let raw = UnsafeMutableRawPointer(pointer)
        if !BufferCache.shared.give(raw, bytes: BufferCache.sizeClass(max(count, 1) * MemoryLayout<Float>.stride)) {
            raw.deallocate()
        }
    }
}

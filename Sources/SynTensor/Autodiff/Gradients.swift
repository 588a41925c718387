/// Gradients keyed by tensor identity, as produced by `backward` / `valueAndGrad`.
public struct Gradients: @unchecked Sendable {
    /// Gradient tensors by `Tensor.id`.
    public internal(set) var storage: [Int: Tensor] = [:]

    /// An empty store.
    public init() {}

    /// The gradient of `t`, if any reached it.
    public subscript(_ t: Tensor) -> Tensor? {
        get { storage[t.id] }
        set { storage[t.id] = newValue }
    }

    /// The gradient for tensor id `id`.
    public subscript(id id: Int) -> Tensor? {
        get { storage[id] }
        set { storage[id] = newValue }
    }

    /// Number of stored gradients.
    public var count: Int { storage.count }

    /// Adds `other`'s gradients into this store (gradient accumulation over micro-batches).
    public mutating func accumulate(_ other: Gradients) {
        withNoGrad {
            for (k, g) in other.storage {
                if let e = storage[k] { storage[k] = e + g } else { storage[k] = g }
            }
        }
    }

    /// Multiplies every gradient by `s`.
    public mutating func scale(by s: Float) {
        withNoGrad {
            for (k, g) in storage { storage[k] = g * s }
        }
    }
}

import Foundation

// Broadcasting arithmetic. Pullbacks return gradients in the broadcast shape; the backward
// sweep sums them down to each input's shape.

extension Tensor {
    /// Elementwise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, AddF())
        return record(out, inputs: [a, b], op: "add") { g in [g, g] }
    }

    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, SubF())
        return record(out, inputs: [a, b], op: "sub") { g in [g, b.requiresGrad ? -g : nil] }
    }

    /// Elementwise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, MulF())
        return record(out, inputs: [a, b], op: "mul") { g in
            [a.requiresGrad ? g * b : nil, b.requiresGrad ? g * a : nil]
        }
    }

    /// Elementwise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, DivF())
        return record(out, inputs: [a, b], op: "div") { g in
            [a.requiresGrad ? g / b : nil,
             b.requiresGrad ? mapTernary(g, a, b) { g, x, y in -g * x / (y * y) } : nil]
        }
    }

    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor {
        let out = mapUnary(a, NegF())
        return record(out, inputs: [a], op: "neg") { g in [-g] }
    }

    /// Adds a scalar.
    public static func + (a: Tensor, s: Float) -> Tensor {
        let out = mapUnary(a, ShiftF(s: s))
        return record(out, inputs: [a], op: "add_scalar") { g in [g] }
    }
    /// Adds a scalar.
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    /// Subtracts a scalar.
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    /// Scalar minus tensor.
    public static func - (s: Float, a: Tensor) -> Tensor {
        let out = mapUnary(a) { s - $0 }
        return record(out, inputs: [a], op: "rsub_scalar") { g in [-g] }
    }
    /// Multiplies by a scalar.
    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = mapUnary(a, ScaleF(s: s))
        return record(out, inputs: [a], op: "mul_scalar") { g in [g * s] }
    }
    /// Multiplies by a scalar.
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    /// Divides by a scalar (true division, as PyTorch; not a multiply by 1/s).
    public static func / (a: Tensor, s: Float) -> Tensor {
        let out = mapUnary(a, DivScalarF(s: s))
        return record(out, inputs: [a], op: "div_scalar") { g in [g / s] }
    }
    /// Scalar divided by tensor.
    public static func / (s: Float, a: Tensor) -> Tensor {
        let out = mapUnary(a) { s / $0 }
        return record(out, inputs: [a], op: "rdiv_scalar") { g in [mapBinary(g, a) { g, x in -g * s / (x * x) }] }
    }

    /// `a += b` (records a new node; the old value is kept for the graph).
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    /// `a -= b`.
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    /// `a *= b`.
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    /// `a *= s`.
    public static func *= (a: inout Tensor, s: Float) { a = a * s }

    /// Elementwise power with a scalar exponent.
    public func pow(_ p: Float) -> Tensor {
        let x = self
        let out: Tensor
        if p == 2 { out = mapUnary(x) { $0 * $0 } } else if p == 0.5 { out = mapUnary(x) { $0.squareRoot() } } else {
            out = mapUnary(x) { Foundation.pow($0, p) }
        }
        return Tensor.record(out, inputs: [x], op: "pow_scalar") { g in
            // x^0 is constant: zero gradient even at x = 0, where p * x^(p-1) would be 0 * inf (as PyTorch).
            if p == 0 { return [Tensor.zeros(x.shape)] }
            if p == 2 { return [mapBinary(g, x) { g, v in 2 * g * v }] }
            return [mapBinary(g, x) { g, v in g * p * Foundation.pow(v, p - 1) }]
        }
    }

    /// Elementwise power with a tensor exponent (broadcasting).
    public func pow(_ e: Tensor) -> Tensor {
        let x = self
        let out = mapBinary(x, e) { Foundation.pow($0, $1) }
        return Tensor.record(out, inputs: [x, e], op: "pow") { g in
            [x.requiresGrad ? mapTernary(g, x, e) { g, v, p in p == 0 ? 0 : g * p * Foundation.pow(v, p - 1) } : nil,
             e.requiresGrad ? mapTernary(g, out, x) { g, o, v in v > 0 ? g * o * Foundation.log(v) : 0 } : nil]
        }
    }

    /// Elementwise maximum (gradient goes to `self` on ties, as PyTorch splits it evenly: here half each).
    public func maximum(_ other: Tensor) -> Tensor {
        let a = self, b = other
        let out = mapBinary(a, b) { Swift.max($0, $1) }
        return Tensor.record(out, inputs: [a, b], op: "maximum") { g in
            [mapTernary(g, a, b) { g, x, y in x > y ? g : (x == y ? g * 0.5 : 0) },
             mapTernary(g, a, b) { g, x, y in y > x ? g : (x == y ? g * 0.5 : 0) }]
        }
    }

    /// Elementwise minimum (ties split the gradient evenly, as PyTorch does).
    public func minimum(_ other: Tensor) -> Tensor {
        let a = self, b = other
        let out = mapBinary(a, b) { Swift.min($0, $1) }
        return Tensor.record(out, inputs: [a, b], op: "minimum") { g in
            [mapTernary(g, a, b) { g, x, y in x < y ? g : (x == y ? g * 0.5 : 0) },
             mapTernary(g, a, b) { g, x, y in y < x ? g : (x == y ? g * 0.5 : 0) }]
        }
    }

    /// Clamps into `[lo, hi]`; gradient passes where the input is inside the interval (inclusive, as PyTorch).
    public func clamp(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
        let x = self
        let out = mapUnary(x) { Swift.min(Swift.max($0, lo), hi) }
        return Tensor.record(out, inputs: [x], op: "clamp") { g in
            [mapBinary(g, x) { g, v in (v >= lo && v <= hi) ? g : 0 }]
        }
    }

    // MARK: comparisons (no gradient; 1 where true, 0 where false)

    /// 1 where `self > other`.
    public func greater(_ other: Tensor) -> Tensor { mapBinary(self, other) { $0 > $1 ? 1 : 0 } }
    /// 1 where `self >= other`.
    public func greaterEqual(_ other: Tensor) -> Tensor { mapBinary(self, other) { $0 >= $1 ? 1 : 0 } }
    /// 1 where `self < other`.
    public func less(_ other: Tensor) -> Tensor { mapBinary(self, other) { $0 < $1 ? 1 : 0 } }
    /// 1 where `self <= other`.
    public func lessEqual(_ other: Tensor) -> Tensor { mapBinary(self, other) { $0 <= $1 ? 1 : 0 } }
    /// 1 where `self == other`.
    public func equal(_ other: Tensor) -> Tensor { mapBinary(self, other) { $0 == $1 ? 1 : 0 } }
    /// 1 where `self != other`.
    public func notEqual(_ other: Tensor) -> Tensor { mapBinary(self, other) { $0 != $1 ? 1 : 0 } }
    /// 1 where `self > s`.
    public func greater(_ s: Float) -> Tensor { mapUnary(self) { $0 > s ? 1 : 0 } }
    /// 1 where `self < s`.
    public func less(_ s: Float) -> Tensor { mapUnary(self) { $0 < s ? 1 : 0 } }
    /// 1 where `self == s`.
    public func equal(_ s: Float) -> Tensor { mapUnary(self) { $0 == s ? 1 : 0 } }

    /// Picks `a` where `condition` is nonzero, else `b` (broadcasting all three).
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let out = mapTernary(condition, a, b) { c, x, y in c != 0 ? x : y }
        return record(out, inputs: [condition, a, b], op: "where") { g in
            [nil,
             a.requiresGrad ? mapBinary(g, condition) { g, c in c != 0 ? g : 0 } : nil,
             b.requiresGrad ? mapBinary(g, condition) { g, c in c != 0 ? 0 : g } : nil]
        }
    }

    /// Replaces elements where `mask` is nonzero with `value` (mask broadcasts).
    public func maskedFill(_ mask: Tensor, _ value: Float) -> Tensor {
        let x = self
        let out = mapBinary(x, mask) { v, m in m != 0 ? value : v }
        return Tensor.record(out, inputs: [x], op: "masked_fill") { g in
            [mapBinary(g, mask) { g, m in m != 0 ? 0 : g }]
        }
    }
}

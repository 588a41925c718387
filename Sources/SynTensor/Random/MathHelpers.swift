import Foundation

// Double-precision libm entry points for the samplers (kept out of @inlinable code).
@usableFromInline func logHelper(_ x: Double) -> Double { Foundation.log(x) }
@usableFromInline func cosHelper(_ x: Double) -> Double { Foundation.cos(x) }
@usableFromInline func sinHelper(_ x: Double) -> Double { Foundation.sin(x) }

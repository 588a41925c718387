import Foundation

// Branch-free, vectorizable float approximations. libm's expf/erff are scalar calls that stop
// the loop vectorizer; these stay within a few ulp (checked against PyTorch in the tests).

/// e^x with a degree-6 polynomial on the reduced argument and the exponent bits built directly.
@inline(__always) func fastExp(_ xIn: Float) -> Float {
    // Clamp so 2^n stays a normal float (n in [-126, 127]); results below e^-87.3 flush to 0.
    let x = Swift.min(Swift.max(xIn, -87.33654), 88.37626)
    // x = n ln2 + r with |r| <= ln2/2; ln2 split in two parts (Cody-Waite) for accuracy.
    // Adding 1.5 * 2^23 rounds x log2(e) to the nearest integer (ties to even) in plain float
    // arithmetic, which vectorizes (`rounded()` became a libm call here), and leaves n in the low
    // mantissa bits for the exponent below.
    let t = x * 1.4426950408889634 + 12582912.0
    let n = t - 12582912.0
    var r = x - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * r * r + r + 1
    let ni = Int32(bitPattern: t.bitPattern &- 0x4B40_0000)
    let scale = Float(bitPattern: UInt32(bitPattern: (ni &+ 127) &<< 23))
    let y = p * scale
    return xIn < -87.33654 ? 0 : (xIn > 88.72283 ? Float.infinity : y)
}

/// erf(x) as x P(x^2) / Q(x^2) with x clamped to [-4, 4] (erf is +-1 to float precision beyond).
@inline(__always) func fastErf(_ xIn: Float) -> Float {
    let x = Swift.min(Swift.max(xIn, -4), 4)
    let x2 = x * x
    var p: Float = -2.72614225801306e-10
    p = p * x2 + 2.77068142495902e-08
    p = p * x2 + -2.10102402082508e-06
    p = p * x2 + -5.69250639462346e-05
    p = p * x2 + -7.34990630326855e-04
    p = p * x2 + -2.95459980854025e-03
    p = p * x2 + -1.60960333262415e-02
    p = p * x
    var q: Float = -1.45660718464996e-05
    q = q * x2 + -2.13374055278905e-04
    q = q * x2 + -1.68282697438203e-03
    q = q * x2 + -7.37332916720468e-03
    q = q * x2 + -1.42647390514189e-02
    return p / q
}

/// tanh through e^(2x); exact enough for GELU's tanh form and the tanh op.
@inline(__always) func fastTanh(_ x: Float) -> Float {
    if Swift.abs(x) < 0.0625 {
        let x2 = x * x
        return x * (1 + x2 * (-0.33333333 + x2 * (0.13333333 - x2 * 0.053968254)))
    }
    let e = fastExp(-2 * Swift.abs(x))
    let t = (1 - e) / (1 + e)
    return x < 0 ? -t : t
}

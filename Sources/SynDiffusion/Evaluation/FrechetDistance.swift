import Foundation
import SynTensor

/// Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, "GANs Trained
/// by a Two Time-Scale Update Rule", the FID formula), in double precision:
/// d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2).
public enum FrechetDistance {
    /// Mean and (unbiased) covariance of rows of `x` [N, D].
    /// Throws a `ParameterError` for fewer than 2 rows (no covariance) or a tensor that is not [N, D].
    public static func moments(_ x: Tensor) throws -> (mean: [Double], covariance: [Double]) {
        try ParameterError.require(x.rank == 2, "features", x.shape, allowed: "a matrix [N, D]")
        let n = x.shape[0], d = x.shape[1]
        try ParameterError.require(n >= 2, "images", n, allowed: ">= 2 per set: the Fréchet distance needs a covariance")
        let v = x.contiguous().scalars.map(Double.init)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += v[i * d + j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        var cov = [Double](repeating: 0, count: d * d)
        var row = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { row[j] = v[i * d + j] - mean[j] }
            for a in 0..<d where row[a] != 0 {
                let ra = row[a]
                for b in a..<d { cov[a * d + b] += ra * row[b] }
            }
        }
        for a in 0..<d {
            for b in a..<d {
                cov[a * d + b] /= Double(n - 1)
                cov[b * d + a] = cov[a * d + b]
            }
        }
        return (mean, cov)
    }

    /// The distance between the Gaussians of feature sets `a` and `b` ([N, D] each).
    public static func distance(_ a: Tensor, _ b: Tensor) throws -> Double {
        let (m1, s1) = try moments(a), (m2, s2) = try moments(b)
        try ParameterError.require(m1.count == m2.count, "features", "\(m1.count) vs \(m2.count) columns", allowed: "the same width in both sets")
        return distance(mean1: m1, cov1: s1, mean2: m2, cov2: s2)
    }

    /// The distance between N(mean1, cov1) and N(mean2, cov2) (covariances row-major D x D).
    public static func distance(mean1: [Double], cov1: [Double], mean2: [Double], cov2: [Double]) -> Double {
        let d = mean1.count
        var diff = 0.0
        for j in 0..<d { diff += (mean1[j] - mean2[j]) * (mean1[j] - mean2[j]) }
        let root1 = symmetricFunction(cov1, d) { $0.squareRoot() }
        let inner = multiply(multiply(root1, cov2, d), root1, d)
        let traceRoot = symmetricEigenvalues(inner, d).reduce(0) { $0 + max($1, 0).squareRoot() }
        var tr1 = 0.0, tr2 = 0.0
        for j in 0..<d { tr1 += cov1[j * d + j]; tr2 += cov2[j * d + j] }
        return max(diff + tr1 + tr2 - 2 * traceRoot, 0)
    }

    static func multiply(_ a: [Double], _ b: [Double], _ d: Int) -> [Double] {
        var c = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for k in 0..<d where a[i * d + k] != 0 {
                let aik = a[i * d + k]
                for j in 0..<d { c[i * d + j] += aik * b[k * d + j] }
            }
        }
        return c
    }

    /// f(S) = V f(L) V^T for a symmetric S (eigenvalues clipped at 0 before f).
    static func symmetricFunction(_ s: [Double], _ d: Int, _ f: (Double) -> Double) -> [Double] {
        let (values, vectors) = jacobiEigen(s, d)
        var out = [Double](repeating: 0, count: d * d)
        for k in 0..<d {
            let fk = f(max(values[k], 0))
            for i in 0..<d where vectors[i * d + k] != 0 {
                let vik = vectors[i * d + k] * fk
                for j in 0..<d { out[i * d + j] += vik * vectors[j * d + k] }
            }
        }
        return out
    }

    /// Eigenvalues of a symmetric matrix (symmetrized first).
    static func symmetricEigenvalues(_ s: [Double], _ d: Int) -> [Double] {
        var sym = s
        for i in 0..<d { for j in (i + 1)..<d { let m = (s[i * d + j] + s[j * d + i]) / 2; sym[i * d + j] = m; sym[j * d + i] = m } }
        return jacobiEigen(sym, d).values
    }

    /// Cyclic Jacobi eigen-decomposition of a symmetric matrix: eigenvalues and eigenvectors (columns).
    static func jacobiEigen(_ s: [Double], _ d: Int) -> (values: [Double], vectors: [Double]) {
        var a = s
        var v = [Double](repeating: 0, count: d * d)
        for i in 0..<d { v[i * d + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0, total = 0.0
            for i in 0..<d { for j in 0..<d { let x = a[i * d + j] * a[i * d + j]; total += x; if i != j { off += x } } }
            if off <= 1e-22 * max(total, 1e-300) { break }
            for p in 0..<d {
                for q in (p + 1)..<d {
                    let apq = a[p * d + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * d + q] - a[p * d + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), sn = t * c
                    for k in 0..<d {
                        let akp = a[k * d + p], akq = a[k * d + q]
                        a[k * d + p] = c * akp - sn * akq
                        a[k * d + q] = sn * akp + c * akq
                    }
                    for k in 0..<d {
                        let apk = a[p * d + k], aqk = a[q * d + k]
                        a[p * d + k] = c * apk - sn * aqk
                        a[q * d + k] = sn * apk + c * aqk
                    }
                    for k in 0..<d {
                        let vkp = v[k * d + p], vkq = v[k * d + q]
                        v[k * d + p] = c * vkp - sn * vkq
                        v[k * d + q] = sn * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<d).map { a[$0 * d + $0] }, v)
    }
}

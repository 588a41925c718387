import SynTensor

/// NumPy-exact helpers for building inference timestep grids (diffusers builds them with NumPy in float64).
enum NumPyGrid {
    /// np.linspace(start, stop, count): start + i * ((stop - start) / (count - 1)), last value exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        if count <= 0 { return [] }
        if count == 1 { return [start] }
        let step = (stop - start) / Double(count - 1)
        var out = (0..<count).map { Double($0) * step + start }
        out[count - 1] = stop
        return out
    }

    /// np.arange(start, stop, step) for floats: ceil((stop - start) / step) values start + i * delta,
    /// where delta = (start + step) - start, as NumPy fills a float range.
    static func arange(_ start: Double, _ stop: Double, step: Double) -> [Double] {
        let n = Swift.max(0, Int(((stop - start) / step).rounded(.up)))
        if n == 0 { return [] }
        let delta = (start + step) - start
        return (0..<n).map { $0 == 0 ? start : start + Double($0) * delta }
    }

    /// np.round: half to even.
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// np.interp(x, [0, 1, ..., n-1], table) in double.
    static func interpIndex(_ x: Double, _ table: [Double]) -> Double {
        let last = table.count - 1
        if x <= 0 { return table[0] }
        if x >= Double(last) { return table[last] }
        let j = Int(x.rounded(.down))
        if x == Double(j) { return table[j] }
        let slope = (table[j + 1] - table[j]) / 1.0
        return slope * (x - Double(j)) + table[j]
    }
}

/// Integer inference timesteps shared by DDPM and DDIM (diffusers `set_timesteps`), noisiest first.
func discreteInferenceTimesteps(spacing: TimestepSpacing, trainSteps: Int, count: Int, stepsOffset: Int) -> [Int] {
    precondition(count > 0 && count <= trainSteps,
                 "inference steps must be in 1...\(trainSteps) (training steps), got \(count)")
    switch spacing {
    case .linspace:
        return NumPyGrid.linspace(0, Double(trainSteps - 1), count: count).map { Int(NumPyGrid.round($0)) }.reversed()
    case .leading:
        let ratio = trainSteps / count
        return (0..<count).reversed().map { $0 * ratio + stepsOffset }
    case .trailing:
        let ratio = Double(trainSteps) / Double(count)
        return NumPyGrid.arange(Double(trainSteps), 0, step: -ratio).map { Int(NumPyGrid.round($0)) - 1 }
    }
}

/// Index of `timestep` in `schedule` as diffusers' `index_for_timestep`: the second match when it
/// occurs twice (so a restarted schedule does not skip a sigma), else the first; nil if absent.
func scheduleIndex(of timestep: Float, in schedule: [Float]) -> Int? {
    let hits = schedule.indices.filter { schedule[$0] == timestep }
    if hits.isEmpty { return nil }
    return hits.count > 1 ? hits[1] : hits[0]
}

/// Per-item coefficients shaped [B, 1, ..., 1] to broadcast against a [B, ...] tensor of `rank` dims.
func batchCoefficients(_ values: [Float], rank: Int) -> Tensor {
    Tensor(shape: [values.count] + Array(repeating: 1, count: Swift.max(0, rank - 1)), data: values)
}

/// a / s with a true division per element (torch semantics; SynTensor's `/ Float` multiplies by 1/s).
func divided(_ a: Tensor, by s: Float) -> Tensor { a / Tensor(s) }

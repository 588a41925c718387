/// One row of the benchmark table.
struct BenchResult: Codable, Sendable {
    /// Workload name.
    var name: String
    /// Unit of `synclr` and `pytorch` (e.g. "GFLOP/s", "ms", "img/s").
    var unit: String
    /// Our measurement (median).
    var synclr: Double
    /// PyTorch's measurement in the same run (median), or nil when not measured.
    var pytorch: Double?
    /// How many times faster we are than PyTorch (>1: faster), or nil.
    var ratio: Double?
    /// For GFLOP/s rows: the median over repetitions of our rate as a percentage of the FP32 FMA peak
    /// sampled in the same repetition on the same thread count.
    var synclrPeakPercent: Double?
    /// For GFLOP/s rows: PyTorch's rate as a percentage of that peak.
    var pytorchPeakPercent: Double?
    /// Peak resident memory (MiB) of our process over the workload's setup and repetitions, the
    /// process's baseline included (buffers cached by earlier workloads released first).
    var synclrPeakMB: Double?
    /// The same for the PyTorch peer process.
    var pytorchPeakMB: Double?
    /// Tensor buffers of 64 KiB and up that a timed repetition of ours took from the allocator
    /// rather than from the buffer cache (mean; 0 when the warm-up's buffers are all reused).
    var synclrFreshBuffersPerRepetition: Double?

    /// A row; `higherIsBetter` says how the ratio is oriented for the unit.
    init(name: String, unit: String, synclr: Double, pytorch: Double?, higherIsBetter: Bool) {
        self.name = name
        self.unit = unit
        self.synclr = synclr
        self.pytorch = pytorch
        if let p = pytorch, p > 0, synclr > 0 { ratio = higherIsBetter ? synclr / p : p / synclr } else { ratio = nil }
    }
}

/// Median of a non-empty sample.
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

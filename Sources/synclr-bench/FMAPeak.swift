import CSynKernels
import Foundation
import SynTensor

/// The machine's FP32 FMA peak, measured with the register-only loop of CSynKernels (csynpeak.h)
/// on one thread and on `threads` threads at once.
struct FMAPeak {
    /// Vector width of the loop (16: AVX-512, 8: AVX2+FMA, 1: scalar).
    var lanes: Int
    /// GFLOP/s of one thread.
    var single: Double
    /// GFLOP/s of all threads together.
    var all: Double
    /// Threads of `all`.
    var threads: Int
    /// Rounds of the loop in about 0.1 s on one thread.
    var rounds: Int64
    /// FLOPs of one round.
    var flopsPerRound: Double
    /// GFLOP/s of the AVX-512 BF16 dot-product loop on 1 and on `threads` threads (nil: the CPU has none).
    var bf16: (single: Double, all: Double)?
    /// GFLOP/s of the AVX-512 FP16 FMA loop on 1 and on `threads` threads (nil: the CPU has none).
    var fp16: (single: Double, all: Double)?

    /// GFLOP/s of `n` threads running the loop at once for about 0.05 s (one sample).
    func sample(_ n: Int) -> Double {
        let r = Swift.max(1, rounds / 2)
        let t = seconds { Threading.concurrentPerform(n) { _ in _ = csyn_fma_peak_flops(r) } }
        return Double(n) * flopsPerRound * Double(r) / t / 1e9
    }

    /// The best of `repeats` samples on 1 and on `threads` threads: other work on the cores can only
    /// lower a sample, so the maximum is the closest to the machine's peak.
    static func measure(threads: Int, repeats: Int = 5) -> FMAPeak {
        // Calibrate the rounds of one run to about 0.1 s on this machine.
        var rounds: Int64 = 1 << 16
        while true {
            let t = seconds { _ = csyn_fma_peak_flops(rounds) }
            if t > 0.02 || rounds > (1 << 32) {
                rounds = Int64(Double(rounds) * 0.1 / max(t, 1e-6))
                break
            }
            rounds *= 4
        }
        var peak = FMAPeak(lanes: Int(csyn_fma_peak_lanes()), single: 0, all: 0, threads: threads, rounds: rounds,
                           flopsPerRound: csyn_fma_peak_flops(1))
        for _ in 0..<repeats {
            peak.single = max(peak.single, peak.sample(1))
            if threads > 1 { peak.all = max(peak.all, peak.sample(threads)) }
        }
        if threads == 1 { peak.all = peak.single }
        peak.bf16 = lowPrecision(threads: threads, repeats: repeats) { csyn_bf16_dot_peak_flops($0) }
        peak.fp16 = lowPrecision(threads: threads, repeats: repeats) { csyn_fp16_fma_peak_flops($0) }
        return peak
    }

    /// Best GFLOP/s of a 16-bit loop on 1 and on `threads` threads, or nil when `loop` reports 0 (no such
    /// instructions): lower precision only raises the ceiling where its loop beats the FP32 one.
    static func lowPrecision(threads: Int, repeats: Int, _ loop: @escaping @Sendable (Int64) -> Double) -> (single: Double, all: Double)? {
        guard loop(1) > 0 else { return nil }
        let perRound = loop(1)
        var rounds: Int64 = 1 << 14
        while true {
            let t = seconds { _ = loop(rounds) }
            if t > 0.02 || rounds > (1 << 32) {
                rounds = Swift.max(1, Int64(Double(rounds) * 0.05 / Swift.max(t, 1e-6)))
                break
            }
            rounds *= 4
        }
        var single = 0.0, all = 0.0
        for _ in 0..<repeats {
            single = Swift.max(single, perRound * Double(rounds) / seconds { _ = loop(rounds) } / 1e9)
            if threads > 1 {
                let t = seconds { Threading.concurrentPerform(threads) { _ in _ = loop(rounds) } }
                all = Swift.max(all, Double(threads) * perRound * Double(rounds) / t / 1e9)
            }
        }
        return (single, threads > 1 ? all : single)
    }

    /// One line for the table's header.
    var summary: String {
        let isa = lanes == 16 ? "AVX-512" : lanes == 8 ? "AVX2" : "scalar"
        var line = String(format: "FP32 FMA peak (%@ register loop): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads",
                          isa as NSString, single, all, threads)
        if let bf16 {
            line += String(format: "\nBF16 dot-product peak (VDPBF16PS, FP32 sums): %.1f / %.1f GFLOP/s = %.2fx FP32",
                           bf16.single, bf16.all, bf16.all / Swift.max(all, 1e-9))
        }
        if let fp16 {
            line += String(format: "\nFP16 FMA peak (VFMADDPH, half-precision sums): %.1f / %.1f GFLOP/s = %.2fx FP32",
                           fp16.single, fp16.all, fp16.all / Swift.max(all, 1e-9))
        }
        return line
    }
}

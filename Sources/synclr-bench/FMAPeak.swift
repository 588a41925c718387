import CSynKernels
import Foundation
import SynTensor

/// One register-only loop of CSynKernels (csynpeak.h), calibrated to about 0.1 s per run on one thread.
struct PeakLoop {
    /// Runs the given rounds on the calling thread and returns the operations done (0: not on this CPU).
    let run: @Sendable (Int64) -> Double
    /// Rounds of one run.
    let rounds: Int64
    /// Operations of one round.
    let flopsPerRound: Double

    /// The loop with its rounds calibrated on this machine (none when it does not run on this CPU).
    init(calibrating run: @escaping @Sendable (Int64) -> Double) {
        self.run = run
        flopsPerRound = run(1)
        var rounds: Int64 = 1 << 14
        while flopsPerRound > 0 {
            let t = seconds { _ = run(rounds) }
            if t > 0.02 || rounds > (1 << 32) {
                rounds = Swift.max(2, Int64(Double(rounds) * 0.1 / Swift.max(t, 1e-6)))
                break
            }
            rounds *= 4
        }
        self.rounds = rounds
    }

    /// Whether the CPU has the loop's instructions.
    var runs: Bool { flopsPerRound > 0 }

    /// GFLOP/s of `n` threads running the loop at once for about 0.05 s (one sample).
    func sample(_ n: Int) -> Double {
        let r = Swift.max(1, rounds / 2), run = run
        let t = seconds { Threading.concurrentPerform(n) { _ in _ = run(r) } }
        return Double(n) * flopsPerRound * Double(r) / t / 1e9
    }

    /// The best of `repeats` samples on 1 and on `threads` threads: other work on the cores can only
    /// lower a sample, so the maximum is the closest to the machine's peak.
    func best(threads: Int, repeats: Int) -> (single: Double, all: Double) {
        var single = 0.0, all = 0.0
        for _ in 0..<repeats {
            single = Swift.max(single, sample(1))
            if threads > 1 { all = Swift.max(all, sample(threads)) }
        }
        return (single, threads > 1 ? all : single)
    }
}

/// The machine's FP32 FMA peak on one thread and on `threads` threads at once, and beside it the
/// 16-bit loops the CPU has: lower precision only raises the ceiling where its loop beats the FP32 one.
struct FMAPeak {
    /// Vector width of the FP32 loop (16: AVX-512, 8: AVX2+FMA, 1: scalar).
    var lanes: Int
    /// GFLOP/s of one thread.
    var single: Double
    /// GFLOP/s of all threads together.
    var all: Double
    /// Threads of `all`.
    var threads: Int
    /// The FP32 loop, sampled again beside each GEMM repetition for its "% of peak".
    var fp32: PeakLoop
    /// GFLOP/s of the AVX-512 BF16 dot-product loop on 1 and on `threads` threads (nil: the CPU has none).
    var bf16: (single: Double, all: Double)?
    /// GFLOP/s of the AVX-512 FP16 FMA loop on 1 and on `threads` threads (nil: the CPU has none).
    var fp16: (single: Double, all: Double)?

    /// GFLOP/s of `n` threads running the FP32 loop at once (one sample).
    func sample(_ n: Int) -> Double { fp32.sample(n) }

    /// Every loop's best of `repeats` samples on 1 and on `threads` threads.
    static func measure(threads: Int, repeats: Int = 5) -> FMAPeak {
        let fp32 = PeakLoop(calibrating: { csyn_fma_peak_flops($0) })  // runs everywhere (scalar at worst)
        let bf16 = PeakLoop(calibrating: { csyn_bf16_dot_peak_flops($0) }), fp16 = PeakLoop(calibrating: { csyn_fp16_fma_peak_flops($0) })
        let (single, all) = fp32.best(threads: threads, repeats: repeats)
        return FMAPeak(lanes: Int(csyn_fma_peak_lanes()), single: single, all: all, threads: threads, fp32: fp32,
                       bf16: bf16.runs ? bf16.best(threads: threads, repeats: repeats) : nil,
                       fp16: fp16.runs ? fp16.best(threads: threads, repeats: repeats) : nil)
    }

    /// The table's header lines.
    var summary: String {
        let isa = lanes == 16 ? "AVX-512" : lanes == 8 ? "AVX2" : "scalar"
        var line = String(format: "FP32 FMA peak (%@ register loop): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads",
                          isa as NSString, single, all, threads)
        for (name, result) in [("BF16 dot-product peak (VDPBF16PS, FP32 sums)", bf16), ("FP16 FMA peak (VFMADDPH, half-precision sums)", fp16)] {
            guard let result else { continue }
            line += String(format: "\n%@: %.1f / %.1f GFLOP/s = %.2fx FP32", name as NSString, result.single, result.all,
                           result.all / Swift.max(all, 1e-9))
        }
        return line
    }
}

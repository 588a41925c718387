import CSynKernels
import Foundation
import Testing

/// The register-only peak loops synclr-bench times (csynpeak.h), in this target because it is the
/// test target that links CSynKernels: each reports the operations it ran, and a 16-bit loop runs only
/// where /proc/cpuinfo lists its instructions (0 elsewhere, so the bench leaves its line out).
@Suite struct PeakLoopTests {
    /// The CPU flags of the first processor in /proc/cpuinfo (empty off Linux).
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    @Test func loopsCountTheirOperationsAndRunOnlyWhereTheCPUHasThem() {
        let flags = Self.cpuFlags()
        // FP32: 24 chains x 16 lanes x 2 with AVX-512, 12 x 8 x 2 with AVX2, 8 x 2 scalar.
        let lanes = Int(csyn_fma_peak_lanes())
        let perRound = lanes == 16 ? 24.0 * 16 * 2 : lanes == 8 ? 12.0 * 8 * 2 : 8.0 * 2
        #expect(csyn_fma_peak_flops(3) == 3 * perRound)
        if flags.contains("avx512f") { #expect(lanes == 16) }
        // 16-bit loops: 24 chains x 32 products x 2 per round, or nothing without the instructions.
        #expect(csyn_bf16_dot_peak_flops(5) == (flags.contains("avx512_bf16") ? 5 * 24 * 32 * 2 : 0))
        #expect(csyn_fp16_fma_peak_flops(5) == (flags.contains("avx512_fp16") ? 5 * 24 * 32 * 2 : 0))
    }
}

import Foundation
import Testing
@testable import SynTensor

/// OpenBLAS's kernel choice: a CPU the installed OpenBLAS does not know (Debian 12's 0.3.21 on a
/// 5th-generation Xeon) is left on its SSE3 kernel, and SynTensor moves it to the best one the CPU has.
@Suite struct BLASCoreTests {
    @Test func replacementOnlyForAFallbackKernelAndNeverOverAPin() {
        #expect(BLAS.replacementCore(openblasChoice: "Prescott", cpu: .avx512bf16, pinned: nil) == "Cooperlake")
        #expect(BLAS.replacementCore(openblasChoice: "Prescott", cpu: .avx512, pinned: nil) == "SkylakeX")
        #expect(BLAS.replacementCore(openblasChoice: "Sandybridge", cpu: .avx2, pinned: nil) == "Haswell")
        #expect(BLAS.replacementCore(openblasChoice: "Nehalem", cpu: .avx2, pinned: "") == "Haswell")
        // A pin is the user's choice, even a slow one; so is every AVX2-or-wider pick of OpenBLAS's,
        // including names a newer OpenBLAS may add.
        #expect(BLAS.replacementCore(openblasChoice: "Prescott", cpu: .avx512bf16, pinned: "Prescott") == nil)
        for core in ["Haswell", "Zen", "Excavator", "SkylakeX", "Cooperlake", "SapphireRapids", "SomeFutureCore"] {
            #expect(BLAS.replacementCore(openblasChoice: core, cpu: .avx512bf16, pinned: nil) == nil)
        }
        // Without AVX2 there is nothing better to switch to.
        #expect(BLAS.replacementCore(openblasChoice: "Prescott", cpu: .baseline, pinned: nil) == nil)
    }

    @Test func thisProcessRunsAVectorKernelWhenTheCPUHasOne() throws {
        let pinned = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { !$0.isEmpty } ?? false
        let core = BLAS.coreName
        if let choice = BLAS.openblasChoice {
            #expect(choice != core)
            #expect(BLAS.fallbackCores.contains(choice))
            #expect(BLAS.runtime.openblasChoice == choice)
        }
        if !pinned && BLAS.CPULevel.current >= .avx2 {
            #expect(!BLAS.fallbackCores.contains(core), "OpenBLAS runs \(core) on a CPU with \(BLAS.CPULevel.current)")
        }
        // The switched kernel computes: a product against a plain loop.
        let a = Tensor(shape: [67, 45], data: (0..<(67 * 45)).map { Float(($0 * 7) % 13) / 13 - 0.5 })
        let b = Tensor(shape: [45, 29], data: (0..<(45 * 29)).map { Float(($0 * 5) % 11) / 11 - 0.5 })
        let c = a.matmul(b).scalars
        let av = a.scalars, bv = b.scalars
        for i in 0..<67 {
            for j in 0..<29 {
                var s: Float = 0
                for k in 0..<45 { s += av[i * 45 + k] * bv[k * 29 + j] }
                #expect(abs(c[i * 29 + j] - s) < 1e-4)
            }
        }
    }

    @Test func runtimeRecordsStayCompatible() throws {
        let plain = BLASRuntime(core: "Haswell", threads: 2)
        let text = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!text.contains("openblasChoice"))
        let old = try JSONDecoder().decode(BLASRuntime.self, from: Data(#"{"core":"Cooperlake","threads":2}"#.utf8))
        #expect(old == BLASRuntime(core: "Cooperlake", threads: 2))
        let switched = BLASRuntime(core: "Cooperlake", threads: 2, openblasChoice: "Prescott")
        #expect(try JSONDecoder().decode(BLASRuntime.self, from: JSONEncoder().encode(switched)) == switched)
        #expect(switched.description == "Cooperlake x2 (OpenBLAS picked Prescott)")
    }
}

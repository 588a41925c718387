import CSynBLAS
import CSynKernels
#if canImport(Glibc)
import Glibc
#endif

/// Which OpenBLAS kernel this process runs and with how many threads, for job records.
///
/// OpenBLAS picks its kernel (Haswell, SkylakeX, Cooperlake, ...) from the CPU at load time unless
/// `OPENBLAS_CORETYPE` forces one. A CPU newer than the installed OpenBLAS can be left on its
/// generic SSE3 kernel ("Prescott"): Debian 12's OpenBLAS 0.3.21 does that on a 5th-generation Xeon
/// (CPU model 207), where it runs SGEMM at about a fifth of its AVX-512 kernel's rate. SynTensor
/// then switches OpenBLAS to the best kernel the CPU supports before its first BLAS call
/// (``openblasChoice``). Different kernels sum in different orders, so byte-identical outputs across
/// machines need the same core on every machine (see Docs/benchmarks.md).
public enum BLAS {
    /// OpenBLAS's name for the kernel it runs (`openblas_get_corename()`), e.g. "Cooperlake".
    public static var coreName: String {
        _ = openblasChoice
        return loadedCoreName()
    }

    /// The core name and the kernel thread count, as recorded in job files.
    public static var runtime: BLASRuntime {
        BLASRuntime(core: coreName, threads: Threading.count, openblasChoice: openblasChoice)
    }

    /// The kernel OpenBLAS picked on its own when SynTensor replaced it (``coreName`` is the one
    /// that runs); nil when it kept OpenBLAS's choice (a capable kernel, or `OPENBLAS_CORETYPE` set).
    ///
    /// Evaluated once, before the first BLAS call of the process (every product goes through it).
    public static let openblasChoice: String? = selectCore()

    /// The widest vector instruction set of this CPU, as OpenBLAS names its kernels for it.
    public enum CPULevel: Int, Sendable, Comparable {
        /// No AVX2 + FMA (or not x86-64): OpenBLAS's own choice stands.
        case baseline = 0
        /// AVX2 and FMA.
        case avx2 = 1
        /// AVX-512 F/CD/BW/DQ/VL.
        case avx512 = 2
        /// AVX-512 with BF16.
        case avx512bf16 = 3

        /// This CPU's level.
        public static var current: CPULevel { CPULevel(rawValue: Int(csyn_cpu_simd_level())) ?? .baseline }

        /// Levels order by instruction-set width (baseline < AVX2 < AVX-512 < AVX-512 BF16).
        public static func < (a: CPULevel, b: CPULevel) -> Bool { a.rawValue < b.rawValue }
    }

    /// OpenBLAS's kernels older than AVX2 (its names, as `openblas_get_corename()` returns them).
    /// OpenBLAS lands on one of these on a CPU with AVX2 only when it did not recognize the CPU;
    /// any other name, including one newer than this list knows, is left alone.
    public static let fallbackCores: Set<String> = [
        "Unknown", "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn",
        "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano", "Sandybridge",
        "Bobcat", "Bulldozer", "Piledriver", "Steamroller",
    ]

    /// The kernel to switch to, or nil to keep OpenBLAS's choice: only when the user has not pinned
    /// one and OpenBLAS fell back to a pre-AVX2 kernel on a CPU that has AVX2.
    public static func replacementCore(openblasChoice: String, cpu: CPULevel, pinned: String?) -> String? {
        if let pinned, !pinned.isEmpty { return nil }
        guard fallbackCores.contains(openblasChoice) else { return nil }
        switch cpu {
        case .baseline: return nil
        case .avx2: return "Haswell"
        case .avx512: return "SkylakeX"
        case .avx512bf16: return "Cooperlake"
        }
    }

    static func loadedCoreName() -> String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    private typealias VoidFunction = @convention(c) () -> Void

    /// Re-runs OpenBLAS's DYNAMIC_ARCH initialization with `OPENBLAS_CORETYPE` set for the call: the
    /// same path OpenBLAS takes at load time when the variable is set. Looked up at run time so an
    /// OpenBLAS built for one fixed CPU (without these entry points) still links and is left alone.
    private static func selectCore() -> String? {
        let chosen = loadedCoreName()
        let pinned = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        guard let target = replacementCore(openblasChoice: chosen, cpu: .current, pinned: pinned) else { return nil }
        #if canImport(Glibc)
        guard let quitSymbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
              let initSymbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init") else { return nil }
        let quit = unsafeBitCast(quitSymbol, to: VoidFunction.self)
        let initialize = unsafeBitCast(initSymbol, to: VoidFunction.self)
        setenv("OPENBLAS_CORETYPE", target, 1)
        quit()
        initialize()
        // Child processes (benchmark peers, MPI ranks) make their own choice.
        unsetenv("OPENBLAS_CORETYPE")
        return loadedCoreName() == chosen ? nil : chosen
        #else
        return nil
        #endif
    }
}

/// The BLAS kernel and thread count a job ran with (stored in job.json / metrics files).
public struct BLASRuntime: Codable, Sendable, Hashable, CustomStringConvertible {
    /// OpenBLAS core name.
    public var core: String
    /// Worker threads of the kernels (SynTensor's pool; GEMMs use the same count).
    public var threads: Int
    /// The kernel OpenBLAS picked on its own when SynTensor replaced it (``BLAS/openblasChoice``), else nil.
    public var openblasChoice: String?

    /// A record.
    public init(core: String, threads: Int, openblasChoice: String? = nil) {
        self.core = core
        self.threads = threads
        self.openblasChoice = openblasChoice
    }

    /// "Cooperlake x2", or "Cooperlake x2 (OpenBLAS picked Prescott)".
    public var description: String {
        "\(core) x\(threads)" + (openblasChoice.map { " (OpenBLAS picked \($0))" } ?? "")
    }
}

import CSynBLAS

/// Which OpenBLAS kernel this process runs and with how many threads, for job records.
///
/// OpenBLAS picks its kernel (Haswell, SkylakeX, Cooperlake, ...) from the CPU at load time unless
/// `OPENBLAS_CORETYPE` forces one. Different kernels sum in different orders, so byte-identical
/// outputs across machines need the same core on every machine (see Docs/benchmarks.md).
public enum BLAS {
    /// OpenBLAS's name for the kernel it runs (`openblas_get_corename()`), e.g. "Cooperlake".
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The core name and the kernel thread count, as recorded in job files.
    public static var runtime: BLASRuntime { BLASRuntime(core: coreName, threads: Threading.count) }
}

/// The BLAS kernel and thread count a job ran with (stored in job.json / metrics files).
public struct BLASRuntime: Codable, Sendable, Hashable, CustomStringConvertible {
    /// OpenBLAS core name.
    public var core: String
    /// Worker threads of the kernels (SynTensor's pool; GEMMs use the same count).
    public var threads: Int

    /// A record.
    public init(core: String, threads: Int) {
        self.core = core
        self.threads = threads
    }

    /// "Cooperlake x2".
    public var description: String { "\(core) x\(threads)" }
}

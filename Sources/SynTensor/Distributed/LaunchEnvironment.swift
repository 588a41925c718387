import Foundation

/// What the launcher that started this process says about the job, read from its environment
/// variables: Open MPI (`mpiexec`), PMI / PMIx (MPICH's Hydra, Slurm's `srun`), Slurm job arrays
/// and Kubernetes Indexed Jobs. Nothing here needs MPI, so libraries can use it freely.
public struct LaunchEnvironment: Sendable {
    /// The variables read (the process environment by default).
    public let variables: [String: String]

    /// The environment of `variables` (default: this process's).
    public init(_ variables: [String: String] = ProcessInfo.processInfo.environment) {
        self.variables = variables
    }

    /// True when an MPI launcher started this process, so MPI_Init will find a job to join.
    /// Checked before MPI_Init so a plain run never starts the MPI runtime.
    public var isMPILaunch: Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"].contains { variables[$0] != nil }
    }

    /// This process's MPI rank when an MPI launcher started it (Open MPI, PMI, PMIx), else nil.
    public var mpiRank: Int? { int("OMPI_COMM_WORLD_RANK") ?? int("PMI_RANK") ?? int("PMIX_RANK") }

    /// Processes of this job on this machine (Open MPI, MPICH, Slurm), or nil when not told.
    public var localProcessCount: Int? {
        for key in ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"] {
            if let v = int(key), v > 0 { return v }
        }
        return nil
    }

    /// Worker threads per process when the user did not choose (`SYNCLR_NUM_THREADS`): the cores
    /// divided among the job's processes on this machine, so ranks do not oversubscribe the cores.
    public func threadsPerProcess(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int? {
        guard variables["SYNCLR_NUM_THREADS"] == nil, let local = localProcessCount, local > 1 else { return nil }
        return max(1, cores / local)
    }

    /// This process's part (index, count) of a sharded job, from the first launcher found, in order:
    /// Open MPI (`OMPI_COMM_WORLD_RANK`/`_SIZE`), PMI (`PMI_RANK`/`PMI_SIZE`), a Slurm job array
    /// (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`), Slurm tasks
    /// (`SLURM_PROCID`/`SLURM_NTASKS`), a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` of
    /// `count`, or of `SYNCLR_SHARD_COUNT` when `count` is nil).
    public func shard(count: Int? = nil) throws -> (index: Int, count: Int) {
        func checked(_ i: Int, _ n: Int, _ source: String) throws -> (index: Int, count: Int) {
            guard n > 0, i >= 0, i < n else {
                throw LaunchError("--shard auto: \(source) gives index \(i) of \(n), which is not a valid shard")
            }
            return (i, n)
        }
        if let r = int("OMPI_COMM_WORLD_RANK"), let n = int("OMPI_COMM_WORLD_SIZE") {
            return try checked(r, n, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE")
        }
        if let r = int("PMI_RANK"), let n = int("PMI_SIZE") { return try checked(r, n, "PMI_RANK/PMI_SIZE") }
        if let id = int("SLURM_ARRAY_TASK_ID") {
            guard let n = int("SLURM_ARRAY_TASK_COUNT") else {
                throw LaunchError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (Slurm 17.11 or later sets it)")
            }
            let first = int("SLURM_ARRAY_TASK_MIN") ?? 0
            if let step = int("SLURM_ARRAY_TASK_STEP"), step != 1 {
                throw LaunchError("--shard auto: the Slurm array has step \(step); use a contiguous array such as --array=0-\(n - 1)")
            }
            return try checked(id - first, n, "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN / SLURM_ARRAY_TASK_COUNT")
        }
        if let r = int("SLURM_PROCID"), let n = int("SLURM_NTASKS") { return try checked(r, n, "SLURM_PROCID/SLURM_NTASKS") }
        if let i = int("JOB_COMPLETION_INDEX") {
            guard let n = count ?? int("SYNCLR_SHARD_COUNT") else {
                throw LaunchError("--shard auto: JOB_COMPLETION_INDEX is set but the shard count is not: pass --shard-count or set SYNCLR_SHARD_COUNT to the Job's completions")
            }
            return try checked(i, n, "JOB_COMPLETION_INDEX of \(n)")
        }
        throw LaunchError("--shard auto: no launcher found (none of OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_ARRAY_TASK_ID, SLURM_PROCID, JOB_COMPLETION_INDEX is set); use --shard i/n")
    }

    private func int(_ key: String) -> Int? {
        variables[key].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
}

/// A launcher variable is missing or inconsistent.
public struct LaunchError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}

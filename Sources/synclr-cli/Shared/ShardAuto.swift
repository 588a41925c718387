import ArgumentParser
import SynDiffusion
import SynTensor

/// `--shard auto`: the part of a synthesis job this process renders, read from the launcher
/// (mpiexec / srun, Slurm job arrays, Kubernetes Indexed Jobs; see Docs/scaling.md).
enum ShardOption {
    /// Parses `i/n` or `auto` (with `count` for a Kubernetes Indexed Job when SYNCLR_SHARD_COUNT is unset).
    static func resolve(_ text: String, count: Int?, environment: LaunchEnvironment = LaunchEnvironment()) throws -> Shard {
        if text == "auto" {
            let (i, n) = try environment.shard(count: count)
            return Shard(index: i, count: n)
        }
        guard let s = Shard(text) else { throw ValidationError("--shard must be i/n with 0 <= i < n, or auto, got '\(text)'") }
        return s
    }
}

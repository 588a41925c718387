import Testing
@testable import SynTensor

@Suite struct LaunchEnvironmentTests {
    @Test func detectsMPILaunchersOnlyFromTheirVariables() {
        #expect(!LaunchEnvironment([:]).isMPILaunch)
        #expect(!LaunchEnvironment(["SLURM_ARRAY_TASK_ID": "3"]).isMPILaunch)
        #expect(LaunchEnvironment(["OMPI_COMM_WORLD_SIZE": "2"]).isMPILaunch)
        #expect(LaunchEnvironment(["PMI_SIZE": "4"]).isMPILaunch)
        #expect(LaunchEnvironment(["PMIX_RANK": "0"]).isMPILaunch)
    }

    @Test func shardFromEachLauncher() throws {
        #expect(try LaunchEnvironment(["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"]).shard() == (1, 2))
        #expect(try LaunchEnvironment(["PMI_RANK": "3", "PMI_SIZE": "4"]).shard() == (3, 4))
        // Slurm arrays may start above 0 (--array=5-8): the index counts from the minimum.
        #expect(try LaunchEnvironment(["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "5"]).shard() == (2, 4))
        #expect(try LaunchEnvironment(["SLURM_PROCID": "0", "SLURM_NTASKS": "8"]).shard() == (0, 8))
        #expect(try LaunchEnvironment(["JOB_COMPLETION_INDEX": "2"]).shard(count: 3) == (2, 3))
        #expect(try LaunchEnvironment(["JOB_COMPLETION_INDEX": "2", "SYNCLR_SHARD_COUNT": "5"]).shard() == (2, 5))
        // MPI wins over the Slurm variables srun also sets.
        #expect(try LaunchEnvironment(["OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2", "SLURM_PROCID": "1", "SLURM_NTASKS": "2"]).shard() == (0, 2))
    }

    @Test func shardErrorsNameTheProblem() {
        func message(_ env: [String: String]) -> String {
            do { _ = try LaunchEnvironment(env).shard(); return "" } catch { return "\(error)" }
        }
        #expect(message([:]).contains("no launcher found"))
        #expect(message(["JOB_COMPLETION_INDEX": "1"]).contains("SYNCLR_SHARD_COUNT"))
        #expect(message(["JOB_COMPLETION_INDEX": "4", "SYNCLR_SHARD_COUNT": "4"]).contains("not a valid shard"))
        #expect(message(["SLURM_ARRAY_TASK_ID": "1"]).contains("SLURM_ARRAY_TASK_COUNT"))
        #expect(message(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_STEP": "2"]).contains("step 2"))
    }

    @Test func threadsAreSplitAmongLocalRanksUnlessChosen() {
        #expect(LaunchEnvironment(["OMPI_COMM_WORLD_LOCAL_SIZE": "2"]).threadsPerProcess(cores: 8) == 4)
        #expect(LaunchEnvironment(["OMPI_COMM_WORLD_LOCAL_SIZE": "4"]).threadsPerProcess(cores: 2) == 1)
        #expect(LaunchEnvironment(["OMPI_COMM_WORLD_LOCAL_SIZE": "2", "SYNCLR_NUM_THREADS": "3"]).threadsPerProcess(cores: 8) == nil)
        #expect(LaunchEnvironment([:]).threadsPerProcess(cores: 8) == nil)
    }
}

@Suite struct SingleProcessCommunicatorTests {
    @Test func collectivesAreTheIdentityAndSlicesCoverEverything() throws {
        let c = SingleProcessCommunicator()
        var v: [Float] = [1, 2, 3]
        c.allReduceSum(&v)
        #expect(v == [1, 2, 3])
        #expect(c.allGather([4, 5] as [Int32]) == [[4, 5]])
        #expect(c.broadcast(Int64(7)) == 7)
        #expect(c.broadcast([1, 2, 3] as [UInt8]) == [1, 2, 3])
        #expect(c.slice(of: 5) == 0..<5)
        try c.requireIdentical(42, what: "x")
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]).requiringGrad()
        let g = c.allGatherRows(x)
        #expect(g.offset == 0 && g.counts == [2])
        #expect(g.tensor.scalars == x.scalars)
    }

    @Test func fingerprintSeparatesContents() {
        var a = Fingerprint(), b = Fingerprint(), c = Fingerprint()
        a.combine([1, 2] as [Float]); a.combine([3] as [Float])
        b.combine([1] as [Float]); b.combine([2, 3] as [Float])
        c.combine([1, 2] as [Float]); c.combine([3] as [Float])
        #expect(a.value != b.value)  // lengths are part of the hash
        #expect(a.value == c.value)
    }
}

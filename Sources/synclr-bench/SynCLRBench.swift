import ArgumentParser
import Foundation
import SynCaption
import SynTensor

/// `synclr-bench`: our kernels and training steps beside PyTorch 2.13 CPU, interleaved, medians.
@main
struct SynCLRBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synclr-bench",
        abstract: "Benchmark SynCLR-Swift against PyTorch (when importable) on this machine.")

    @Flag(help: "Print a JSON array instead of a table.") var json = false
    @Flag(help: "Fewer and smaller workloads.") var quick = false
    @Option(help: "Repetitions per side (medians are reported).") var repeats = 7
    @Option(help: "Only workloads whose name contains this.") var filter: String?
    @Option(help: "Path of the PyTorch peer script.") var torchScript = "Scripts/bench/bench_torch.py"
    @Flag(help: "Skip the PyTorch side.") var noTorch = false
    @Flag(help: "Benchmark the native language model (prefill, decode, captions) beside transformers instead.") var llm = false
    @Option(help: "GGUF model for --llm (default: the installed SmolLM2).") var model: String?
    @Option(help: "Path of the transformers peer script for --llm.") var llmTorchScript = "Scripts/bench/bench_llm_torch.py"
    @Flag(help: "Benchmark one guided step of a Stable Diffusion 1.5-shaped UNet (random weights) at 256 and 512 beside diffusers instead.") var sd = false
    @Option(help: "Path of the diffusers peer script for --sd.") var sdTorchScript = "Scripts/bench/bench_sd_torch.py"
    @Flag(help: "Under mpiexec: measure all-reduce latency and bandwidth between the ranks (Docs/scaling.md).") var mpi = false
    @Flag(help: "Time every workload in each GEMM threading mode (split over our pool, OpenBLAS's threads, auto), interleaved.")
    var gemmModes = false

    func run() async throws {
        // A peer that dies mid-run must fail its request (and leave its column empty), not kill the bench.
        signal(SIGPIPE, SIG_IGN)
        if mpi {
            try mpiBenchmarks(repeats: repeats, quick: quick)
            return
        }
        let threads = Threading.count
        if sd {
            // One large inference step reuses few buffers; SynTensor's recycling cache (up to 1 GiB by
            // default) would only add to the peak, so it is off here unless the user sets it.
            if ProcessInfo.processInfo.environment["SYNCLR_BUFFER_CACHE_MB"] == nil { setenv("SYNCLR_BUFFER_CACHE_MB", "0", 1) }
            let results = try stableDiffusionBenchmarks(sizes: quick ? [256] : [256, 512], repeats: min(repeats, 3),
                                                        torchScript: noTorch ? nil : sdTorchScript, threads: threads) { r in
                if !json { printRow(r) }
            }
            if json {
                try printJSON(results)
            } else {
                print("threads \(threads), medians of \(min(repeats, 3)) steps, SYNCLR_BUFFER_CACHE_MB=\(ProcessInfo.processInfo.environment["SYNCLR_BUFFER_CACHE_MB"] ?? "?"), ratio = times better than diffusers (time or peak memory)")
            }
            return
        }
        if llm {
            let results = try llmBenchmarks(modelPath: LlamaModelLocation.resolve(model), repeats: repeats,
                                            torchScript: noTorch ? nil : llmTorchScript, threads: threads, quick: quick) { r in
                if !json { printRow(r) }
            }
            if json {
                try printJSON(results)
            } else {
                print("threads \(threads), repeats \(repeats), ratio = times faster than transformers")
            }
            return
        }
        let peer = noTorch ? nil : TorchPeer(script: torchScript, threads: threads)
        var results: [BenchResult] = []
        let selected = (tensorWorkloads(quick: quick) + convolutionWorkloads(quick: quick) + diffusionWorkloads(quick: quick)).filter { w in filter.map { w.name.contains($0) } ?? true }
        var peak: FMAPeak?
        if selected.contains(where: { $0.unit == "GFLOP/s" }) {
            peak = FMAPeak.measure(threads: threads)
            if !json { print(peak!.summary) }
        }
        if !json {
            print("BLAS core \(BLAS.runtime), GEMM threading \(Threading.gemmMode)")
            print("workload                           unit           ours    PyTorch   ratio  oursMiB torchMiB fresh/rep  ours%pk torch%pk")
        }
        let defaultMode = Threading.gemmMode
        for w in selected {
            let modes: [Threading.GEMMMode?] = gemmModes ? Threading.GEMMMode.allCases : [nil]
            ResidentMemory.resetPeak()
            let job = w.make()
            job()  // warm-up
            let buffersBefore = ResidentMemory.tensorBuffers()
            let torchReady = peer?.setup(w.name) ?? false
            var ours = [[Double]](repeating: [], count: modes.count), theirs: [Double] = []
            // GFLOP/s rows: each repetition also samples the FMA peak, and "% of peak" is the median of
            // rate / peak sample, so both see the same share of a machine other jobs may be using.
            let peakRow = w.unit == "GFLOP/s" ? peak : nil
            var oursPct = [[Double]](repeating: [], count: modes.count), theirsPct: [Double] = []
            for _ in 0..<repeats {
                let p = peakRow?.sample(threads)
                for (i, mode) in modes.enumerated() {
                    Threading.gemmMode = mode ?? defaultMode
                    ours[i].append(seconds(job))
                    if let p { oursPct[i].append(w.convert(ours[i].last!) / p * 100) }
                }
                Threading.gemmMode = defaultMode
                if torchReady, let t = peer?.run(w.name) {
                    theirs.append(t)
                    if let p { theirsPct.append(w.convert(t) / p * 100) }
                }
            }
            let ourPeakMB = ResidentMemory.peakMegabytes()
            let fresh = ResidentMemory.tensorBuffers().since(buffersBefore)
            let theirPeakMB = torchReady ? peer?.peakMegabytes() : nil
            for (i, mode) in modes.enumerated() {
                var r = BenchResult(name: w.name + (mode.map { "[\($0)]" } ?? ""), unit: w.unit, synclr: w.convert(median(ours[i])),
                                    pytorch: theirs.isEmpty ? nil : w.convert(median(theirs)), higherIsBetter: w.higherIsBetter)
                if !oursPct[i].isEmpty { r.synclrPeakPercent = median(oursPct[i]) }
                if !theirsPct.isEmpty { r.pytorchPeakPercent = median(theirsPct) }
                r.synclrPeakMB = ourPeakMB
                r.synclrFreshBuffersPerRepetition = Double(fresh.fresh) / Double(max(1, repeats * modes.count))
                r.pytorchPeakMB = theirPeakMB
                results.append(r)
                if !json { printRow(r) }
            }
        }
        if filter.map({ "captions".contains($0) || $0.contains("caption") }) ?? true {
            // Caption synthesis without a language model (no PyTorch peer: there is no Python equivalent).
            for r in try await captionBenchmarks() {
                results.append(r)
                if !json { printRow(r) }
            }
        }
        if json {
            try printJSON(results)
        } else {
            let env = ProcessInfo.processInfo.environment
            print("threads \(threads), OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "unset"), repeats \(repeats), ratio = times faster than PyTorch, MiB = peak resident memory of each process over the workload, fresh/rep = tensor buffers of 64 KiB and up our repetitions took from the allocator instead of reusing (0: steady state allocation-free)")
            if selected.contains(where: { $0.name.hasPrefix("conv3x3") }) {
                print("conv3x3 rows count a direct convolution's FLOPs (2 N O C 9 H W); on AVX-512 SynTensor runs these shapes as Winograd F(2x2, 3x3), 2.25x fewer multiply-adds, so its % of peak there is an effective rate")
            }
        }
    }

    /// The results as a pretty-printed JSON array (`--json`).
    func printJSON(_ results: [BenchResult]) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try enc.encode(results), as: UTF8.self))
    }

    func printRow(_ r: BenchResult) {
        let torch = r.pytorch.map { String(format: "%10.2f", $0) } ?? "         -"
        let ratio = r.ratio.map { String(format: "%6.2fx", $0) } ?? "      -"
        let mem = [r.synclrPeakMB, r.pytorchPeakMB].map { m in m.map { String(format: "%8.0f", $0) } ?? "       -" }.joined(separator: " ")
        let fresh = r.synclrFreshBuffersPerRepetition.map { String(format: "%9.1f", $0) } ?? "        -"
        let pct = [r.synclrPeakPercent, r.pytorchPeakPercent].map { p in p.map { String(format: "%7.1f%%", $0) } ?? "" }.joined(separator: " ")
        // String(format:)'s %-34@ does not pad on Linux Foundation, so the columns are padded here.
        let name = r.name.padding(toLength: max(34, r.name.count), withPad: " ", startingAt: 0)
        let unit = r.unit.padding(toLength: max(8, r.unit.count), withPad: " ", startingAt: 0)
        print(name + " " + unit + String(format: " %10.2f ", r.synclr) + torch + " " + ratio + " " + mem + " " + fresh + " " + pct)
    }
}

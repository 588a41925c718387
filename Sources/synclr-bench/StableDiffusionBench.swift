import Foundation
import SynDiffusion
import SynTensor

/// `synclr-bench --sd`: a Stable Diffusion 1.5-shaped UNet (random weights built here, nothing
/// loaded) and one guided DDIM step (batch 2, 77 text tokens, guidance 2.5) per size, timed (median of
/// `repeats`) with its peak memory, beside diffusers' UNet2DConditionModel run by
/// Scripts/bench/bench_sd_torch.py in a child process (its own peak memory, so the two do not mix).
func stableDiffusionBenchmarks(sizes: [Int], repeats: Int, torchScript: String?, threads: Int,
                               report: (BenchResult) -> Void) throws -> [BenchResult] {
    var results: [BenchResult] = []
    var g = RandomGenerator(seed: 7)
    let unet = SDUNet(config: SDUNetConfiguration())
    for p in unet.parameters() { p.value = Tensor.randn(p.shape, generator: &g) * 0.02 }
    var scheduler = DDIMScheduler(betaSchedule: .stableDiffusion, stepsOffset: 1, clipSample: false, setAlphaToOne: false)
    scheduler.setTimesteps(50)
    let t = scheduler.timesteps[0]
    let cfg = ClassifierFreeGuidance(scale: 2.5)
    let peerScript = torchScript.flatMap { peerScriptFound($0, column: "diffusers column") ? $0 : nil }
    for size in sizes {
        let h = size / 8
        let x = Tensor.randn([1, 4, h, h], generator: &g)
        let cond = Conditioning(tokens: Tensor.randn([1, 77, 768], generator: &g))
        let uncond = Conditioning(tokens: Tensor.randn([1, 77, 768], generator: &g))
        ResidentMemory.resetPeak()
        var times: [Double] = []
        for _ in 0..<repeats {
            var s = scheduler
            let start = Date()
            withNoGrad {
                let out = cfg.predict(unet, modelInput: x, timestep: t, conditioning: cond, unconditional: uncond)
                _ = s.step(out, timestep: t, sample: x).prevSample
            }
            times.append(Date().timeIntervalSince(start))
        }
        let ours = median(times), ourPeak = ResidentMemory.peakMegabytes()
        var theirs: Double?, theirPeak: Double?
        if let torchScript = peerScript, let errors = PeerErrorLog() {
            let p = Process(), out = Pipe()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", torchScript, "--size", "\(size)", "--repeats", "\(repeats)", "--threads", "\(threads)"]
            p.standardOutput = out
            p.standardError = errors.handle
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            if let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
               let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let secs = obj["seconds"] as? [Double], !secs.isEmpty {
                theirs = median(secs)
                theirPeak = obj["peak_rss_mb"] as? Double
            } else {
                benchNotice("\(torchScript) gave no timing (\(errors.lastLine ?? "no error output")): no diffusers column")
            }
        }
        let time = BenchResult(name: "sd15_unet_cfg_step_\(size)", unit: "s", synclr: ours, pytorch: theirs, higherIsBetter: false)
        report(time)
        results.append(time)
        if let ourPeak {
            let mem = BenchResult(name: "sd15_unet_cfg_peak_\(size)", unit: "MB", synclr: ourPeak, pytorch: theirPeak, higherIsBetter: false)
            report(mem)
            results.append(mem)
        }
    }
    return results
}

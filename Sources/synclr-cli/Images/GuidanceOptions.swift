import ArgumentParser
import SynDiffusion

/// Guidance refinements shared by `synclr images` and `synclr diffusion evaluate`. Unset options
/// take the model file's recommendation (`synclr diffusion export --guidance-rescale ...`), else off.
struct GuidanceOptions: ParsableArguments {
    @Option(help: "Guidance rescale weight in 0...1 (Lin et al. 2023; diffusers' guidance_rescale). Default: the model's recommendation, else 0.")
    var guidanceRescale: Float?
    @Option(help: "Apply guidance only at training timesteps LO,HI (e.g. 0,500), elsewhere the conditional prediction alone; `all` for every step. Default: the model's recommendation, else all.")
    var guidanceInterval: String?
    @Option(help: "Dynamic thresholding of x0 (Imagen): quantile[,max], e.g. 0.995,1.5 (DDIM, DDPM and DPM++; off by default).")
    var dynamicThreshold: String?

    /// The library's guidance settings at `scale` with these refinements.
    func settings(scale: Float) throws -> GuidanceSettings {
        var s = GuidanceSettings(scale: scale, rescale: guidanceRescale)
        if let text = guidanceInterval {
            s.interval = try Self.interval(text, flag: "--guidance-interval")
        }
        if let text = dynamicThreshold {
            let v = try Self.numbers(text, "--dynamic-threshold")
            guard v.count == 1 || v.count == 2 else { throw ValidationError("--dynamic-threshold needs quantile[,max], got '\(text)'") }
            s.dynamicThreshold = DynamicThresholding(ratio: v[0], maxValue: v.count == 2 ? v[1] : 1)
        }
        return s
    }

    /// "LO,HI" as an interval, or every step for "all".
    static func interval(_ text: String, flag: String) throws -> GuidanceSettings.Interval {
        if text.lowercased() == "all" { return .all }
        let v = try numbers(text, flag)
        guard v.count == 2, v[0] <= v[1] else { throw ValidationError("\(flag) needs LO,HI with LO <= HI (or `all`), got '\(text)'") }
        return .timesteps(v[0]...v[1])
    }

    private static func numbers(_ text: String, _ flag: String) throws -> [Float] {
        try text.split(separator: ",").map {
            guard let v = Float($0.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw ValidationError("\(flag): '\(text)' is not a comma-separated list of numbers")
            }
            return v
        }
    }
}

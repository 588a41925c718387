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

    /// Applies the refinements to `options`, falling back to `recommended` for unset ones.
    func apply(to options: inout ImageJobOptions, recommended: SamplingRecommendation?) throws {
        options.guidanceRescale = guidanceRescale ?? recommended?.guidanceRescale ?? 0
        if let text = guidanceInterval {
            options.guidanceInterval = try Self.interval(text, flag: "--guidance-interval")
        } else {
            options.guidanceInterval = recommended?.guidanceInterval
        }
        if let text = dynamicThreshold {
            let v = try Self.numbers(text, "--dynamic-threshold")
            guard v.count == 1 || v.count == 2 else { throw ValidationError("--dynamic-threshold needs quantile[,max], got '\(text)'") }
            options.thresholding = DynamicThresholding(ratio: v[0], maxValue: v.count == 2 ? v[1] : 1)
        }
        if let p = options.problems.first { throw ValidationError(p) }
    }

    /// "LO,HI" as a range, or nil for "all".
    static func interval(_ text: String, flag: String) throws -> ClosedRange<Float>? {
        if text.lowercased() == "all" { return nil }
        let v = try numbers(text, flag)
        guard v.count == 2, v[0] <= v[1] else { throw ValidationError("\(flag) needs LO,HI with LO <= HI (or `all`), got '\(text)'") }
        return v[0]...v[1]
    }

    /// A short description of the refinements in `options` for log lines ("" when none).
    static func describe(_ options: ImageJobOptions) -> String {
        var parts: [String] = []
        if options.guidanceRescale != 0 { parts.append("rescale \(options.guidanceRescale)") }
        if let i = options.guidanceInterval { parts.append("at timesteps \(Int(i.lowerBound))...\(Int(i.upperBound))") }
        if let t = options.thresholding { parts.append("dynamic threshold \(t.ratio),\(t.maxValue)") }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
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

import ArgumentParser
import SynDiffusion

/// Guidance refinements shared by `synclr images` and `synclr diffusion evaluate`.
struct GuidanceOptions: ParsableArguments {
    @Option(help: "Guidance rescale weight in 0...1 (Lin et al. 2023; diffusers' guidance_rescale).")
    var guidanceRescale: Float = 0
    @Option(help: "Apply guidance only at training timesteps LO,HI (e.g. 0,600); elsewhere the conditional prediction alone.")
    var guidanceInterval: String?
    @Option(help: "Dynamic thresholding of x0 (Imagen): quantile[,max], e.g. 0.995,1.5 (DDIM and DDPM).")
    var dynamicThreshold: String?

    /// Applies the refinements to `options`.
    func apply(to options: inout ImageJobOptions) throws {
        options.guidanceRescale = guidanceRescale
        if let text = guidanceInterval {
            let v = try numbers(text, "--guidance-interval")
            guard v.count == 2, v[0] <= v[1] else { throw ValidationError("--guidance-interval needs LO,HI with LO <= HI, got '\(text)'") }
            options.guidanceInterval = v[0]...v[1]
        }
        if let text = dynamicThreshold {
            let v = try numbers(text, "--dynamic-threshold")
            guard v.count == 1 || v.count == 2 else { throw ValidationError("--dynamic-threshold needs quantile[,max], got '\(text)'") }
            options.thresholding = DynamicThresholding(ratio: v[0], maxValue: v.count == 2 ? v[1] : 1)
        }
        if let p = options.problems.first { throw ValidationError(p) }
    }

    private func numbers(_ text: String, _ flag: String) throws -> [Float] {
        try text.split(separator: ",").map {
            guard let v = Float($0.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw ValidationError("\(flag): '\(text)' is not a comma-separated list of numbers")
            }
            return v
        }
    }
}

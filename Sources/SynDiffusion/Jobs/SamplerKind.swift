/// The samplers `synclr images` offers, each configured for a model's training schedule.
public enum SamplerKind: String, Sendable, CaseIterable, Codable {
    /// DDIM, eta 0 (Song et al. 2021): SynCLR's sampler.
    case ddim
    /// DPM-Solver++ 2M (Lu et al. 2022).
    case dpmpp = "dpm++"
    /// Euler (Karras et al. 2022, discrete sigmas).
    case euler
    /// Ancestral DDPM (Ho et al. 2020) on a strided schedule.
    case ddpm

    /// Whether the sampler predicts x0 in a form dynamic thresholding applies to (Euler works in
    /// sigma space on the noise and, like diffusers' Euler scheduler, has no thresholding).
    public var supportsThresholding: Bool { self != .euler }

    /// A scheduler of this kind for a model trained with `config`'s betas and prediction type;
    /// "trailing" spacing so sampling starts at the last training step (Lin et al. 2023).
    /// No sampler clips the predicted x0 (as in Stable Diffusion's scheduler config): with guidance, a
    /// clip at every step distorts the trajectory more the more steps there are (Docs/diffusion.md).
    /// `thresholding` adds dynamic thresholding of x0 instead (DDIM, DDPM and DPM-Solver++, as in
    /// diffusers); Euler has none and ignores it, so callers check `supportsThresholding` first.
    public func scheduler(for config: UNetConfig, thresholding: DynamicThresholding? = nil) -> any NoiseScheduler {
        let betas = config.betaSchedule.schedule, T = config.trainTimesteps, pt = config.predictionType
        switch self {
        case .ddim:
            return DDIMScheduler(trainSteps: T, betaSchedule: betas, predictionType: pt, timestepSpacing: .trailing,
                                 clipSample: false, thresholding: thresholding)
        case .dpmpp:
            return DPMSolverMultistepScheduler(trainSteps: T, betaSchedule: betas, predictionType: pt, timestepSpacing: .trailing,
                                               thresholding: thresholding)
        case .euler:
            return EulerDiscreteScheduler(trainSteps: T, betaSchedule: betas, predictionType: pt, timestepSpacing: .trailing)
        case .ddpm:
            return DDPMScheduler(trainSteps: T, betaSchedule: betas, predictionType: pt, timestepSpacing: .trailing,
                                 clipSample: false, thresholding: thresholding)
        }
    }
}

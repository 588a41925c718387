import Foundation
import SynDiffusion
import SynTensor

/// The UNet of the built-in text-to-image model (the shipped configuration) with random weights
/// and a random 16-token caption conditioning of MiniLM's width.
private func benchUNet(seed: UInt64) -> (UNet2DCondition, UNetConfig) {
    let config = UNetConfig()
    var g = RandomGenerator(seed: seed)
    return (UNet2DCondition(config, generator: &g), config)
}

private func benchConditioning(batch: Int, width: Int, seed: UInt64) -> Conditioning {
    var g = RandomGenerator(seed: seed)
    let tokens = Tensor.randn([batch, 16, width], generator: &g)
    var mask = [Float](repeating: 1, count: batch * 16)
    for b in 0..<batch { for l in (10 + b % 6)..<16 { mask[b * 16 + l] = 0 } }
    return Conditioning(tokens: tokens, mask: Tensor(shape: [batch, 16], data: mask),
                        pooled: Tensor.randn([batch, width], generator: &g))
}

/// UNet forward, training step and guided DDIM sampling at 32x32 (issue 5's diffusion table).
func diffusionWorkloads(quick: Bool) -> [Workload] {
    var list: [Workload] = []
    list.append(Workload(name: "unet_forward_b64", unit: "ms", higherIsBetter: false, convert: { $0 * 1e3 }, make: {
        let (unet, config) = benchUNet(seed: 10)
        var g = RandomGenerator(seed: 11)
        let x = Tensor.randn([64, 1, 32, 32], generator: &g)
        let t = Tensor((0..<64).map { Float($0 * 15) })
        let cond = benchConditioning(batch: 64, width: config.crossAttentionDim, seed: 12)
        return { _ = withNoGrad { unet.predict(x, timesteps: t, conditioning: cond) } }
    }))
    list.append(Workload(name: "unet_train_step_b64", unit: "ms", higherIsBetter: false, convert: { $0 * 1e3 }, make: {
        let (unet, config) = benchUNet(seed: 20)
        let opt = AdamW(unet, learningRate: 1e-4, weightDecay: 0.01)
        var g = RandomGenerator(seed: 21)
        let x = Tensor.randn([64, 1, 32, 32], generator: &g)
        let target = Tensor.randn([64, 1, 32, 32], generator: &g)
        let t = Tensor((0..<64).map { Float($0 * 15) })
        let cond = benchConditioning(batch: 64, width: config.crossAttentionDim, seed: 22)
        return {
            let loss = unet.predict(x, timesteps: t, conditioning: cond).mseLoss(target)
            opt.step(loss.backward())
        }
    }))
    let images = quick ? 8 : 32
    list.append(Workload(name: "unet_sample_ddim50_cfg2.5_x\(images)", unit: "img/s", higherIsBetter: true,
                         convert: { Double(images) / $0 }, make: {
        let (unet, config) = benchUNet(seed: 30)
        let scheduler = DDIMScheduler(trainSteps: config.trainTimesteps, betaSchedule: config.betaSchedule.schedule,
                                      predictionType: config.predictionType, timestepSpacing: .trailing)
        let cond = benchConditioning(batch: images, width: config.crossAttentionDim, seed: 31)
        let uncond = benchConditioning(batch: images, width: config.crossAttentionDim, seed: 32)
        return {
            var g = RandomGenerator(seed: 33)
            _ = sample(predictor: unet, scheduler: scheduler, conditioning: cond, unconditional: uncond,
                       shape: [images, 1, 32, 32], guidance: 2.5, steps: 50, generator: &g)
        }
    }))
    return list
}

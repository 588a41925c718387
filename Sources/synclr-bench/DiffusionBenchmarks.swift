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

/// 3x3 "same" convolutions at shipped-UNet shapes as GFLOP/s (and so % of the FMA peak): the forward
/// pass alone, and forward + input gradient + weight gradient (three times the forward's FLOPs). The
/// FLOPs are a direct convolution's; a Winograd kernel's rate is an effective one.
func convolutionWorkloads(quick: Bool) -> [Workload] {
    // (images, input channels, side, output channels): the UNet's second and fourth levels.
    let shapes: [(Int, Int, Int, Int)] = quick ? [(64, 32, 16, 32)] : [(64, 32, 16, 32), (64, 64, 8, 64)]
    var list: [Workload] = []
    for (n, c, side, o) in shapes {
        let flops = 2.0 * Double(n * o * c * 9 * side * side), shape = "\(n)x\(c)x\(side)x\(side)_\(o)"
        func inputs() -> (Tensor, Tensor, Tensor, Tensor) {
            var g = RandomGenerator(seed: 40)
            return (Tensor.randn([n, c, side, side], generator: &g), Tensor.randn([o, c, 3, 3], generator: &g) * 0.1,
                    Tensor.randn([o], generator: &g), Tensor.randn([n, o, side, side], generator: &g))
        }
        list.append(Workload(name: "conv3x3_\(shape)", unit: "GFLOP/s", higherIsBetter: true,
                             convert: { flops / $0 / 1e9 }, make: {
            let (x, w, b, _) = inputs()
            return { _ = withNoGrad { x.conv2d(weight: w, bias: b, padding: (1, 1)) } }
        }))
        list.append(Workload(name: "conv3x3_grad_\(shape)", unit: "GFLOP/s", higherIsBetter: true,
                             convert: { 3 * flops / $0 / 1e9 }, make: {
            let (x0, w0, b0, probe) = inputs()
            let x = x0.requiringGrad(), w = w0.requiringGrad(), b = b0.requiringGrad()
            return { _ = (x.conv2d(weight: w, bias: b, padding: (1, 1)) * probe).sum().backward() }
        }))
    }
    return list
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

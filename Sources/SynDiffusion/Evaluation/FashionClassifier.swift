import Foundation
import SynTensor

/// A small CNN classifier of 32x32 Fashion-MNIST images (inputs in [0, 1]) whose penultimate layer
/// serves as the feature space of the Frechet distance: three conv3x3-ReLU-maxpool stages
/// (`conv1..conv3`), `fc1` to `featureWidth` features (ReLU), `fc2` to the 10 classes.
public final class FashionClassifier: Module {
    /// Convolution stages.
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d
    /// Feature layer.
    public let fc1: Linear
    /// Class logits.
    public let fc2: Linear
    /// Width of the feature vector.
    public let featureWidth: Int

    /// A classifier with channels (c, 2c, 4c) and `featureWidth` features.
    public init(width c: Int = 16, featureWidth: Int = 64, classes: Int = 10, generator: inout RandomGenerator) {
        conv1 = Conv2d(1, c, kernelSize: 3, padding: 1, generator: &generator)
        conv2 = Conv2d(c, 2 * c, kernelSize: 3, padding: 1, generator: &generator)
        conv3 = Conv2d(2 * c, 4 * c, kernelSize: 3, padding: 1, generator: &generator)
        fc1 = Linear(4 * c * 16, featureWidth, generator: &generator)
        fc2 = Linear(featureWidth, classes, generator: &generator)
        self.featureWidth = featureWidth
        super.init()
    }

    override public var children: [(String, Module)] {
        [("conv1", conv1), ("conv2", conv2), ("conv3", conv3), ("fc1", fc1), ("fc2", fc2)]
    }

    /// Features [B, featureWidth] of images [B, 1, 32, 32] in [0, 1].
    public func features(_ x: Tensor) -> Tensor {
        var h = x * 2 - 1
        for conv in [conv1, conv2, conv3] { h = conv(h).relu().maxPool2d(kernel: (2, 2)) }
        return fc1(h.flattened(from: 1)).relu()
    }

    /// Class logits [B, classes].
    public func callAsFunction(_ x: Tensor) -> Tensor { fc2(features(x)) }

    /// Trains on `images` [N, 1, 32, 32] in [0, 1] with cross-entropy and AdamW for `epochs`
    /// (order and random translations of up to `maxShift` pixels from `seed`); returns the mean
    /// loss of the last epoch.
    @discardableResult
    public func fit(images: Tensor, labels: [Int], epochs: Int = 1, batchSize: Int = 128, learningRate: Float = 2e-3,
                    maxShift: Int = 2, seed: UInt64 = 0, progress: ((Int, Int) -> Void)? = nil) -> Float {
        let n = labels.count
        let opt = AdamW(self, learningRate: learningRate, weightDecay: 1e-4)
        let stepsPerEpoch = (n + batchSize - 1) / batchSize
        let total = stepsPerEpoch * epochs
        let lrs = WarmupCosineSchedule(base: learningRate, final: learningRate * 0.02, warmupSteps: 20, totalSteps: total)
        var lastEpochLoss: Float = 0
        var step = 0
        train()
        for e in 0..<epochs {
            var g = RandomGenerator(seed: seed).derived("classifier-epoch").derived(UInt64(e))
            let order = g.permutation(n)
            var sum: Float = 0
            for b in 0..<stepsPerEpoch {
                let idx = Array(order[(b * batchSize)..<min((b + 1) * batchSize, n)])
                let x = FashionClassifier.shifted(images.indexSelect(axis: 0, indices: idx).contiguous(), maxShift: maxShift,
                                                  generator: &g)
                let y = idx.map { labels[$0] }
                let (loss, grads) = valueAndGrad(self) { $0(x).crossEntropy(labels: y) }
                opt.learningRate = lrs.value(at: step)
                withNoGrad { opt.step(grads) }
                sum += loss.item()
                step += 1
                progress?(step, total)
            }
            lastEpochLoss = sum / Float(stepsPerEpoch)
        }
        eval()
        return lastEpochLoss
    }

    /// Each image of `x` [B, C, H, W] translated by a random offset in [-maxShift, maxShift]^2, zero-filled.
    static func shifted(_ x: Tensor, maxShift: Int, generator g: inout RandomGenerator) -> Tensor {
        guard maxShift > 0 else { return x }
        let B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
        let src = x.scalars
        var out = [Float](repeating: 0, count: src.count)
        for b in 0..<B {
            let dy = g.int(below: 2 * maxShift + 1) - maxShift, dx = g.int(below: 2 * maxShift + 1) - maxShift
            for c in 0..<C {
                let base = (b * C + c) * H * W
                for y in max(0, dy)..<min(H, H + dy) {
                    for xx in max(0, dx)..<min(W, W + dx) { out[base + y * W + xx] = src[base + (y - dy) * W + xx - dx] }
                }
            }
        }
        return Tensor(shape: x.shape, data: out)
    }

    /// Predicted classes and features of `images` in batches.
    public func predict(_ images: Tensor, batchSize: Int = 500) -> (classes: [Int], features: Tensor) {
        withNoGrad {
            var classes: [Int] = [], feats: [Tensor] = []
            var start = 0
            while start < images.shape[0] {
                let len = min(batchSize, images.shape[0] - start)
                let f = features(images.narrow(0, start: start, length: len))
                let logits = fc2(f)
                classes += logits.argmax(axis: 1).scalars.map { Int($0) }
                feats.append(f)
                start += len
            }
            return (classes, Tensor.concatenate(feats, axis: 0))
        }
    }
}

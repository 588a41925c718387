import ArgumentParser
import Foundation
import SynTensor

/// `synclr mlp-demo`: a smoke run of SynTensor alone (an MLP on generated spirals); the method's demo is `synclr pipeline --preset demo`.
struct MLPDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp-demo",
        abstract: "Train a small MLP on a generated 3-arm spiral task (a smoke run of SynTensor).")

    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Training steps.") var steps: Int = 300
    @Option(help: "Points per class.") var points: Int = 200

    func run() async throws {
        var gen = RandomGenerator(seed: seed)
        let (x, y) = makeSpirals(pointsPerClass: points, classes: 3, generator: &gen)
        let model = Sequential([
            Linear(2, 64, generator: &gen), Activation(.relu),
            Linear(64, 64, generator: &gen), Activation(.relu),
            Linear(64, 3, generator: &gen),
        ])
        let opt = AdamW(ParameterGroup.decayAndNoDecay(model.namedParameters()), learningRate: 1e-2, weightDecay: 1e-4)
        let schedule = WarmupCosineSchedule(base: 1e-2, final: 1e-4, warmupSteps: 20, totalSteps: steps)
        let start = Date()
        for step in 0..<steps {
            opt.learningRate = schedule.value(at: step)
            let (loss, grads) = valueAndGrad(model) { m in m(x).crossEntropy(labels: y) }
            opt.step(grads)
            if step % 50 == 0 || step == steps - 1 {
                print(String(format: "step %4d  loss %.4f  lr %.2e", step, loss.item(), opt.learningRate))
            }
        }
        let acc = withNoGrad { accuracy(model(x), y) }
        print(String(format: "train accuracy %.1f%% on %d points (%.2f s)", acc * 100, y.count, Date().timeIntervalSince(start)))
    }
}

/// Interleaved noisy spirals: class c's arm is rotated by 2 pi c / classes.
func makeSpirals(pointsPerClass: Int, classes: Int, generator: inout RandomGenerator) -> (Tensor, [Int]) {
    var xs: [Float] = [], ys: [Int] = []
    for c in 0..<classes {
        for i in 0..<pointsPerClass {
            let r = Float(i) / Float(pointsPerClass)
            let t = Float(c) * 2 * Float.pi / Float(classes) + r * 4 + generator.normal() * 0.15
            xs += [r * Float(cos(Double(t))), r * Float(sin(Double(t)))]
            ys.append(c)
        }
    }
    return (Tensor(shape: [ys.count, 2], data: xs), ys)
}

/// Fraction of rows whose argmax equals the label.
func accuracy(_ logits: Tensor, _ labels: [Int]) -> Float {
    let pred = logits.argmax(axis: 1).scalars
    var hit = 0
    for (p, l) in zip(pred, labels) where Int(p) == l { hit += 1 }
    return Float(hit) / Float(max(labels.count, 1))
}

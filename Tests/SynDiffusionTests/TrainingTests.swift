import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// Four 8x8 "images" of two classes in [-1, 1] and a caption bank from the toy encoder.
private func toyData() throws -> (images: Tensor, labels: [Int], bank: CaptionBank) {
    var px: [Float] = []
    for i in 0..<4 {
        for y in 0..<8 {
            for x in 0..<8 { px.append(i % 2 == 0 ? (x < 4 ? 1 : -1) : (y < 4 ? 1 : -1) * (i == 1 ? 1 : 0.5)) }
        }
    }
    let records = [CaptionRecord(id: .number(0), caption: "a striped shirt", concept: "shirt"),
                   CaptionRecord(id: .number(1), caption: "a leather bag", concept: "bag"),
                   CaptionRecord(id: .number(2), caption: "a tote bag on a table", concept: "bag")]
    let (texts, byClass) = try CaptionBank.group(records + (0..<10).compactMap { c -> CaptionRecord? in
        c == 6 || c == 8 ? nil : CaptionRecord(id: .number(10 + c), caption: "item \(c)", concept: FashionMNISTImages.classNames[c])
    }, path: "toy")
    let bank = try CaptionBank(texts: texts, byClass: byClass, encoder: ToyTextEncoder())
    // Image 0, 2 -> shirt (6); 1, 3 -> bag (8).
    return (Tensor(shape: [4, 1, 8, 8], data: px), [6, 8, 6, 8], bank)
}

@Suite struct TrainingTests {
    /// A tiny UNet overfits four images: the loss on a fixed batch falls several-fold.
    @Test func tinyModelOverfitsFewImages() throws {
        let data = try toyData()
        var config = DiffusionTrainConfig(unet: tinyUNetConfig(), steps: 300, batchSize: 16, learningRate: 3e-3, warmupSteps: 10,
                                          captionDropout: 0, minSNRGamma: 0, seed: 7)
        config.finalLearningRateScale = 0.1
        let trainer = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        let probes = (1000..<1004).map { trainer.batch(at: $0) }
        func probeLoss() -> Float { withNoGrad { probes.map { trainer.loss($0, model: trainer.model).item() }.reduce(0, +) / 4 } }
        let before = probeLoss()
        var firstLosses: [Float] = [], lastLosses: [Float] = []
        for s in 0..<config.steps {
            let r = trainer.trainStep()
            if s < 20 { firstLosses.append(r.loss) }
            if s >= config.steps - 20 { lastLosses.append(r.loss) }
        }
        let after = probeLoss()
        #expect(after < before * 0.25, "fixed-batch loss \(before) -> \(after)")
        #expect(lastLosses.reduce(0, +) < 0.35 * firstLosses.reduce(0, +), "training loss \(firstLosses) -> \(lastLosses)")
    }

    /// Four steps straight equal two steps, a checkpoint, a new trainer and two more steps, bit for bit.
    @Test func checkpointResumesExactly() throws {
        let data = try toyData()
        let config = DiffusionTrainConfig(unet: tinyUNetConfig(), steps: 4, batchSize: 6, learningRate: 1e-3, warmupSteps: 1,
                                          captionDropout: 0.3, seed: 3, checkpointEvery: 2, sampleEvery: 0)
        let dirA = try temporaryDirectory("resumeA"), dirB = try temporaryDirectory("resumeB")
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        let straight = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        straight.sampleGridColumns = 0
        try straight.run(directory: dirA, resume: false)

        let first = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        first.sampleGridColumns = 0
        try first.run(directory: dirB, resume: false, stopAt: 2)
        #expect(first.step == 2)
        let second = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        second.sampleGridColumns = 0
        try second.run(directory: dirB, resume: true)

        #expect(second.step == 4)
        for ((name, a), (_, b)) in zip(straight.model.namedParameters(), second.model.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "model \(name) differs after resume")
        }
        for ((name, a), (_, b)) in zip(straight.ema.namedParameters(), second.ema.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "EMA \(name) differs after resume")
        }
        let logA = try String(contentsOf: dirA.appendingPathComponent("loss.jsonl"), encoding: .utf8)
        let logB = try String(contentsOf: dirB.appendingPathComponent("loss.jsonl"), encoding: .utf8)
        func losses(_ s: String) -> [String] { s.split(separator: "\n").map { String($0.split(separator: ",").prefix(2).joined()) } }
        #expect(losses(logA) == losses(logB), "loss logs differ:\n\(logA)\n\(logB)")
    }

    /// A run that dies between a sample step's grid and its checkpoint (here: the grid cannot be
    /// written) must not leave a checkpoint past the grid, or the resumed run never renders it.
    /// Found by Scripts/checks/chaos.sh (kill -9 between the two writes lost samples/step-000004.png).
    @Test func aCrashAtASampleStepResumesWithItsGrid() throws {
        let data = try toyData()
        let config = DiffusionTrainConfig(unet: tinyUNetConfig(), steps: 4, batchSize: 4, learningRate: 1e-3, warmupSteps: 1,
                                          seed: 5, checkpointEvery: 1, sampleEvery: 2, sampleSteps: 2)
        let dirA = try temporaryDirectory("gridA"), dirB = try temporaryDirectory("gridB")
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        let straight = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        try straight.run(directory: dirA, resume: false)

        // A folder where step 2's grid should go makes its write fail, as a kill would stop it.
        let blocker = dirB.appendingPathComponent("samples/step-000002.png")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: true)
        let crashed = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        #expect(throws: (any Error).self) { try crashed.run(directory: dirB, resume: false) }
        let meta = try SafetensorsFile(url: dirB.appendingPathComponent("checkpoint.safetensors")).metadata
        #expect(meta?["step"] == "1", "the checkpoint ran ahead of the sample grid it follows")

        try FileManager.default.removeItem(at: blocker)
        let resumed = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        try resumed.run(directory: dirB, resume: true)
        for name in ["samples/step-000002.png", "samples/step-000004.png", "checkpoint.safetensors"] {
            let a = try Data(contentsOf: dirA.appendingPathComponent(name))
            let b = try? Data(contentsOf: dirB.appendingPathComponent(name))
            #expect(b == a, "\(name) is missing or differs after the resume")
        }
    }

    /// A checkpoint of other options is refused with the file named.
    @Test func checkpointOfOtherOptionsIsRefused() throws {
        let data = try toyData()
        let config = DiffusionTrainConfig(unet: tinyUNetConfig(), steps: 1, batchSize: 2, seed: 1, sampleEvery: 0)
        let dir = try temporaryDirectory("refuse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: data.bank)
        t.sampleGridColumns = 0
        try t.run(directory: dir, resume: false)
        var other = config
        other.seed = 2
        let u = DiffusionTrainer(config: other, images: data.images, labels: data.labels, bank: data.bank)
        #expect { try u.run(directory: dir, resume: true) } throws: { error in
            "\(error)".contains("checkpoint.safetensors") && "\(error)".contains("different options")
        }
        #expect { try u.run(directory: dir, resume: false) } throws: { error in "\(error)".contains("`resume`") }
    }
}


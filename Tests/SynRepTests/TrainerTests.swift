import Foundation
import Testing
@testable import SynRep
@testable import SynTensor

/// A tiny random image set: `groups` captions with `perGroup` images each.
func tinySet(groups: Int, perGroup: Int, channels: Int = 1, size: Int = 16, seed: UInt64 = 0) -> ImageSet {
    var g = RandomGenerator(seed: seed)
    var images: [ImageBuffer] = [], gs: [Int] = [], labels: [Int] = []
    for grp in 0..<groups {
        // Images of one group share a base pattern so the task is learnable.
        let base = (0..<(channels * size * size)).map { _ in g.uniform() }
        for _ in 0..<perGroup {
            images.append(ImageBuffer(channels: channels, height: size, width: size,
                                      pixels: base.map { min(max($0 + 0.1 * g.normal(), 0), 1) }))
            gs.append(grp)
            labels.append(grp % 3)
        }
    }
    return ImageSet(images: images, groups: gs, labels: labels, classNames: ["a", "b", "c"],
                    sources: images.indices.map { "tiny:\($0)" })
}

func tinyConfig(_ objective: Objective, steps: Int = 6) -> TrainConfig {
    var c = TrainConfig(model: ViTConfig(imageSize: 16, patchSize: 4, channels: 1, width: 32, depth: 2, heads: 2), objective: objective, steps: steps)
    c.groupsPerBatch = 4
    c.imagesPerGroup = 2
    c.localCrops = 2
    c.localSize = 8
    c.projectorDims = [48, 16]
    c.predictorDims = [48, 16]
    c.ibotDims = [32, 16]
    c.ibotPrototypes = 24
    c.warmupSteps = 2
    c.teacherTemperatureWarmup = 3
    c.checkpointEvery = 3
    c.logEvery = 1
    return c
}

@Suite struct TrainerTests {
    @Test(arguments: Objective.allCases)
    func resumeEqualsUninterrupted(_ objective: Objective) throws {
        let data = tinySet(groups: 6, perGroup: 3)
        let config = tinyConfig(objective)
        let straight = try Trainer(config: config, data: data)
        for _ in 0..<6 { try straight.trainStep() }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synrep-resume-\(objective.rawValue)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ckpt = dir.appendingPathComponent("state.safetensors")
        let first = try Trainer(config: config, data: data)
        for _ in 0..<3 { try first.trainStep() }
        try first.saveCheckpoint(ckpt)
        let second = try Trainer(config: config, data: data)
        try second.loadCheckpoint(ckpt)
        #expect(second.step == 3)
        for _ in 0..<3 { try second.trainStep() }

        let a = straight.student.stateDict(), b = second.student.stateDict()
        #expect(a.keys.sorted() == b.keys.sorted())
        for (k, v) in a { #expect(v.scalars == b[k]!.scalars, "student \(k) differs after resume") }
        if let ta = straight.teacher, let tb = second.teacher {
            let x = ta.stateDict(), y = tb.stateDict()
            for (k, v) in x { #expect(v.scalars == y[k]!.scalars, "teacher \(k) differs after resume") }
        }
    }

    @Test func synclrWithoutPredictorUsesTheProjectorOutputsAsQueries() throws {
        var config = tinyConfig(.synclr)
        config.predictorDims = []
        try config.validate()
        let t = try Trainer(config: config, data: tinySet(groups: 6, perGroup: 3))
        #expect(t.student.predictor == nil)
        #expect(!t.student.stateDict().keys.contains { $0.hasPrefix("predictor.") })
        let before = t.student.stateDict()["projector.layers.0.weight"]!.scalars
        for _ in 0..<3 {
            let losses = try t.trainStep()
            #expect(losses.global.isFinite && losses.global > 0 && losses.local.isFinite && losses.local > 0)
        }
        // The projector still trains with nothing after it.
        #expect(t.student.stateDict()["projector.layers.0.weight"]!.scalars != before)
        // The same run with a predictor takes other steps (the option is not ignored).
        let withPredictor = try Trainer(config: tinyConfig(.synclr), data: tinySet(groups: 6, perGroup: 3))
        #expect(try withPredictor.trainStep().global != (try Trainer(config: config, data: tinySet(groups: 6, perGroup: 3)).trainStep().global))
    }

    @Test func runWritesOutputsAndResumes() throws {
        let data = tinySet(groups: 5, perGroup: 4)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synrep-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = tinyConfig(.synclr, steps: 4)
        config.checkpointEvery = 2
        let t = try Trainer(config: config, data: data)
        try t.run(directory: dir, resume: false, progress: false)
        try t.saveModel(dir.appendingPathComponent("model.safetensors"))
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(try ImageIO.read(dir.appendingPathComponent("loss.png")).width > 100)
        let model = try SafetensorsFile(url: dir.appendingPathComponent("model.safetensors"))
        #expect(model.names.contains("blocks.1.attn.qkv.weight"))
        #expect(model.metadata?["synclr"]?.contains("\"patch_size\":4") == true)
        // A rerun with --resume at the end does nothing and keeps the metrics.
        let again = try Trainer(config: config, data: data)
        try again.run(directory: dir, resume: true, progress: false)
        #expect(again.step == 4)
        let lines2 = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines2.count == 4)
        // A run stopped while drawing its last plot (here: a folder in the plot's place makes the
        // write fail) has not checkpointed that step, so its resume trains the step again and draws
        // the plot; a checkpoint written first would resume finished and never draw it.
        let plotBytes = try Data(contentsOf: dir.appendingPathComponent("loss.png"))
        var lastOnly = config
        lastOnly.checkpointEvery = 0
        let stopped = dir.appendingPathComponent("stopped")
        try FileManager.default.createDirectory(at: stopped.appendingPathComponent("loss.png"), withIntermediateDirectories: true)
        #expect(throws: (any Error).self) { try Trainer(config: lastOnly, data: data).run(directory: stopped, resume: true, progress: false) }
        try FileManager.default.removeItem(at: stopped.appendingPathComponent("loss.png"))
        let resumed = try Trainer(config: lastOnly, data: data)
        try resumed.run(directory: stopped, resume: true, progress: false)
        #expect(resumed.step == 4)
        #expect(try Data(contentsOf: stopped.appendingPathComponent("loss.png")) == plotBytes)
        // A checkpoint from another configuration is refused with a clear error.
        var other = config
        other.temperature = 0.2
        let mismatched = try Trainer(config: other, data: data)
        #expect(throws: TrainingError.self) { try mismatched.loadCheckpoint(dir.appendingPathComponent("checkpoint/state.safetensors")) }
    }

    @Test func repeatedCaptionsAreMutualPositives() {
        // Two rows of the same caption in one batch (the sampler can repeat a caption across an
        // epoch boundary) must be positives of each other, with the target split between them.
        let q = Tensor(shape: [3, 2], data: [1, 0, 0, 1, 1, 0]).l2Normalized(axis: -1)
        let loss = MultiPositiveContrastive(temperature: 1)
        let groups = [7, 3, 7]
        // Rows 0 and 2 share caption 7: each is the other's only positive, key 1 a negative.
        let v2 = loss(queries: q.indexSelect(axis: 0, indices: [0, 2]), keys: q, queryGroups: [7, 7], keyGroups: groups, ownKey: [0, 2])
        let expected = -Foundation.log(exp(1.0) / (exp(1.0) + exp(0.0)))
        #expect(abs(Double(v2.item()) - expected) < 1e-5)
    }

    @Test func samplerIsAPureFunctionOfStep() {
        let data = tinySet(groups: 7, perGroup: 2)
        let s1 = BatchSampler(set: data, groupsPerBatch: 3, imagesPerGroup: 2, seed: 5)
        let s2 = BatchSampler(set: data, groupsPerBatch: 3, imagesPerGroup: 2, seed: 5)
        for step in [0, 1, 2, 5, 11] { #expect(s1.batch(step: step).images == s2.batch(step: step).images) }
        // Out of order, across epoch boundaries (7 groups, 3 per batch), the same batches; and each
        // group slot is the epoch order drawn from (seed, epoch) alone, as runs before it recorded.
        let base = RandomGenerator(seed: 5).derived("batch-sampler")
        for step in [11, 0, 5, 2, 1, 2, 11, 4] {
            #expect(s1.batch(step: step).images == s2.batch(step: step).images)
            let slots = s1.batch(step: step).slots
            for j in 0..<3 {
                let flat = step * 3 + j
                var order = base.derived(UInt64(flat / 7))
                #expect(slots[j * 2] == order.permutation(7)[flat % 7])
            }
        }
        // Over one epoch every group appears once.
        var seen: [Int] = []
        for step in 0..<7 { seen += BatchSampler(set: data, groupsPerBatch: 1, imagesPerGroup: 2, seed: 1).batch(step: step).slots.prefix(1) }
        #expect(Set(seen).count == 7)
    }
}

import Foundation
import Testing
@testable import SynRep
@testable import SynTensor

/// Options that used to stop the process in a precondition are answered with an error naming the
/// parameter and its allowed range (issue 17, item 1).
@Suite struct ValidationTests {
    /// The `ParameterError` `body` throws (nil when it throws nothing or something else).
    func parameterError(_ body: () throws -> Void) -> ParameterError? {
        do { try body() } catch let e as ParameterError { return e } catch { return nil }
        return nil
    }

    @Test func fashionMNISTRefusesRGBAndSmallModelsBeforeReading() {
        // `synclr train --data fashion-mnist --channels 3` and `synclr eval --channels 3`.
        var e = parameterError { _ = try DataSource("fashion-mnist").load(channels: 3, size: 32) }
        #expect(e?.parameter == "channels" && e?.value == "3" && "\(e!)".contains("grayscale"), "\(String(describing: e))")
        e = parameterError { _ = try loadEvaluationSplits("fashion-mnist", channels: 3, size: 32) }
        #expect(e?.parameter == "channels", "\(String(describing: e))")
        // A checkpoint for 16-pixel inputs evaluated on the 28-pixel Fashion-MNIST images.
        e = parameterError { _ = try loadEvaluationSplits("fashion-mnist", channels: 1, size: 16) }
        #expect(e?.parameter == "size" && e?.value == "16" && "\(e!)".contains("at least 28"), "\(String(describing: e))")
        e = parameterError { _ = try FashionMNIST.load(.test, padTo: 27) }
        #expect(e?.parameter == "size", "\(String(describing: e))")
        e = parameterError { _ = try DataSource("/nonexistent").load(channels: 2, size: 32) }
        #expect(e?.parameter == "channels" && "\(e!)".contains("1 (gray) or 3 (RGB)"), "\(String(describing: e))")
        e = parameterError { _ = try DataSource("/nonexistent").load(channels: 1, size: 0) }
        #expect(e?.parameter == "size", "\(String(describing: e))")
    }

    @Test func onePerCaptionIsRefusedForMultiPositiveObjectives() throws {
        // `synclr train --images-per-caption 1` used to stop in the contrastive loss ("no positive key").
        for objective in [Objective.synclr, .stablerep] {
            var c = tinyConfig(objective)
            c.imagesPerGroup = 1
            let e = parameterError { _ = try Trainer(config: c, data: tinySet(groups: 4, perGroup: 2)) }
            #expect(e?.parameter == "imagesPerGroup" && "\(e!)".contains(">= 2 for the \(objective.rawValue) objective"),
                    "\(String(describing: e))")
        }
        // Supervised and SimCLR need no second image of a caption.
        for objective in [Objective.supervised, .simclr] {
            var c = tinyConfig(objective, steps: 1)
            c.imagesPerGroup = 1
            #expect(throws: Never.self) { _ = try Trainer(config: c, data: tinySet(groups: 4, perGroup: 2)) }
        }
    }

    @Test func everyTrainingOptionIsRangeChecked() {
        let cases: [(String, (inout TrainConfig) -> Void)] = [
            ("steps", { $0.steps = 0 }),
            ("groupsPerBatch", { $0.groupsPerBatch = 0 }),
            ("localCrops", { $0.localCrops = -1 }),
            ("localSize", { $0.localSize = 6 }),
            ("localSize", { $0.localSize = $0.model.imageSize + $0.model.patchSize }),
            ("learningRate", { $0.learningRate = 0 }),
            ("learningRate", { $0.learningRate = .nan }),
            ("warmupSteps", { $0.warmupSteps = -1 }),
            ("emaMomentum", { $0.emaMomentum = 1.5 }),
            ("temperature", { $0.temperature = 0 }),
            ("projectorDims", { $0.projectorDims = [] }),
            ("predictorDims", { $0.predictorDims = [48, 0] }),
            // Queries and teacher keys must have one width.
            ("predictorDims", { $0.predictorDims = [48, 8] }),
            ("ibotPrototypes", { $0.ibotPrototypes = 0 }),
            ("ibotWeight", { $0.ibotWeight = -1 }),
            ("maskedPatchFraction", { $0.maskedPatchFraction = 2 }),
            ("gradientClip", { $0.gradientClip = 0 }),
            ("mean", { $0.mean = [0.5, 0.5, 0.5] }),
            ("std", { $0.std = [0] }),
            ("checkpointEvery", { $0.checkpointEvery = -1 }),
            ("logEvery", { $0.logEvery = 0 }),
            ("model.heads", { $0.model.heads = 0 }),
            ("model.width", { $0.model.width = 33 }),
            ("model.imageSize", { $0.model.imageSize = 18 }),
            ("model.channels", { $0.model.channels = 0 }),
            ("model.depth", { $0.model.depth = 0 }),
        ]
        for (name, change) in cases {
            var c = tinyConfig(.synclr)
            change(&c)
            let e = parameterError { try c.validate() }
            #expect(e?.parameter == name, "\(name): \(String(describing: e))")
            let viaTrainer = parameterError { _ = try Trainer(config: c, data: tinySet(groups: 4, perGroup: 2)) }
            #expect(viaTrainer?.parameter == name, "\(name) through Trainer: \(String(describing: viaTrainer))")
        }
        #expect(throws: Never.self) { try tinyConfig(.synclr).validate() }
        for preset in ViTConfig.presets.values { #expect(throws: Never.self) { try preset.validate() } }
    }

    @Test func augmentationOptionsAreNamedAndRangeChecked() throws {
        var pico = ViTConfig.vitPico32
        pico.channels = 1
        var c = TrainConfig(model: pico, objective: .synclr, steps: 1)
        var e = parameterError { try c.setAugmentation(named: "strong", globalScale: 0.32) }
        #expect(e?.parameter == "augmentation" && "\(e!)".contains("crop-flip"), "\(String(describing: e))")
        c.globalCropScale = 0
        e = parameterError { try c.validate() }
        #expect(e?.parameter == "globalCropScale", "\(String(describing: e))")
        // The paper's defaults stay nil, so configurations (and their hashes) from before these options are unchanged.
        try c.setAugmentation(named: "byol", globalScale: 0.32)
        #expect(c.augmentation == nil && c.globalCropScale == nil)
        #expect(c.globalAugmentation == CropAugmentation.global(size: 32))
        try c.setAugmentation(named: "crop-flip", globalScale: 0.5)
        #expect(c.globalAugmentation.scale == 0.5...1 && c.globalAugmentation.jitterProbability == 0 && c.globalAugmentation.solarize == 0)
        #expect(c.localAugmentation.blur == 0 && c.localAugmentation.flip == 0.5 && c.localAugmentation.scale == 0.08...0.32)
    }

    @Test func randomBackboneAndModelCardsAreChecked() {
        let card = ModelCard(imageSize: 32, channels: 0, patchSize: 4, width: 32, depth: 1, heads: 2, mlpRatio: 4,
                             mean: [], std: [], objective: "random")
        let e = parameterError { _ = try randomBackbone(card) }
        #expect(e?.parameter == "channels", "\(String(describing: e))")
    }
}

@Suite struct DataLimitTests {
    /// `--limit` takes the first images of a manifest (it was once ignored for generated folders) and an
    /// image folder, ordered by class, refuses one instead of silently dropping classes.
    @Test func limitTakesAManifestPrefixAndAFolderRefusesIt() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("synclr-limit-\(getpid())")
        defer { try? fm.removeItem(at: dir) }
        try fm.createDirectory(at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        var lines: [String] = []
        for i in 0..<6 {
            let pixels = [UInt8](repeating: UInt8(i * 40), count: 16)
            try ImageIO.write(ByteImage(width: 4, height: 4, channels: 1, pixels: pixels), to: dir.appendingPathComponent("images/\(i).png"))
            lines.append(#"{"path":"images/\#(i).png","caption_id":\#(i / 2),"caption":"c\#(i / 2)","index":\#(i % 2),"seed":\#(i),"#
                + #""guidance":2.5,"steps":25,"model":"m","concept":"\#(i < 4 ? "shirt" : "bag")","format_version":1}"#)
        }
        try lines.joined(separator: "\n").appending("\n").write(to: dir.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        let source = DataSource(dir.path)
        #expect(try source.load(channels: 1, size: 4).count == 6)
        let first = try source.load(channels: 1, size: 4, limit: 3)
        #expect(first.count == 3 && first.groups == [0, 0, 1] && first.classNames == ["shirt"])
        #expect(first.images[2].pixels == (try source.load(channels: 1, size: 4)).images[2].pixels)
        let folder = dir.appendingPathComponent("folder/a")
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        try ImageIO.write(ByteImage(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 1, count: 16)),
                          to: folder.appendingPathComponent("0.png"))
        let folderSource = DataSource(dir.appendingPathComponent("folder").path)
        #expect(throws: ParameterError.self) { _ = try folderSource.load(channels: 1, size: 4, limit: 1) }
        #expect(try folderSource.load(channels: 1, size: 4).count == 1)
    }
}

@Suite struct ImageFolderContainmentTests {
    @Test func linksLeadingOutOfTheFolderAreRefused() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("synclr-contain-\(getpid())")
        defer { try? fm.removeItem(at: base) }
        let root = base.appendingPathComponent("data"), outside = base.appendingPathComponent("secret")
        for d in [root.appendingPathComponent("a"), root.appendingPathComponent("b"), outside] {
            try fm.createDirectory(at: d, withIntermediateDirectories: true)
        }
        let image = ByteImage(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 9, count: 16))
        try ImageIO.write(image, to: root.appendingPathComponent("a/0.png"))
        try ImageIO.write(image, to: root.appendingPathComponent("b/0.png"))
        try ImageIO.write(image, to: outside.appendingPathComponent("x.png"))
        // A link inside the tree is fine.
        try fm.createSymbolicLink(at: root.appendingPathComponent("b/1.png"), withDestinationURL: root.appendingPathComponent("a/0.png"))
        #expect(try ImageFolder.load(root, channels: 1, size: 4).count == 3)
        // A file link and a class-folder link out of it are not.
        try fm.createSymbolicLink(at: root.appendingPathComponent("a/2.png"), withDestinationURL: outside.appendingPathComponent("x.png"))
        let text = String(describing: errorOf { _ = try ImageFolder.load(root, channels: 1, size: 4) })
        #expect(text.contains("a/2.png") && text.contains("outside the dataset folder"), "\(text)")
        try fm.removeItem(at: root.appendingPathComponent("a/2.png"))
        // A linked class folder is not a folder of the tree: it is skipped, its files are never read.
        try fm.createSymbolicLink(at: root.appendingPathComponent("c"), withDestinationURL: outside)
        let set = try ImageFolder.load(root, channels: 1, size: 4)
        #expect(set.count == 3 && set.classNames == ["a", "b"] && !set.sources.contains { $0.contains("x.png") })
    }

    func errorOf(_ body: () throws -> Void) -> Error? {
        do { try body() } catch { return error }
        return nil
    }
}

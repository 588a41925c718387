import Foundation
import Testing
@testable import SynRep
import SynTensor
import SynTestSupport

/// `.pth` backbones from Fixtures/torch_backbone (written by Scripts/fixtures/fixtures_torch_backbone.py
/// with PyTorch and timm): the same weights as a plain state dict, in the layout of the paper's
/// released checkpoints and as this project's safetensors export, plus a training checkpoint
/// with a student and a teacher.
struct TorchBackboneTests {
    static func url(_ name: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/torch_backbone") else {
            preconditionFailure("missing fixture Fixtures/torch_backbone/\(name) (run Scripts/fixtures/fixtures_torch_backbone.py)")
        }
        return url
    }

    static let expected: [String: Tensor] = {
        do { return try SafetensorsFile(url: url("expected.safetensors")).loadAll() } catch {
            preconditionFailure("cannot read Fixtures/torch_backbone/expected.safetensors: \(error)")
        }
    }()

    /// Timm's float32 features are matched to float32 rounding across two blocks.
    let timmTolerance = Tolerance(atol: 2e-5, rtol: 1e-4)

    func features(_ backbone: LoadedBackbone) throws -> Tensor {
        let inputs = try #require(Self.expected["inputs"])
        return withNoGrad { backbone.model(inputs) }
    }

    @Test func plainStateDictLoadsTheSameBackboneAsItsSafetensorsExport() throws {
        let load = try loadTorchBackbone(Self.url("vit.pth"))
        let exported = try loadBackbone(Self.url("vit.safetensors"))
        #expect(load.prefix == "")
        #expect(load.config == ViTConfig(imageSize: 28, patchSize: 7, channels: 1, width: 64, depth: 2, heads: 1, mlpRatio: 2))
        #expect(load.headsSource.contains("64-dim"))
        #expect(load.unused == ["head.bias", "head.weight"])
        #expect(load.missing == ["mask_token"])
        let a = load.backbone.model.stateDict(), b = exported.model.stateDict()
        #expect(a.keys.sorted() == b.keys.sorted())
        for (key, tensor) in a { #expect(tensor.scalars == b[key]?.scalars, "\(key) differs") }
        let card = load.backbone.card, other = exported.card
        let sizes: [Int] = [card.imageSize, card.channels, card.patchSize, card.width, card.depth, card.heads, card.mlpRatio]
        let otherSizes: [Int] = [other.imageSize, other.channels, other.patchSize, other.width, other.depth, other.heads, other.mlpRatio]
        #expect(sizes == otherSizes)
        #expect(card.mean == other.mean && card.std == other.std)
        let f = try features(load.backbone)
        #expect(f.scalars == (try features(exported)).scalars)
        report("torch-backbone/plain", expectClose(f, try #require(Self.expected["features"]), timmTolerance, "vit.pth features vs timm"))
    }

    @Test func releasedSynCLRLayoutLoadsTheSameBackbone() throws {
        let load = try loadTorchBackbone(Self.url("synclr_release.pth"))
        let plain = try loadTorchBackbone(Self.url("vit.pth"))
        #expect(load.prefix == "module.visual.")
        #expect(load.unused.isEmpty)
        #expect(load.config == plain.config)
        let a = load.backbone.model.stateDict(), b = plain.backbone.model.stateDict()
        for (key, tensor) in a { #expect(tensor.scalars == b[key]?.scalars, "\(key) differs") }
        #expect(try features(load.backbone).scalars == (try features(plain.backbone)).scalars)
    }

    @Test func trainingCheckpointGivesTheTeacherByDefaultAndTheStudentOnRequest() throws {
        let url = Self.url("synclr_train.pth")
        let teacher = try loadTorchBackbone(url)
        #expect(teacher.prefix == "module.teacher.backbone.")
        #expect(teacher.selection.contains("teacher") && teacher.selection.contains("module.student.backbone."))
        #expect(teacher.missing.isEmpty)  // SynCLR's backbone carries iBOT's mask token
        #expect(teacher.unused.contains("module.student.backbone.cls_token") && teacher.unused.contains("module.teacher.proj.0.weight"))
        #expect(!teacher.unused.contains { $0.hasPrefix("module.teacher.backbone.") })
        report("torch-backbone/teacher", expectClose(try features(teacher.backbone), try #require(Self.expected["teacher"]), timmTolerance, "teacher features vs timm"))

        let student = try loadTorchBackbone(url, options: TorchBackboneOptions(branch: .student))
        #expect(student.prefix == "module.student.backbone.")
        report("torch-backbone/student", expectClose(try features(student.backbone), try #require(Self.expected["student"]), timmTolerance, "student features vs timm"))
        // The two networks differ, so picking the wrong one would fail the comparisons above.
        #expect(try features(teacher.backbone).scalars != (try features(student.backbone)).scalars)

        let summary = teacher.summary.joined(separator: "\n")
        #expect(summary.contains("module.student.backbone.* (31)") && summary.contains("module.student.proj.* (4)"))
    }

    @Test func loadBackboneRecognizesEitherFormat() throws {
        var notes: [String] = []
        let fromTorch = try loadBackbone(Self.url("vit.pth"), torchOptions: .init()) { notes.append($0) }
        let fromSafetensors = try loadBackbone(Self.url("vit.safetensors"), torchOptions: .init()) { notes.append("unexpected: " + $0) }
        #expect(fromTorch.card.objective == "pytorch" && fromSafetensors.card.objective == "timm")
        #expect(notes.count == 5 && notes.contains("unused: 2 tensors: head.bias, head.weight"))
    }

    @Test func brokenFilesNameTheFileAndTensor() throws {
        let options = TorchBackboneOptions(heads: 2)
        let missing = Self.url("broken_missing.pth")
        #expect(throws: TorchBackboneError.missingTensor(path: missing.path, tensor: "norm.weight")) {
            try loadTorchBackbone(missing, options: options)
        }
        let shape = Self.url("broken_shape.pth")
        #expect(throws: TorchBackboneError.shapeMismatch(path: shape.path, tensor: "blocks.0.mlp.fc2.weight", expected: [8, 16], found: [16, 8])) {
            try loadTorchBackbone(shape, options: options)
        }
        let layerScale = Self.url("broken_layerscale.pth")
        #expect(throws: TorchBackboneError.unsupportedTensor(path: layerScale.path, tensor: "blocks.0.ls1.gamma")) {
            try loadTorchBackbone(layerScale, options: options)
        }
        // Width 8 has no 64-dim-head reading: without heads the error says so.
        do {
            _ = try loadTorchBackbone(missing)
            Issue.record("expected an error")
        } catch let error as TorchBackboneError {
            #expect(error.description.hasPrefix(missing.path) && error.description.contains("attention heads"))
        }
        #expect(throws: TorchBackboneError.self) { try loadTorchBackbone(Self.url("synclr_release.pth"), options: TorchBackboneOptions(branch: .student)) }
        #expect(throws: TorchBackboneError.self) { try loadTorchBackbone(Self.url("vit.pth"), options: TorchBackboneOptions(architecture: .vitNano32)) }
        #expect(throws: TorchBackboneError.self) { try loadTorchBackbone(Self.url("vit.pth"), options: TorchBackboneOptions(mean: [0.5, 0.5], std: [1, 1])) }
    }

    /// ViT-B/16 and ViT-L/14 as the paper releases them: sizes from shapes, heads by the 64-dim rule.
    @Test func inferConfigFollowsTimmShapes() throws {
        func shapes(width: Int, depth: Int, patch: Int, image: Int) -> [String: [Int]] {
            var s: [String: [Int]] = ["patch_embed.proj.weight": [width, 3, patch, patch], "cls_token": [1, 1, width],
                                      "pos_embed": [1, 1 + (image / patch) * (image / patch), width]]
            for i in 0..<depth {
                s["blocks.\(i).mlp.fc1.weight"] = [4 * width, width]
                s["blocks.\(i).attn.qkv.bias"] = [3 * width]
            }
            return s
        }
        let (b16, _) = try TorchBackboneLayout.inferConfig(shapes: shapes(width: 768, depth: 12, patch: 16, image: 224), options: .init(), path: "b", prefix: "")
        #expect(b16 == ViTConfig(imageSize: 224, patchSize: 16, width: 768, depth: 12, heads: 12))
        let (l14, _) = try TorchBackboneLayout.inferConfig(shapes: shapes(width: 1024, depth: 24, patch: 14, image: 224), options: .init(), path: "l", prefix: "")
        #expect(l14 == ViTConfig(imageSize: 224, patchSize: 14, width: 1024, depth: 24, heads: 16))
        let (preset, source) = try TorchBackboneLayout.inferConfig(shapes: shapes(width: 384, depth: 12, patch: 16, image: 224),
                                                                   options: .init(architecture: .vitS16), path: "s", prefix: "")
        #expect(preset.heads == 6 && source.contains("architecture"))
        var gap = shapes(width: 64, depth: 3, patch: 4, image: 16)
        gap["blocks.1.mlp.fc1.weight"] = nil
        gap["blocks.1.attn.qkv.bias"] = nil
        #expect(throws: TorchBackboneError.missingTensor(path: "g", tensor: "m.blocks.1.attn.qkv.weight")) {
            try TorchBackboneLayout.inferConfig(shapes: gap, options: .init(), path: "g", prefix: "m.")
        }
    }

    /// Prefix choice across the layouts of SynCLR (released and training), DINO and plain timm.
    @Test func choosePrefixPicksTheRequestedNetwork() throws {
        let anchor = TorchBackboneLayout.anchor
        let dino = ["student.module.backbone." + anchor, "teacher.backbone." + anchor, "student.module.head.last_layer.weight"]
        #expect(try TorchBackboneLayout.choosePrefix(keys: dino, options: .init(), path: "d").0 == "teacher.backbone.")
        #expect(try TorchBackboneLayout.choosePrefix(keys: dino, options: .init(branch: .student), path: "d").0 == "student.module.backbone.")
        #expect(try TorchBackboneLayout.choosePrefix(keys: dino, options: .init(prefix: "teacher.backbone"), path: "d").0 == "teacher.backbone.")
        let two = ["a." + anchor, "b." + anchor]
        #expect(throws: TorchBackboneError.ambiguous(path: "t", candidates: ["a.", "b."])) {
            try TorchBackboneLayout.choosePrefix(keys: two, options: .init(), path: "t")
        }
        #expect(throws: TorchBackboneError.self) { try TorchBackboneLayout.choosePrefix(keys: ["fc.weight"], options: .init(), path: "r") }
        // A key merely ending in the anchor's text is not a backbone.
        #expect(TorchBackboneLayout.prefixes(in: ["xpatch_embed.proj.weight", anchor]) == [""])
    }
}

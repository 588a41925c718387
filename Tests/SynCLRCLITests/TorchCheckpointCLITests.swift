import Foundation
import Testing
import SynTensor

/// `synclr eval` / `synclr embed` on PyTorch checkpoints (fixtures of Scripts/fixtures/fixtures_torch_backbone.py,
/// kept with the SynRep tests): a `.pth` scores exactly as its safetensors export.
@Suite(.serialized) struct TorchCheckpointCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SynRepTests/Fixtures/torch_backbone")

    /// The JSON report of a small evaluation (300 class-balanced training images, the 10,000 test images).
    func evaluate(_ checkpoint: String, _ extra: [String] = []) throws -> (report: [String: Double], log: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-eval-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let path = Self.fixtures.appendingPathComponent(checkpoint).path
        let (status, log) = try runSynclr(["eval", "--checkpoint", path, "--train-limit", "300", "--probe-grid", "3", "--out", out.path] + extra)
        #expect(status == 0, "eval \(checkpoint) failed:\n\(log)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any] ?? [:]
        return (object.compactMapValues { $0 as? Double }, log)
    }

    @Test func pthEvaluatesToTheAccuracyOfItsSafetensorsExport() throws {
        let exported = try evaluate("vit.safetensors").report
        let keys = ["knn_top1", "linear_top1", "linear_mean_per_class"]
        for key in keys { #expect(exported[key] != nil, "no \(key) in the report") }
        // Well above chance (10%): the comparison is not between two degenerate models.
        #expect((exported["knn_top1"] ?? 0) > 30)
        let (plain, log) = try evaluate("vit.pth")
        let (release, releaseLog) = try evaluate("synclr_release.pth")
        for key in keys {
            #expect(plain[key] == exported[key], "\(key): vit.pth \(plain[key] ?? -1) vs safetensors \(exported[key] ?? -1)")
            #expect(release[key] == exported[key], "\(key): synclr_release.pth \(release[key] ?? -1) vs safetensors \(exported[key] ?? -1)")
        }
        #expect(log.contains("unused: 2 tensors: head.bias, head.weight"), "\(log)")
        #expect(log.contains("missing (zero-filled, unused for features): mask_token"), "\(log)")
        #expect(releaseLog.contains("keys under 'module.visual.'"), "\(releaseLog)")
    }

    @Test func branchChoosesTheNetworkOfATrainingCheckpoint() throws {
        let (teacher, teacherLog) = try evaluate("synclr_train.pth")
        let (student, studentLog) = try evaluate("synclr_train.pth", ["--branch", "student"])
        #expect(teacherLog.contains("keys under 'module.teacher.backbone.' (the teacher network, by default"), "\(teacherLog)")
        #expect(studentLog.contains("keys under 'module.student.backbone.' (the student network, as requested)"), "\(studentLog)")
        #expect(teacherLog.contains("unused: 39 tensors: module.student.backbone.* (31)"), "\(teacherLog)")
        #expect(teacher["knn_top1"] != nil && student["knn_top1"] != nil)
    }

    @Test func embedWritesTheFeaturesOfAPth() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-embed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var features: [Tensor] = []
        for name in ["vit.pth", "vit.safetensors"] {
            let out = dir.appendingPathComponent(name + ".features.safetensors")
            let (status, log) = try runSynclr(["embed", "--checkpoint", Self.fixtures.appendingPathComponent(name).path,
                                               "--images", "fashion-mnist:test", "--out", out.path])
            #expect(status == 0, "embed \(name) failed:\n\(log)")
            features.append(try SafetensorsFile(url: out).tensor("features"))
        }
        #expect(features[0].shape == [10_000, 64])
        #expect(features[0].scalars == features[1].scalars)
    }

    @Test func brokenCheckpointFailsNamingTheFileAndTensor() throws {
        let missing = Self.fixtures.appendingPathComponent("broken_missing.pth").path
        let (status, log) = try runSynclr(["eval", "--checkpoint", missing, "--heads", "2"])
        #expect(status != 0)
        #expect(log.contains(missing) && log.contains("'norm.weight' is missing"), "\(log)")
        let (noHeads, noHeadsLog) = try runSynclr(["eval", "--checkpoint", missing])
        #expect(noHeads != 0 && noHeadsLog.contains("attention heads"), "\(noHeadsLog)")
        let plain = Self.fixtures.appendingPathComponent("vit.pth").path
        let (wrongModel, wrongModelLog) = try runSynclr(["eval", "--checkpoint", plain, "--model", "vit-nano32"])
        #expect(wrongModel != 0 && wrongModelLog.contains("does not match the tensor shapes"), "\(wrongModelLog)")
    }
}

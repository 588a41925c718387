import Foundation
import Testing

/// `synclr train` refuses out-of-range values naming the flag the user typed (not the library's
/// field name) and the allowed range, before any training starts.
@Suite struct TrainFlagErrorTests {
    @Test func outOfRangeTrainingValuesNameTheirFlags() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-trainflags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let captions = root.appendingPathComponent("captions.jsonl"), images = root.appendingPathComponent("images")
        let c = try runSynclr(["captions", "--backend", "template", "--count", "4", "--out", captions.path])
        #expect(c.status == 0, "captions failed:\n\(c.output)")
        let i = try runSynclr(["images", "--captions", captions.path, "--out", images.path, "--per-caption", "2", "--steps", "2"])
        #expect(i.status == 0, "images failed:\n\(i.output)")
        let cases: [([String], String)] = [
            (["--masked-image-fraction", "1.5"], "--masked-image-fraction 1.5 is invalid: must be in [0, 1]"),
            (["--masked-patch-fraction", "nan"], "--masked-patch-fraction nan is invalid: must be in [0, 1]"),
            (["--lr", "0"], "--lr 0.0 is invalid: must be finite and > 0"),
            (["--ibot-weight=-2"], "--ibot-weight -2.0 is invalid"),
            (["--prototypes", "0"], "--prototypes 0 is invalid"),
            (["--weight-decay=-1"], "--weight-decay -1.0 is invalid: must be finite and >= 0"),
            (["--final-weight-decay", "inf"], "--final-weight-decay inf is invalid: must be finite and >= 0"),
            (["--temperature", "0"], "--temperature 0.0 is invalid: must be finite and > 0"),
        ]
        for (flags, expected) in cases {
            let out = root.appendingPathComponent("run")
            let r = try runSynclr(["train", "--data", images.path, "--out", out.path, "--steps", "2", "--batch-captions", "2",
                                   "--images-per-caption", "2"] + flags)
            #expect(r.status != 0, "\(flags) was accepted:\n\(r.output)")
            #expect(r.output.contains(expected), "\(flags): \(r.output)")
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path), "\(flags) trained a model")
        }
    }
}

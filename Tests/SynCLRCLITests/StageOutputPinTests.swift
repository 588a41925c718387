import Foundation
import Testing
import SynTensor

/// Pins the bytes the stages write on a tiny configuration, so a refactoring cannot silently
/// change them. Fixtures/stage-outputs holds `captions.jsonl` and `images/manifest.jsonl` as the
/// release before `format_version` wrote them; the only allowed difference is that field, which
/// every line now ends with (`,"format_version":1}`), and the test removes exactly that before
/// comparing. The trained `model.safetensors` and the PNGs come out of BLAS arithmetic, whose bits
/// depend on the CPU's OpenBLAS kernel: their fingerprints are checked on machines whose GEMM gives
/// the reference bits (a fixed product, `gemmFingerprint`), and skipped with a note elsewhere.
@Suite(.serialized) struct StageOutputPinTests {
    /// The integration test's tiny configuration (template captions: no model-dependent text).
    let tinyConfig = """
        {"captions": {"count": 24, "backend": "template"},
         "images": {"steps": 6, "perCaption": 2},
         "train": {"steps": 6, "batchCaptions": 3, "imagesPerCaption": 2, "prototypes": 32, "localCrops": 2, "warmup": 2},
         "eval": {"trainLimit": 600, "probeGrid": 3, "baselines": ["raw-pixels"]}}
        """

    /// FNV-1a 64 of the GEMM of two fixed Philox matrices on this machine (reference machine's value below).
    static let referenceGEMM = "7b4aae919e7a1cde"
    /// FNV-1a 64 of train/model.safetensors and of all PNGs (in path order) on the reference machine.
    /// They changed once, on purpose, when the UNet's convolutions moved from im2col + GEMM to the
    /// direct kernel (different summation order, so different last bits of every image), and again
    /// when GroupNorm + SiLU became one fused kernel (16-lane sums for the group statistics); the
    /// model's changed when attention became the tiled kernel and GELU a vector kernel (and once more
    /// when the three C kernels came to share one vector exp); the
    /// captions and manifest, compared byte for byte above, did not change.
    static let referenceModel = "5355484e7847192b"
    static let referenceImages = "b8fd29d25f166ceb"

    static func fingerprint(_ data: Data) -> String {
        var h = FNV1a()
        for b in data { h.combine(byte: b) }
        return h.hex
    }

    static func gemmFingerprint() -> String {
        var g = RandomGenerator(seed: 12)
        let a = Tensor.randn([96, 160], generator: &g), b = Tensor.randn([160, 72], generator: &g)
        let c = a.matmul(b).contiguous()
        return fingerprint(c.scalars.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    /// `data` with `,"format_version":1` removed from the end of every line; nil unless every line has it.
    static func withoutVersion(_ data: Data) -> Data? {
        let text = String(decoding: data, as: UTF8.self)
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { continue }
            guard line.hasSuffix(#","format_version":1}"#) else { return nil }
            out += line.dropLast(#","format_version":1}"#.count) + "}\n"
        }
        return Data(out.utf8)
    }

    @Test func tinyPipelineWritesThePinnedBytes() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("synclr-pin-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let config = root.appendingPathComponent("tiny.json")
        try Data(tinyConfig.utf8).write(to: config)
        let run = root.appendingPathComponent("run")
        let r = try runSynclr(["pipeline", "--config", config.path, "--out", run.path])
        try #require(r.status == 0, "pipeline failed:\n\(r.output)")

        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/stage-outputs")
        for (written, expected) in [("captions.jsonl", "captions.jsonl"), ("images/manifest.jsonl", "manifest.jsonl")] {
            let data = try Data(contentsOf: run.appendingPathComponent(written))
            let stripped = try #require(Self.withoutVersion(data), "\(written): a line lacks the trailing format_version")
            #expect(stripped == (try Data(contentsOf: fixtures.appendingPathComponent(expected))), "\(written) differs from Fixtures/stage-outputs/\(expected)")
        }

        let gemm = Self.gemmFingerprint()
        let model = Self.fingerprint(try Data(contentsOf: run.appendingPathComponent("train/model.safetensors")))
        var pngs = Data()
        let images = run.appendingPathComponent("images")
        for p in (fm.subpaths(atPath: images.path) ?? []).filter({ $0.hasSuffix(".png") }).sorted() {
            pngs.append(try Data(contentsOf: images.appendingPathComponent(p)))
        }
        let imageHash = Self.fingerprint(pngs)
        guard gemm == Self.referenceGEMM else {
            print("StageOutputPinTests: this machine's GEMM bits (\(gemm)) differ from the reference machine's (\(Self.referenceGEMM)); "
                  + "model \(model) and images \(imageHash) are not compared")
            return
        }
        #expect(model == Self.referenceModel, "train/model.safetensors fingerprint \(model)")
        #expect(imageHash == Self.referenceImages, "images fingerprint \(imageHash)")
    }
}

import Foundation
import Testing
@testable import SynTensor

// Fixtures: Scripts/fixtures/fixtures_pth.py (torch 2.13.0+cpu) -> Tests/SynTensorTests/Fixtures/pth/.

/// URL of fixture `Fixtures/pth/<name>`.
private func pth(_ name: String) throws -> URL {
    let stem = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
    guard let url = Bundle.module.url(forResource: stem, withExtension: ext, subdirectory: "Fixtures/pth") else {
        throw PthFixtureMissing(name: name)
    }
    return url
}

private struct PthFixtureMissing: Error, CustomStringConvertible {
    let name: String
    var description: String { "fixture pth/\(name) not found in Bundle.module" }
}

/// Expected tensors of `group` ("timm" or "dtypes"): dense Float32 written by torch (`t.float()`).
private func expected(_ group: String) throws -> [String: Tensor] {
    let all = try SafetensorsFile(url: try pth("expected.safetensors")).loadAll()
    return TorchCheckpoint.selecting(prefix: group + "/", from: all)
}

/// Checks `tensors` holds exactly the expected names, shapes and values (bit for bit, NaN = NaN).
private func expectMatches(_ tensors: [String: Tensor], _ want: [String: Tensor],
                           sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(tensors.keys.sorted() == want.keys.sorted(), sourceLocation: sourceLocation)
    for (name, w) in want {
        guard let t = tensors[name] else { continue }
        #expect(t.shape == w.shape, "\(name)", sourceLocation: sourceLocation)
        #expect(bitwiseEqual(t.scalars, w.scalars), "\(name): \(t) vs \(w)", sourceLocation: sourceLocation)
    }
}

@Suite struct TorchCheckpointTests {
    @Test(arguments: ["timm_plain.pth", "timm_model.pth", "timm_protocol4.pth", "timm_deflated.pth", "timm_zip64.pth"])
    func timmStateDictLoadsInEveryWrapping(_ name: String) throws {
        expectMatches(try TorchCheckpoint.load(try pth(name)), try expected("timm"))
    }

    @Test func archiveFolderNameVaries() throws {
        #expect(try TorchCheckpoint(contentsOf: try pth("timm_plain.pth")).archiveName == "timm_plain")
        #expect(try TorchCheckpoint(contentsOf: try pth("timm_model.pth")).archiveName == "archive")
    }

    @Test func stateDictUnderModuleVisualPrefix() throws {
        let url = try pth("timm_state_dict_module_visual.pth")
        let raw = try TorchCheckpoint.load(url)
        #expect(raw.keys.allSatisfy { $0.hasPrefix("module.visual.") })
        expectMatches(TorchCheckpoint.strippingPrefixes(raw), try expected("timm"))
        expectMatches(TorchCheckpoint.selecting(prefix: "module.visual.", from: raw), try expected("timm"))
        #expect(try TorchCheckpoint(contentsOf: url).root["epoch"] == .int(7))
    }

    @Test func dtypesViewsAndSpecialValues() throws {
        let tensors = try TorchCheckpoint.load(try pth("dtypes.pth"))
        expectMatches(tensors, try expected("dtypes"))
        let t = try #require(tensors["transposed"])
        #expect(t.shape == [4, 3] && t.strides == [1, 4] && !t.isContiguous)
        let n = try #require(tensors["narrowed"])
        #expect(n.layout.offset == 5 && n.strides == [4, 1])
        #expect(try #require(tensors["expanded"]).strides == [0, 1])
        let q = try #require(tensors["q"]), v = try #require(tensors["v"])
        #expect(q.storage === v.storage && v.layout.offset == 16)
        #expect(try #require(tensors["scalar"]).shape == [])
        #expect(try #require(tensors["empty"]).shape == [0, 3])
    }

    @Test func metadataIsReadableAndSkippedByStateDict() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: try pth("with_metadata.pth"))
        expectMatches(try checkpoint.stateDict(), try expected("timm"))
        let root = checkpoint.root
        #expect(root["epoch"] == .int(3))
        #expect(root["best_acc"]?.doubleValue == 71.25)
        #expect(root["nothing"] == TorchValue.none)
        #expect(root["scaler"]?["scale"]?.doubleValue == 65536)
        #expect(root["big"] == .bigInt("1180591620717411303424"))
        let args = try #require(root["args"])
        guard case let .object(type, _) = args else { Issue.record("args is \(args)"); return }
        #expect(type == "argparse.Namespace")
        #expect(args["lr"] == .float(1.5e-3))
        #expect(args["model"]?.stringValue == "vit_tiny")
        #expect(args["epochs"]?.intValue == 100)
        #expect(args["use_ema"] == .bool(true))
        #expect(args["crop_scale"] == .tuple([.float(0.32), .float(1.0)]))
        #expect(args["gpus"] == .list([.int(0), .int(1)]))
        #expect(args["resume"] == TorchValue.none)
        #expect(args["tag"] == .bytes([0, 255] + Array("raw".utf8)))
        // The optimizer's tensors are reachable through `root` but not part of the state dict.
        let optimizer = try checkpoint.tensors(in: try #require(root["optimizer"]))
        #expect(optimizer.keys.sorted() == ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step",
                                            "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.step"])
        #expect(optimizer["state.0.step"]?.item() == 1)
        guard case let .list(groups)? = root["optimizer"]?["param_groups"], let group = groups.first else {
            Issue.record("no param_groups"); return
        }
        #expect(group["betas"] == .tuple([.float(0.9), .float(0.95)]) && group["params"] == .list([.int(0), .int(1)]))
    }

    @Test func nestedDictsFlattenWithDots() throws {
        let tensors = try TorchCheckpoint.load(try pth("nested_teacher.pth"))
        #expect(tensors["teacher.head.last_layer.weight"]?.shape == [2, 2])
        expectMatches(TorchCheckpoint.selecting(prefix: "teacher.backbone.", from: tensors), try expected("timm"))
    }

    @Test func prefixStrippingRule() {
        let x = Tensor([1])
        let wrapped = ["module.visual.cls_token": x, "module.visual.norm.weight": x]
        #expect(TorchCheckpoint.strippingPrefixes(wrapped).keys.sorted() == ["cls_token", "norm.weight"])
        let mixed = ["module.visual.norm.weight": x, "module.logit_scale": x]
        #expect(TorchCheckpoint.strippingPrefixes(mixed).keys.sorted() == ["logit_scale", "visual.norm.weight"])
        let plain = ["backbone.x": x, "head.y": x]
        #expect(TorchCheckpoint.strippingPrefixes(plain).keys.sorted() == ["backbone.x", "head.y"])
        #expect(TorchCheckpoint.selecting(prefix: "backbone.", from: plain).keys.sorted() == ["x"])
    }

    /// A module holding only the final `norm` of the tiny ViT.
    final class FinalNorm: Module {
        let norm = LayerNorm(8, eps: 1e-6)
        override var children: [(String, Module)] { [("norm", norm)] }
    }

    @Test func moduleLoadsFromCheckpoint() throws {
        let url = try pth("timm_state_dict_module_visual.pth")
        let module = FinalNorm()
        let report = try module.loadTorchCheckpoint(url, strict: false)
        #expect(report.missing.isEmpty && report.unexpected.count == 16)
        let want = try expected("timm")
        #expect(bitwiseEqual(try #require(module.norm.weight).value.scalars, try #require(want["norm.weight"]).scalars))
        let error = #expect(throws: StateDictError.self) { try FinalNorm().loadTorchCheckpoint(url) }
        #expect(error.map { String(describing: $0).contains(url.path) } == true)
        let only = try FinalNorm().loadTorchCheckpoint(url, strict: false, prefix: "module.visual.norm.")
        #expect(only.unexpected == ["bias", "weight"] && only.missing == ["norm.weight", "norm.bias"])
    }

    // MARK: - Malicious and malformed files

    @Test(arguments: [
        ("evil_os_system.pth", "/tmp/synclr_pth_pwned_system", "posix.system"),
        ("evil_builtins_eval.pth", "/tmp/synclr_pth_pwned_eval", "builtins.eval"),
        ("evil_inst.pth", "/tmp/synclr_pth_pwned_inst", "INST"),
    ])
    func maliciousPicklesNeverRun(_ name: String, _ marker: String, _ offender: String) throws {
        try? FileManager.default.removeItem(atPath: marker)
        let url = try pth(name)
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint.load(url) }
        let text = error.map(String.init(describing:)) ?? ""
        #expect(text.contains(url.path) && text.contains(offender), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func rejectionsNameTheProblem() throws {
        func failure(_ name: String) throws -> TorchCheckpointError? {
            let url = try pth(name)
            let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint.load(url) }
            if let error { #expect(error.description.hasPrefix(url.path + ": "), "\(error)") }
            return error
        }
        let plain = try pth("timm_plain.pth").path
        #expect(try failure("unknown_opcode.pth").map { if case .unsupportedOpcode(_, 0xEE, _) = $0 { true } else { false } } == true)
        #expect(try failure("forbidden_torch_global.pth").map { if case .forbiddenGlobal(_, "torch.load", _) = $0 { true } else { false } } == true)
        #expect(try failure("truncated.pth").map { if case .truncated = $0 { true } else { false } } == true)
        #expect(try failure("missing_storage.pth").map { if case .missingEntry(_, "timm_plain/data/0") = $0 { true } else { false } } == true)
        #expect(try failure("bigendian.pth").map { if case .unsupportedByteOrder(_, "big") = $0 { true } else { false } } == true)
        #expect(try failure("crc_mismatch.pth").map { if case .corruptEntry(_, "timm_plain/data/1", _) = $0 { true } else { false } } == true)
        #expect(try failure("legacy_format.pth").map { if case .legacyFormat = $0 { true } else { false } } == true)
        #expect(try failure("not_a_checkpoint.pth").map { if case .notAZip = $0 { true } else { false } } == true)
        #expect(try failure("out_of_bounds_view.pth").map { if case .invalidTensor = $0 { true } else { false } } == true)
        #expect(try failure("short_storage.pth").map { if case .invalidTensor = $0 { true } else { false } } == true)
        #expect(try failure("no_stop.pth").map { if case .malformedPickle = $0 { true } else { false } } == true)
        let missing = URL(fileURLWithPath: plain + ".does-not-exist")
        #expect(throws: TorchCheckpointError.cannotOpen(path: missing.path, reason: "No such file or directory")) {
            try TorchCheckpoint.load(missing)
        }
    }
}

import ArgumentParser
import Foundation
import SynRep

/// Flags of `eval` and `embed` for reading a PyTorch `.pth` checkpoint (ignored for safetensors).
struct TorchCheckpointOptions: ParsableArguments {
    @Option(help: "For a .pth holding a student and a teacher (SynCLR, DINO): which one to load (teacher or student; default teacher).")
    var branch: String?
    @Option(help: "For a .pth: attention heads (default: from --model, else width / 64 as timm's ViT-S/B/L).") var heads: Int?
    @Option(help: "For a .pth: key prefix of the backbone (default: found from the keys, e.g. module.visual.).") var prefix: String?

    /// The library options, with `model` (a preset name) as the architecture.
    func options(model: String?) throws -> TorchBackboneOptions {
        var architecture: ViTConfig?
        if let model {
            guard let preset = ViTConfig.presets[model] else {
                throw ValidationError("unknown --model preset '\(model)' (known: \(ViTConfig.presets.keys.sorted().joined(separator: ", ")))")
            }
            architecture = preset
        }
        var side: TorchBackboneBranch?
        if let branch {
            guard let parsed = TorchBackboneBranch(rawValue: branch) else { throw ValidationError("--branch must be teacher or student, not '\(branch)'") }
            side = parsed
        }
        if let heads, heads <= 0 { throw ValidationError("--heads must be positive") }
        return TorchBackboneOptions(branch: side, prefix: prefix, architecture: architecture, heads: heads)
    }

    /// Writes one line of the checkpoint load's summary to standard error.
    static func log(_ line: String) {
        Output.note("checkpoint: \(line)")
    }
}

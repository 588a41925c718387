import Foundation

/// Every option of a `synclr pipeline` run, as one JSON document (presets fill it in; a config
/// file and `--set key=value` overrides are merged on top).
struct PipelineConfig: Codable, Equatable {
    /// Caption stage (SynCaption).
    struct Captions: Codable, Equatable {
        /// Concept lists, as `synclr captions --concepts`.
        var concepts = "fashion-mnist"
        /// Captions to write.
        var count = 200
        /// Text generator: native (SmolLM2), template or openai.
        var backend = "native"
        /// Server root for the openai backend (as `synclr captions --url`).
        var url: String?
        /// Language model: a GGUF file for native, a model name for openai (as `synclr captions --model`).
        var llmModel: String?
    }

    /// Image stage (SynDiffusion).
    struct Images: Codable, Equatable {
        /// Images per caption (SynCLR: 4).
        var perCaption = 4
        /// Classifier-free guidance scale (SynCLR's 2.5; the model's recommended rescale and interval apply, Docs/diffusion.md).
        var guidance: Float = 2.5
        /// Guidance rescale weight (`synclr images --guidance-rescale`); nil: the model's recommendation.
        var guidanceRescale: Float?
        /// Training timesteps [lo, hi] where guidance applies (`--guidance-interval`, [] for all steps);
        /// nil: the model's recommendation.
        var guidanceInterval: [Float]?
        /// Sampler steps.
        var steps = 50
        /// Sampler.
        var sampler = "ddim"
        /// UNet checkpoint, Stable Diffusion diffusers folder or single-file checkpoint (nil: the shipped Fashion-MNIST model).
        var model: String?
        /// Image side for a Stable Diffusion model (nil: its native size); training resizes to the ViT's input.
        var size: Int?
        /// For a single-file Stable Diffusion checkpoint: a diffusers folder with its configs.
        var modelConfig: String?
        /// Stable Diffusion only: the scheduler's prediction type (epsilon, v_prediction), overriding its config.
        var predictionType: String?
    }

    /// One representation-learning run and its evaluation.
    struct Run: Codable, Equatable {
        /// Name (folder and table row).
        var name: String
        /// `synthetic` (the pipeline's images) or a data spec such as `fashion-mnist`.
        var data = "synthetic"
        /// Objective.
        var objective = "synclr"
        /// How positives are grouped (caption, image, class); nil: the data's default.
        var groupBy: String?
        /// Use at most this many images (0: all).
        var limit = 0
    }

    /// Training options shared by every run (SynRep).
    struct Train: Codable, Equatable {
        /// ViT preset.
        var model = "vit-nano32"
        /// Optimizer steps per run.
        var steps = 300
        /// Captions per batch.
        var batchCaptions = 16
        /// Images per caption per batch.
        var imagesPerCaption = 4
        /// Local crops per image.
        var localCrops = 2
        /// Local crop size.
        var localSize = 16
        /// Peak learning rate.
        var lr: Float = 3e-4
        /// Warm-up steps.
        var warmup = 30
        /// iBOT prototypes.
        var prototypes = 256
        /// Contrastive temperature.
        var temperature: Float = 0.08
        /// Weight of the iBOT loss (0 disables masking).
        var ibotWeight: Float = 1
        /// Starting EMA momentum of the teacher.
        var emaMomentum: Float = 0.994
        /// Photometric augmentation: byol (the paper's), light or crop-flip.
        var augmentation = "byol"
        /// Smallest area fraction of a global crop.
        var globalScale: Float = 0.32
        /// ViT weight initialization: timm or moco-v3.
        var initialization = "timm"
        /// Checkpoint every N steps.
        var checkpointEvery = 100
    }

    /// Evaluation on real data.
    struct Eval: Codable, Equatable {
        /// Dataset spec.
        var dataset = "fashion-mnist"
        /// Class-balanced cap on training images for kNN memory and the probe (0: all).
        var trainLimit = 10000
        /// Baselines measured beside the runs: raw-pixels, random.
        var baselines = ["raw-pixels", "random"]
        /// Regularization values swept by the probe.
        var probeGrid = 8
    }

    /// Seed of every stage.
    var seed: UInt64 = 0
    /// Seeds of the training runs (several give mean and spread).
    var trainSeeds: [UInt64] = [0]
    var captions = Captions()
    var images = Images()
    var train = Train()
    var runs: [Run] = [Run(name: "synclr")]
    var eval = Eval()

    /// The README's main job: small enough for 15 minutes on 2 cores.
    static var demo: PipelineConfig {
        var c = PipelineConfig()
        c.captions.count = 120
        c.images.steps = 25
        // 240 steps left the loss at its collapsed start; 1800 is the most the 15-minute budget
        // affords and scored best on the held-out split (Docs/results.md, ablations).
        c.train.steps = 1800
        c.train.warmup = 90
        c.train.batchCaptions = 12
        c.eval.trainLimit = 10000
        return c
    }

    /// The measured experiment of Docs/results.md: six recipes, three seeds each (meant to
    /// fit 90 minutes on 2 quiet cores; not yet timed alone).
    static var paperSmall: PipelineConfig {
        var c = PipelineConfig()
        c.captions.count = 600
        c.images.steps = 25
        c.train.model = "vit-nano32"
        c.train.steps = 1000
        c.train.lr = 3e-4
        c.train.warmup = 50
        c.train.batchCaptions = 16
        c.train.localCrops = 2
        c.train.prototypes = 256
        // Three seeds: the table reports mean and spread (Docs/results.md).
        c.trainSeeds = [0, 1, 2]
        c.eval.trainLimit = 10000
        c.eval.probeGrid = 8
        c.runs = [
            Run(name: "synclr-synthetic", data: "synthetic", objective: "synclr"),
            Run(name: "simclr-real", data: "fashion-mnist", objective: "simclr"),
            Run(name: "supervised-real", data: "fashion-mnist", objective: "supervised"),
            Run(name: "stablerep-synthetic", data: "synthetic", objective: "stablerep"),
            Run(name: "simclr-synthetic", data: "synthetic", objective: "simclr"),
            Run(name: "supervised-synthetic", data: "synthetic", objective: "supervised"),
        ]
        return c
    }

    /// Preset by name.
    static func preset(_ name: String) -> PipelineConfig? {
        switch name {
        case "demo": return .demo
        case "paper-small": return .paperSmall
        default: return nil
        }
    }

    /// The preset with a JSON config file and `key.path=value` overrides merged on top.
    static func resolve(preset: String, file: String?, overrides: [String]) throws -> PipelineConfig {
        guard let base = PipelineConfig.preset(preset) else {
            throw PipelineError.badConfig("unknown preset '\(preset)'; choose demo or paper-small")
        }
        var tree = try JSONSerialization.jsonObject(with: JSONEncoder().encode(base)) as! [String: Any]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw PipelineError.badConfig("\(file): not found") }
            guard let patch = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw PipelineError.badConfig("\(file): not a JSON object")
            }
            tree = merge(tree, patch)
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { throw PipelineError.badConfig("override '\(o)' is not key.path=value") }
            let path = o[..<eq].split(separator: ".").map(String.init)
            let raw = String(o[o.index(after: eq)...])
            let value: Any = (try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: [.fragmentsAllowed])) ?? raw
            tree = set(tree, path, value)
        }
        for section in ["captions", "train"] where (tree[section] as? [String: Any])?["extraArguments"] != nil {
            throw PipelineError.badConfig("\(section).extraArguments was replaced by typed fields (see --show-config); set those instead")
        }
        do {
            return try JSONDecoder().decode(PipelineConfig.self, from: JSONSerialization.data(withJSONObject: tree))
        } catch {
            throw PipelineError.badConfig("the merged configuration does not fit: \(error)")
        }
    }

    private static func merge(_ a: [String: Any], _ b: [String: Any]) -> [String: Any] {
        var out = a
        for (k, v) in b {
            if let sub = v as? [String: Any], let base = a[k] as? [String: Any] { out[k] = merge(base, sub) } else { out[k] = v }
        }
        return out
    }

    private static func set(_ tree: [String: Any], _ path: [String], _ value: Any) -> [String: Any] {
        var out = tree
        guard let head = path.first else { return tree }
        if path.count == 1 { out[head] = value } else { out[head] = set(tree[head] as? [String: Any] ?? [:], Array(path.dropFirst()), value) }
        return out
    }

    /// Canonical JSON (sorted keys) for hashing and the report.
    func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Pipeline failures.
enum PipelineError: Error, CustomStringConvertible {
    /// The configuration cannot be used.
    case badConfig(String)
    /// A stage's output is missing or wrong.
    case stageFailed(stage: String, reason: String)

    var description: String {
        switch self {
        case .badConfig(let m): return "pipeline config: \(m)"
        case let .stageFailed(stage, reason): return "pipeline stage \(stage): \(reason)"
        }
    }
}

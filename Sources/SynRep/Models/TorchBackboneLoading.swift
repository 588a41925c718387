import Foundation
import SynTensor

/// Which network of a self-distillation checkpoint (SynCLR, DINO, iBOT: a student and its EMA teacher) to load.
public enum TorchBackboneBranch: String, Sendable, CaseIterable, Codable {
    /// The EMA teacher, the network the paper evaluates.
    case teacher
    /// The student, the network the optimizer trains.
    case student
}

/// How to read a timm-style ViT backbone out of a PyTorch `.pth` checkpoint.
public struct TorchBackboneOptions: Codable, Sendable, Hashable {
    /// The network to take when the file holds several backbones (nil: the teacher).
    public var branch: TorchBackboneBranch?
    /// Key prefix of the backbone, e.g. "module.visual." (nil: found from the keys).
    public var prefix: String?
    /// Architecture to build (its heads are used; its sizes must agree with the tensor shapes).
    public var architecture: ViTConfig?
    /// Attention heads; overrides `architecture` and the 64-dim head rule.
    public var heads: Int?
    /// Input normalization mean per channel (nil: ImageNet's for 3 channels, 0.5 otherwise).
    public var mean: [Float]?
    /// Input normalization std per channel (nil: ImageNet's for 3 channels, 0.5 otherwise).
    public var std: [Float]?

    /// Options; every nil is inferred from the file.
    public init(branch: TorchBackboneBranch? = nil, prefix: String? = nil, architecture: ViTConfig? = nil, heads: Int? = nil,
                mean: [Float]? = nil, std: [Float]? = nil) {
        self.branch = branch
        self.prefix = prefix
        self.architecture = architecture
        self.heads = heads
        self.mean = mean
        self.std = std
    }
}

/// Why a `.pth` checkpoint does not give a ViT backbone; every case names the file, tensors by their full key.
public enum TorchBackboneError: Error, Equatable, CustomStringConvertible {
    /// No timm-style ViT (a `patch_embed.proj.weight` key) under the requested prefix or branch.
    case noBackbone(path: String, reason: String)
    /// Several backbones and nothing to choose between them.
    case ambiguous(path: String, candidates: [String])
    /// The ViT needs this tensor and the file lacks it.
    case missingTensor(path: String, tensor: String)
    /// A tensor has another shape than the ViT built from the file's other shapes.
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    /// The backbone has a part this ViT does not implement (loading it without would change features).
    case unsupportedTensor(path: String, tensor: String)
    /// The architecture cannot be inferred or disagrees with the requested one.
    case architecture(path: String, reason: String)
    /// The normalization does not fit the channel count.
    case normalization(path: String, reason: String)

    /// A sentence starting with the file's path.
    public var description: String {
        switch self {
        case let .noBackbone(path, reason):
            return "\(path): no ViT backbone found: \(reason)"
        case let .ambiguous(path, candidates):
            return "\(path): several ViT backbones (key prefixes \(candidates.map { "'\($0)'" }.joined(separator: ", "))); choose one by prefix or branch"
        case let .missingTensor(path, tensor):
            return "\(path): tensor '\(tensor)' is missing (a timm-style ViT needs it)"
        case let .shapeMismatch(path, tensor, expected, found):
            return "\(path): tensor '\(tensor)' has shape \(found); the ViT built from the file's other shapes needs \(expected)"
        case let .unsupportedTensor(path, tensor):
            return "\(path): tensor '\(tensor)' belongs to a ViT variant this loader does not implement (loading without it would change the features)"
        case let .architecture(path, reason):
            return "\(path): \(reason)"
        case let .normalization(path, reason):
            return "\(path): \(reason)"
        }
    }
}

/// A backbone read from a `.pth` checkpoint, with what the load chose and left out.
public struct TorchBackboneLoad {
    /// The network (eval mode) and its card (objective "pytorch").
    public let backbone: LoadedBackbone
    /// The ViT that was built.
    public let config: ViTConfig
    /// Key prefix of the tensors used ("" for a bare state dict).
    public let prefix: String
    /// How that prefix was chosen.
    public let selection: String
    /// Where the number of heads came from.
    public let headsSource: String
    /// Where the normalization came from.
    public let normalizationSource: String
    /// ViT tensors the file lacks, filled with zeros (only iBOT's `mask_token`, unused for features).
    public let missing: [String]
    /// Tensors of the file that were not loaded (full keys, sorted).
    public let unused: [String]

    /// Lines describing the load, for a log.
    public var summary: [String] {
        let c = config
        var lines = ["backbone: \(prefix.isEmpty ? "the bare state dict" : "keys under '\(prefix)'") (\(selection))",
                     "ViT: \(c.imageSize) px, patch \(c.patchSize), \(c.channels) channel\(c.channels == 1 ? "" : "s"), width \(c.width), "
                         + "depth \(c.depth), \(c.heads) head\(c.heads == 1 ? "" : "s") (\(headsSource)), MLP ratio \(c.mlpRatio)"
                         + (c.qkvBias ? ", qkv bias" : ", no qkv bias") + ", LayerNorm eps 1e-6 (timm)",
                     "normalization: mean \(backbone.card.mean), std \(backbone.card.std) (\(normalizationSource))"]
        lines.append(missing.isEmpty ? "missing: none" : "missing (zero-filled, unused for features): " + missing.joined(separator: ", "))
        lines.append(unused.isEmpty ? "unused: none" : "unused: \(unused.count) tensor\(unused.count == 1 ? "" : "s"): " + TorchBackboneLayout.abbreviate(unused))
        return lines
    }
}

/// Reads a timm-style ViT backbone from a PyTorch checkpoint.
///
/// The state dict is found by `TorchCheckpoint`'s rule (descending `model` / `state_dict` /
/// `module` dicts, as the paper's released checkpoints `{'model': {'module.visual.…'}}` need),
/// the backbone by its `patch_embed.proj.weight` key (see `TorchBackboneLayout.choosePrefix`),
/// the architecture from tensor shapes (`TorchBackboneLayout.inferConfig`). Only the chosen
/// backbone's tensors are read. Every ViT tensor must be present with its shape (except iBOT's
/// `mask_token`, zero-filled); a backbone tensor of a variant this ViT lacks (layer scale,
/// register tokens, a pre-norm, ...) is an error; everything else (classifier head, projection
/// heads, the other network) is reported unused.
public func loadTorchBackbone(_ url: URL, options: TorchBackboneOptions = .init()) throws -> TorchBackboneLoad {
    let path = url.path
    let checkpoint = try TorchCheckpoint(contentsOf: url)
    let references = try checkpoint.stateDictReferences()
    let (prefix, selection) = try TorchBackboneLayout.choosePrefix(keys: Array(references.keys), options: options, path: path)
    var local: [String: TorchTensorReference] = [:]
    for (key, reference) in references where key.hasPrefix(prefix) { local[String(key.dropFirst(prefix.count))] = reference }
    let (config, headsSource) = try TorchBackboneLayout.inferConfig(shapes: local.mapValues(\.shape), options: options, path: path, prefix: prefix)

    var generator = RandomGenerator(seed: 0)
    let model = VisionTransformer(config, generator: &generator)
    let expected = model.stateDict().mapValues(\.shape)
    var dict: [String: Tensor] = [:]
    var missing: [String] = []
    for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
        guard let reference = local[name] else {
            if name == "mask_token" {
                dict[name] = Tensor.zeros(shape)
                missing.append(name)
                continue
            }
            throw TorchBackboneError.missingTensor(path: path, tensor: prefix + name)
        }
        guard reference.shape == shape else {
            throw TorchBackboneError.shapeMismatch(path: path, tensor: prefix + name, expected: shape, found: reference.shape)
        }
        dict[name] = try checkpoint.tensor(reference)
    }
    for name in local.keys.sorted() where expected[name] == nil && TorchBackboneLayout.isBackbonePart(name) {
        throw TorchBackboneError.unsupportedTensor(path: path, tensor: prefix + name)
    }
    try model.loadStateDict(dict, strict: true, source: path)
    model.eval()

    let channels = config.channels
    let imagenet = channels == 3
    let mean: [Float] = options.mean ?? (imagenet ? [0.485, 0.456, 0.406] : Array(repeating: 0.5, count: channels))
    let std: [Float] = options.std ?? (imagenet ? [0.229, 0.224, 0.225] : Array(repeating: 0.5, count: channels))
    guard mean.count == channels, std.count == channels, std.allSatisfy({ $0 > 0 }) else {
        throw TorchBackboneError.normalization(
            path: path, reason: "the model has \(channels) input channels but the normalization gives mean \(mean), std \(std) (one positive std per channel needed)")
    }
    let normalizationSource = options.mean != nil || options.std != nil ? "given"
        : imagenet ? "the file has none: ImageNet's, as timm and SynCLR use" : "the file has none: SynRep's default for \(channels)-channel inputs"
    let card = ModelCard(imageSize: config.imageSize, channels: channels, patchSize: config.patchSize, width: config.width,
                         depth: config.depth, heads: config.heads, mlpRatio: config.mlpRatio, mean: mean, std: std, objective: "pytorch")
    let unused = references.keys.filter { !$0.hasPrefix(prefix) || expected[String($0.dropFirst(prefix.count))] == nil }.sorted()
    return TorchBackboneLoad(backbone: LoadedBackbone(model: model, card: card), config: config, prefix: prefix, selection: selection,
                             headsSource: headsSource, normalizationSource: normalizationSource, missing: missing, unused: unused)
}

/// Loads a backbone from `model.safetensors` written by `synclr train` or from a PyTorch `.pth`
/// checkpoint (recognized by its ZIP signature), passing the `.pth` load's summary to `note`.
public func loadBackbone(_ url: URL, torchOptions: TorchBackboneOptions, note: (String) -> Void = { _ in }) throws -> LoadedBackbone {
    guard TorchBackboneLayout.isZipArchive(url) else { return try loadBackbone(url) }
    let load = try loadTorchBackbone(url, options: torchOptions)
    for line in load.summary { note(line) }
    return load.backbone
}

/// The rules `loadTorchBackbone` follows to find a backbone in a state dict and infer its shape.
public enum TorchBackboneLayout {
    /// The key every timm-style ViT has; what precedes it is a backbone's prefix.
    public static let anchor = "patch_embed.proj.weight"

    /// First components of keys that belong to a timm ViT backbone: such a key the ViT here does not
    /// have (`blocks.0.ls1.gamma`, `reg_token`, `norm_pre.weight`) means a variant it cannot reproduce.
    static let backboneParts: Set<String> = ["cls_token", "pos_embed", "mask_token", "patch_embed", "blocks", "norm", "norm_pre", "reg_token"]

    /// Whether a key (relative to the backbone prefix) names part of the backbone itself.
    static func isBackbonePart(_ key: String) -> Bool {
        backboneParts.contains(String(key.prefix(while: { $0 != "." })))
    }

    /// Every backbone prefix in `keys`, sorted.
    public static func prefixes(in keys: [String]) -> [String] {
        keys.compactMap { key -> String? in
            guard key.hasSuffix(anchor) else { return nil }
            let prefix = String(key.dropLast(anchor.count))
            return prefix.isEmpty || prefix.hasSuffix(".") ? prefix : nil
        }.sorted()
    }

    /// The backbone prefix to load and how it was chosen.
    ///
    /// An explicit prefix must be a backbone's. Otherwise a single backbone is taken; among
    /// several, the one whose dotted prefix has a component named after the branch (default
    /// `teacher`): `module.teacher.backbone.` in a SynCLR training checkpoint, `teacher.` in
    /// DINO's. An explicitly requested branch must exist.
    public static func choosePrefix(keys: [String], options: TorchBackboneOptions, path: String) throws -> (String, String) {
        let candidates = prefixes(in: keys)
        if var prefix = options.prefix {
            if !prefix.isEmpty && !prefix.hasSuffix(".") { prefix += "." }
            guard candidates.contains(prefix) else {
                throw TorchBackboneError.noBackbone(path: path, reason: "no key '\(prefix)\(anchor)'" + found(candidates))
            }
            return (prefix, "prefix given")
        }
        guard !candidates.isEmpty else {
            let sample = keys.sorted().prefix(4).map { "'\($0)'" }.joined(separator: ", ")
            throw TorchBackboneError.noBackbone(path: path, reason: "no key ends in '\(anchor)', so this is not a timm-style ViT state dict (keys include \(sample))")
        }
        func named(_ branch: TorchBackboneBranch) -> [String] {
            candidates.filter { $0.split(separator: ".").contains(Substring(branch.rawValue)) }
        }
        if let branch = options.branch {
            let matches = named(branch)
            guard matches.count == 1 else {
                if matches.isEmpty { throw TorchBackboneError.noBackbone(path: path, reason: "no \(branch.rawValue) network" + found(candidates)) }
                throw TorchBackboneError.ambiguous(path: path, candidates: matches)
            }
            return (matches[0], "the \(branch.rawValue) network, as requested")
        }
        if candidates.count == 1 { return (candidates[0], "the only backbone in the file") }
        let teachers = named(.teacher)
        guard teachers.count == 1 else { throw TorchBackboneError.ambiguous(path: path, candidates: candidates) }
        let students = named(.student)
        return (teachers[0], "the teacher network, by default" + (students.count == 1 ? "; the student is under '\(students[0])'" : ""))
    }

    private static func found(_ candidates: [String]) -> String {
        candidates.isEmpty ? "; the file has no ViT backbone" : "; backbones found under " + candidates.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// The ViT whose tensors have `shapes` (keys relative to the backbone prefix) and where its heads came from.
    ///
    /// From the shapes: width, channels and patch from `patch_embed.proj.weight` [D, C, P, P];
    /// the image side from `pos_embed` [1, 1 + G², D] (a class-token position plus a square
    /// grid) as G·P; depth from the `blocks.N.` indices; the MLP ratio from
    /// `blocks.0.mlp.fc1.weight` [R·D, D]; the qkv bias from its presence. Heads are not in
    /// the shapes: `options.heads`, else the architecture's, else D / 64 (timm's ViT-S/B/L
    /// use 64-dim heads; the paper's ViT-B/16 and ViT-L/14 follow it). LayerNorm epsilon is
    /// timm's 1e-6. A given architecture must agree with every inferred size.
    public static func inferConfig(shapes: [String: [Int]], options: TorchBackboneOptions, path: String, prefix: String) throws -> (ViTConfig, String) {
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard let s = shapes[name] else { throw TorchBackboneError.missingTensor(path: path, tensor: prefix + name) }
            guard s.count == rank, s.allSatisfy({ $0 > 0 }) else {
                throw TorchBackboneError.architecture(path: path, reason: "tensor '\(prefix + name)' has shape \(s); a timm ViT has a rank-\(rank) tensor there")
            }
            return s
        }
        let patch = try shape(anchor, rank: 4)
        let (width, channels, patchSize) = (patch[0], patch[1], patch[2])
        guard patch[3] == patchSize else {
            throw TorchBackboneError.architecture(path: path, reason: "tensor '\(prefix + anchor)' has shape \(patch): only square patches are supported")
        }
        let pos = try shape("pos_embed", rank: 3)
        let grid = Int(Double(pos[1] - 1).squareRoot().rounded())
        guard pos[0] == 1, pos[2] == width, grid >= 1, grid * grid == pos[1] - 1 else {
            throw TorchBackboneError.architecture(
                path: path, reason: "tensor '\(prefix)pos_embed' has shape \(pos); expected [1, 1 + G*G, \(width)] (a class-token position and a square patch grid)")
        }
        var blockIndices = Set<Int>()
        for key in shapes.keys where key.hasPrefix("blocks.") {
            if let index = Int(key.dropFirst("blocks.".count).prefix(while: { $0 != "." })) { blockIndices.insert(index) }
        }
        let depth = (blockIndices.max() ?? -1) + 1
        guard depth > 0 else { throw TorchBackboneError.missingTensor(path: path, tensor: prefix + "blocks.0.attn.qkv.weight") }
        if let gap = (0..<depth).first(where: { !blockIndices.contains($0) }) {
            throw TorchBackboneError.missingTensor(path: path, tensor: prefix + "blocks.\(gap).attn.qkv.weight")
        }
        let fc1 = try shape("blocks.0.mlp.fc1.weight", rank: 2)
        guard fc1[1] == width, fc1[0] % width == 0 else {
            throw TorchBackboneError.architecture(
                path: path, reason: "tensor '\(prefix)blocks.0.mlp.fc1.weight' has shape \(fc1); only an integer MLP ratio of width \(width) is supported")
        }
        let mlpRatio = fc1[0] / width
        let qkvBias = shapes["blocks.0.attn.qkv.bias"] != nil
        let heads: Int, source: String
        if let given = options.heads {
            (heads, source) = (given, "given")
        } else if let architecture = options.architecture {
            (heads, source) = (architecture.heads, "from the given architecture")
        } else if width % 64 == 0 {
            (heads, source) = (width / 64, "64-dim heads, timm's rule; the file has no configuration")
        } else {
            throw TorchBackboneError.architecture(
                path: path, reason: "cannot infer the attention heads of a width-\(width) ViT: the file carries no configuration and \(width) is not a multiple of 64 (timm's head size); give the heads or an architecture")
        }
        guard heads > 0, width % heads == 0 else {
            throw TorchBackboneError.architecture(path: path, reason: "\(heads) attention heads do not divide the width \(width)")
        }
        let config = ViTConfig(imageSize: grid * patchSize, patchSize: patchSize, channels: channels, width: width, depth: depth,
                               heads: heads, mlpRatio: mlpRatio, qkvBias: qkvBias)
        if let a = options.architecture {
            let sizes = [("image size", a.imageSize, config.imageSize), ("patch size", a.patchSize, config.patchSize),
                         ("channels", a.channels, config.channels), ("width", a.width, config.width),
                         ("depth", a.depth, config.depth), ("MLP ratio", a.mlpRatio, config.mlpRatio)]
            let disagreements = sizes.filter { $0.1 != $0.2 }.map { "\($0.0) \($0.1) (file: \($0.2))" }
            if !disagreements.isEmpty {
                throw TorchBackboneError.architecture(
                    path: path, reason: "the given architecture does not match the tensor shapes: " + disagreements.joined(separator: ", "))
            }
        }
        return (config, source)
    }

    /// Keys listed compactly: keys under another backbone's prefix, or sharing all but their last
    /// two components, count as one group ("module.student.backbone.* (34)", "module.student.proj.* (4)").
    static func abbreviate(_ keys: [String], limit: Int = 12) -> String {
        let backbones = prefixes(in: keys).filter { !$0.isEmpty }
        func group(_ key: String) -> String {
            if let p = backbones.filter({ key.hasPrefix($0) }).max(by: { $0.count < $1.count }) { return p + "*" }
            let parts = key.split(separator: ".")
            return parts.count > 3 ? parts.dropLast(2).joined(separator: ".") + ".*" : key
        }
        var counts: [String: Int] = [:]
        var order: [String] = []
        for key in keys {
            let g = group(key)
            if counts[g] == nil { order.append(g) }
            counts[g, default: 0] += 1
        }
        let shown = order.prefix(limit).map { g in g.hasSuffix("*") ? "\(g) (\(counts[g] ?? 0))" : g }
        return shown.joined(separator: ", ") + (order.count > limit ? ", and \(order.count - limit) more" : "")
    }

    /// Whether the file starts with a ZIP local-header signature (as every `torch.save` since 1.6 does).
    static func isZipArchive(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4)) ?? Data()
        return head == Data([0x50, 0x4B, 0x03, 0x04])
    }
}

import SynTensor

/// How a ViT's weights are initialized.
public enum ViTInitialization: String, Codable, Sendable, Hashable, CaseIterable {
    /// timm / DINO: truncated normal (std 0.02) for every Linear layer, PyTorch's default for the patch embedding.
    case timm
    /// MoCo v3 / MAE: Xavier-uniform Linear layers with q, k and v treated as three matrices, and a
    /// Xavier-uniform patch embedding. Attention then does not start uniform, which is what lets a short
    /// SynCLR run on a few hundred images leave the collapsed start (Docs/results.md).
    case mocoV3 = "moco-v3"
}

/// Shape of a Vision Transformer; recorded in `model.safetensors` metadata so any tool can rebuild it.
public struct ViTConfig: Codable, Sendable, Hashable {
    /// Training image side in pixels.
    public var imageSize: Int
    /// Patch side in pixels.
    public var patchSize: Int
    /// Input channels.
    public var channels: Int
    /// Token width D.
    public var width: Int
    /// Number of blocks.
    public var depth: Int
    /// Attention heads.
    public var heads: Int
    /// MLP hidden width / D.
    public var mlpRatio: Int
    /// Bias on the qkv projection.
    public var qkvBias: Bool
    /// LayerNorm epsilon.
    public var layerNormEps: Float
    /// Stochastic depth rate of the last block (linearly increasing from 0 over blocks).
    public var dropPath: Float
    /// Weight initialization (nil: timm's).
    public var initialization: ViTInitialization?

    /// A ViT configuration (defaults follow timm/SynCLR: MLP ratio 4, qkv bias, LayerNorm eps 1e-6).
    public init(imageSize: Int, patchSize: Int, channels: Int = 3, width: Int, depth: Int, heads: Int,
                mlpRatio: Int = 4, qkvBias: Bool = true, layerNormEps: Float = 1e-6, dropPath: Float = 0,
                initialization: ViTInitialization? = nil) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.width = width
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
        self.qkvBias = qkvBias
        self.layerNormEps = layerNormEps
        self.dropPath = dropPath
        self.initialization = initialization
    }

    /// Patches per side at the training size.
    public var gridSize: Int { imageSize / patchSize }

    /// Throws a `ParameterError` (names prefixed by `prefix`, e.g. "model.") for the first value
    /// the network cannot be built with.
    public func validate(prefix: String = "") throws {
        try ParameterError.require(patchSize >= 1, prefix + "patchSize", patchSize, allowed: ">= 1")
        try ParameterError.require(imageSize >= patchSize && imageSize % patchSize == 0, prefix + "imageSize", imageSize,
                                   allowed: "a positive multiple of patchSize \(patchSize)")
        try ParameterError.require((1...4).contains(channels), prefix + "channels", channels, allowed: "in 1...4")
        try ParameterError.require(heads >= 1, prefix + "heads", heads, allowed: ">= 1")
        try ParameterError.require(width >= 1 && width % heads == 0, prefix + "width", width,
                                   allowed: "a positive multiple of heads \(heads)")
        try ParameterError.require(depth >= 1, prefix + "depth", depth, allowed: ">= 1")
        try ParameterError.require(mlpRatio >= 1, prefix + "mlpRatio", mlpRatio, allowed: ">= 1")
        try ParameterError.require(layerNormEps > 0 && layerNormEps.isFinite, prefix + "layerNormEps", layerNormEps, allowed: "finite and > 0")
        try ParameterError.require(dropPath >= 0 && dropPath < 1, prefix + "dropPath", dropPath, allowed: "in [0, 1)")
    }

    /// ViT-B/16 as in the paper (224 px, 768 wide, 12 deep, 12 heads, drop path 0.1).
    public static let vitB16 = ViTConfig(imageSize: 224, patchSize: 16, width: 768, depth: 12, heads: 12, dropPath: 0.1)
    /// ViT-L/14 as in the paper (224 px, 1024 wide, 24 deep, 16 heads).
    public static let vitL14 = ViTConfig(imageSize: 224, patchSize: 14, width: 1024, depth: 24, heads: 16, dropPath: 0.1)
    /// ViT-S/16 (384 wide, 12 deep, 6 heads).
    public static let vitS16 = ViTConfig(imageSize: 224, patchSize: 16, width: 384, depth: 12, heads: 6)
    /// ViT-Tiny for 32x32 inputs with 4 px patches (192 wide, 12 deep, 3 heads): 64 patches + CLS.
    public static let vitTiny32 = ViTConfig(imageSize: 32, patchSize: 4, width: 192, depth: 12, heads: 3)
    /// A small ViT for 32x32 inputs on this machine's budget (192 wide, 6 deep, 3 heads).
    public static let vitMini32 = ViTConfig(imageSize: 32, patchSize: 4, width: 192, depth: 6, heads: 3)
    /// A very small ViT for 32x32 tests and demos (128 wide, 4 deep, 4 heads).
    public static let vitNano32 = ViTConfig(imageSize: 32, patchSize: 4, width: 128, depth: 4, heads: 4)

    /// A minimal ViT for multi-process tests (32 wide, 2 deep, 2 heads, 8 px patches).
    public static let vitPico32 = ViTConfig(imageSize: 32, patchSize: 8, width: 32, depth: 2, heads: 2)

    /// Presets by name, as the CLI's `--model` accepts them.
    public static let presets: [String: ViTConfig] = [
        "vit-b16": .vitB16, "vit-l14": .vitL14, "vit-s16": .vitS16,
        "vit-tiny32": .vitTiny32, "vit-mini32": .vitMini32, "vit-nano32": .vitNano32,
        "vit-pico32": .vitPico32,
    ]
}

import Foundation
import SynTensor

/// Single-file Stable Diffusion checkpoints in the original latent-diffusion layout
/// (`model.diffusion_model.*`, `first_stage_model.*`, `cond_stage_model.*`), converted to the
/// diffusers names at load.
///
/// Hyperparameters that weights do not reveal come from a diffusers folder given as `config`
/// (as diffusers' `from_single_file(config=...)`), else from the Stable Diffusion 1.x / 2.x
/// defaults: SD 1.x (a transformers CLIP text encoder) has 8 heads per level, SD 2.x (an
/// OpenCLIP text encoder) heads of 64 channels, GroupNorm groups 32, VAE scaling 0.18215, and
/// the CLIP BPE vocabulary installed by Scripts/setup/install_models.sh (SD 2.x pads with "!").
/// SD 2.x's OpenCLIP tower keeps one more layer than its penultimate-layer output uses; that
/// last layer is dropped, as diffusers' conversion does.
extension StableDiffusion {
    /// Loads a diffusers folder or a single-file `.safetensors` checkpoint; `predictionType`
    /// overrides the scheduler's (single-file SD 2.x defaults to v-prediction, the 768-v model).
    public static func load(_ url: URL, config: URL? = nil, predictionType: PredictionType? = nil) throws -> StableDiffusion {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw DiffusionError.missingFile(path: url.path, hint: sdMissingHint)
        }
        let model = isDir.boolValue ? try StableDiffusion(directory: url) : try StableDiffusion(singleFile: url, config: config)
        if let predictionType { model.scheduler.predictionType = predictionType }
        return model
    }

    /// Training-time buffers and EMA bookkeeping an LDM checkpoint may carry; they are not model weights.
    static let ldmIgnored: Set<String> = [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar",
    ]

    /// Loads an original-layout single-file checkpoint (float32 / float16 / bfloat16 safetensors).
    public convenience init(singleFile url: URL, config: URL? = nil) throws {
        let file = try openSafetensors(url)
        let path = url.path
        func fail(_ why: String) -> DiffusionError { DiffusionError.badCheckpoint(path: path, reason: why) }
        var unetKeys: [String] = [], vaeKeys: [String] = [], textKeys: [String] = []
        for name in file.names {
            if name.hasPrefix("model.diffusion_model.") { unetKeys.append(name) }
            else if name.hasPrefix("first_stage_model.") { if !name.hasPrefix("first_stage_model.loss.") { vaeKeys.append(name) } }
            else if name.hasPrefix("cond_stage_model.") { textKeys.append(name) }
            else if Self.ldmIgnored.contains(name) || name.hasPrefix("model_ema.") || name.hasPrefix("cond_stage_model.model.logit_scale") { continue }
            else { throw fail("unknown tensor \(name) (not part of a Stable Diffusion UNet, VAE or text encoder)") }
        }
        for (keys, part) in [(unetKeys, "UNet (model.diffusion_model.*)"), (vaeKeys, "VAE (first_stage_model.*)"),
                             (textKeys, "text encoder (cond_stage_model.*)")] where keys.isEmpty {
            throw fail("the \(part) is missing")
        }
        func tensor(_ name: String) throws -> Tensor {
            do { return try file.tensor(name) } catch { throw fail("tensor \(name): \(error)") }
        }
        func shape(_ name: String) throws -> [Int] {
            guard let s = file.info(name)?.shape else { throw fail("tensor \(name) is missing") }
            return s
        }

        // Text encoder.
        let openCLIP = textKeys.contains { $0.hasPrefix("cond_stage_model.model.") }
        var text: [String: Tensor] = [:]
        if openCLIP {
            let p = "cond_stage_model.model."
            let blocks = Set(textKeys.compactMap { k -> Int? in
                guard k.hasPrefix(p + "transformer.resblocks.") else { return nil }
                return k.dropFirst((p + "transformer.resblocks.").count).split(separator: ".").first.flatMap { Int($0) }
            })
            guard let count = blocks.max().map({ $0 + 1 }), count >= 2 else { throw fail("the OpenCLIP text encoder has no transformer.resblocks") }
            for k in textKeys {
                let rest = String(k.dropFirst(p.count))
                switch rest {
                case "token_embedding.weight": text["embeddings.token_embedding.weight"] = try tensor(k)
                case "positional_embedding": text["embeddings.position_embedding.weight"] = try tensor(k)
                case "ln_final.weight": text["final_layer_norm.weight"] = try tensor(k)
                case "ln_final.bias": text["final_layer_norm.bias"] = try tensor(k)
                case "text_projection": continue
                default:
                    let parts = rest.split(separator: ".", maxSplits: 3).map(String.init)
                    guard parts.count == 4, parts[0] == "transformer", parts[1] == "resblocks", let i = Int(parts[2]) else {
                        throw fail("unknown text-encoder tensor \(k)")
                    }
                    if i == count - 1 { continue }  // the layer after the penultimate one SD 2.x reads
                    let q = "encoder.layers.\(i)."
                    switch parts[3] {
                    case "attn.in_proj_weight", "attn.in_proj_bias":
                        let t = try tensor(k)
                        guard t.rank >= 1, t.shape[0] % 3 == 0 else { throw fail("tensor \(k) has shape \(t.shape), expected 3 x width rows (q, k, v)") }
                        let D = t.shape[0] / 3, kind = parts[3].hasSuffix("weight") ? "weight" : "bias"
                        for (j, n) in ["q_proj", "k_proj", "v_proj"].enumerated() {
                            text[q + "self_attn.\(n).\(kind)"] = t.narrow(0, start: j * D, length: D).contiguous()
                        }
                    default:
                        let map = ["attn.out_proj.": "self_attn.out_proj.", "ln_1.": "layer_norm1.", "ln_2.": "layer_norm2.",
                                   "mlp.c_fc.": "mlp.fc1.", "mlp.c_proj.": "mlp.fc2."]
                        guard let (old, new) = map.first(where: { parts[3].hasPrefix($0.key) }) else { throw fail("unknown text-encoder tensor \(k)") }
                        text[q + new + parts[3].dropFirst(old.count)] = try tensor(k)
                    }
                }
            }
        } else {
            for k in textKeys {
                guard k.hasPrefix("cond_stage_model.transformer.") else { throw fail("unknown text-encoder tensor \(k)") }
                var rest = String(k.dropFirst("cond_stage_model.transformer.".count))
                if rest.hasPrefix("text_model.") { rest = String(rest.dropFirst("text_model.".count)) }
                if rest == "embeddings.position_ids" { continue }
                text[rest] = try tensor(k)
            }
        }

        // UNet.
        let unetDict = try Self.convertLDMUNet(unetKeys, tensor: tensor, fail: fail)
        // VAE.
        var vaeDict: [String: Tensor] = [:]
        let vaeLevels = 1 + (vaeKeys.compactMap { k -> Int? in
            let r = k.dropFirst("first_stage_model.encoder.down.".count)
            return k.hasPrefix("first_stage_model.encoder.down.") ? Int(r.split(separator: ".")[0]) : nil
        }.max() ?? -1)
        guard vaeLevels >= 1 else { throw fail("the VAE encoder has no down blocks") }
        for k in vaeKeys {
            guard let (name, reshape) = Self.convertLDMVAEKey(String(k.dropFirst("first_stage_model.".count)), levels: vaeLevels) else {
                throw fail("unknown VAE tensor \(k)")
            }
            var t = try tensor(k)
            if reshape && t.rank == 4 { t = t.reshaped([t.shape[0], t.shape[1]]) }
            vaeDict[name] = t
        }

        // Configurations: from the given folder, else inferred.
        let textConfig: CLIPTextConfiguration, unetConfig: SDUNetConfiguration, vaeConfig: SDVAEConfiguration
        let tokenizer: CLIPTokenizer, sched: SDSchedulerConfiguration
        if let config {
            textConfig = try CLIPTextConfiguration(contentsOf: config.appendingPathComponent("text_encoder/config.json"))
            unetConfig = try SDUNetConfiguration(contentsOf: config.appendingPathComponent("unet/config.json"))
            vaeConfig = try SDVAEConfiguration(contentsOf: config.appendingPathComponent("vae/config.json"))
            tokenizer = try CLIPTokenizer(directory: config.appendingPathComponent("tokenizer"))
            sched = try SDSchedulerConfiguration(contentsOf: config.appendingPathComponent("scheduler/scheduler_config.json"))
        } else {
            let tokName = openCLIP ? "cond_stage_model.model.token_embedding.weight" : textKeys.first { $0.hasSuffix("token_embedding.weight") } ?? ""
            let tok = try shape(tokName)
            guard tok.count == 2 else { throw fail("tensor \(tokName) has shape \(tok), expected [vocabulary, width]") }
            let D = tok[1]
            let layers = Set(text.keys.compactMap { k -> Int? in
                k.hasPrefix("encoder.layers.") ? k.dropFirst("encoder.layers.".count).split(separator: ".").first.flatMap { Int($0) } : nil
            }).count
            guard let fc1 = text["encoder.layers.0.mlp.fc1.weight"], let pos = text["embeddings.position_embedding.weight"] else {
                throw fail("the text encoder lacks its first layer or position embedding")
            }
            let fc1Shape = try Self.dims(fc1, "encoder.layers.0.mlp.fc1.weight", rank: 2, fail: fail)
            let posShape = try Self.dims(pos, "embeddings.position_embedding.weight", rank: 2, fail: fail)
            textConfig = CLIPTextConfiguration(vocabSize: tok[0], hiddenSize: D, intermediateSize: fc1Shape[0], layers: layers,
                                               heads: Swift.max(1, D / 64), maxPositions: posShape[0],
                                               hiddenAct: openCLIP ? "gelu" : "quick_gelu", eosTokenID: tok[0] - 1)
            unetConfig = try Self.inferredUNetConfig(unetDict, openCLIP: openCLIP, fail: fail)
            if let p = unetConfig.problems.first { throw fail(p + " (Stable Diffusion defaults; pass a diffusers folder as the config for other shapes)") }
            var v = SDVAEConfiguration()
            v.blockOutChannels = try (0..<vaeLevels).map { try shape("first_stage_model.encoder.down.\($0).block.0.conv1.weight")[0] }
            v.layersPerBlock = Set(vaeKeys.compactMap { k -> Int? in
                let pre = "first_stage_model.encoder.down.0.block."
                return k.hasPrefix(pre) ? Int(k.dropFirst(pre.count).split(separator: ".")[0]) : nil
            }).count
            v.latentChannels = try shape("first_stage_model.decoder.conv_in.weight")[1]
            v.quantConv = vaeDict["quant_conv.weight"] != nil
            v.midAttention = vaeDict["encoder.mid_block.attentions.0.to_q.weight"] != nil
            if let ch = v.blockOutChannels.first(where: { $0 % v.normGroups != 0 }) {
                throw fail("VAE width \(ch) is not divisible by norm_num_groups \(v.normGroups) (Stable Diffusion defaults; pass a diffusers folder as the config for other shapes)")
            }
            vaeConfig = v
            let bpe = SynCLRPaths.models.appendingPathComponent("clip-bpe/bpe_simple_vocab_16e6.txt.gz")
            guard FileManager.default.fileExists(atPath: bpe.path) else {
                throw DiffusionError.missingFile(path: bpe.path, hint: "A single-file checkpoint needs CLIP's BPE vocabulary: run Scripts/setup/install_models.sh, or pass a diffusers folder with a tokenizer/ as the config.")
            }
            let (vocab, merges) = try CLIPTokenizer.openCLIPVocabulary(bpe)
            tokenizer = try CLIPTokenizer(vocabulary: vocab, merges: merges, pad: openCLIP ? "!" : "<|endoftext|>")
            sched = .stableDiffusion(predictionType: openCLIP ? .vPrediction : .epsilon)
        }
        let textModel = CLIPTextModel(config: textConfig)
        try loadChecked(textModel, text, path: path + " (text encoder)")
        let unet = SDUNet(config: unetConfig)
        try loadChecked(unet, unetDict, path: path + " (UNet)")
        let vae = SDAutoencoder(config: vaeConfig)
        try loadChecked(vae, vaeDict, path: path + " (VAE)")
        self.init(textEncoder: CLIPTextEncoder(name: "stable-diffusion:" + url.lastPathComponent, tokenizer: tokenizer, model: textModel),
                  unet: unet, vae: vae, scheduler: sched)
    }

    /// LDM VAE key (without `first_stage_model.`) -> diffusers key, and whether a 1x1 conv weight becomes a linear one.
    static func convertLDMVAEKey(_ k: String, levels: Int) -> (String, Bool)? {
        var parts = k.split(separator: ".").map(String.init)
        guard parts.count >= 2 else { return nil }
        if parts[0] == "quant_conv" || parts[0] == "post_quant_conv" { return (k, false) }
        guard parts[0] == "encoder" || parts[0] == "decoder" else { return nil }
        let coder = parts[0]
        func resnet(_ rest: [String]) -> String {
            rest.joined(separator: ".").replacingOccurrences(of: "nin_shortcut", with: "conv_shortcut")
        }
        switch parts[1] {
        case "conv_in", "conv_out": return (k, false)
        case "norm_out": parts[1] = "conv_norm_out"; return (parts.joined(separator: "."), false)
        case "down", "up":
            guard parts.count >= 5, let i = Int(parts[2]) else { return nil }
            let level = parts[1] == "down" ? i : levels - 1 - i
            let block = parts[1] == "down" ? "down_blocks" : "up_blocks"
            if parts[3] == "block" { return ("\(coder).\(block).\(level).resnets.\(parts[4]).\(resnet(Array(parts[5...])))", false) }
            if parts[3] == "downsample" || parts[3] == "upsample" {
                let s = parts[3] == "downsample" ? "downsamplers" : "upsamplers"
                return ("\(coder).\(block).\(level).\(s).0.\(parts[4...].joined(separator: "."))", false)
            }
            return nil
        case "mid":
            guard parts.count >= 4 else { return nil }
            switch parts[2] {
            case "block_1": return ("\(coder).mid_block.resnets.0.\(resnet(Array(parts[3...])))", false)
            case "block_2": return ("\(coder).mid_block.resnets.1.\(resnet(Array(parts[3...])))", false)
            case "attn_1":
                let map = ["norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]
                guard let n = map[parts[3]], parts.count == 5 else { return nil }
                return ("\(coder).mid_block.attentions.0.\(n).\(parts[4])", parts[3] != "norm")
            default: return nil
            }
        default: return nil
        }
    }

    /// LDM UNet keys -> diffusers `UNet2DConditionModel` keys, from the block structure the keys show.
    static func convertLDMUNet(_ keys: [String], tensor: (String) throws -> Tensor,
                               fail: (String) -> DiffusionError) throws -> [String: Tensor] {
        let p = "model.diffusion_model."
        let names = Set(keys)
        func indices(_ prefix: String) -> [Int] {
            Set(keys.compactMap { k -> Int? in
                k.hasPrefix(p + prefix) ? Int(k.dropFirst((p + prefix).count).split(separator: ".")[0]) : nil
            }).sorted()
        }
        // Down path: input_blocks 1... grouped into levels closed by a downsampler (`.0.op`).
        var levelResnets: [[Int]] = [[]], downsamplers: [Int: Int] = [:]
        for k in indices("input_blocks.") where k > 0 {
            if names.contains(p + "input_blocks.\(k).0.op.weight") {
                downsamplers[levelResnets.count - 1] = k
                levelResnets.append([])
            } else {
                levelResnets[levelResnets.count - 1].append(k)
            }
        }
        let n = levelResnets.count
        var map: [String: String] = [:]  // LDM block prefix -> diffusers prefix
        map["input_blocks.0.0."] = "conv_in."
        map["time_embed.0."] = "time_embedding.linear_1."
        map["time_embed.2."] = "time_embedding.linear_2."
        map["out.0."] = "conv_norm_out."
        map["out.2."] = "conv_out."
        map["middle_block.0."] = "mid_block.resnets.0."
        map["middle_block.1."] = "mid_block.attentions.0."
        map["middle_block.2."] = "mid_block.resnets.1."
        for (i, ks) in levelResnets.enumerated() {
            for (j, k) in ks.enumerated() {
                map["input_blocks.\(k).0."] = "down_blocks.\(i).resnets.\(j)."
                map["input_blocks.\(k).1."] = "down_blocks.\(i).attentions.\(j)."
            }
            if let d = downsamplers[i] { map["input_blocks.\(d).0.op."] = "down_blocks.\(i).downsamplers.0.conv." }
        }
        // Up path: output_blocks in order, level i (coarsest first) has resnets(level) + 1 blocks.
        var k = 0
        for i in 0..<n {
            let count = levelResnets[n - 1 - i].count + 1
            for j in 0..<count {
                map["output_blocks.\(k).0."] = "up_blocks.\(i).resnets.\(j)."
                let hasAttention = names.contains { $0.hasPrefix(p + "output_blocks.\(k).1.") && !$0.hasPrefix(p + "output_blocks.\(k).1.conv.") }
                if hasAttention { map["output_blocks.\(k).1."] = "up_blocks.\(i).attentions.\(j)." }
                if j == count - 1 && i < n - 1 {
                    map["output_blocks.\(k).\(hasAttention ? 2 : 1).conv."] = "up_blocks.\(i).upsamplers.0.conv."
                }
                k += 1
            }
        }
        let resnetNames = [("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("emb_layers.1.", "time_emb_proj."),
                           ("out_layers.0.", "norm2."), ("out_layers.3.", "conv2."), ("skip_connection.", "conv_shortcut.")]
        var out: [String: Tensor] = [:]
        for key in keys {
            let rest = String(key.dropFirst(p.count))
            guard let (old, new) = map.filter({ rest.hasPrefix($0.key) }).max(by: { $0.key.count < $1.key.count }) else {
                throw fail("unknown UNet tensor \(key)")
            }
            var tail = String(rest.dropFirst(old.count))
            if new.contains("resnets.") {
                guard let (a, b) = resnetNames.first(where: { tail.hasPrefix($0.0) }) else { throw fail("unknown UNet tensor \(key)") }
                tail = b + tail.dropFirst(a.count)
            }
            out[new + tail] = try tensor(key)
        }
        return out
    }

    /// `t`'s shape when it has `rank` dimensions, else an error naming tensor `name` (a damaged
    /// file must fail here, not trap on `shape[i]`).
    static func dims(_ t: Tensor, _ name: String, rank: Int, fail: (String) -> DiffusionError) throws -> [Int] {
        guard t.rank == rank else { throw fail("tensor \(name) has shape \(t.shape), expected \(rank) dimensions") }
        return t.shape
    }

    /// A UNet config from converted weights with SD 1.x (8 heads) or SD 2.x (64-channel heads) attention.
    static func inferredUNetConfig(_ w: [String: Tensor], openCLIP: Bool, fail: (String) -> DiffusionError) throws -> SDUNetConfiguration {
        var c = SDUNetConfiguration()
        guard let convIn = w["conv_in.weight"], let convOut = w["conv_out.weight"], let t1 = w["time_embedding.linear_1.weight"] else {
            throw fail("the UNet lacks conv_in, conv_out or the time embedding")
        }
        c.inChannels = try dims(convIn, "conv_in.weight", rank: 4, fail: fail)[1]
        c.outChannels = try dims(convOut, "conv_out.weight", rank: 4, fail: fail)[0]
        c.timeEmbedDim = try dims(t1, "time_embedding.linear_1.weight", rank: 2, fail: fail)[0]
        var levels = 0
        while w["down_blocks.\(levels).resnets.0.conv1.weight"] != nil { levels += 1 }
        guard levels > 0 else { throw fail("the UNet has no down blocks") }
        c.blockOutChannels = try (0..<levels).map { i in
            let name = "down_blocks.\(i).resnets.0.conv1.weight"
            guard let t = w[name] else { throw fail("the UNet lacks \(name)") }
            return try dims(t, name, rank: 4, fail: fail)[0]
        }
        c.layersPerBlock = (0..<levels).map { i in (0..<16).filter { w["down_blocks.\(i).resnets.\($0).conv1.weight"] != nil }.count }
        c.downAttention = (0..<levels).map { w["down_blocks.\($0).attentions.0.proj_in.weight"] != nil }
        c.upAttention = (0..<levels).map { w["up_blocks.\($0).attentions.0.proj_in.weight"] != nil }
        c.midBlock = w["mid_block.resnets.0.conv1.weight"] != nil
        guard let key = w.keys.first(where: { $0.hasSuffix("attn2.to_k.weight") }), let projIn = w.keys.first(where: { $0.hasSuffix("proj_in.weight") }) else {
            throw fail("the UNet has no cross-attention")
        }
        guard let toK = w[key], let projInWeight = w[projIn] else { throw fail("the UNet has no cross-attention") }
        c.crossAttentionDim = try dims(toK, key, rank: 2, fail: fail)[1]
        c.linearProjection = projInWeight.rank == 2
        let firstAttention = c.midBlock ? "mid_block.attentions.0." : (0..<levels).first { c.downAttention[$0] }.map { "down_blocks.\($0).attentions.0." } ?? ""
        c.transformerLayers = (0..<64).filter { i in w.keys.contains { $0.hasPrefix(firstAttention + "transformer_blocks.\(i).") } }.count
        c.heads = c.blockOutChannels.map { openCLIP ? Swift.max(1, $0 / 64) : 8 }
        c.normGroups = 32
        return c
    }
}

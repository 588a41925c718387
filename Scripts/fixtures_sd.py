#!/usr/bin/env python3
"""Writes the Stable Diffusion parity fixtures of SynDiffusion (Tests/SynDiffusionTests/Fixtures/sd_*).

1. sd_clip_tokens.json: token ids of transformers' CLIPTokenizer built from the real CLIP BPE
   vocabulary (open-clip-torch's bpe_simple_vocab_16e6.txt.gz, turned into vocab.json +
   merges.txt the way the CLIP / Stable Diffusion tokenizer folders hold it) on a varied
   string set: unpadded ids, and ids padded/truncated to 77 with the end token (SD 1.x) and
   with "!" (SD 2.x) as the pad token.
2. sd1/ and sd2/: tiny random diffusers folders (model_index.json, scheduler, tokenizer,
   text_encoder, unet, vae) that StableDiffusionPipeline.from_pretrained loads:
     sd1  CLIP text model with quick_gelu, text_encoder keys with the transformers-4 `text_model.`
          prefix and the `position_ids` buffer (as SD 1.5 ships them), UNet with conv proj_in /
          proj_out and `attention_head_dim` read as a head count (2 heads), epsilon prediction,
          PNDM scheduler config (SD 1.5's), pad token = end token; weights in float16 (unet),
          bfloat16 (text encoder), float32 (vae).
     sd2  CLIP text model with gelu, linear proj_in / proj_out, head dimension 64
          (attention_head_dim [1, 1] at 64 channels), v-prediction, DDIM scheduler config with
          "leading" spacing, pad token "!"; weights in bfloat16 (unet), float16 (text, vae).
   The tokenizer vocabulary is the real CLIP one cut to its 512 byte tokens, the first 300
   merges and the two special tokens (a consistent BPE: every merge's parts come before it).
   Weights are rounded to their storage dtype before the references run, so the Swift side
   loads exactly what diffusers computed with.
3. sd1_parity.safetensors / sd2_parity.safetensors: reference outputs computed in float32 from
   the saved folders (reloaded through from_pretrained):
     text.ids / text.last / text.penultimate   CLIPTextModel on two prompts (last hidden state
                                               after the final LayerNorm; hidden_states[-2]
                                               through the final LayerNorm, diffusers' clip_skip=1)
     unet.sample / unet.timesteps / unet.context / unet.output
     vae.latents / vae.decoded                 vae.decode(latents).sample
     vae.image / vae.mean / vae.logvar         vae.encode(image).latent_dist
     pipe.latents                              initial latents as prepare_latents leaves them
     pipe.ddim / pipe.dpmpp / pipe.euler       StableDiffusionPipeline (prompt in metadata, negative
                                               prompt "", 4 steps, guidance 2.5, output_type
                                               "latent") then vae.decode(latents / scaling_factor):
                                               the image before clamping, for DDIM / DPM++ / Euler
                                               schedulers made from the folder's scheduler config
                                               (for Euler pipe.latents is the DDIM latents times
                                               init_noise_sigma, and the pipeline is given the
                                               unscaled ones)

Setup (CPU only):
    pip install "torch==2.13.0+cpu" diffusers==0.42.1 transformers safetensors
    Scripts/install_models.sh   (puts bpe_simple_vocab_16e6.txt.gz into the model cache)
Run from the repository root:
    python Scripts/fixtures_sd.py
CI never runs this script; the fixtures it writes are committed.
"""
import gzip
import json
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from diffusers import (  # noqa: E402
    AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler, PNDMScheduler,
    StableDiffusionPipeline, UNet2DConditionModel,
)
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "SynDiffusionTests", "Fixtures")
HOME = os.environ.get("SYNCLR_HOME", os.path.expanduser("~/.cache/synclr"))
BPE = os.path.join(HOME, "models", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz")

STRINGS = [
    "a photo of a golden retriever playing in the snow",
    "A Photo Of A CAT, sitting on a mat!!",
    "",
    "   ",
    "  lots   of\t\twhitespace \n\n and\u00a0nbsp\u3000ideographic  ",
    "it's, they're, we've, I'm, you'll, he'd; 'quoted' and don't",
    "Numbers: 3.14159, 1,000,000 and 42nd street at 10:30pm #1 $5 50%",
    "café naïve résumé Ångström façade",
    "東京タワーと日本の桜",
    "I love 🍕 and 🎉! 👨‍👩‍👧 family",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "hyphen-ated, under_score, slash/path, emails: a.b@c.de, url https://x.org/?q=1&r=2",
    "((masterpiece)), [best quality], {detail:1.2} <lora:x> --ar 16:9",
    "e\u0301 composed later (NFC) and \u212b \u00c5 angstrom",
    "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 Stra\u00dfe",
    "tabs\tand\r\nnewlines\u2028line sep",
    "!!!??? ... --- ***",
    "word " * 90,
    "a <|endoftext|> inside and <|startoftext|> too",
    "x" * 60,
]


def bytes_to_unicode():
    """GPT-2 / CLIP byte -> printable character table (byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clip_vocabulary(merge_count=None):
    """vocab (token -> id) and merges of the CLIP BPE, optionally cut to the first merges."""
    lines = gzip.open(BPE).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    if merge_count is not None:
        merges = merges[:merge_count]
    base = list(bytes_to_unicode().values())
    tokens = base + [b + "</w>" for b in base] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_tokenizer(folder, vocab, merges, pad):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": pad}
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({**special, "model_max_length": 77, "do_lower_case": True, "errors": "replace",
                   "tokenizer_class": "CLIPTokenizer"}, f, indent=2)


def token_fixture():
    vocab, merges = clip_vocabulary()
    with tempfile.TemporaryDirectory() as d:
        write_tokenizer(d, vocab, merges, "<|endoftext|>")
        tok1 = CLIPTokenizer.from_pretrained(d)
        write_tokenizer(d, vocab, merges, "!")
        tok2 = CLIPTokenizer.from_pretrained(d)
    assert len(tok1) == 49408 and tok1.pad_token_id == 49407 and tok2.pad_token_id == vocab["!"]
    cases = []
    for s in STRINGS:
        cases.append({
            "text": s,
            "ids": tok1(s).input_ids,
            "sd1": tok1(s, padding="max_length", max_length=77, truncation=True).input_ids,
            "sd2": tok2(s, padding="max_length", max_length=77, truncation=True).input_ids,
        })
    path = os.path.join(OUT, "sd_clip_tokens.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"vocab_size": len(vocab), "cases": cases}, f, ensure_ascii=False)
    print(f"wrote {path} ({len(cases)} strings)")


def randomize(module, gen, scale):
    """Redraws every float parameter so no branch is trivially zero (diffusers zero-inits none, but keep it explicit)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("norm.weight") or "norm1.weight" in name or "norm2.weight" in name or "norm3.weight" in name \
                    or "layer_norm" in name or "norm_out.weight" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(scale * torch.randn(p.shape, generator=gen))


def rounded(module, dtype):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(dtype).float())


SPECS = {
    "sd1": dict(
        text=dict(hidden_act="quick_gelu", layers=2, heads=4, hidden=32, inter=37, dtype=torch.bfloat16, legacy=True),
        unet=dict(block_out_channels=(16, 32), attention_head_dim=2, use_linear_projection=False,
                  down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D")),
        unet_dtype=torch.float16, vae_dtype=torch.float32, scaling=0.18215,
        scheduler=PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                                set_alpha_to_one=False, steps_offset=1, num_train_timesteps=1000),
        pad="<|endoftext|>", prompt="a photo of a cat on a mat",
    ),
    "sd2": dict(
        text=dict(hidden_act="gelu", layers=3, heads=2, hidden=32, inter=40, dtype=torch.float16, legacy=False),
        unet=dict(block_out_channels=(64, 16), attention_head_dim=(1, 1), use_linear_projection=True, time_embedding_dim=32,
                  upcast_attention=True,
                  down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D")),
        unet_dtype=torch.bfloat16, vae_dtype=torch.float16, scaling=0.13025,
        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                                set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction",
                                timestep_spacing="leading", num_train_timesteps=1000),
        pad="!", prompt="an oil painting of a lighthouse at dusk",
    ),
}


def build_folder(name, spec, seed):
    gen = torch.Generator().manual_seed(seed)
    vocab, merges = clip_vocabulary(300)
    t = spec["text"]
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=t["hidden"], intermediate_size=t["inter"], num_hidden_layers=t["layers"],
        num_attention_heads=t["heads"], max_position_embeddings=77, hidden_act=t["hidden_act"],
        bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"], pad_token_id=1, projection_dim=32))
    randomize(text, gen, 0.2)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, norm_num_groups=8,
                                cross_attention_dim=t["hidden"], **spec["unet"])
    randomize(unet, gen, 0.1)
    vae = AutoencoderKL(in_channels=3, out_channels=3, block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
                        latent_channels=4, sample_size=16, scaling_factor=spec["scaling"],
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2)
    randomize(vae, gen, 0.15)
    rounded(text, t["dtype"])
    rounded(unet, spec["unet_dtype"])
    rounded(vae, spec["vae_dtype"])
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as d:
        write_tokenizer(d, vocab, merges, spec["pad"])
        tokenizer = CLIPTokenizer.from_pretrained(d)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=spec["scheduler"],
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    # Store each component in its dtype (save_pretrained wrote float32).
    for comp, file, dtype in [("text_encoder", "model.safetensors", t["dtype"]),
                              ("unet", "diffusion_pytorch_model.safetensors", spec["unet_dtype"]),
                              ("vae", "diffusion_pytorch_model.safetensors", spec["vae_dtype"])]:
        path = os.path.join(folder, comp, file)
        sd = {k: v.to(dtype).contiguous() for k, v in load_file(path).items()}
        if comp == "text_encoder" and t["legacy"]:
            sd = {"text_model." + k: v for k, v in sd.items()}
            sd["text_model.embeddings.position_ids"] = torch.arange(77).unsqueeze(0)
        save_file(sd, path, metadata={"format": "pt"})
    # The tokenizer folder as Stable Diffusion ships it (vocab.json + merges.txt, no tokenizer.json).
    shutil.rmtree(os.path.join(folder, "tokenizer"))
    write_tokenizer(os.path.join(folder, "tokenizer"), vocab, merges, spec["pad"])
    return folder


def references(name, spec, folder, seed):
    gen = torch.Generator().manual_seed(seed + 1)
    pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    text, unet, vae, tok = pipe.text_encoder, pipe.unet, pipe.vae, pipe.tokenizer
    assert tok.pad_token == spec["pad"], tok.pad_token
    out = {}
    with torch.no_grad():
        ids = tok([spec["prompt"], ""], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        o = text(ids, output_hidden_states=True)
        out["text.ids"] = ids.to(torch.int64)
        out["text.last"] = o.last_hidden_state
        out["text.penultimate"] = text.final_layer_norm(o.hidden_states[-2])
        out["text.pooled"] = o.pooler_output

        sample = torch.randn(2, 4, 8, 8, generator=gen)
        context = torch.randn(2, 77, spec["text"]["hidden"], generator=gen)
        timesteps = torch.tensor([981.0, 1.0])
        out["unet.sample"], out["unet.timesteps"], out["unet.context"] = sample, timesteps, context
        out["unet.output"] = unet(sample, timesteps, encoder_hidden_states=context).sample

        latents = torch.randn(1, 4, 8, 8, generator=gen)
        out["vae.latents"] = latents
        out["vae.decoded"] = vae.decode(latents).sample
        image = torch.rand(1, 3, 16, 16, generator=gen) * 2 - 1
        dist = vae.encode(image).latent_dist
        out["vae.image"], out["vae.mean"], out["vae.logvar"] = image, dist.mean, dist.logvar

        noise = torch.randn(1, 4, 8, 8, generator=gen)
        base = pipe.scheduler.config
        for key, cls in [("ddim", DDIMScheduler), ("dpmpp", DPMSolverMultistepScheduler), ("euler", EulerDiscreteScheduler)]:
            pipe.scheduler = cls.from_config(base)
            lat = pipe(spec["prompt"], negative_prompt="", latents=noise.clone(), num_inference_steps=4, guidance_scale=2.5,
                       height=16, width=16, output_type="latent").images
            out[f"pipe.{key}"] = vae.decode(lat / vae.config.scaling_factor).sample
            if key == "ddim":
                out["pipe.latents"] = noise.clone()
            if key == "euler":
                s = cls.from_config(base)
                s.set_timesteps(4)
                out["pipe.latents_euler"] = noise * s.init_noise_sigma
    path = os.path.join(OUT, f"{name}_parity.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path,
              metadata={"prompt": spec["prompt"], "steps": "4", "guidance": "2.5"})
    print(f"wrote {path} ({len(out)} tensors)")


RESNET_TO_LDM = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
                 ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]


def unet_to_ldm(sd, config):
    """diffusers UNet2DConditionModel keys -> the original LDM `model.diffusion_model.` keys."""
    L = config["layers_per_block"]
    attn_up = [t == "CrossAttnUpBlock2D" for t in config["up_block_types"]]
    out = {}
    for k, v in sd.items():
        parts = k.split(".")
        if parts[0] == "conv_in":
            n = "input_blocks.0.0." + ".".join(parts[1:])
        elif parts[0] == "time_embedding":
            n = "time_embed." + {"linear_1": "0", "linear_2": "2"}[parts[1]] + "." + parts[2]
        elif parts[0] == "conv_norm_out":
            n = "out.0." + parts[1]
        elif parts[0] == "conv_out":
            n = "out.2." + parts[1]
        elif parts[0] == "mid_block":
            idx = {"resnets.0": 0, "attentions.0": 1, "resnets.1": 2}[".".join(parts[1:3])]
            n = f"middle_block.{idx}." + ".".join(parts[3:])
        elif parts[0] == "down_blocks":
            i, kind, j, rest = int(parts[1]), parts[2], int(parts[3]), parts[4:]
            if kind == "downsamplers":
                n = f"input_blocks.{1 + i * (L + 1) + L}.0.op." + ".".join(rest[1:])
            else:
                n = f"input_blocks.{1 + i * (L + 1) + j}.{0 if kind == 'resnets' else 1}." + ".".join(rest)
        elif parts[0] == "up_blocks":
            i, kind, j, rest = int(parts[1]), parts[2], int(parts[3]), parts[4:]
            if kind == "upsamplers":
                n = f"output_blocks.{i * (L + 1) + L}.{2 if attn_up[i] else 1}." + ".".join(rest)
            else:
                n = f"output_blocks.{i * (L + 1) + j}.{0 if kind == 'resnets' else 1}." + ".".join(rest)
        else:
            raise KeyError(k)
        if ".resnets." in k:
            for a, b in RESNET_TO_LDM:
                n = n.replace("." + a + ".", "." + b + ".")
        out["model.diffusion_model." + n] = v
    return out


def vae_to_ldm(sd, config):
    """diffusers AutoencoderKL keys -> the original LDM `first_stage_model.` keys."""
    levels = len(config["block_out_channels"])
    out = {}
    for k, v in sd.items():
        n = k.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        parts = n.split(".")
        if parts[1] == "down_blocks":
            if parts[3] == "downsamplers":
                n = f"{parts[0]}.down.{parts[2]}.downsample." + ".".join(parts[5:])
            else:
                n = f"{parts[0]}.down.{parts[2]}.block.{parts[4]}." + ".".join(parts[5:])
        elif parts[1] == "up_blocks":
            lvl = levels - 1 - int(parts[2])
            if parts[3] == "upsamplers":
                n = f"{parts[0]}.up.{lvl}.upsample." + ".".join(parts[5:])
            else:
                n = f"{parts[0]}.up.{lvl}.block.{parts[4]}." + ".".join(parts[5:])
        elif parts[1] == "mid_block":
            if parts[2] == "resnets":
                n = f"{parts[0]}.mid.block_{int(parts[3]) + 1}." + ".".join(parts[4:])
            else:
                name = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"}[parts[4]]
                tail = parts[-1]
                n = f"{parts[0]}.mid.attn_1.{name}.{tail}"
                if name != "norm" and tail == "weight":
                    v = v.reshape(*v.shape, 1, 1)
        out["first_stage_model." + n] = v
    return out


def text_to_ldm(sd, openclip, gen):
    """transformers CLIPTextModel keys -> LDM `cond_stage_model.` keys (HF CLIP for SD 1.x; OpenCLIP for
    SD 2.x, with one more resblock than diffusers keeps, as SD 2.x uses the penultimate layer)."""
    sd = {k[len("text_model."):] if k.startswith("text_model.") else k: v for k, v in sd.items()}
    if not openclip:
        return {"cond_stage_model.transformer.text_model." + k: v for k, v in sd.items()}
    p = "cond_stage_model.model."
    out = {p + "token_embedding.weight": sd["embeddings.token_embedding.weight"],
           p + "positional_embedding": sd["embeddings.position_embedding.weight"],
           p + "ln_final.weight": sd["final_layer_norm.weight"], p + "ln_final.bias": sd["final_layer_norm.bias"]}
    layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("encoder.layers."))
    D = sd["final_layer_norm.weight"].shape[0]
    dtype = sd["final_layer_norm.weight"].dtype
    for i in range(layers + 1):
        q = f"encoder.layers.{i}."
        r = p + f"transformer.resblocks.{i}."
        if i == layers:  # the last OpenCLIP layer, unused by SD 2.x (random, so using it would show)
            src = {k[len(f"encoder.layers.{i - 1}."):]: (torch.randn(v.shape, generator=gen) * 0.2).to(dtype)
                   for k, v in sd.items() if k.startswith(f"encoder.layers.{i - 1}.")}
        else:
            src = {k[len(q):]: v for k, v in sd.items() if k.startswith(q)}
        out[r + "attn.in_proj_weight"] = torch.cat([src["self_attn.q_proj.weight"], src["self_attn.k_proj.weight"], src["self_attn.v_proj.weight"]])
        out[r + "attn.in_proj_bias"] = torch.cat([src["self_attn.q_proj.bias"], src["self_attn.k_proj.bias"], src["self_attn.v_proj.bias"]])
        for a, b in [("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                     ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")]:
            for t in ("weight", "bias"):
                out[r + b + "." + t] = src[a + "." + t]
    out[p + "text_projection"] = (torch.randn(D, D, generator=gen) * 0.1).to(dtype)
    return out


def single_file(name, spec, folder, seed):
    """An original-layout (LDM) single-file checkpoint of the folder's weights, checked by diffusers'
    own from_single_file conversion (same image as the folder) after it is written."""
    gen = torch.Generator().manual_seed(seed + 2)
    cfg = lambda c: json.load(open(os.path.join(folder, c, "config.json")))  # noqa: E731
    sd = {}
    sd.update(unet_to_ldm(load_file(os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors")), cfg("unet")))
    sd.update(vae_to_ldm(load_file(os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors")), cfg("vae")))
    text = load_file(os.path.join(folder, "text_encoder", "model.safetensors"))
    sd.update(text_to_ldm(text, name == "sd2", gen))
    # Training-time buffers an LDM checkpoint carries (ignored at load).
    sd["betas"] = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000) ** 2
    sd["alphas_cumprod"] = torch.cumprod(1 - sd["betas"], 0)
    sd["model_ema.decay"] = torch.tensor(0.9999)
    path = os.path.join(OUT, f"{name}_ldm.safetensors")
    save_file({k: v.contiguous() for k, v in sd.items()}, path)
    with torch.no_grad():
        pipe = StableDiffusionPipeline.from_single_file(path, config=folder, safety_checker=None, requires_safety_checker=False,
                                                        torch_dtype=torch.float32)
        pipe.set_progress_bar_config(disable=True)
        ref = load_file(os.path.join(OUT, f"{name}_parity.safetensors"))
        pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
        with torch.no_grad():
            lat = pipe(spec["prompt"], negative_prompt="", latents=ref["pipe.latents"].clone(), num_inference_steps=4,
                       guidance_scale=2.5, height=16, width=16, output_type="latent").images
            img = pipe.vae.decode(lat / pipe.vae.config.scaling_factor).sample
        err = float((img - ref["pipe.ddim"]).abs().max())
        assert err < 1e-5, f"diffusers' from_single_file disagrees with the folder by {err}"
        print(f"diffusers from_single_file on {path}: max |diff| vs folder {err:.2e}")
    print(f"wrote {path} ({len(sd)} tensors)")


def main():
    torch.manual_seed(0)
    token_fixture()
    for i, (name, spec) in enumerate(SPECS.items()):
        folder = build_folder(name, spec, 100 + 10 * i)
        references(name, spec, folder, 100 + 10 * i)
        single_file(name, spec, folder, 100 + 10 * i)


if __name__ == "__main__":
    main()

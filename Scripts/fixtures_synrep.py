#!/usr/bin/env python3
"""PyTorch reference fixtures for SynRep's parity tests (Tests/SynRepTests/Parity*.swift).

Run with torch 2.13.0+cpu, numpy and safetensors installed (timm optional):

    python3 Scripts/fixtures_synrep.py

Every reference here is a direct PyTorch transcription of the method's formulas (the SynCLR
paper, Tian et al., CVPR 2024: multi-positive contrastive loss, iBOT masked-patch loss with
Sinkhorn-Knopp targets, EMA teacher), written for this script, not SynRep's code translated
line by line, computed in float64 and stored as float32. Writes to Tests/SynRepTests/Fixtures/:

* vit.safetensors: a tiny ViT (16x16x3 input, patch 4, width 32, depth 2, heads 2, timm names):
  tokens and the gradients of every parameter and of the input; with a mask (mask-token
  substitution); with the position embedding resampled (bicubic, align_corners=False, no
  antialias) for 24x24, 8x8 and 12x20 inputs.
* heads.safetensors: projector / predictor MLPs (Linear, LayerNorm, GELU) and the iBOT prototype
  head (weight-normalized last layer, torch's own weight_norm parametrization).
* losses.safetensors: multi-positive contrastive loss (repeated group ids, own-key exclusion,
  shared queries/keys), single-process Sinkhorn-Knopp (DINOv2's formula), iBOT masked-patch loss.
* trainstep.safetensors: one full SynCLR training step on fixed crops and a fixed mask: every
  loss term, every student gradient before clipping, the AdamW-updated student and the
  EMA-updated teacher (as changes from the initial weights).

Weights are not stored: every parameter is `offset + scale * u`, where u is a hash of the
parameter's name and element index (`hashed_uniform`, reimplemented in the Swift tests) and
`init/<name>` holds [offset, scale]. Inputs and probes are made the same way from their key, with
the recipe `hashed/<key>` = [offset, scale, shape...] stored instead of the data (masks and group
ids are stored). All such values are exact in float32, so both sides start from bit-identical
weights and inputs. A probe `w` turns tensor outputs into the scalar sum(out * w) whose gradients
are compared. The files are byte-identical on every run.

The training step runs at step 2 of 10 (inside the LR warm-up and the teacher-temperature ramp)
with a fresh AdamW, the clip set to half the gradient norm so that it bites, and the local-crop
own-global exclusion on: the local crops are held image-major here ([n, L, ...]) and each row
excludes its own image's key by identity, while SynRep orders them crop-major.

If timm can be imported, the script also checks that the reference ViT is timm's
VisionTransformer (same state dict, same features) and that its position-embedding resampling
equals timm's resample_abs_pos_embed(antialias=False). CI never runs this script.
"""

import copy
import math
import sys
import types
import importlib.abc
import importlib.machinery
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests" / "SynRepTests" / "Fixtures"
METADATA = {"generator": f"Scripts/fixtures_synrep.py, torch {torch.__version__}"}
DT = torch.float64

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------------------------
# Deterministic weights shared with the Swift tests

MASK32 = 0xFFFFFFFF


def fnv1a32(s: str) -> int:
    h = 0x811C9DC5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & MASK32
    return h


def hashed_uniform(name: str, n: int) -> np.ndarray:
    """n values in [-1, 1), multiples of 2^-15: a 32-bit integer hash of (name, index)."""
    m = np.uint64(MASK32)
    x = (np.uint64(fnv1a32(name)) + np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B9)) & m
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & m
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & m
    x ^= x >> np.uint64(16)
    k = (x >> np.uint64(16)).astype(np.int64)
    return (k - 32768).astype(np.float64) / 32768.0


def pow2_below(v: float) -> float:
    return 2.0 ** math.floor(math.log2(v))


def init_weights(module: nn.Module, name_of) -> dict:
    """Sets every parameter of `module` to offset + scale * hashed_uniform(swift name); returns the specs."""
    specs = {}
    params = dict(module.named_parameters())
    owner = {}
    for mname, m in module.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            owner[(mname + "." if mname else "") + pname] = m
    for pyname, p in params.items():
        name = name_of(pyname)
        m = owner[pyname]
        if name.endswith("weight_g"):
            offset, scale = 1.0, 0.0
        elif isinstance(m, nn.LayerNorm):
            offset, scale = (1.0, 0.25) if pyname.endswith("weight") else (0.0, 0.125)
        elif pyname.endswith("bias"):
            offset, scale = 0.0, 0.125
        elif isinstance(m, (nn.Linear, nn.Conv2d)) or name.endswith("weight_v"):
            fan_in = p[0].numel()
            offset, scale = 0.0, pow2_below(math.sqrt(3.0 / fan_in) * 1.5)
        else:  # cls_token, pos_embed, mask_token
            offset, scale = 0.0, 0.5
        with torch.no_grad():
            v = offset + scale * hashed_uniform(name, p.numel())
            p.copy_(torch.from_numpy(v).reshape(p.shape).to(p.dtype))
        specs[name] = (offset, scale)
    return specs


def swift_name(pyname: str) -> str:
    """Maps torch's weight_norm parametrization names to the checkpoint names weight_g / weight_v."""
    return (pyname.replace("parametrizations.weight.original0", "weight_g")
                  .replace("parametrizations.weight.original1", "weight_v"))


# ----------------------------------------------------------------------------------------------
# Reference modules (the SynCLR paper's representation learning; timm parameter names)

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, D = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(B, N, 3, h, D // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1) / math.sqrt(D // h)).softmax(dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, chans, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(chans, dim, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    """Pre-norm ViT, LayerNorm eps 1e-6, qkv bias, CLS token, learned absolute positions, mask token."""

    def __init__(self, img, patch, chans, dim, depth, heads):
        super().__init__()
        self.patch, self.grid, self.dim = patch, img // patch, dim
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid ** 2, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.patch_embed = PatchEmbed(chans, dim, patch)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def pos(self, gh, gw):
        if (gh, gw) == (self.grid, self.grid):
            return self.pos_embed
        g = self.grid
        grid = self.pos_embed[:, 1:].reshape(1, g, g, self.dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([self.pos_embed[:, :1], grid.permute(0, 2, 3, 1).reshape(1, gh * gw, self.dim)], dim=1)

    def forward(self, x, mask=None):
        B, _, H, W = x.shape
        t = self.patch_embed(x)
        if mask is not None:
            t = torch.where(mask.bool().unsqueeze(-1), self.mask_token.to(t.dtype), t)
        t = torch.cat([self.cls_token.expand(B, -1, -1), t], dim=1) + self.pos(H // self.patch, W // self.patch)
        for b in self.blocks:
            t = b(t)
        return self.norm(t)


class MLPHead(nn.Module):
    """Linear layers with LayerNorm + GELU between them; Linear before a norm has no bias."""

    def __init__(self, dims, norm=True, last_norm=False):
        super().__init__()
        layers = []
        for i in range(len(dims) - 1):
            last = i == len(dims) - 2
            layers.append(nn.Linear(dims[i], dims[i + 1], bias=not (norm and (not last or last_norm))))
            if not last:
                if norm:
                    layers.append(nn.LayerNorm(dims[i + 1]))
                layers.append(nn.GELU())
            elif last_norm:
                layers.append(nn.LayerNorm(dims[i + 1], elementwise_affine=False))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class PrototypeHead(nn.Module):
    """iBOT head: MLP (GELU), l2-normalize, weight-normalized Linear to K prototypes (g fixed at 1)."""

    def __init__(self, dims, prototypes):
        super().__init__()
        self.mlp = MLPHead(dims, norm=False)
        self.last_layer = nn.utils.parametrizations.weight_norm(nn.Linear(dims[-1], prototypes, bias=False))
        self.last_layer.parametrizations.weight.original0.requires_grad_(False)

    def forward(self, x):
        return self.last_layer(F.normalize(self.mlp(x), dim=-1, p=2, eps=1e-12))


# ----------------------------------------------------------------------------------------------
# Reference losses

def multi_positive_contrastive(q, k, q_groups, k_groups, own, tau):
    """H(p, softmax(q.k / tau)) averaged over queries; own[i] (>= 0) is removed from query i's candidates."""
    logits = q @ k.T / tau
    qg = torch.tensor(q_groups).view(-1, 1)
    kg = torch.tensor(k_groups).view(1, -1)
    excluded = torch.zeros_like(logits, dtype=torch.bool)
    for i, j in enumerate(own):
        if j is not None and j >= 0:
            excluded[i, j] = True
    logits = logits.masked_fill(excluded, float("-inf"))
    pos = (qg == kg) & ~excluded
    p = pos.to(logits.dtype) / pos.sum(dim=1, keepdim=True)
    logp = F.log_softmax(logits, dim=1)
    return -torch.where(pos, p * logp, torch.zeros_like(logp)).sum(dim=1).mean()


@torch.no_grad()
def sinkhorn_knopp(scores, temperature, iterations=3):
    """DINOv2's sinkhorn_knopp_teacher in one process (world size 1)."""
    Q = torch.exp(scores / temperature).t()  # K x B
    B = Q.shape[1]
    K = Q.shape[0]
    Q /= Q.sum()
    for _ in range(iterations):
        Q /= Q.sum(dim=1, keepdim=True)
        Q /= K
        Q /= Q.sum(dim=0, keepdim=True)
        Q /= B
    Q *= B
    return Q.t()


def masked_patch_loss(student_scores, teacher_scores, masks, teacher_temp, student_temp=0.1):
    """iBOT: rows are the masked patches of `masks` [n, N] in (image, patch) order; each weighted
    1 / (masked patches of its image); the sum is divided by the number of masked images."""
    t = sinkhorn_knopp(teacher_scores, teacher_temp)
    per_patch = torch.sum(t * F.log_softmax(student_scores / student_temp, dim=-1), dim=-1)
    masks = masks.bool()
    weight = (1 / masks.sum(-1).clamp(min=1.0)).unsqueeze(-1).expand_as(masks)[masks]
    n_masked_images = int((masks.sum(-1) > 0).sum())
    return -(per_patch * weight).sum() / n_masked_images


def cosine_scheduler(base, final, total, warmup=0, start_warmup=0.0):
    """DINO's cosine_scheduler with one iteration per epoch: linspace warm-up, then half cosine."""
    warm = np.linspace(start_warmup, base, warmup) if warmup > 0 else np.array([])
    iters = np.arange(total - warmup)
    cos = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / len(iters)))
    return np.concatenate((warm, cos))


# ----------------------------------------------------------------------------------------------
# Fixture writing

class Fixture:
    def __init__(self, name):
        self.name = name
        self.tensors = {}

    def put(self, key, t):
        assert key not in self.tensors, key
        if not isinstance(t, torch.Tensor):
            t = torch.tensor(t)
        self.tensors[key] = t.detach().to(torch.float32).contiguous().clone()

    def hashed(self, key, shape, scale=1.0, offset=0.0):
        """A float32-exact input offset + scale * hashed_uniform(key); stores only the recipe."""
        self.put(f"hashed/{key}", [offset, scale] + list(shape))
        n = math.prod(shape)
        return torch.from_numpy(offset + scale * hashed_uniform(key, n)).reshape(shape).to(DT)

    def put_specs(self, prefix, specs):
        for name, (offset, scale) in specs.items():
            self.put(f"{prefix}init/{name}", [offset, scale])

    def save(self):
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{self.name}.safetensors"
        save_file(self.tensors, str(path), metadata=METADATA)
        print(f"{path.name}: {len(self.tensors)} tensors, {path.stat().st_size} bytes")


def probe_grads(module, out, w, extra=()):
    """Gradients of sum(out * w) w.r.t. the module's trainable parameters (by Swift name) and `extra`."""
    params = [(swift_name(n), p) for n, p in module.named_parameters() if p.requires_grad]
    gs = torch.autograd.grad((out * w).sum(), [p for _, p in params] + list(extra), allow_unused=True)
    named = {n: (g if g is not None else torch.zeros_like(p)) for (n, p), g in zip(params, gs[:len(params)])}
    return named, list(gs[len(params):])


# ----------------------------------------------------------------------------------------------
# Cases

def vit_fixture():
    f = Fixture("vit")
    torch.manual_seed(1)
    vit = ViT(img=16, patch=4, chans=3, dim=32, depth=2, heads=2).to(DT)
    f.put_specs("", init_weights(vit, lambda n: n))
    x = f.hashed("x", (2, 3, 16, 16), scale=2.0).requires_grad_()
    w = f.hashed("w", (2, 17, 32))
    tokens = vit(x)
    grads, (gx,) = probe_grads(vit, tokens, w, [x])
    f.put("tokens", tokens)
    f.put("grad_x", gx)
    for n, g in grads.items():
        f.put(f"grad/{n}", g)
    timm_check(vit, x.detach(), tokens.detach())

    # Mask-token substitution (image 0: 7 patches, image 1: 3 patches); masked patches get no input gradient.
    mask = torch.zeros(2, 16, dtype=DT)
    mask[0, torch.randperm(16)[:7]] = 1
    mask[1, torch.randperm(16)[:3]] = 1
    f.put("mask", mask)
    tokens = vit(x, mask)
    grads, (gx,) = probe_grads(vit, tokens, w, [x])
    f.put("masked/tokens", tokens)
    f.put("masked/grad_x", gx)
    for n in ["mask_token", "cls_token", "pos_embed"]:
        f.put(f"masked/grad/{n}", grads[n])

    # Other input sizes: bicubic resampling of the 4x4 position grid (up, down, non-square).
    for tag, (h, wd) in {"up": (24, 24), "down": (8, 8), "rect": (12, 20)}.items():
        xi = f.hashed(f"{tag}/x", (1, 3, h, wd), scale=2.0)
        tokens = vit(xi)
        wi = f.hashed(f"{tag}/w", tuple(tokens.shape))
        grads, _ = probe_grads(vit, tokens, wi)
        f.put(f"{tag}/tokens", tokens)
        f.put(f"{tag}/grad/pos_embed", grads["pos_embed"])
        if tag != "up":
            f.put(f"{tag}/pos", vit.pos(h // 4, wd // 4))
        timm_resample_check(vit, (h // 4, wd // 4))
    f.save()


def heads_fixture():
    f = Fixture("heads")
    cases = {
        "projector": MLPHead([32, 24, 24, 16]),
        "predictor": MLPHead([16, 24, 16]),
        "last_norm": MLPHead([16, 24, 16], last_norm=True),
        "prototype": PrototypeHead([32, 24, 16], prototypes=20),
    }
    for tag, head in cases.items():
        head = head.to(DT)
        f.put_specs("", init_weights(head, lambda n, t=tag: f"{t}/{swift_name(n)}"))
        x = f.hashed(f"{tag}/x", (5, 32 if tag in ("projector", "prototype") else 16), scale=2.0).requires_grad_()
        out = head(x)
        w = f.hashed(f"{tag}/w", tuple(out.shape))
        grads, (gx,) = probe_grads(head, out, w, [x])
        f.put(f"{tag}/out", out)
        f.put(f"{tag}/grad_x", gx)
        for n, g in grads.items():
            f.put(f"{tag}/grad/{n}", g)
    f.save()


def losses_fixture():
    f = Fixture("losses")
    torch.manual_seed(3)
    tau = 0.08
    # Keys: 8 global crops of 4 caption slots x 2 images, caption 3 drawn twice (slots 0 and 2).
    k_groups = [3, 3, 1, 1, 3, 3, 7, 7]
    cases = {
        # Global queries against their teacher keys, own copy excluded.
        "global": dict(q_groups=k_groups, own=list(range(8)), m=8),
        # Two local crops per image, crop-major rows (crop l of every image); own image's global excluded.
        "local_exclude": dict(q_groups=k_groups * 2, own=list(range(8)) * 2, m=16),
        # The same without exclusion.
        "local_keep": dict(q_groups=k_groups * 2, own=[None] * 16, m=16),
    }
    for tag, c in cases.items():
        q = f.hashed(f"contrastive/{tag}/q", (c["m"], 16)).requires_grad_()
        k = f.hashed(f"contrastive/{tag}/k", (8, 16)).requires_grad_()
        loss = multi_positive_contrastive(F.normalize(q, dim=-1), F.normalize(k, dim=-1), c["q_groups"], k_groups,
                                          c["own"], tau)
        gq, gk = torch.autograd.grad(loss, [q, k])
        f.put(f"contrastive/{tag}/q_groups", c["q_groups"])
        f.put(f"contrastive/{tag}/own", [-1 if o is None else o for o in c["own"]])
        f.put(f"contrastive/{tag}/loss", loss)
        f.put(f"contrastive/{tag}/grad_q", gq)
        f.put(f"contrastive/{tag}/grad_k", gk)
    f.put("contrastive/k_groups", k_groups)
    # StableRep: queries are the keys (one tensor), each row's own copy excluded.
    z = f.hashed("contrastive/shared/z", (8, 16)).requires_grad_()
    zn = F.normalize(z, dim=-1)
    loss = multi_positive_contrastive(zn, zn, k_groups, k_groups, list(range(8)), tau)
    (gz,) = torch.autograd.grad(loss, [z])
    f.put("contrastive/shared/loss", loss)
    f.put("contrastive/shared/grad_z", gz)

    # Sinkhorn-Knopp: cosine-like scores at both ends of the teacher-temperature ramp, and large
    # scores whose exp(score / T) overflows float32 (the Swift version subtracts the max first).
    for tag, (shape, scale, temp) in {
        "cos_t004": ((12, 20), 1.0, 0.04),
        "cos_t007": ((12, 20), 1.0, 0.07),
        "large": ((9, 20), 6.0, 0.04),
    }.items():
        scores = f.hashed(f"sinkhorn/{tag}/scores", shape, scale=scale)
        f.put(f"sinkhorn/{tag}/temperature", temp)
        f.put(f"sinkhorn/{tag}/out", sinkhorn_knopp(scores, temp))

    # iBOT masked-patch loss: 5 images of 8 patches, images 0, 2, 3 masked with 5, 2, 4 patches.
    masks = torch.zeros(5, 8, dtype=DT)
    for i, cnt in [(0, 5), (2, 2), (3, 4)]:
        masks[i, torch.randperm(8)[:cnt]] = 1
    P = int(masks.sum())
    s = f.hashed("ibot/student", (P, 20)).requires_grad_()
    t = f.hashed("ibot/teacher", (P, 20))
    loss = masked_patch_loss(s, t, masks, teacher_temp=0.05)
    (gs,) = torch.autograd.grad(loss, [s])
    f.put("ibot/masks", masks)
    f.put("ibot/teacher_temperature", 0.05)
    f.put("ibot/loss", loss)
    f.put("ibot/grad_student", gs)
    f.save()


# The training-step configuration; Tests/SynRepTests/ParityTrainStepTests.swift builds the same TrainConfig.
STEP = dict(
    image=16, patch=4, chans=1, dim=16, depth=1, heads=2,
    projector=[32, 16], predictor=[32, 16], ibot=[32, 16], prototypes=24,
    local_crops=2, local_size=8,
    lr=4e-3, min_lr=1e-5, warmup=4, steps=10, wd=0.04, final_wd=0.2, momentum=0.994,
    tau=0.08, student_temp=0.1, teacher_temp=0.04, final_teacher_temp=0.07, teacher_temp_warmup=3,
    step=2,
)


class Student(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.backbone = ViT(c["image"], c["patch"], c["chans"], c["dim"], c["depth"], c["heads"])
        self.projector = MLPHead([c["dim"]] + c["projector"])
        self.predictor = MLPHead([c["projector"][-1]] + c["predictor"])
        self.ibot_head = PrototypeHead([c["dim"]] + c["ibot"], c["prototypes"])


def trainstep_fixture():
    f = Fixture("trainstep")
    torch.manual_seed(4)
    c = STEP
    student = Student(c).to(DT)
    f.put_specs("", init_weights(student, swift_name))
    teacher = copy.deepcopy(student)
    del teacher.predictor
    for p in teacher.parameters():
        p.requires_grad_(False)

    # Batch: 3 caption slots x 2 images, caption 4 drawn twice (slots 0 and 2).
    groups = [4, 4, 1, 1, 4, 4]
    n, L, s = len(groups), c["local_crops"], c["local_size"]
    N = (c["image"] // c["patch"]) ** 2
    globals_ = f.hashed("globals", (n, c["chans"], c["image"], c["image"]), scale=2.0)
    locals_ = f.hashed("locals", (n, L, c["chans"], s, s), scale=2.0)  # image-major: locals_[i, l] is crop l of image i
    masks = torch.zeros(n, N, dtype=DT)
    for i, cnt in [(1, 8), (2, 5), (4, 8)]:
        masks[i, torch.randperm(N)[:cnt]] = 1
    f.put("groups", groups)
    f.put("masks", masks)

    step = c["step"]
    lr = cosine_scheduler(c["lr"], c["min_lr"], c["steps"], warmup=c["warmup"])[step]
    wd = cosine_scheduler(c["wd"], c["final_wd"], c["steps"])[step]
    m = cosine_scheduler(c["momentum"], 1.0, c["steps"])[step]
    w0, w1, W = c["teacher_temp"], c["final_teacher_temp"], c["teacher_temp_warmup"]
    teacher_temp = w1 if step >= W else w0 + (w1 - w0) * step / W
    for k, v in dict(lr=lr, wd=wd, momentum=m, teacher_temperature=teacher_temp).items():
        f.put(f"schedule/{k}", v)

    # Teacher: keys from the unmasked global crops, iBOT targets at the masked positions.
    with torch.no_grad():
        t_tokens = teacher.backbone(globals_)
        keys = F.normalize(teacher.projector(t_tokens[:, 0]), dim=-1)
        t_scores = teacher.ibot_head(t_tokens[:, 1:][masks.bool()])

    def local_loss(exclude, own_of=lambda i, l: i):
        cls = student.backbone(locals_.reshape(n * L, c["chans"], s, s))[:, 0]
        ql = F.normalize(student.predictor(student.projector(cls)), dim=-1)
        rows = [(i, l) for i in range(n) for l in range(L)]
        own = [own_of(i, l) if exclude else None for i, l in rows]
        return multi_positive_contrastive(ql, keys, [groups[i] for i, _ in rows], groups, own, c["tau"])

    tokens = student.backbone(globals_, masks)
    qg = F.normalize(student.predictor(student.projector(tokens[:, 0])), dim=-1)
    lg = multi_positive_contrastive(qg, keys, groups, groups, list(range(n)), c["tau"])
    ll = local_loss(True)
    s_scores = student.ibot_head(tokens[:, 1:][masks.bool()])
    lib = masked_patch_loss(s_scores, t_scores, masks, teacher_temp, c["student_temp"])
    total = lg + ll + lib
    with torch.no_grad():
        f.put("loss/local_keep", local_loss(False))
        # The reference code's slip: row r of the local queries taken as image r mod n although its
        # rows are image-major here. The fixture must tell the two apart.
        wrong = local_loss(True, own_of=lambda i, l: (i * L + l) % n)
        assert abs(float(wrong) - float(ll)) > 1e-3, "fixture cannot distinguish the excluded crop"
    for k, v in dict(total=total, global_=lg, local=ll, ibot=lib).items():
        f.put(f"loss/{k.rstrip('_')}", v)

    total.backward()
    named = [(swift_name(nm), p) for nm, p in student.named_parameters() if p.requires_grad]
    for nm, p in named:
        f.put(f"grad/{nm}", p.grad)
    norm = torch.sqrt(sum((p.grad ** 2).sum() for _, p in named))
    clip = float(np.float32(0.5 * float(norm)))  # the clip bites; float32 so both sides use the same value
    f.put("clip", clip)
    f.put("grad_norm", norm)
    torch.nn.utils.clip_grad_norm_([p for _, p in named], clip)
    decay = [p for nm, p in named if p.ndim >= 2 and not nm.endswith(".bias")]
    no_decay = [p for nm, p in named if not (p.ndim >= 2 and not nm.endswith(".bias"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    before = {swift_name(nm): p.detach().clone() for nm, p in student.named_parameters()}
    opt.step()
    with torch.no_grad():
        s_params = {swift_name(nm): p for nm, p in student.named_parameters()}
        for nm, tp in teacher.named_parameters():
            tp.mul_(m).add_((1 - m) * s_params[swift_name(nm)])
    # Stored as changes from the (shared, exactly known) initial weights, so float32 storage keeps
    # the update's own precision: student s1 - s0 (the clipped AdamW step) and teacher t1 - t0.
    for nm, p in student.named_parameters():
        if p.requires_grad:
            f.put(f"student_delta/{swift_name(nm)}", p - before[swift_name(nm)])
    for nm, p in teacher.named_parameters():
        f.put(f"teacher_delta/{swift_name(nm)}", p - before[swift_name(nm)])
    f.save()


# ----------------------------------------------------------------------------------------------
# Optional cross-check against timm

def import_timm():
    """timm imports torchvision at import time for data helpers a ViT does not use; with no
    torchvision installed, empty stand-in modules let the model code load."""
    try:
        import timm  # noqa: F401
        return timm
    except ModuleNotFoundError as e:
        if "torchvision" not in str(e):
            return None
    for k in [k for k in sys.modules if k == "timm" or k.startswith("timm.")]:
        del sys.modules[k]

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            if name == "InterpolationMode":
                import enum
                return enum.Enum(name, "NEAREST BILINEAR BICUBIC BOX HAMMING LANCZOS NEAREST_EXACT")
            if name == "FrozenBatchNorm2d":
                return nn.Module
            return type(name, (), {"__init__": lambda self, *a, **k: None})

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            if fullname == "torchvision" or fullname.startswith("torchvision."):
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            mod = Stub(spec.name)
            mod.__path__ = []
            return mod

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())
    try:
        import timm
        return timm
    except Exception as e:  # pragma: no cover - informational only
        print(f"timm cross-check skipped: {e}")
        return None


TIMM = None


def timm_check(vit, x, tokens):
    global TIMM
    TIMM = TIMM or import_timm()
    if TIMM is None:
        print("timm not importable: cross-check skipped")
        return
    from timm.models.vision_transformer import VisionTransformer
    ref = VisionTransformer(img_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2,
                            num_classes=0, qkv_bias=True).to(DT)
    state = {k: v for k, v in vit.state_dict().items() if k != "mask_token"}
    ref.load_state_dict(state, strict=True)
    ref.eval()
    with torch.no_grad():
        feats = ref.forward_features(x)
        pooled = ref(x)
    err = max(float((feats - tokens).abs().max()), float((pooled - tokens[:, 0]).abs().max()))
    assert err < 1e-12, f"reference ViT differs from timm's by {err}"
    print(f"timm {TIMM.__version__} VisionTransformer: tokens and CLS agree (max abs diff {err:.1e})")


def timm_resample_check(vit, size):
    if TIMM is None:
        return
    from timm.layers import resample_abs_pos_embed
    with torch.no_grad():
        ref = resample_abs_pos_embed(vit.pos_embed, list(size), num_prefix_tokens=1, interpolation="bicubic",
                                     antialias=False)
        err = float((ref - vit.pos(*size)).abs().max())
    assert err < 1e-6, f"position resampling differs from timm's by {err}"  # timm resamples in float32
    print(f"timm resample_abs_pos_embed(antialias=False) to {size}: max abs diff {err:.1e}")


def main():
    vit_fixture()
    heads_fixture()
    losses_fixture()
    trainstep_fixture()
    total = sum(p.stat().st_size for p in OUT.glob("*.safetensors"))
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()

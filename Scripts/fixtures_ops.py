#!/usr/bin/env python3
"""PyTorch reference fixtures for SynTensor's parity tests (Tests/SynTensorTests/Parity*.swift).

Run with torch 2.13.0+cpu and safetensors installed:

    python3 Scripts/fixtures_ops.py

Writes small safetensors files to Tests/SynTensorTests/Fixtures/:

* elementwise.safetensors, reductions.safetensors, nn.safetensors: one case per op variant.
  For case `c`: inputs `c/x0, c/x1, ...` (integer arguments such as indices and labels are
  stored as float values), outputs `c/out0, ...`, and, unless the case is forward-only, fixed
  random weights `c/w0, ...` with the gradients `c/g<i>` of sum_j sum(out_j * w_j) with respect
  to every differentiable input i.
* transformer.safetensors: a 2-block pre-norm ViT-style transformer (timm `Block` names):
  `param/<state_dict name>`, `grad/<state_dict name>`, `input`, `labels`, `logits`, `loss`,
  `grad_input`.
* optim.safetensors: AdamW (two parameter groups) and SGD (momentum, Nesterov, dampening)
  trajectories over 3 steps: `<opt>/p<k>/init`, `<opt>/p<k>/grad<s>`, `<opt>/p<k>/step<s>`.

Every case seeds torch.manual_seed with the CRC32 of its name, so cases are independent of
each other and the files are byte-identical on every run. Everything is float32 on one thread.
"""

import math
import zlib
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests" / "SynTensorTests" / "Fixtures"

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# One metadata key only: safetensors serializes metadata from a hash map, so several keys would
# come out in a random order and the files would not be byte-identical across runs.
METADATA = {"generator": f"Scripts/fixtures_ops.py, torch {torch.__version__}"}


def seed_for(name: str) -> int:
    return zlib.crc32(name.encode())


class FixtureFile:
    """Collects cases into one safetensors file."""

    def __init__(self, name: str):
        self.name = name
        self.tensors: dict[str, torch.Tensor] = {}
        self.cases: list[str] = []

    def put(self, key: str, t: torch.Tensor):
        assert key not in self.tensors, key
        self.tensors[key] = t.detach().to(torch.float32).contiguous().clone()

    def case(self, name, make_inputs, fn, diff=None, forward_only=False):
        """make_inputs() -> list of tensors; fn(*inputs) -> tensor or list of tensors.

        `diff` lists the indices of differentiable inputs (default: every input)."""
        assert name not in self.cases, name
        self.cases.append(name)
        torch.manual_seed(seed_for(name))
        inputs = [t.detach().to(torch.float32) for t in make_inputs()]
        if diff is None:
            diff = [] if forward_only else list(range(len(inputs)))
        leaves = [x.clone().requires_grad_(i in diff) for i, x in enumerate(inputs)]
        outs = fn(*leaves)
        if isinstance(outs, torch.Tensor):
            outs = [outs]
        for i, x in enumerate(inputs):
            self.put(f"{name}/x{i}", x)
        for j, o in enumerate(outs):
            self.put(f"{name}/out{j}", o)
        if forward_only:
            return
        ws = [torch.randn(o.shape) for o in outs]
        loss = sum((o * w).sum() for o, w in zip(outs, ws))
        grads = torch.autograd.grad(loss, [leaves[i] for i in diff], allow_unused=True)
        for j, w in enumerate(ws):
            self.put(f"{name}/w{j}", w)
        for i, g in zip(diff, grads):
            self.put(f"{name}/g{i}", torch.zeros_like(inputs[i]) if g is None else g)

    def save(self):
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{self.name}.safetensors"
        save_file(self.tensors, str(path), metadata=METADATA)
        print(f"{path.name}: {len(self.cases)} cases, {len(self.tensors)} tensors, {path.stat().st_size} bytes")


r = torch.randn


def pos(*shape):
    """Positive values in [0.5, 2)."""
    return torch.rand(*shape) * 1.5 + 0.5


def halves(*shape):
    """Multiples of 0.5 in [-1.5, 1.5]: many exact ties."""
    return torch.randint(-3, 4, shape).float() / 2


def mask01(*shape, p=0.5):
    return (torch.rand(*shape) < p).float()


# ---------------------------------------------------------------------------------------------
# Elementwise ops
# ---------------------------------------------------------------------------------------------

def elementwise():
    f = FixtureFile("elementwise")
    c = f.case
    c("add_bcast", lambda: [r(2, 3, 4), r(3, 1)], lambda a, b: a + b)
    c("add_transposed", lambda: [r(4, 3, 2), r(2, 3, 4)], lambda a, b: a.permute(2, 1, 0) + b)
    c("sub_bcast", lambda: [r(2, 3, 4), r(4)], lambda a, b: a - b)
    c("mul_bcast", lambda: [r(2, 1, 4), r(3, 1)], lambda a, b: a * b)
    c("mul_self", lambda: [r(3, 4)], lambda a: a * a)
    c("div_bcast", lambda: [r(2, 3, 4), pos(2, 3, 1)], lambda a, b: a / b)
    c("div_transposed", lambda: [r(3, 4), pos(4, 3)], lambda a, b: a / b.T)
    c("scalar_ops", lambda: [r(2, 3)], lambda a: [a + 2.5, 2.5 - a, a * -1.5, a / 4, a - 1, 2.5 + a, -1.5 * a])
    c("rdiv_scalar", lambda: [pos(2, 3)], lambda a: 3 / a)
    c("neg", lambda: [r(2, 3)], lambda a: -a)
    c("exp", lambda: [r(2, 3, 4) * 2], lambda a: a.exp())
    c("log", lambda: [pos(2, 3, 4)], lambda a: a.log())
    c("sqrt", lambda: [pos(2, 3, 4)], lambda a: a.sqrt())
    c("rsqrt", lambda: [pos(2, 3, 4)], lambda a: a.rsqrt())
    c("pow_scalar", lambda: [pos(2, 3, 4)], lambda a: [a.pow(1.7), a.pow(2), a.pow(0.5), a.pow(-1.5), a.pow(3)])
    c("pow_tensor", lambda: [pos(2, 3, 4), r(4)], lambda a, b: a.pow(b))
    c("pow_scalar_negative_base", lambda: [r(2, 3)], lambda a: [a.pow(2), a.pow(3), a.pow(-1)])
    c("pow_scalar_zero_base", lambda: [torch.tensor([0.0, 1.5, 0.0, -0.5])], lambda a: [a.pow(0), a.pow(2), a.pow(3)])
    c("pow_tensor_zero_base", lambda: [torch.tensor([0.0, 0.0, 1.5, 0.5, 0.0]), torch.tensor([0.0, 2.0, 0.0, 1.5, 1.0])],
      lambda a, b: a.pow(b))
    c("abs", lambda: [r(2, 3, 4)], lambda a: a.abs())
    c("tanh", lambda: [r(2, 3, 4) * 2], lambda a: a.tanh())
    c("sigmoid", lambda: [r(2, 3, 4) * 3], lambda a: a.sigmoid())
    c("relu", lambda: [r(2, 3, 4)], lambda a: a.relu())
    c("gelu_erf", lambda: [r(2, 3, 4) * 2], lambda a: F.gelu(a))
    c("gelu_tanh", lambda: [r(2, 3, 4) * 2], lambda a: F.gelu(a, approximate="tanh"))
    c("silu", lambda: [r(2, 3, 4) * 2], lambda a: F.silu(a))
    c("activations_wide", lambda: [torch.linspace(-12, 12, 25)],
      lambda a: [F.gelu(a), F.gelu(a, approximate="tanh"), a.sigmoid(), F.silu(a), a.tanh(), a.exp()])
    c("sin", lambda: [r(2, 3, 4) * 3], lambda a: a.sin())
    c("cos", lambda: [r(2, 3, 4) * 3], lambda a: a.cos())
    c("clamp", lambda: [r(2, 3, 4)], lambda a: [a.clamp(-0.5, 0.7), a.clamp(min=-0.2), a.clamp(max=0.3)])
    c("clamp_at_bounds", lambda: [halves(3, 4)], lambda a: a.clamp(-0.5, 1.0))
    c("maximum_bcast", lambda: [r(2, 3, 4), r(3, 1)], lambda a, b: torch.maximum(a, b))
    c("minimum_bcast", lambda: [r(2, 3, 4), r(3, 1)], lambda a, b: torch.minimum(a, b))
    c("maximum_ties", lambda: [halves(3, 4), halves(3, 4)], lambda a, b: torch.maximum(a, b))
    c("minimum_ties", lambda: [halves(3, 4), halves(3, 4)], lambda a, b: torch.minimum(a, b))
    c("where_bcast", lambda: [mask01(2, 1, 4), r(2, 3, 4), r(3, 1)],
      lambda m, a, b: torch.where(m.bool(), a, b), diff=[1, 2])
    c("masked_fill", lambda: [r(2, 3, 4), mask01(3, 1)], lambda a, m: a.masked_fill(m.bool(), -2.5), diff=[0])
    c("views", lambda: [r(2, 2, 3)],
      lambda a: [a.transpose(0, 2).reshape(3, 4), a.permute(1, 2, 0), a[:, 1:2].expand(-1, 5, -1), a.unsqueeze(-1),
                 a.select(2, -1), a.narrow(2, 1, 2), a[:, :, -3::2], a.flatten(1), a.flatten(0, 1), a.reshape(-1, 3),
                 a.unsqueeze(0).unsqueeze(-1).squeeze(), a.mT.contiguous()])
    c("comparisons", lambda: [halves(2, 3, 4), halves(3, 4)],
      lambda a, b: [(a > b).float(), (a >= b).float(), (a < b).float(), (a <= b).float(), (a == b).float(),
                    (a != b).float(), (a > 0.5).float(), (a < 0).float(), (a == 0.5).float()],
      forward_only=True)
    # Creation (forward only, no inputs): linspace fills its second half from the end, as PyTorch.
    f.put("creation/linspace_a", torch.linspace(-1, 2, 7))
    f.put("creation/linspace_b", torch.linspace(0, 1, 10))
    f.put("creation/linspace_c", torch.linspace(3, -2, 6))
    f.put("creation/arange_float", torch.arange(0.5, 3, 0.3))
    f.put("creation/arange_int", torch.arange(10).float())
    f.put("creation/eye", torch.eye(3))
    f.save()


# ---------------------------------------------------------------------------------------------
# Reductions, softmax family, matmul
# ---------------------------------------------------------------------------------------------

def reductions():
    f = FixtureFile("reductions")
    c = f.case
    x = lambda: [r(2, 3, 4)]
    c("sum_all", x, lambda a: a.sum())
    c("sum_axes02_keep", x, lambda a: a.sum(dim=(0, 2), keepdim=True))
    c("sum_neg1", x, lambda a: a.sum(dim=-1))
    c("sum_transposed", lambda: [r(3, 4, 2)], lambda a: a.permute(2, 0, 1).sum(dim=1))
    c("sum_expanded", lambda: [r(3, 1)], lambda a: a.expand(3, 4).sum(dim=0))
    c("mean_axis1", x, lambda a: a.mean(dim=1))
    c("mean_axes_neg1_0_keep", x, lambda a: a.mean(dim=(-1, 0), keepdim=True))
    c("mean_all", x, lambda a: a.mean())
    c("max_axis1", x, lambda a: a.max(dim=1).values)
    c("max_neg1_keep", x, lambda a: a.max(dim=-1, keepdim=True).values)
    c("max_all", x, lambda a: a.max())
    c("max_dim_ties", lambda: [halves(3, 4)], lambda a: a.max(dim=1).values)
    c("max_all_ties", lambda: [halves(3, 4)], lambda a: a.max())
    c("max_all_1d_ties", lambda: [torch.tensor([0.5, 1.5, -1.0, 1.5, 1.5])], lambda a: a.max())
    c("amax_axes02_ties", lambda: [halves(2, 3, 4)], lambda a: a.amax(dim=(0, 2)))
    c("min_axis0_keep", x, lambda a: a.min(dim=0, keepdim=True).values)
    c("min_all", x, lambda a: a.min())
    c("amin_axes12_keep_ties", lambda: [halves(2, 3, 4)], lambda a: a.amin(dim=(1, 2), keepdim=True))
    c("argmax_argmin", lambda: [halves(2, 3, 4)],
      lambda a: [a.argmax(dim=1), a.argmax(dim=-1, keepdim=True), a.argmin(dim=0), a.argmin(dim=2, keepdim=True)],
      forward_only=True)
    c("var_axis2", x, lambda a: a.var(dim=2))
    c("var_axes01_corr0", x, lambda a: a.var(dim=(0, 1), correction=0))
    c("var_axis1_keep", x, lambda a: a.var(dim=1, keepdim=True))
    c("var_all", x, lambda a: a.var())
    c("logsumexp_axis1", x, lambda a: a.logsumexp(dim=1))
    c("logsumexp_neg1_keep", x, lambda a: a.logsumexp(dim=-1, keepdim=True))
    c("logsumexp_axis0_large", lambda: [r(2, 3, 4) * 30], lambda a: a.logsumexp(dim=0))
    c("softmax_neg1", x, lambda a: a.softmax(dim=-1))
    c("softmax_axis0", x, lambda a: a.softmax(dim=0))
    c("softmax_transposed", lambda: [r(4, 3, 2)], lambda a: a.transpose(0, 2).softmax(dim=1))
    c("softmax_large", lambda: [r(3, 5) * 30], lambda a: a.softmax(dim=-1))
    c("softmax_sliced", lambda: [r(3, 6)], lambda a: a[1:, 2:].softmax(dim=-1))
    c("softmax_neginf", lambda: [r(3, 5)],
      lambda a: a.masked_fill(torch.tensor([[0, 1, 0, 0, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 0]]).bool(),
                              float("-inf")).softmax(dim=-1))
    c("log_softmax_axis1", x, lambda a: a.log_softmax(dim=1))
    c("log_softmax_neg1", x, lambda a: a.log_softmax(dim=-1))
    c("log_softmax_large", lambda: [r(3, 5) * 30], lambda a: a.log_softmax(dim=-1))

    c("mm", lambda: [r(3, 4), r(4, 2)], lambda a, b: a @ b)
    c("bmm_2d", lambda: [r(2, 3, 4), r(4, 5)], lambda a, b: a @ b)
    c("bmm", lambda: [r(2, 3, 4), r(2, 4, 5)], lambda a, b: a @ b)
    c("bmm_bcast", lambda: [r(2, 1, 3, 4), r(3, 4, 2)], lambda a, b: a @ b)
    c("bmm_bcast_left2d", lambda: [r(3, 4), r(2, 4, 5)], lambda a, b: a @ b)
    c("mm_transposed", lambda: [r(4, 3), r(5, 4)], lambda a, b: a.T @ b.T)
    c("bmm_transposed", lambda: [r(2, 4, 3), r(2, 5, 4)], lambda a, b: a.transpose(-2, -1) @ b.transpose(-2, -1))
    c("mm_sliced", lambda: [r(5, 8), r(4, 3)], lambda a, b: a[1:4, ::2] @ b)
    c("bmm_expanded", lambda: [r(3, 4), r(2, 4, 5)], lambda a, b: a.expand(2, 3, 4) @ b)
    c("mm_expanded_columns", lambda: [r(3, 1), r(4, 2)], lambda a, b: a.expand(3, 4) @ b)
    c("vec_mm", lambda: [r(4), r(4, 2)], lambda a, b: a @ b)
    c("mm_vec", lambda: [r(3, 4), r(4)], lambda a, b: a @ b)
    c("dot", lambda: [r(4), r(4)], lambda a, b: a @ b)
    c("vec_bmm", lambda: [r(4), r(2, 4, 3)], lambda a, b: a @ b)
    c("bmm_vec", lambda: [r(2, 3, 4), r(4)], lambda a, b: a @ b)
    f.save()


# ---------------------------------------------------------------------------------------------
# Normalization, convolution, pooling, resize, joining, indexing, losses, attention
# ---------------------------------------------------------------------------------------------

def nn_ops():
    f = FixtureFile("nn")
    c = f.case
    c("layer_norm_affine", lambda: [r(2, 3, 8), r(8), r(8)], lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5))
    c("layer_norm_plain", lambda: [r(2, 3, 8) * 2 + 1], lambda x: F.layer_norm(x, (8,), eps=1e-5))
    c("layer_norm_2d_shape", lambda: [r(2, 3, 4), r(3, 4), r(3, 4)], lambda x, w, b: F.layer_norm(x, (3, 4), w, b, 1e-5))
    c("layer_norm_weight_only", lambda: [r(3, 8), r(8)], lambda x, w: F.layer_norm(x, (8,), w, None, 1e-5))
    c("layer_norm_transposed", lambda: [r(8, 3, 2), r(8), r(8)],
      lambda x, w, b: F.layer_norm(x.permute(2, 1, 0), (8,), w, b, 1e-6))
    c("rms_norm", lambda: [r(2, 3, 8), r(8)], lambda x, w: F.rms_norm(x, (8,), w, 1e-6))
    c("rms_norm_plain", lambda: [r(2, 3, 8)], lambda x: F.rms_norm(x, (8,), None, 1e-6))
    c("group_norm", lambda: [r(2, 6, 3, 3), r(6), r(6)], lambda x, w, b: F.group_norm(x, 3, w, b, 1e-5))
    c("group_norm_plain_3d", lambda: [r(2, 4, 5) * 3], lambda x: F.group_norm(x, 2, None, None, 1e-5))
    # GroupNorm followed by SiLU (SynTensor fuses the pair): planes of 35 (vector blocks + a tail)
    # and 64 floats, wide inputs so the sigmoid sees both signs and large magnitudes.
    c("group_norm_silu", lambda: [r(2, 8, 5, 7) * 2 + 0.5, r(8), r(8)],
      lambda x, w, b: F.silu(F.group_norm(x, 4, w, b, 1e-5)))
    c("group_norm_silu_wide", lambda: [r(3, 16, 8, 8), r(16) * 4, r(16) * 3],
      lambda x, w, b: F.silu(F.group_norm(x, 8, w, b, 1e-5)))
    c("group_norm_silu_plain", lambda: [r(2, 4, 3, 3) * 5], lambda x: F.silu(F.group_norm(x, 2, None, None, 1e-5)))
    c("normalize_neg1", lambda: [r(2, 3, 4)], lambda x: F.normalize(x, dim=-1))
    c("normalize_axis0", lambda: [r(2, 3, 4)], lambda x: F.normalize(x, dim=0))
    c("normalize_axis1", lambda: [r(2, 3, 4)], lambda x: F.normalize(x, dim=1))
    c("normalize_eps", lambda: [r(3, 4) * torch.tensor([[1.0], [0.05], [0.1]])], lambda x: F.normalize(x, dim=-1, eps=0.5))

    c("conv2d_basic", lambda: [r(1, 3, 5, 5), r(4, 3, 3, 3), r(4)], lambda x, w, b: F.conv2d(x, w, b, padding=1))
    c("conv2d_stride", lambda: [r(1, 3, 7, 6), r(4, 3, 3, 2)], lambda x, w: F.conv2d(x, w, stride=2, padding=(1, 0)))
    c("conv2d_dilation", lambda: [r(1, 2, 6, 6), r(3, 2, 3, 3), r(3)],
      lambda x, w, b: F.conv2d(x, w, b, padding=2, dilation=2))
    c("conv2d_groups", lambda: [r(1, 4, 5, 6), r(6, 2, 3, 2), r(6)],
      lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=(0, 1), groups=2))
    c("conv2d_depthwise", lambda: [r(1, 3, 5, 5), r(3, 1, 3, 3)], lambda x, w: F.conv2d(x, w, padding=1, groups=3))
    c("conv2d_nhwc", lambda: [r(2, 4, 3, 3), r(2, 3, 1, 1), r(2)], lambda x, w, b: F.conv2d(x.permute(0, 3, 1, 2), w, b))
    c("conv2d_patch", lambda: [r(1, 2, 8, 8), r(3, 2, 4, 4), r(3)], lambda x, w, b: F.conv2d(x, w, b, stride=4))
    # The direct (padded-plane) path: channel counts that are not multiples of its 8-channel blocks,
    # more positions than one 48-position block, 1x1, no padding, uneven padding and kernels.
    # conv2d with a per-image, per-channel shift and a residual added (SynTensor adds them in the
    # direct convolution's output pass; the strided case takes the separate adds).
    c("conv2d_shift_residual", lambda: [r(2, 3, 6, 5), r(4, 3, 3, 3), r(4), r(2, 4), r(2, 4, 6, 5)],
      lambda x, w, b, s, res: F.conv2d(x, w, b, padding=1) + s[:, :, None, None] + res)
    c("conv2d_shift_residual_1x1", lambda: [r(2, 5, 4, 4), r(3, 5, 1, 1), r(2, 3), r(2, 3, 4, 4)],
      lambda x, w, s, res: F.conv2d(x, w) + s[:, :, None, None] + res)
    c("conv2d_shift_residual_strided", lambda: [r(2, 3, 7, 6), r(4, 3, 3, 3), r(4), r(2, 4), r(2, 4, 4, 3)],
      lambda x, w, b, s, res: F.conv2d(x, w, b, stride=2, padding=1) + s[:, :, None, None] + res)
    c("conv2d_direct_3x3", lambda: [r(2, 9, 7, 10), r(11, 9, 3, 3), r(11)], lambda x, w, b: F.conv2d(x, w, b, padding=1))
    c("conv2d_direct_1x1", lambda: [r(3, 12, 5, 6), r(17, 12, 1, 1), r(17)], lambda x, w, b: F.conv2d(x, w, b))
    c("conv2d_direct_valid", lambda: [r(2, 5, 6, 9), r(3, 5, 3, 2)], lambda x, w: F.conv2d(x, w))
    c("conv2d_direct_uneven_pad", lambda: [r(1, 4, 4, 5), r(6, 4, 3, 3), r(6)],
      lambda x, w, b: F.conv2d(x, w, b, padding=(2, 0)))

    c("max_pool_k2", lambda: [r(2, 2, 4, 5)], lambda x: F.max_pool2d(x, 2))
    c("max_pool_k3s12p1", lambda: [r(1, 2, 5, 6)], lambda x: F.max_pool2d(x, 3, stride=(1, 2), padding=1))
    c("max_pool_ties", lambda: [halves(1, 2, 4, 4)], lambda x: F.max_pool2d(x, 2, stride=1))
    c("avg_pool_k2", lambda: [r(2, 2, 4, 5)], lambda x: F.avg_pool2d(x, 2))
    c("avg_pool_k3s2p1_incl", lambda: [r(1, 2, 5, 6)], lambda x: F.avg_pool2d(x, 3, stride=2, padding=1))
    c("avg_pool_k3s2p1_excl", lambda: [r(1, 2, 5, 6)],
      lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
    c("avg_pool_k23s1p1_incl", lambda: [r(1, 2, 4, 5)], lambda x: F.avg_pool2d(x, (2, 3), stride=1, padding=1))
    c("avg_pool_k23s1p1_excl", lambda: [r(1, 2, 4, 5)],
      lambda x: F.avg_pool2d(x, (2, 3), stride=1, padding=1, count_include_pad=False))

    for mode in ["nearest", "bilinear", "bicubic"]:
        corners = [None] if mode == "nearest" else [False, True]
        for ac in corners:
            tag = mode if ac is None else f"{mode}_{'ac' if ac else 'noac'}"
            c(f"resize_{tag}_up", lambda: [r(1, 1, 4, 5)], lambda x, m=mode, a=ac: F.interpolate(x, size=(7, 8), mode=m, align_corners=a))
            c(f"resize_{tag}_down", lambda: [r(1, 1, 6, 7)], lambda x, m=mode, a=ac: F.interpolate(x, size=(3, 2), mode=m, align_corners=a))
            c(f"resize_{tag}_mixed", lambda: [r(1, 1, 4, 6)], lambda x, m=mode, a=ac: F.interpolate(x, size=(8, 4), mode=m, align_corners=a))
    c("resize_bicubic_same", lambda: [r(1, 1, 3, 4)], lambda x: F.interpolate(x, size=(3, 4), mode="bicubic"))

    c("cat_axis1", lambda: [r(2, 3, 4), r(2, 1, 4), r(4, 2, 2)], lambda a, b, d: torch.cat([a, b, d.permute(2, 1, 0)], dim=1))
    c("cat_neg1", lambda: [r(2, 3), r(2, 2)], lambda a, b: torch.cat([a, b], dim=-1))
    c("stack_axis0", lambda: [r(2, 3), r(2, 3), r(3, 2)], lambda a, b, d: torch.stack([a, b, d.T], dim=0))
    c("stack_neg1", lambda: [r(2, 3), r(2, 3)], lambda a, b: torch.stack([a, b], dim=-1))
    c("split_axis1", lambda: [r(2, 5, 4)], lambda x: list(torch.split(x, [2, 3], dim=1)))
    c("chunk_neg1", lambda: [r(2, 3, 5)], lambda x: list(torch.chunk(x, 3, dim=-1)))
    c("chunk_even", lambda: [r(6, 2)], lambda x: list(torch.chunk(x, 4, dim=0)))
    c("pad", lambda: [r(1, 2, 3, 4)], lambda x: F.pad(x, (2, 1, 1, 0)))
    c("pad_value", lambda: [r(2, 3, 3)], lambda x: F.pad(x, (0, 2, 1, 1), value=0.5))

    c("index_select_axis1", lambda: [r(2, 5, 3), torch.tensor([4.0, 0, 4, 2])],
      lambda x, i: x.index_select(1, i.long()), diff=[0])
    c("index_select_axis0", lambda: [r(4, 3), torch.tensor([3.0, 3, 1])], lambda x, i: x.index_select(0, i.long()), diff=[0])
    c("index_select_neg1", lambda: [r(2, 3, 4), torch.tensor([1.0, 3, 1, 0, 2])],
      lambda x, i: x.index_select(-1, i.long()), diff=[0])
    c("embedding", lambda: [r(6, 4), torch.tensor([[5.0, 0, 5], [2, 2, 1]])], lambda t, i: F.embedding(i.long(), t), diff=[0])
    c("gather_axis1", lambda: [r(2, 4, 3), torch.randint(0, 4, (2, 3, 3)).float()],
      lambda x, i: x.gather(1, i.long()), diff=[0])
    c("gather_axis0", lambda: [r(3, 4), torch.randint(0, 3, (2, 4)).float()], lambda x, i: x.gather(0, i.long()), diff=[0])
    c("gather_neg1_smaller", lambda: [r(3, 5), torch.randint(0, 5, (2, 3)).float()],
      lambda x, i: x.gather(-1, i.long()), diff=[0])
    c("gather_transposed", lambda: [r(4, 3), torch.randint(0, 4, (3, 2)).float()],
      lambda x, i: x.T.gather(1, i.long()), diff=[0])

    c("linear", lambda: [r(2, 3, 5), r(4, 5), r(4)], lambda x, w, b: F.linear(x, w, b))
    c("linear_transposed_input", lambda: [r(5, 3), r(4, 5), r(4)], lambda x, w, b: F.linear(x.T, w, b))
    c("linear_no_bias", lambda: [r(3, 5), r(4, 5)], lambda x, w: F.linear(x, w))
    c("cross_entropy", lambda: [r(4, 5) * 2, torch.tensor([0.0, 4, 2, 2])],
      lambda x, y: F.cross_entropy(x, y.long()), diff=[0])
    c("cross_entropy_smooth", lambda: [r(4, 5) * 2, torch.tensor([1.0, 3, 0, 4])],
      lambda x, y: F.cross_entropy(x, y.long(), label_smoothing=0.1), diff=[0])
    c("cross_entropy_soft", lambda: [r(4, 5) * 2, r(4, 5).softmax(-1)], lambda x, p: F.cross_entropy(x, p), diff=[0])
    c("mse", lambda: [r(3, 4), r(3, 4)], lambda a, b: F.mse_loss(a, b))

    qkv = lambda: [r(1, 2, 3, 4), r(1, 2, 5, 4), r(1, 2, 5, 3)]
    sdpa = F.scaled_dot_product_attention
    c("sdpa", qkv, lambda q, k, v: sdpa(q, k, v))

    def packed_attention(qkv, heads):
        B, N, D3 = qkv.shape
        q, k, v = qkv.reshape(B, N, 3, heads, D3 // (3 * heads)).permute(2, 0, 3, 1, 4).unbind(0)
        return sdpa(q, k, v).transpose(1, 2).reshape(B, N, D3 // 3)

    c("packed_self_attention", lambda: [r(2, 3, 12)], lambda x: packed_attention(x, 2))
    c("sdpa_scale", qkv, lambda q, k, v: sdpa(q, k, v, scale=0.3))
    c("sdpa_mask_additive", lambda: qkv() + [r(1, 1, 3, 5).masked_fill(
        torch.tensor([[0, 1, 0, 0, 1], [0, 0, 0, 1, 0], [1, 1, 0, 1, 1]]).bool(), float("-inf"))],
      lambda q, k, v, m: sdpa(q, k, v, attn_mask=m), diff=[0, 1, 2])
    c("sdpa_mask_bool", lambda: qkv() + [torch.tensor([[1.0, 1, 0, 1, 1], [1, 0, 1, 1, 1], [1, 1, 1, 0, 0]])],
      lambda q, k, v, keep: sdpa(q, k, v, attn_mask=keep.bool()), diff=[0, 1, 2])
    c("sdpa_fully_masked_row", lambda: qkv() + [torch.tensor([[1.0, 1, 0, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 0, 0]])],
      lambda q, k, v, keep: sdpa(q, k, v, attn_mask=keep.bool()), diff=[0, 1, 2])

    # nn.MultiheadAttention (batch_first) through its functional form, so weights are differentiable inputs.
    def mha(q, k, v, w_in, b_in, w_out, b_out, mask=None, separate=None):
        kw = {}
        if separate is not None:
            kw = dict(use_separate_proj_weight=True, q_proj_weight=separate[0], k_proj_weight=separate[1],
                      v_proj_weight=separate[2])
        out, _ = F.multi_head_attention_forward(
            q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), 4, 2, w_in, b_in, None, None, False, 0.0,
            w_out, b_out, training=False, need_weights=False, attn_mask=mask, **kw)
        return out.transpose(0, 1)

    c("mha_self_mask", lambda: [r(2, 3, 4), r(12, 4) * 0.5, r(12) * 0.1, r(4, 4) * 0.5, r(4) * 0.1, r(3, 3)],
      lambda x, wi, bi, wo, bo, m: mha(x, x, x, wi, bi, wo, bo, mask=m), diff=[0, 1, 2, 3, 4])
    c("mha_cross", lambda: [r(2, 3, 4), r(2, 4, 3), r(2, 4, 5), r(4, 4) * 0.5, r(4, 3) * 0.5, r(4, 5) * 0.5,
                            r(12) * 0.1, r(4, 4) * 0.5, r(4) * 0.1],
      lambda q, k, v, wq, wk, wv, bi, wo, bo: mha(q, k, v, None, bi, wo, bo, separate=(wq, wk, wv)))
    f.save()


# ---------------------------------------------------------------------------------------------
# A 2-block pre-norm transformer (timm ViT `Block` names)
# ---------------------------------------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyTransformer(nn.Module):
    def __init__(self, dim=8, heads=2, depth=2, mlp_ratio=2, classes=5):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x).mean(dim=1))


def transformer():
    tensors = {}
    torch.manual_seed(seed_for("transformer"))
    model = TinyTransformer()
    # Perturb the LayerNorm affine parameters so they are not the trivial ones/zeros.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn(p.shape) * 0.1)
    x = torch.randn(3, 6, 8).requires_grad_(True)
    labels = torch.tensor([4, 0, 2])
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    for name, p in model.named_parameters():
        tensors[f"param/{name}"] = p.detach().clone()
        tensors[f"grad/{name}"] = p.grad.detach().clone()
    tensors["input"] = x.detach().clone()
    tensors["grad_input"] = x.grad.detach().clone()
    tensors["labels"] = labels.float()
    tensors["logits"] = logits.detach().clone()
    tensors["loss"] = loss.detach().reshape(1).clone()
    path = OUT / "transformer.safetensors"
    save_file(tensors, str(path), metadata=METADATA)
    print(f"{path.name}: {len(tensors)} tensors, {path.stat().st_size} bytes")


# ---------------------------------------------------------------------------------------------
# Optimizers: AdamW with two parameter groups, SGD with momentum (Nesterov / dampening)
# ---------------------------------------------------------------------------------------------

def optimizer_trajectory(tensors, tag, shapes, make_opt, steps=3):
    torch.manual_seed(seed_for(tag))
    params = [torch.randn(*s).requires_grad_(True) for s in shapes]
    for k, p in enumerate(params):
        tensors[f"{tag}/p{k}/init"] = p.detach().clone()
    opt = make_opt(params)
    for s in range(steps):
        for k, p in enumerate(params):
            p.grad = torch.randn(p.shape)
            tensors[f"{tag}/p{k}/grad{s}"] = p.grad.clone()
        opt.step()
        for k, p in enumerate(params):
            tensors[f"{tag}/p{k}/step{s}"] = p.detach().clone()


def optim():
    tensors = {}
    shapes = [(3, 4), (4,), (2, 3)]
    # Group 0 (p0, p2): lr 1e-2, weight decay 0.05. Group 1 (p1): lr 0.5 * 1e-2, no weight decay.
    optimizer_trajectory(tensors, "adamw", shapes, lambda ps: torch.optim.AdamW(
        [{"params": [ps[0], ps[2]]}, {"params": [ps[1]], "weight_decay": 0.0, "lr": 0.5e-2}],
        lr=1e-2, betas=(0.9, 0.95), eps=1e-6, weight_decay=0.05))
    optimizer_trajectory(tensors, "adamw_default", shapes, lambda ps: torch.optim.AdamW(ps, lr=1e-3))
    optimizer_trajectory(tensors, "sgd_nesterov", shapes, lambda ps: torch.optim.SGD(
        [{"params": [ps[0], ps[2]]}, {"params": [ps[1]], "weight_decay": 0.0, "lr": 0.05}],
        lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2))
    optimizer_trajectory(tensors, "sgd_dampening", shapes, lambda ps: torch.optim.SGD(
        ps, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=1e-3))
    optimizer_trajectory(tensors, "sgd_plain", shapes, lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=1e-2))
    # Global-norm gradient clipping.
    torch.manual_seed(seed_for("clip"))
    params = [torch.randn(*s).requires_grad_(True) for s in shapes]
    for k, p in enumerate(params):
        p.grad = torch.randn(p.shape)
        tensors[f"clip/p{k}/grad"] = p.grad.clone()
    tensors["clip/norm"] = torch.nn.utils.clip_grad_norm_(params, max_norm=1.5).reshape(1)
    for k, p in enumerate(params):
        tensors[f"clip/p{k}/clipped"] = p.grad.clone()
    path = OUT / "optim.safetensors"
    save_file(tensors, str(path), metadata=METADATA)
    print(f"{path.name}: {len(tensors)} tensors, {path.stat().st_size} bytes")


if __name__ == "__main__":
    assert torch.__version__.startswith("2.13."), f"fixtures are generated with torch 2.13, found {torch.__version__}"
    elementwise()
    reductions()
    nn_ops()
    transformer()
    optim()
    total = sum(p.stat().st_size for p in OUT.glob("*.safetensors"))
    print(f"total {total} bytes")

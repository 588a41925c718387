#!/usr/bin/env python3
"""Writes the scheduler / guidance parity fixtures of SynDiffusion.

Runs diffusers' DDPM, DDIM, DPM-Solver++ (multistep) and Euler discrete schedulers with a
deterministic stand-in denoiser (`dummy_model`, transcribed in
Tests/SynDiffusionTests/Support/DummyModel.swift) from fixed initial latents, and stores the
timesteps, sigmas and the full trajectories as small JSON files. Stochastic steps get
noise that this script draws and stores, so the Swift tests can inject the same noise.

Setup (CPU only, offline-capable mirrors work):
    pip install "diffusers==0.42.*" "torch==2.13.0+cpu" transformers
(transformers only because diffusers' Stable Diffusion pipeline module, home of
`rescale_noise_cfg`, imports it.)
Run from the repository root:
    python Scripts/fixtures_schedulers.py
CI never runs this script; the fixtures it writes are committed.
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import diffusers
import diffusers.schedulers.scheduling_ddpm as ddpm_module
import diffusers.schedulers.scheduling_euler_discrete as euler_module
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
)

SHAPE = (1, 2, 4, 4)
SD = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
# The shipped UNet's training schedule, sampled as SamplerKind does (trailing).
COS_V = dict(beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction", timestep_spacing="trailing")
CLASSES = {
    "ddpm": DDPMScheduler,
    "ddim": DDIMScheduler,
    "dpmsolver": DPMSolverMultistepScheduler,
    "euler": EulerDiscreteScheduler,
}


def dummy_model(x, t, cond=None):
    """eps (or v) = k(t) x + w(t) sin(3x) [+ 0.2 c(t) cond[b, ch]], all float32.

    k(t) = s / (0.25 c^2 + s^2) with s = sin(pi/2 u), c = cos(pi/2 u), u = t / 1000 is the
    ideal denoiser of N(0, 0.25) data under a cosine-like schedule, so trajectories stay
    bounded; w(t) = 0.05 cos(3u). Scalars and sin are computed in float64 and rounded to
    float32 once; the rest of the elementwise work is float32.
    """
    u = float(t) / 1000.0
    s = math.sin(math.pi / 2 * u)
    c = math.cos(math.pi / 2 * u)
    k = torch.tensor(s / (0.25 * c * c + s * s), dtype=torch.float32)
    w = torch.tensor(0.05 * math.cos(3 * u), dtype=torch.float32)
    # sin in float64, rounded once: bit-reproducible in Swift (unlike float32 sin kernels).
    out = x * k + w * torch.sin((x * 3).double()).float()
    if cond is not None:
        b = torch.tensor(0.2 * c, dtype=torch.float32)
        out = out + b * cond[:, :, None, None]
    return out


def f32(t):
    """A tensor or array as a flat list of shortest-repr float32 values."""
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return [float(str(v)) for v in a.astype(np.float32).ravel()]


class NoiseTape:
    """Replaces diffusers' randn_tensor: draws from a seeded torch generator and records."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self.drawn = []

    def __call__(self, shape, generator=None, device=None, dtype=None, **_):
        n = torch.randn(tuple(shape), generator=self.gen, dtype=torch.float32)
        self.drawn.append(n)
        return n


def run_case(name, kind, config, steps, seed, step_kwargs=None, variance_noise=False, batch=1):
    """One trajectory: set_timesteps, then scale_model_input / model / step per timestep."""
    step_kwargs = dict(step_kwargs or {})
    sched = CLASSES[kind](**config)
    sched.set_timesteps(steps)
    gen = torch.Generator().manual_seed(seed)
    shape = (batch,) + SHAPE[1:]
    x_T = torch.randn(shape, generator=gen, dtype=torch.float32)
    tape = NoiseTape(seed + 1000)
    ddpm_module.randn_tensor = tape
    euler_module.randn_tensor = tape
    x = x_T * sched.init_noise_sigma
    traj, x0s, inputs = [], [], []
    for t in sched.timesteps:
        inp = sched.scale_model_input(x, t)
        if kind == "euler":
            inputs.append(f32(inp))
        out = dummy_model(inp, t)
        kw = dict(step_kwargs)
        if variance_noise:
            kw["variance_noise"] = tape(shape)
        res = sched.step(out, t, x, **kw)
        x = res.prev_sample
        traj.append(f32(x))
        x0 = getattr(res, "pred_original_sample", None)
        if kind == "dpmsolver":  # its step keeps the x0 prediction as the newest history entry
            x0 = sched.model_outputs[-1]
        x0s.append(f32(x0) if x0 is not None else None)
    case = {
        "name": name,
        "scheduler": kind,
        "config": config,
        "steps": steps,
        "step_kwargs": step_kwargs,
        "shape": list(shape),
        "timesteps": [float(v) for v in sched.timesteps.tolist()],
        "init_noise_sigma": float(sched.init_noise_sigma),
        "x_T": f32(x_T),
        "noise": [f32(n) for n in tape.drawn],
        "model_inputs": inputs or None,
        "trajectory": traj,
        "pred_x0": x0s if any(v is not None for v in x0s) else None,
    }
    if hasattr(sched, "sigmas") and kind in ("dpmsolver", "euler"):
        case["sigmas"] = f32(sched.sigmas)
    return case


def guidance_case(name, kind, config, steps, scale, seed, step_kwargs=None, rescale=0.0, cond_scale=1.0):
    """diffusers' pipeline loop with classifier-free guidance, uncond first in one batch, and
    the pipeline's `guidance_rescale` (rescale_noise_cfg) when `rescale` > 0. `cond_scale`
    enlarges the conditioning so that large scales push x0 past 1 (thresholding cases)."""
    step_kwargs = dict(step_kwargs or {})
    sched = CLASSES[kind](**config)
    sched.set_timesteps(steps)
    gen = torch.Generator().manual_seed(seed)
    batch = 2
    shape = (batch,) + SHAPE[1:]
    x_T = torch.randn(shape, generator=gen, dtype=torch.float32)
    cond = torch.randn((batch, SHAPE[1]), generator=gen, dtype=torch.float32) * cond_scale
    uncond = torch.zeros((batch, SHAPE[1]), dtype=torch.float32)
    tape = NoiseTape(seed + 1000)
    ddpm_module.randn_tensor = tape
    euler_module.randn_tensor = tape
    x = x_T * sched.init_noise_sigma
    traj = []
    # Count the steps where thresholding does more than a clip at 1, so the case tests it.
    active = []
    if config.get("thresholding"):
        original = sched._threshold_sample

        def recording(sample):
            q = torch.quantile(sample.reshape(sample.shape[0], -1).abs(), config["dynamic_thresholding_ratio"], dim=1)
            active.append(bool((q > 1).any()))
            return original(sample)

        sched._threshold_sample = recording
    for t in sched.timesteps:
        inp = torch.cat([x] * 2) if scale != 1 else x
        inp = sched.scale_model_input(inp, t)
        cnd = torch.cat([uncond, cond]) if scale != 1 else cond
        out = dummy_model(inp, t, cnd)
        if scale != 1:
            out_u, out_c = out.chunk(2)
            out = out_u + scale * (out_c - out_u)
            if rescale > 0:
                out = rescale_noise_cfg(out, out_c, guidance_rescale=rescale)
        x = sched.step(out, t, x, **step_kwargs).prev_sample
        traj.append(f32(x))
    return {
        "name": name,
        "scheduler": kind,
        "config": config,
        "steps": steps,
        "step_kwargs": step_kwargs,
        "guidance": scale,
        "guidance_rescale": rescale,
        "threshold_active_steps": sum(active),
        "shape": list(shape),
        "timesteps": [float(v) for v in sched.timesteps.tolist()],
        "x_T": f32(x_T),
        "cond": f32(cond),
        "uncond": f32(uncond),
        "noise": [f32(n) for n in tape.drawn],
        "trajectory": traj,
    }


def add_noise_cases():
    gen = torch.Generator().manual_seed(7)
    x0 = torch.randn((3, 2, 2, 2), generator=gen)
    noise = torch.randn((3, 2, 2, 2), generator=gen)
    cases = []
    for kind, config, steps, picks in [
        ("ddpm", dict(beta_schedule="linear"), None, [0, 499, 999]),
        ("ddim", dict(SD), None, [1, 500, 981]),
        ("ddpm", dict(beta_schedule="squaredcos_cap_v2"), None, [3, 640, 998]),
        ("euler", dict(SD), 30, [0, 10, 29]),
        ("dpmsolver", dict(SD), 20, [0, 7, 19]),
    ]:
        sched = CLASSES[kind](**config)
        if steps is None:
            ts = torch.tensor(picks, dtype=torch.int64)
        else:
            sched.set_timesteps(steps)
            ts = sched.timesteps[picks]
        y = sched.add_noise(x0, noise, ts)
        case = {
            "scheduler": kind,
            "config": config,
            "steps": steps,
            "timesteps": [float(v) for v in ts.tolist()],
            "x0": f32(x0),
            "noise": f32(noise),
            "shape": list(x0.shape),
            "noisy": f32(y),
        }
        if hasattr(sched, "get_velocity") and kind in ("ddpm", "ddim"):
            case["velocity"] = f32(sched.get_velocity(x0, noise, ts))
        cases.append(case)
    return cases


def schedules():
    out = {}
    for name, config in [
        ("linear", dict(beta_schedule="linear")),
        ("scaled_linear", dict(SD)),
        ("squaredcos_cap_v2", dict(beta_schedule="squaredcos_cap_v2")),
    ]:
        s = DDPMScheduler(**config)
        out[name] = {"config": config, "betas": f32(s.betas), "alphas_cumprod": f32(s.alphas_cumprod)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="Tests/SynDiffusionTests/Fixtures")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    meta = {"diffusers": diffusers.__version__, "torch": torch.__version__, "script": "Scripts/fixtures_schedulers.py"}

    ddpm = [
        run_case("ddpm_linear_leading_eps_clip", "ddpm", dict(beta_schedule="linear"), 25, 1),
        run_case("ddpm_scaled_trailing_v", "ddpm", dict(SD, timestep_spacing="trailing", prediction_type="v_prediction", clip_sample=False), 30, 2),
        run_case("ddpm_cos_linspace_eps_large", "ddpm", dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="linspace", variance_type="fixed_large"), 20, 3),
        run_case("ddpm_scaled_leading_offset_smalllog", "ddpm", dict(SD, steps_offset=1, variance_type="fixed_small_log", clip_sample=False), 20, 4),
    ]
    ddim = [
        run_case("ddim_sd_leading_eps_50", "ddim", dict(SD, clip_sample=False, set_alpha_to_one=False, steps_offset=1), 50, 11),
        run_case("ddim_linear_trailing_v_clip", "ddim", dict(beta_schedule="linear", timestep_spacing="trailing", prediction_type="v_prediction"), 30, 12),
        run_case("ddim_cos_linspace_eps", "ddim", dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="linspace"), 25, 13),
        run_case("ddim_linear_linspace_eps_eta1", "ddim", dict(beta_schedule="linear", timestep_spacing="linspace", clip_sample=False), 25, 15, dict(eta=1.0), variance_noise=True),
        run_case("ddim_scaled_leading_v_eta05_clipped", "ddim", dict(SD, prediction_type="v_prediction"), 20, 14, dict(eta=0.5, use_clipped_model_output=True), variance_noise=True),
    ]
    dpm = [
        run_case("dpm_sd_linspace_eps_25", "dpmsolver", dict(SD), 25, 21),
        run_case("dpm_scaled_trailing_v_10", "dpmsolver", dict(SD, timestep_spacing="trailing", prediction_type="v_prediction"), 10, 22),
        run_case("dpm_linear_leading_offset_eps_30", "dpmsolver", dict(beta_schedule="linear", timestep_spacing="leading", steps_offset=1), 30, 23),
        run_case("dpm_cos_linspace_v_sigmamin_20", "dpmsolver", dict(beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction", final_sigmas_type="sigma_min"), 20, 24),
        run_case("dpm_sd_heun_nolof_12", "dpmsolver", dict(SD, solver_type="heun", lower_order_final=False), 12, 25),
        run_case("dpm_sd_order1_15", "dpmsolver", dict(SD, solver_order=1, timestep_spacing="trailing"), 15, 26),
        run_case("dpm_sd_order3_20", "dpmsolver", dict(SD, solver_order=3), 20, 27),
        run_case("dpm_linear_order3_v_8", "dpmsolver", dict(beta_schedule="linear", solver_order=3, prediction_type="v_prediction"), 8, 28),
    ]
    euler = [
        run_case("euler_sd_linspace_eps_30", "euler", dict(SD), 30, 31),
        run_case("euler_sd_leading_offset_eps_25", "euler", dict(SD, timestep_spacing="leading", steps_offset=1), 25, 32),
        run_case("euler_linear_trailing_v_20", "euler", dict(beta_schedule="linear", timestep_spacing="trailing", prediction_type="v_prediction"), 20, 33),
        run_case("euler_sd_linspace_eps_churn", "euler", dict(SD), 20, 34, dict(s_churn=1.0)),
        run_case("euler_cos_trailing_v_sigmamin_12", "euler", dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing", prediction_type="v_prediction", final_sigmas_type="sigma_min"), 12, 36),
        run_case("euler_sd_sigmamin_v_15", "euler", dict(SD, prediction_type="v_prediction", final_sigmas_type="sigma_min"), 15, 35),
    ]
    guidance = [
        guidance_case("cfg_ddim_sd_2p5", "ddim", dict(SD, clip_sample=False, set_alpha_to_one=False, steps_offset=1), 20, 2.5, 41),
        guidance_case("cfg_euler_sd_7p5", "euler", dict(SD), 15, 7.5, 42),
        guidance_case("cfg_dpm_sd_2p5", "dpmsolver", dict(SD), 12, 2.5, 43),
        guidance_case("cfg_ddpm_linear_4", "ddpm", dict(beta_schedule="linear", clip_sample=False), 10, 4.0, 44),
        guidance_case("cfg_ddim_sd_1", "ddim", dict(SD, clip_sample=False, set_alpha_to_one=False, steps_offset=1), 10, 1.0, 45),
        guidance_case("cfg_ddim_cos_v_rescale07", "ddim", dict(COS_V, clip_sample=False), 15, 4.0, 46, rescale=0.7),
        guidance_case("cfg_dpm_sd_rescale1", "dpmsolver", dict(SD), 10, 7.5, 47, rescale=1.0),
        guidance_case("cfg_ddim_cos_v_threshold", "ddim", dict(COS_V, thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=2.5), 15, 7.5, 48, cond_scale=6.0),
        guidance_case("cfg_ddpm_cos_v_threshold_rescale", "ddpm", dict(COS_V, thresholding=True, dynamic_thresholding_ratio=0.8, sample_max_value=1.5), 12, 7.5, 49, rescale=0.5, cond_scale=6.0),
    ]
    files = {
        "ddpm.json": {"cases": ddpm},
        "ddim.json": {"cases": ddim},
        "dpmsolver.json": {"cases": dpm},
        "euler.json": {"cases": euler},
        "guidance.json": {"cases": guidance},
        "add_noise.json": {"cases": add_noise_cases()},
        "schedules.json": {"schedules": schedules()},
    }
    for fname, payload in files.items():
        payload["meta"] = meta
        path = os.path.join(args.out, fname)
        with open(path, "w") as fh:
            json.dump(payload, fh, separators=(",", ":"))
            fh.write("\n")
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""transformers peer of `synclr-bench --llm`: SmolLM2-135M-Instruct loaded from the same GGUF file
(dequantized to float32, as transformers does), one repetition per request on stdin.

The line protocol is Scripts/bench/peer.py's. Workloads mirror Sources/synclr-bench/LLMBench.swift:
  llm_prefill_b1 / llm_prefill_b8: one forward pass over 1 or 8 prompts of 128 tokens;
  llm_decode_b1 / llm_decode_b8: 32 greedy steps with the KV cache after a 128-token prompt (prefill untimed);
  llm_captions_b32: 32 caption prompts (left-padded batch), sampling T 0.8, top-p 0.9, at most 100 new
  tokens, each stopped at its first newline (generate with stop_strings).
"""
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPT_LEN = 128
DECODE_STEPS = 32
sys.path.insert(0, os.path.dirname(__file__))
from llm_bench_prompts import caption_prompts  # noqa: E402
from peer import serve  # noqa: E402


def prompt_ids(batch):
    row = [(i * 7919) % 40000 + 100 for i in range(PROMPT_LEN)]
    return torch.tensor([row] * batch)


def main():
    path = os.environ.get("SYNCLR_LLM_MODEL") or os.path.join(
        os.environ.get("SYNCLR_HOME", os.path.expanduser("~/.cache/synclr")), "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    folder, name = os.path.split(path)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    torch.manual_seed(0)

    def make(name):
        if name.startswith("llm_prefill_b"):
            ids = prompt_ids(int(name.rsplit("b", 1)[1]))

            def step():
                with torch.inference_mode():
                    model(ids, use_cache=False, logits_to_keep=1)
            return step
        if name.startswith("llm_decode_b"):
            ids = prompt_ids(int(name.rsplit("b", 1)[1]))

            def step():
                with torch.inference_mode():
                    out = model(ids, use_cache=True, logits_to_keep=1)
                    cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
                    t = time.perf_counter()
                    for _ in range(DECODE_STEPS):
                        o = model(nxt, past_key_values=cache, use_cache=True)
                        cache, nxt = o.past_key_values, o.logits[:, -1:].argmax(-1)
                    return time.perf_counter() - t
            return step
        if name == "llm_captions_b32":
            tok.padding_side = "left"
            enc = tok(caption_prompts(32), return_tensors="pt", padding=True)

            def step():
                with torch.inference_mode():
                    model.generate(**enc, do_sample=True, temperature=0.8, top_p=0.9, max_new_tokens=100,
                                   stop_strings=["\n"], tokenizer=tok, pad_token_id=tok.pad_token_id)
            return step
        raise SystemExit(f"unknown workload {name}")

    serve(make, optional=())


if __name__ == "__main__":
    main()

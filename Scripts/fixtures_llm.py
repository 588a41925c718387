#!/usr/bin/env python3
"""Reference outputs of SmolLM2-135M-Instruct (the same GGUF file the Swift runtime loads) from
`transformers` (+ `gguf`), for the native runtime's parity tests.

Writes Tests/SynCaptionTests/Fixtures/llm_reference.json:
  - tokenizer ids of a varied corpus (ASCII, accents, CJK, emoji, whitespace runs, digits, control
    tokens), encoded with the pre-tokenizer the file names (tokenizer.ggml.pre = "smollm": each digit
    isolated, then GPT-2's byte-level pattern, as SmolLM2's own tokenizer.json and llama.cpp do).
    transformers' GGUF converter builds a plain ByteLevel pre-tokenizer instead; the few strings
    where that differs are listed under "transformers_gguf_ids" for the record;
  - for fixed prompts: the prompt ids, the top-20 next-token logits, the logits of 64 fixed vocabulary
    ids, and the greedy 32-token continuation (argmax, no stop token).

Usage: python3 Scripts/fixtures_llm.py [--model PATH]   (pip install torch transformers gguf accelerate)
"""
import argparse
import json
import os
import sys

import torch
from tokenizers import pre_tokenizers
from transformers import AutoModelForCausalLM, AutoTokenizer

CORPUS = [
    "Hello world",
    "a tabby cat sleeping on a sunny windowsill",
    "Generate an image description with an object category:\ngoldfish =>",
    "  leading spaces, trailing spaces   ",
    "tabs\tand\nnewlines\n\n\nand \r\n windows",
    "Café, naïve, façade, Ångström, jalapeño, über, Øresund",
    "東京は日本の首都です。北京欢迎你！",
    "한국어 텍스트와 Русский текст и ελληνικά",
    "emoji: 🙂🐱‍👤 👩‍👩‍👧‍👦 🇫🇷 ✨🎉",
    "digits 0123456789 3.14159 1,000,000 2024-05-17 ²³ ½ ٣٤",
    "it's we're they've I'm you'll he'd DON'T",
    "symbols: <>[]{}()!@#$%^&*_+=|\\/~`\"' ... --- ===",
    "code: def f(x):\n    return x**2  # square\n",
    "\u0004control\u0006bytes\u001d and NBSP\u00a0here",
    "decomposed e\u0301 and combining a\u0308\u0304",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "     ",
    "x",
    "",
]
# Strings whose ids are compared with control tokens parsed (the rest are plain text).
SPECIAL_PARSED = {"<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"}

PROMPTS = [
    "The capital of France is",
    "Generate an image description with an object category:\n"
    "red fox => a red fox trotting across a snowy meadow at dawn\n"
    "teapot => a porcelain teapot on a wooden table next to a cup of tea\n"
    "lighthouse => a white lighthouse on a rocky cliff under a stormy sky\n"
    "goldfish =>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nDescribe a photo of a sneaker in one sentence.<|im_end|>\n<|im_start|>assistant\n",
]
FIXED_IDS = [int(i * 49152 / 64) + 7 for i in range(64)]


def main():
    ap = argparse.ArgumentParser()
    default = os.path.join(os.environ.get("SYNCLR_HOME", os.path.expanduser("~/.cache/synclr")),
                           "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--model", default=os.environ.get("SYNCLR_LLM_MODEL", default))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..",
                                                  "Tests/SynCaptionTests/Fixtures/llm_reference.json"))
    args = ap.parse_args()
    folder, name = os.path.split(os.path.abspath(args.model))
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()

    backend = tok.backend_tokenizer
    gguf_pre = backend.pre_tokenizer
    smollm_pre = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])

    def encode(text, pre):
        backend.pre_tokenizer = pre
        if text in SPECIAL_PARSED:
            return tok(text, add_special_tokens=False).input_ids
        # Plain text: control-token strings are not parsed (split_special_tokens).
        return tok(text, add_special_tokens=False, split_special_tokens=True).input_ids

    corpus = []
    for text in CORPUS:
        ids = encode(text, smollm_pre)
        entry = {"text": text, "parse_special": text in SPECIAL_PARSED, "ids": ids}
        plain = encode(text, gguf_pre)
        if plain != ids:
            entry["transformers_gguf_ids"] = plain
        backend.pre_tokenizer = smollm_pre
        entry["decoded"] = tok.decode(ids)
        corpus.append(entry)
    backend.pre_tokenizer = smollm_pre

    prompts = []
    with torch.inference_mode():
        for text in PROMPTS:
            ids = tok(text, add_special_tokens=False).input_ids
            x = torch.tensor([ids])
            out = model(x, use_cache=True)
            logits = out.logits[0, -1].float()
            top = torch.topk(logits, 20)
            cache = out.past_key_values
            nxt = int(torch.argmax(logits))
            greedy = [nxt]
            for _ in range(31):
                o = model(torch.tensor([[nxt]]), past_key_values=cache, use_cache=True)
                cache = o.past_key_values
                nxt = int(torch.argmax(o.logits[0, -1]))
                greedy.append(nxt)
            prompts.append({
                "text": text,
                "ids": ids,
                "top_ids": [int(i) for i in top.indices],
                "top_logits": [float(v) for v in top.values],
                "fixed_ids": FIXED_IDS,
                "fixed_logits": [float(logits[i]) for i in FIXED_IDS],
                "greedy": greedy,
                "greedy_text": tok.decode(greedy),
            })
            print(f"{text[:40]!r}: top {prompts[-1]['top_ids'][:5]} greedy {prompts[-1]['greedy_text']!r}", file=sys.stderr)

    import transformers
    doc = {
        "model": name,
        "generated_by": f"Scripts/fixtures_llm.py with transformers {transformers.__version__}, torch {torch.__version__}",
        "corpus": corpus,
        "prompts": prompts,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

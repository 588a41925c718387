#!/usr/bin/env python3
"""Writes the text-encoder parity fixtures of SynDiffusion (BERT / all-MiniLM-L6-v2).

Loads the tokenizer and BertModel that `transformers` builds from the installed model folder
(Scripts/install_models.sh puts it in ${SYNCLR_HOME:-~/.cache/synclr}/models/all-minilm-l6-v2;
nothing is fetched from a hub) and stores:

  Fixtures/textenc_tokens.json        token ids of a varied sentence set (ASCII, punctuation,
                                      accents, CJK, emoji, long words, whitespace runs, numbers,
                                      control characters, special-token text, the empty string),
                                      untruncated at max length 256 and truncated at 16; plus the
                                      mean-pooled embedding of every sentence
  Fixtures/textenc_hidden.safetensors last hidden states [B, L, 384] of a few sentences run as
                                      one padded batch, with their ids, attention mask, mean-pooled
                                      and l2-normalized pooled vectors

The ids are those of `AutoTokenizer` (the tokenizers-backed BertTokenizer that
sentence-transformers uses); the script also runs transformers' pure-Python
BertTokenizerLegacy and reports any sentence on which the two disagree.
Pooling follows the model's 1_Pooling/config.json (mean over the attention mask).

Setup (CPU only):
    pip install transformers "torch==2.13.0+cpu" safetensors
Run from the repository root:
    python Scripts/fixtures_textenc.py
CI never runs this script; the fixtures it writes are committed.
"""
import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

MAX_LENGTH = 256  # sentence_bert_config.json: max_seq_length
SHORT_LENGTH = 16

SENTENCES = [
    "A photo of a golden retriever playing in the snow.",
    "Hello, world! How's it going?",
    "café naïve résumé Ångström façade",
    "東京タワーと日本の桜 中文字符测试",
    "I love 🍕 and 🎉! 👨‍👩‍👧 family",
    "supercalifragilisticexpialidocious antidisestablishmentarianism unbelievably",
    "x" * 100 + " " + "y" * 101 + " end",
    "  lots   of\t\twhitespace \n\n and\u00a0nbsp\u3000ideographic\u2028line  ",
    "Numbers: 3.14159, 1,000,000 and 42nd street at 10:30pm #1 $5 50%",
    "",
    "   ",
    "UPPER lower MiXeD CamelCase",
    "tab\tzero\u0000width\u200bjoiner\u200d soft\u00adhyphen bell\u0007 nel\u0085 repl\ufffd",
    "[MASK] is a special token, [CLS] too; [unused0] and [mask] are not",
    "don't stop\u2014em dash\u2026 ellipsis \u00abquotes\u00bb \u201eGerman\u201c \u00bfQu\u00e9?",
    "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 \u03a3\u039f\u03a6\u038a\u0391",
    "Stra\u00dfe \u0130stanbul \u01c5 \u212b",
    "\ufb01 ligature \uff26\uff35\uff2c\uff2c\uff37\uff29\uff24\uff34\uff28",
    "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947",
    "\uc548\ub155\ud558\uc138\uc694 \u3053\u3093\u306b\u3061\u306f",
    "a red t-shirt, a pair of sneakers and a leather ankle boot on a white background",
    "mathematical \U0001d400\U0001d401 and \U00020000 extension-b \u4e00",
    "e\u0301 decomposed vs \u00e9 composed",
    "a photo of a cat " * 70,
    # Where transformers' tokenizers-backed and Python tokenizers differ, the former (used by
    # AutoTokenizer and sentence-transformers) is the reference: no final-sigma rule when
    # lowercasing, unassigned code points are kept.
    "\u039f\u0394\u039f\u03a3 \u03a3\u0391\u03a3",
    "\ue000pua \u0378un",
    "a[MASK]b [SEP][SEP] [CLS]x",
    "\u0130 \u00df\u1e9e \ufeffBOM and \u2060joiner",
    "\u0300 leading combining ##ing what's up?!...",
    "tab\u000bvertical\u000cformfeed\u001cfs\u2029ps x\u0085y",
    "\uff8a\uff9d\uff76\uff78 \U0001f1fa\U0001f1f8 flag \U0001f44d\U0001f3fd skin hello\u3000\u4e16\u754c!",
    "\u01c5 \u01c4 \u01c6 \ufb00 \ufb03 \u216b \u2460",
]

# Sentences whose last hidden states are stored (one padded batch).
HIDDEN = [0, 1, 2, 9, 20]


def main():
    ap = argparse.ArgumentParser()
    home = os.environ.get("SYNCLR_HOME") or os.path.expanduser("~/.cache/synclr")
    ap.add_argument("--model", default=os.path.join(home, "models", "all-minilm-l6-v2"))
    ap.add_argument("--out", default="Tests/SynDiffusionTests/Fixtures")
    args = ap.parse_args()

    tok = AutoTokenizer.from_pretrained(args.model, local_files_only=True)
    legacy = None
    try:
        from transformers.models.bert import BertTokenizerLegacy

        legacy = BertTokenizerLegacy.from_pretrained(args.model, local_files_only=True)
    except Exception as e:  # older transformers: the slow tokenizer is BertTokenizer itself
        print("no legacy tokenizer:", e)

    def ids(tk, s, n):
        return tk(s, truncation=True, max_length=n)["input_ids"]

    cases = []
    for s in SENTENCES:
        full, short = ids(tok, s, MAX_LENGTH), ids(tok, s, SHORT_LENGTH)
        if legacy is not None:
            lf = ids(legacy, s, MAX_LENGTH)
            if lf != full:
                print("fast and legacy tokenizers disagree on", repr(s[:60]))
                print("  fast  ", tok.convert_ids_to_tokens(full))
                print("  legacy", legacy.convert_ids_to_tokens(lf))
        cases.append({"text": s, "ids": full, "ids_short": short})

    model = AutoModel.from_pretrained(args.model, local_files_only=True).eval()

    def run(texts):
        enc = tok(texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
        with torch.no_grad():
            h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                      token_type_ids=enc["token_type_ids"]).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return enc, h, pooled

    # Pooled vectors of every sentence, each encoded alone (no padding).
    for c in cases:
        _, _, p = run([c["text"]])
        c["pooled"] = [round(float(v), 7) for v in p[0]]

    enc, h, pooled = run([SENTENCES[i] for i in HIDDEN])
    tensors = {
        "input_ids": enc["input_ids"].to(torch.int64).contiguous(),
        "attention_mask": enc["attention_mask"].to(torch.int64).contiguous(),
        "last_hidden_state": h.contiguous(),
        "pooled": pooled.contiguous(),
        "pooled_normalized": torch.nn.functional.normalize(pooled, p=2, dim=1).contiguous(),
    }
    meta = {"sentences": json.dumps([SENTENCES[i] for i in HIDDEN]),
            "transformers": transformers.__version__, "torch": torch.__version__}
    os.makedirs(args.out, exist_ok=True)
    save_file(tensors, os.path.join(args.out, "textenc_hidden.safetensors"), metadata=meta)
    doc = {
        "generator": "Scripts/fixtures_textenc.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "max_length": MAX_LENGTH,
        "short_length": SHORT_LENGTH,
        "cases": cases,
    }
    with open(os.path.join(args.out, "textenc_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print("wrote", len(cases), "token cases and hidden states", tuple(h.shape))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate greedy-decoding golden fixtures for the default Gemma 3 270M model.

What it does
  Loads models/gemma-3-270m-q4_k_m.gguf with Hugging Face transformers (which
  dequantizes every GGUF tensor to float32 with the `gguf` package and builds a
  Gemma3ForCausalLM; it subtracts 1 from every *norm.weight because llama.cpp
  stored Gemma's (1 + w) RMSNorm weights pre-added, and the HF module adds the
  1 back), in eval mode with attn_implementation="eager", float32.
  For each prompt (encoded WITH BOS id 2 first, special-token parsing on) it
  runs its own greedy loop: exactly N steps, a full-sequence forward each step
  (no KV cache, no EOS stopping, no logit processing), and records the greedy
  token and the top-5 (id, raw float32 logit) of that step's last-position
  logits. A long "sliding_window" case (> 512 prompt tokens) exercises the
  512-token sliding window of the local-attention layers.
  The config transformers built is checked (sliding_window 512, rope theta
  1e6 global / 1e4 local, query_pre_attn_scalar 256, every 6th layer global)
  and written under "config".

Reference: transformers.AutoModelForCausalLM.from_pretrained("<repo>/models",
  gguf_file="gemma-3-270m-q4_k_m.gguf", dtype=torch.float32) and the matching
  AutoTokenizer.
Requirements: pip install torch transformers gguf sentencepiece protobuf numpy
  (the CPU torch wheel is enough)
Run (from the repo root; ~2-4 minutes on 2 cores, ~3 GB RAM):
  HF_HUB_OFFLINE=1 python3 Tests/ModelTests/Fixtures/make_gemma3_fixtures.py
Output: Tests/ModelTests/Fixtures/gemma3_greedy.json (deterministic).
"""

import hashlib
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL_DIR = os.path.join(REPO, "models")
GGUF_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
OUT = os.path.join(HERE, "gemma3_greedy.json")

STEPS = 24
LONG_STEPS = 8
TOPK = 5
PROBE_IDS = [0, 1, 2, 105, 106, 107, 236888, 9259]

PROMPTS = [
    ("capital_france", "The capital of France is"),
    ("fibonacci", "def fibonacci(n):"),
    ("once_upon", "Once upon a time, in a small village,"),
    ("counting", "1, 2, 3, 4, 5,"),
    ("chat_tallest_mountain",
     "<start_of_turn>user\nWhat is the tallest mountain on Earth?<end_of_turn>\n<start_of_turn>model\n"),
    ("accents_emoji", "Mon café préféré à Zürich s'appelle « Le Naïf » 😊 et on y sert"),
    ("json_code", '{\n  "name": "Tandem",\n  "language": "Swift",\n  "'),
]

CITIES = ["Paris", "Tokyo", "Nairobi", "Lima", "Oslo", "Hanoi", "Cairo", "Quito",
          "Dublin", "Perth", "Montreal", "Seville", "Krakow", "Manila", "Accra"]
TRADES = ["bakers", "weavers", "clockmakers", "fishermen", "printers", "potters",
          "glassblowers", "carpenters", "tailors", "brewers"]
WEATHER = ["a cold wind from the north", "steady autumn rain", "a bright dry heat",
           "thick morning fog", "the first snow of winter", "a warm spring breeze"]


def long_prompt_text(tok, min_tokens=620):
    """Deterministic, varied natural text of at least min_tokens tokens (with BOS)."""
    parts = []
    i = 0
    while True:
        city = CITIES[i % len(CITIES)]
        trade = TRADES[(i * 3) % len(TRADES)]
        weather = WEATHER[(i * 5) % len(WEATHER)]
        year = 1850 + 7 * i
        parts.append(
            f"In {year}, the {trade} of {city} woke to {weather}. "
            f"They opened their shops early, argued about prices, and told stories "
            f"about the old market by the river, where {CITIES[(i + 4) % len(CITIES)]} "
            f"traders once sold spices and maps."
        )
        text = " ".join(parts)
        if len(tok.encode(text, add_special_tokens=True)) >= min_tokens:
            return text
        i += 1


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@torch.no_grad()
def greedy(model, prompt_ids, steps):
    ids = list(prompt_ids)
    out_ids, top5, probes = [], [], None
    for step in range(steps):
        x = torch.tensor([ids], dtype=torch.long)
        logits = model(input_ids=x, use_cache=False).logits[0, -1].to(torch.float32)
        vals, idx = torch.topk(logits, TOPK)
        top5.append([[int(i), float(v)] for i, v in zip(idx.tolist(), vals.tolist())])
        if step == 0:
            probes = [[pid, float(logits[pid])] for pid in PROBE_IDS]
        nxt = int(torch.argmax(logits))
        out_ids.append(nxt)
        ids.append(nxt)
    return out_ids, top5, probes


def main():
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model_path = os.path.join(MODEL_DIR, GGUF_FILE)
    digest = sha256(model_path)
    if digest != MODEL_SHA256:
        print(f"error: {model_path} sha256 {digest} != {MODEL_SHA256}", file=sys.stderr)
        sys.exit(1)

    tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(
        MODEL_DIR, gguf_file=GGUF_FILE, dtype=torch.float32, attn_implementation="eager")
    model.eval()

    c = model.config
    rope = c.rope_parameters
    config = {
        "model_type": c.model_type,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads,
        "head_dim": c.head_dim,
        "vocab_size": c.vocab_size,
        "rms_norm_eps": c.rms_norm_eps,
        "sliding_window": c.sliding_window,
        "rope_theta": rope["full_attention"]["rope_theta"],
        "rope_local_base_freq": rope["sliding_attention"]["rope_theta"],
        "rope_scaling": None if rope["full_attention"].get("rope_type") == "default" else rope["full_attention"],
        "query_pre_attn_scalar": c.query_pre_attn_scalar,
        "attn_scaling": model.model.layers[0].self_attn.scaling,
        "hidden_activation": c.hidden_activation,
        "final_logit_softcapping": c.final_logit_softcapping,
        "attn_logit_softcapping": c.attn_logit_softcapping,
        "tie_word_embeddings": c.tie_word_embeddings,
        "embed_scale": float(model.model.embed_tokens.embed_scale),
        "layer_types": list(c.layer_types),
        "global_layers": [i for i, t in enumerate(c.layer_types) if t == "full_attention"],
        "max_position_embeddings": c.max_position_embeddings,
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
        "norm_weight_note": "GGUF stores Gemma RMSNorm weights as (1 + w); transformers subtracts 1 on "
                            "load and its RMSNorm multiplies by (1 + w), so effective scale = GGUF value.",
        "sliding_window_note": "local layers: query at position i attends to keys j with i - 512 < j <= i.",
    }
    expect = {"sliding_window": 512, "rope_theta": 1e6, "rope_local_base_freq": 1e4,
              "query_pre_attn_scalar": 256, "global_layers": [5, 11, 17]}
    for k, v in expect.items():
        if config[k] != v:
            print(f"WARNING: config {k} = {config[k]!r}, expected {v!r}", file=sys.stderr)

    prompts = list(PROMPTS) + [("sliding_window", long_prompt_text(tok))]
    cases = []
    for name, text in prompts:
        prompt_ids = tok.encode(text, add_special_tokens=True)
        assert prompt_ids[0] == 2 and prompt_ids[1] != 2, prompt_ids[:3]
        steps = LONG_STEPS if name == "sliding_window" else STEPS
        greedy_ids, top5, probes = greedy(model, prompt_ids, steps)
        case = {
            "name": name,
            "prompt": text,
            "prompt_ids": prompt_ids,
            "greedy_ids": greedy_ids,
            "greedy_text": tok.decode(greedy_ids, skip_special_tokens=False),
            "top5": top5,
            # smallest (top1 - top2) logit gap over the steps: near-ties can flip
            # under a different (valid) accumulation order.
            "min_top1_margin": min(t[0][1] - t[1][1] for t in top5),
            "step0_probe_logits": probes,
        }
        cases.append(case)
        print(f"{name}: {len(prompt_ids)} prompt tokens -> {greedy_ids[:8]}... "
              f"{case['greedy_text']!r}", flush=True)

    doc = {
        "generator": "Tests/ModelTests/Fixtures/make_gemma3_fixtures.py",
        "reference": "transformers Gemma3ForCausalLM from GGUF, float32, eager attention, "
                     "full-sequence forward per step (no KV cache), raw logits",
        "model_file": "models/" + GGUF_FILE,
        "model_sha256": digest,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "config": config,
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()

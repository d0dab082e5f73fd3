#!/usr/bin/env python3
"""Generate the LoRA reference fixtures for Tests/AdaptersTests.

What it does
  1. Loads models/gemma-3-270m-q4_k_m.gguf with Hugging Face transformers
     (dequantized to float32, eager attention), like
     Tests/ModelTests/Fixtures/make_gemma3_fixtures.py.
  2. Writes four PEFT LoRA adapters, each a normal `save_pretrained` folder
     (adapter_config.json + adapter_model.safetensors) built with
     peft.get_peft_model(base, LoraConfig(r, lora_alpha, target_modules=[q_proj,
     k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj], lora_dropout=0.0,
     bias="none")) on all 18 layers, with every lora_A / lora_B overwritten by
     seeded random normals:
       random-r4   r=4,  alpha=8,  scaling alpha/r        = 2.0     float32
       random-r8   r=8,  alpha=16, use_rslora, alpha/sqrt(r) = 5.657 float16
       random-r16  r=16, alpha=16, scaling alpha/r        = 1.0     bfloat16
       zero-r8     r=8,  alpha=16, scaling 2.0, lora_B all zeros   float16
     save_pretrained always writes float32 here; the tensors are then
     converted to the folder's dtype and the file is rewritten (same tensor
     names, same {"format": "pt"} metadata) and the model-card README.md that
     save_pretrained also writes is deleted. adapter_config.json is rewritten
     with sorted target_modules (PEFT stores a set, so its order varies run to
     run) and base_model_name_or_path "gemma-3-270m" (instead of a local path).
  3. Reference: every adapter is loaded back FROM DISK with
     peft.PeftModel.from_pretrained(base, folder) (PEFT upcasts float16 /
     bfloat16 adapter weights to float32, so the reference uses exactly the
     stored values); the loaded lora weights are checked bit-for-bit against
     the file. For "base" (no adapter) and each adapter, 3 prompts (token ids,
     BOS 2 first) are decoded greedily for 8 steps without stopping on EOS: a
     full-sequence forward per step (no KV cache; i.e. teacher forcing on its
     own greedy tokens), recording the greedy token and the top-5 (id, raw
     float32 logit) of that step's last position.
     Checks: zero-r8 reproduces base exactly; every random adapter changes the
     greedy output of at least 2 of the 3 prompts; logits stay finite and
     within a sane range; the base model is unchanged after unloading.
  4. Writes lora_golden.json (see README.md for the format), including each
     adapter's scaling and a per-module "delta probe" (s * B @ (A @ x) for a
     fixed x) to debug one LoRA matmul without a full forward.

Reference: transformers.AutoModelForCausalLM.from_pretrained("<repo>/models",
  gguf_file="gemma-3-270m-q4_k_m.gguf", dtype=torch.float32,
  attn_implementation="eager") + peft.PeftModel.from_pretrained.
Requirements: pip install torch transformers peft gguf safetensors numpy
  sentencepiece protobuf   (the CPU torch wheel is enough)
Run (from the repo root; ~1.5 minutes on one thread, ~3 GB RAM):
  HF_HUB_OFFLINE=1 python3 Tests/AdaptersTests/Fixtures/make_lora_fixtures.py
Output (deterministic): Tests/AdaptersTests/Fixtures/{random-r4,random-r8,
  random-r16,zero-r8}/ and lora_golden.json.
"""

import hashlib
import json
import math
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch

torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL_DIR = os.path.join(REPO, "models")
GGUF_FILE = "gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
OUT = os.path.join(HERE, "lora_golden.json")

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STEPS = 8
TOPK = 5

# name, r, alpha, use_rslora, stored dtype, std of lora_A, std of lora_B (None = zeros), seed
ADAPTERS = [
    ("random-r4", 4, 8, False, torch.float32, 0.03, 0.03, 4),
    ("random-r8", 8, 16, True, torch.float16, 0.018, 0.018, 8),
    ("random-r16", 16, 16, False, torch.bfloat16, 0.03, 0.03, 16),
    ("zero-r8", 8, 16, False, torch.float16, 0.05, None, 80),
]
DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}

PROMPTS = [
    ("capital_france", "The capital of France is"),
    ("chat_tallest_mountain",
     "<start_of_turn>user\nWhat is the tallest mountain on Earth?<end_of_turn>\n<start_of_turn>model\n"),
    ("fibonacci", "def fibonacci(n):"),
]

# Delta probe: for these modules, s * B @ (A @ x) with x[i] = ((i % 7) - 3) / 4.
PROBE_MODULES = [(0, "self_attn.q_proj"), (0, "self_attn.v_proj"), (17, "mlp.down_proj")]
PROBE_VALUES = 16


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def probe_input(n):
    return torch.tensor([((i % 7) - 3) / 4.0 for i in range(n)], dtype=torch.float32)


@torch.no_grad()
def greedy(model, prompt_ids, steps):
    ids = list(prompt_ids)
    out_ids, top5 = [], []
    max_abs = 0.0
    for _ in range(steps):
        x = torch.tensor([ids], dtype=torch.long)
        logits = model(input_ids=x, use_cache=False).logits[0, -1].to(torch.float32)
        if not torch.isfinite(logits).all():
            raise SystemExit("non-finite logits")
        max_abs = max(max_abs, float(logits.abs().max()))
        vals, idx = torch.topk(logits, TOPK)
        top5.append([[int(i), float(v)] for i, v in zip(idx.tolist(), vals.tolist())])
        nxt = int(torch.argmax(logits))
        out_ids.append(nxt)
        ids.append(nxt)
    return out_ids, top5, max_abs


def make_adapter(base, name, r, alpha, rslora, dtype, std_a, std_b, seed):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file, save_file

    folder = os.path.join(HERE, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    cfg = LoraConfig(r=r, lora_alpha=alpha, target_modules=list(TARGETS), lora_dropout=0.0,
                     bias="none", use_rslora=rslora)
    pm = get_peft_model(base, cfg)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, p in sorted(pm.named_parameters()):
            if ".lora_A." in pname:
                p.copy_(torch.randn(p.shape, generator=gen) * std_a)
            elif ".lora_B." in pname:
                if std_b is None:
                    p.zero_()
                else:
                    p.copy_(torch.randn(p.shape, generator=gen) * std_b)
    pm.save_pretrained(folder)
    base = pm.unload()  # removes the LoRA layers without merging
    # save_pretrained also writes a model-card README.md (with local paths); not part of the fixture.
    os.remove(os.path.join(folder, "README.md"))

    st_path = os.path.join(folder, "adapter_model.safetensors")
    tensors = load_file(st_path)
    tensors = {k: v.to(dtype).contiguous() for k, v in sorted(tensors.items())}
    save_file(tensors, st_path, metadata={"format": "pt"})
    os.chmod(st_path, 0o644)

    cfg_path = os.path.join(folder, "adapter_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        conf = json.load(f)
    conf["target_modules"] = sorted(conf["target_modules"])
    conf["base_model_name_or_path"] = "gemma-3-270m"
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
        f.write("\n")
    return base, folder


def main():
    import peft
    import transformers
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_path = os.path.join(MODEL_DIR, GGUF_FILE)
    digest = sha256(model_path)
    if digest != MODEL_SHA256:
        print(f"error: {model_path} sha256 {digest} != {MODEL_SHA256}", file=sys.stderr)
        sys.exit(1)

    tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=GGUF_FILE)
    base = AutoModelForCausalLM.from_pretrained(
        MODEL_DIR, gguf_file=GGUF_FILE, dtype=torch.float32, attn_implementation="eager")
    base.eval()

    prompts = []
    for name, text in PROMPTS:
        ids = tok.encode(text, add_special_tokens=True)
        assert ids[0] == 2 and ids[1] != 2, ids[:3]
        prompts.append((name, text, ids))

    cases = []
    base_results = {}
    for name, text, ids in prompts:
        g, t5, mx = greedy(base, ids, STEPS)
        base_results[name] = (g, t5)
        cases.append({"adapter": "base", "name": name, "prompt": text, "prompt_ids": ids,
                      "greedy_ids": g, "greedy_text": tok.decode(g),
                      "top5": t5, "min_top1_margin": min(s[0][1] - s[1][1] for s in t5)})
        print(f"base/{name}: {g} {tok.decode(g)!r} max|logit| {mx:.1f}", flush=True)

    adapters = []
    for (aname, r, alpha, rslora, dtype, std_a, std_b, seed) in ADAPTERS:
        base, folder = make_adapter(base, aname, r, alpha, rslora, dtype, std_a, std_b, seed)
        st_path = os.path.join(folder, "adapter_model.safetensors")
        stored = load_file(st_path)
        pm = PeftModel.from_pretrained(base, folder)
        pm.eval()
        scaling_expected = alpha / math.sqrt(r) if rslora else alpha / r

        # The reference must run on exactly the stored values.
        loaded = {k: v for k, v in pm.state_dict().items() if "lora_" in k}
        assert len(loaded) == len(stored) == 2 * len(TARGETS) * base.config.num_hidden_layers
        for k, v in stored.items():
            assert v.dtype == dtype, (k, v.dtype)
            lk = k.replace(".lora_A.weight", ".lora_A.default.weight").replace(
                ".lora_B.weight", ".lora_B.default.weight")
            assert loaded[lk].dtype == torch.float32, (lk, loaded[lk].dtype)
            assert torch.equal(loaded[lk], v.to(torch.float32)), lk
        for mod in pm.modules():
            if hasattr(mod, "scaling") and isinstance(mod.scaling, dict) and "default" in mod.scaling:
                assert abs(mod.scaling["default"] - scaling_expected) < 1e-12, mod.scaling

        probes = []
        for layer, mname in PROBE_MODULES:
            a = stored[f"base_model.model.model.layers.{layer}.{mname}.lora_A.weight"].to(torch.float32)
            b = stored[f"base_model.model.model.layers.{layer}.{mname}.lora_B.weight"].to(torch.float32)
            x = probe_input(a.shape[1])
            d = (scaling_expected * (b.double() @ (a.double() @ x.double()))).to(torch.float32)
            probes.append({"layer": layer, "module": mname, "in_features": a.shape[1],
                           "out_features": b.shape[0],
                           "first": [float(v) for v in d[:PROBE_VALUES]],
                           "l2": float(d.double().norm())})

        changed = 0
        for name, text, ids in prompts:
            g, t5, mx = greedy(pm, ids, STEPS)
            if std_b is None:
                bg, bt5 = base_results[name]
                assert g == bg, (aname, name, g, bg)
                for s, bs in zip(t5, bt5):
                    for (i1, v1), (i2, v2) in zip(s, bs):
                        assert i1 == i2 and abs(v1 - v2) <= 1e-5, (aname, name, s, bs)
            elif g != base_results[name][0]:
                changed += 1
            assert mx < 200, (aname, name, mx)
            cases.append({"adapter": aname, "name": name, "prompt": text, "prompt_ids": ids,
                          "greedy_ids": g, "greedy_text": tok.decode(g),
                          "top5": t5, "min_top1_margin": min(s[0][1] - s[1][1] for s in t5)})
            print(f"{aname}/{name}: {g} {tok.decode(g)!r} max|logit| {mx:.1f}", flush=True)
        if std_b is not None:
            assert changed >= 2, f"{aname} changed only {changed} greedy outputs; raise the std"
        base = pm.unload()

        with open(os.path.join(folder, "adapter_config.json"), encoding="utf-8") as f:
            conf = json.load(f)
        adapters.append({
            "name": aname,
            "r": r,
            "lora_alpha": alpha,
            "use_rslora": rslora,
            "scaling": scaling_expected,
            "scaling_formula": "lora_alpha / sqrt(r)" if rslora else "lora_alpha / r",
            "dtype": DTYPE_NAMES[dtype],
            "target_modules": conf["target_modules"],
            "tensor_count": len(stored),
            "init": {"seed": seed, "lora_A_std": std_a, "lora_B_std": std_b,
                     "lora_B": "zeros" if std_b is None else "random normal"},
            "safetensors_sha256": sha256(st_path),
            "delta_probe": probes,
        })

    # Unloading must have restored the base exactly.
    for name, text, ids in prompts:
        g, t5, _ = greedy(base, ids, 2)
        assert g == base_results[name][0][:2] and t5 == base_results[name][1][:2], name

    doc = {
        "generator": "Tests/AdaptersTests/Fixtures/make_lora_fixtures.py",
        "reference": "transformers Gemma3ForCausalLM from GGUF (float32, eager) + "
                     "peft.PeftModel.from_pretrained(folder) (adapter weights upcast to float32); "
                     "full-sequence forward per step (no KV cache), raw logits, no EOS stop",
        "model_file": "models/" + GGUF_FILE,
        "model_sha256": digest,
        "transformers_version": transformers.__version__,
        "peft_version": peft.__version__,
        "torch_version": torch.__version__,
        "steps": STEPS,
        "lora_formula": "y = W x + scaling * B (A x); A = lora_A [r, in], B = lora_B [out, r]; "
                        "added to the projection's output (before Gemma's q_norm/k_norm and RoPE)",
        "delta_probe_input": "x[i] = ((i % 7) - 3) / 4 for i in 0..<in_features; "
                             "values = scaling * B @ (A @ x) computed in float64 from the stored weights",
        "adapters": adapters,
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    total = 0
    for root, _, files in os.walk(HERE):
        total += sum(os.path.getsize(os.path.join(root, x)) for x in files)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes); fixtures folder {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Convert a PEFT LoRA folder into a llama.cpp GGUF LoRA file.

Usage:
  python3 tools/peft_to_gguf_lora.py PEFT_DIR OUT.gguf [--arch gemma3|llama] [--outtype f32|f16]
      [--heads N --kv-heads M]   (llama only: needed to permute q/k rows)

The output follows llama.cpp's own converter (convert_lora_to_gguf.py), so both Tandem and
llama-server load it:
  general.architecture = ARCH, general.type = "adapter", adapter.type = "lora",
  adapter.lora.alpha = the config's lora_alpha,
  blk.{i}.{attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down}.weight.lora_a  (rank × inputs)
  blk.{i}.….weight.lora_b                                                           (outputs × rank)
llama.cpp scales every pair by alpha / rank. PEFT can do more (use_rslora, rank_pattern,
alpha_pattern), so each pair's own PEFT scale is folded into lora_b:
  lora_b' = lora_b · scale_peft · rank / alpha,
which gives exactly scale_peft · B·A under llama.cpp's rule.

Llama GGUFs store q/k rows permuted for interleaved RoPE (llama.cpp's converter does this to the
base weights); lora_b of q and k is permuted the same way so it lines up with those rows.

Requirements: pip install gguf safetensors numpy  (no torch). Used by the adapter tests' fixture
script and by bench/load_bench.py to give llama-server the same adapters Tandem serves.
"""
import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

MODULES = {
    "q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
    "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down",
}
NAME = re.compile(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.default)?\.weight$")


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Reads every tensor as float32 (F32, F16 and BF16), without torch."""
    data = path.read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = body[start:end]
        dtype = info["dtype"]
        if dtype == "F32":
            values = np.frombuffer(raw, dtype="<f4")
        elif dtype == "F16":
            values = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dtype == "BF16":
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            sys.exit(f"{path}: tensor {name} has dtype {dtype}; only F32, F16 and BF16 are supported")
        out[name] = values.reshape(info["shape"]).astype(np.float32)
    return out


def permute_rows(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's q/k permutation (HF rotate-half order → interleaved pairs) applied to rows."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def pattern_value(patterns: dict, tensor_name: str, default):
    for key, value in (patterns or {}).items():
        if key in tensor_name:
            return value
    return default


def convert(peft_dir: Path, out: Path, arch: str, outtype: str, heads: int | None, kv_heads: int | None) -> int:
    import gguf

    config = json.loads((peft_dir / "adapter_config.json").read_text())
    tensors = read_safetensors(peft_dir / "adapter_model.safetensors")
    r_default = config["r"]
    alpha = float(config.get("lora_alpha") or r_default)
    layers = config.get("layers_to_transform")
    if isinstance(layers, int):
        layers = [layers]

    pairs: dict[tuple[int, str], dict[str, tuple[str, np.ndarray]]] = {}
    for name, value in tensors.items():
        m = NAME.search(name)
        if not m:
            continue
        layer, module, which = int(m.group(1)), m.group(2), m.group(3)
        if module not in MODULES:
            sys.exit(f"{name}: module {module} has no llama.cpp equivalent")
        if layers is not None and layer not in layers:
            continue
        pairs.setdefault((layer, module), {})[which] = (name, value)

    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    dtype = np.float16 if outtype == "f16" else np.float32
    for (layer, module), pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            sys.exit(f"layer {layer} {module}: lora_A or lora_B is missing")
        a_name, a = pair["A"]
        _, b = pair["B"]
        rank = a.shape[0]
        r = pattern_value(config.get("rank_pattern"), a_name, r_default)
        module_alpha = float(pattern_value(config.get("alpha_pattern"), a_name, alpha))
        peft_scale = module_alpha / math.sqrt(r) if config.get("use_rslora") else module_alpha / r
        b = b * (peft_scale * rank / alpha)
        if arch == "llama" and module in ("q_proj", "k_proj"):
            if heads is None or kv_heads is None:
                sys.exit("--heads and --kv-heads are needed to permute q/k for a llama base")
            b = permute_rows(b, heads if module == "q_proj" else kv_heads)
        base = f"blk.{layer}.{MODULES[module]}.weight"
        writer.add_tensor(base + ".lora_a", np.ascontiguousarray(a, dtype=dtype))
        writer.add_tensor(base + ".lora_b", np.ascontiguousarray(b, dtype=dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peft_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--arch", default="gemma3", choices=["gemma3", "llama"])
    parser.add_argument("--outtype", default="f32", choices=["f32", "f16"])
    parser.add_argument("--heads", type=int)
    parser.add_argument("--kv-heads", type=int)
    args = parser.parse_args()
    count = convert(args.peft_dir, args.out, args.arch, args.outtype, args.heads, args.kv_heads)
    print(f"{args.out}: {count} lora_a/lora_b pairs")


if __name__ == "__main__":
    main()

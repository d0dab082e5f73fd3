#!/usr/bin/env python3
"""Decode speed of a Qwen-shaped model: Tandem against llama.cpp on the same GGUF.

No Qwen weights are reachable here, so this writes a random-weight GGUF with Qwen 2.5 0.5B's shape
(hidden 896, 24 layers, 14 query / 2 KV heads of 64, FFN 4864, tied embedding; q/k/v biases) and the
Qwen 2 vocabulary of llama.cpp's `ggml-vocab-qwen2.gguf` (`make vocab-ggufs`), 2-D weights in Q8_0
(gguf-py quantizes it), norms and biases F32. Speed does not depend on what the weights say. Then it
runs `tandem bench` (decode at 1 and 16 sequences, prompt 512) and llama.cpp's `llama-bench` (tg128,
pp512) and `llama-batched-bench` (16 sequences) on that file, and prints one table with ratios.

  LLAMA_CPP_BIN=/path/to/llama.cpp/build/bin python3 bench/qwen_shaped.py [--layers 24] [--keep]

The GGUF (~0.5 GB) goes to a temporary directory and is removed unless --keep.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np
import gguf

REPO = pathlib.Path(__file__).resolve().parent.parent
VOCAB = REPO / ".build-vocab" / "ggml-vocab-qwen2.gguf"
HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN = 896, 14, 2, 64, 4864


def field(reader, key):
    f = reader.fields[key]
    if len(f.types) and f.types[0] == gguf.GGUFValueType.ARRAY:
        if f.types[-1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8", "replace") for i in f.data]
        return [f.parts[i].tolist()[0] for i in f.data]
    value = f.parts[f.data[0]]
    return bytes(value).decode() if f.types[0] == gguf.GGUFValueType.STRING else value.tolist()[0]


def write_model(path, layers):
    vocab = gguf.GGUFReader(str(VOCAB))
    tokens = field(vocab, "tokenizer.ggml.tokens")
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_name("Tandem Qwen-shaped bench (random weights)")
    w.add_block_count(layers)
    w.add_context_length(32768)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(field(vocab, "tokenizer.ggml.token_type"))
    w.add_token_merges(field(vocab, "tokenizer.ggml.merges"))
    w.add_bos_token_id(field(vocab, "tokenizer.ggml.bos_token_id"))
    w.add_eos_token_id(field(vocab, "tokenizer.ggml.eos_token_id"))
    w.add_add_bos_token(False)

    def matrix(name, rows, cols):
        data = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)
        w.add_tensor(name, gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0),
                     raw_dtype=gguf.GGMLQuantizationType.Q8_0)

    def vector(name, n, base=0.0):
        w.add_tensor(name, (base + rng.standard_normal(n, dtype=np.float32) * 0.02).astype(np.float32))

    matrix("token_embd.weight", len(tokens), HIDDEN)
    vector("output_norm.weight", HIDDEN, 1.0)
    q, kv = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    for i in range(layers):
        p = f"blk.{i}."
        vector(p + "attn_norm.weight", HIDDEN, 1.0)
        matrix(p + "attn_q.weight", q, HIDDEN)
        vector(p + "attn_q.bias", q)
        matrix(p + "attn_k.weight", kv, HIDDEN)
        vector(p + "attn_k.bias", kv)
        matrix(p + "attn_v.weight", kv, HIDDEN)
        vector(p + "attn_v.bias", kv)
        matrix(p + "attn_output.weight", HIDDEN, q)
        vector(p + "ffn_norm.weight", HIDDEN, 1.0)
        matrix(p + "ffn_gate.weight", FFN, HIDDEN)
        matrix(p + "ffn_up.weight", FFN, HIDDEN)
        matrix(p + "ffn_down.weight", HIDDEN, FFN)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def tandem_rows(binary, model):
    out = run([binary, "bench", "--model", str(model), "--batches", "1,16", "--decode-tokens", "128",
               "--prompt-tokens", "512"])
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and re.match(r"^[\d.]+$", cells[3]):
            rows[cells[0]] = float(cells[3])
    return rows


def llama_rows(bin_dir, model):
    rows = {}
    out = run([str(bin_dir / "llama-bench"), "-m", str(model), "-p", "512", "-n", "128", "-t", "2", "-o", "csv"])
    for line in out.splitlines()[1:]:
        cells = [c.strip('"') for c in line.split(",")]
        header = out.splitlines()[0].split(",")
        record = dict(zip([h.strip('"') for h in header], cells))
        if record.get("n_prompt") == "512":
            rows["pp512"] = float(record["avg_ts"])
        elif record.get("n_gen") == "128":
            rows["tg128"] = float(record["avg_ts"])
    out = run([str(bin_dir / "llama-batched-bench"), "-m", str(model), "-c", "4096", "-b", "2048", "-ub", "512",
               "-npp", "64", "-ntg", "128", "-npl", "16", "-t", "2", "--output-format", "jsonl"])
    for line in out.splitlines():
        if line.startswith("{"):
            import json
            rows["tg x16"] = json.loads(line)["speed_tg"]
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--tandem", default=str(REPO / ".build/release/tandem"))
    args = parser.parse_args()
    bin_dir = pathlib.Path(os.environ.get("LLAMA_CPP_BIN", ""))
    if not VOCAB.exists():
        sys.exit(f"{VOCAB} is missing: run `make vocab-ggufs`")
    directory = pathlib.Path(tempfile.mkdtemp(prefix="qwen-shaped-"))
    model = directory / "qwen-shaped-q8_0.gguf"
    write_model(model, args.layers)
    flags = sorted({w for line in open("/proc/cpuinfo") if line.startswith("flags")
                    for w in line.split()[2:] if w in {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni"}})
    print(f"model: Qwen 2.5 0.5B shape, {args.layers} layers, Q8_0, {model.stat().st_size / 1e6:.0f} MB; "
          f"CPU flags: {' '.join(flags)}")
    ours = tandem_rows(args.tandem, model)
    theirs = llama_rows(bin_dir, model) if (bin_dir / "llama-bench").exists() else {}
    print("| test | Tandem tok/s | llama.cpp tok/s | Tandem / llama.cpp |")
    print("|---|---:|---:|---:|")
    for ours_name, their_name in [("pp512", "pp512"), ("tg128 ×1", "tg128"), ("tg128 ×16", "tg x16")]:
        mine = next((v for k, v in ours.items() if k.replace(" ", "").startswith(ours_name.replace(" ", ""))), None)
        other = theirs.get(their_name)
        ratio = f"{mine / other:.2f}" if mine and other else "–"
        print(f"| {ours_name} | {mine or 0:.1f} | {other or 0:.1f} | {ratio} |")
    print("tandem rows:", ours)
    if not args.keep:
        model.unlink()
        directory.rmdir()
    else:
        print("kept", model)


if __name__ == "__main__":
    main()

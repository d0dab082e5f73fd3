#!/usr/bin/env python3
"""Tokenizer throughput: Tandem's tokenizers against Hugging Face `tokenizers` on the same text.

For each vocabulary GGUF (the default model's SentencePiece vocabulary and llama.cpp's vocabulary-only
BPE GGUFs from `make vocab-ggufs`), encodes one text with `tandem bench --tokenizer` (in-process, best
of 5) and with the `tokenizers` backend transformers builds from the same GGUF (best of 5, no special
tokens), and prints MB/s, token counts (which must agree) and the ratio. Both single-threaded.

The text: README.md, Sources/**/*.swift and the hostile strings of the BPE golden cases, concatenated
(code, prose, CJK, emoji, digits, whitespace runs), about 1 MB.

  python3 bench/tokenizer_throughput.py [--tandem .build/release/tandem]

Needs: pip install transformers tokenizers gguf sentencepiece protobuf (no torch for the tokenizer).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

REPO = pathlib.Path(__file__).resolve().parent.parent
VOCABS = [REPO / "models/gemma-3-270m-q4_k_m.gguf"] + [REPO / ".build-vocab" / f"ggml-vocab-{name}.gguf"
                                                       for name in ("llama-bpe", "qwen2", "gpt-2")]


def corpus() -> str:
    parts = [(REPO / "README.md").read_text()]
    parts += [p.read_text() for p in sorted((REPO / "Sources").rglob("*.swift"))
              if p.name != "OpenAPIDocument.swift"]
    cases = json.loads((REPO / "Tests/TokenizerTests/Fixtures/bpe_cases.json").read_text())
    parts += [c["text"] for vocab in cases["vocabs"].values() for c in vocab["cases"]]
    return "\n".join(parts)


def tandem(binary: str, vocab: pathlib.Path, path: str) -> tuple[int, float]:
    out = subprocess.run([binary, "bench", "--model", str(vocab), "--tokenizer", path], capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()[-1]
    cells = [c.strip() for c in out.strip("|").split("|")]
    return int(cells[2]), float(cells[4])


def huggingface(vocab: pathlib.Path, text: str) -> tuple[int, float]:
    from transformers import AutoTokenizer
    from tokenizers import Tokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(vocab.parent), gguf_file=vocab.name)
    backend = tokenizer.backend_tokenizer
    if "llama-bpe" in vocab.name:  # as Llama 3's tokenizer.json and llama.cpp (see make_bpe_fixtures.py)
        spec = json.loads(backend.to_str())
        spec["model"]["ignore_merges"] = True
        backend = Tokenizer.from_str(json.dumps(spec))
    best = float("inf")
    count = 0
    for _ in range(5):
        start = time.perf_counter()
        count = len(backend.encode(text, add_special_tokens=False).ids)
        best = min(best, time.perf_counter() - start)
    return count, len(text.encode()) / best / 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tandem", default=str(REPO / ".build/release/tandem"))
    args = parser.parse_args()
    text = corpus()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
        path = f.name
    flags = sorted({w for line in open("/proc/cpuinfo") if line.startswith("flags")
                    for w in line.split()[2:] if w in {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni"}})
    print(f"text: {len(text.encode())} bytes; CPU flags: {' '.join(flags)}")
    print("| vocabulary | Tandem MB/s | tokenizers MB/s | Tandem / tokenizers | tokens (Tandem / tokenizers) |")
    print("|---|---:|---:|---:|---:|")
    for vocab in VOCABS:
        if not vocab.exists():
            print(f"| {vocab.name} | missing (make setup / make vocab-ggufs) | | | |")
            continue
        ours, ours_rate = tandem(args.tandem, vocab, path)
        theirs, their_rate = huggingface(vocab, text)
        print(f"| {vocab.name} | {ours_rate:.2f} | {their_rate:.2f} | {ours_rate / their_rate:.2f} | "
              f"{ours} / {theirs} |")
    os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

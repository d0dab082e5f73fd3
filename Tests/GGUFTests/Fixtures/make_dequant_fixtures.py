#!/usr/bin/env python3
"""Generate golden dequantization fixtures for the GGUF reader.

What it does
  1. For each ggml type F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K
     and Q6_K it builds 3 blocks of seeded random bytes (for F32/F16/BF16 a
     "block" is 32 elements). Every f16 scale field (d, dmin, m) is overwritten
     with a finite random f16 of moderate magnitude (|x| uniform in 0.05..2,
     random sign), and raw float elements (F32/F16/BF16) that decode to
     NaN/Inf are re-drawn, so all reference values are finite.
     The bytes are dequantized with the reference implementation in the `gguf`
     PyPI package (gguf.quants.dequantize) and stored as hex + float values.
  2. "model_tensors": from the real default model (read with gguf.GGUFReader),
     for the first tensor (file order) of each tensor type present, record its
     name, type, shape (ggml order, ne0 first), its absolute data offset in the
     file, the dequantized first 2 rows (row = ne0 elements) and the float64 sum
     of the whole dequantized tensor (accumulated row-chunk by row-chunk in
     float64; compare with a relative tolerance).

Reference: gguf (PyPI, the gguf-py package from llama.cpp), numpy.
Requirements: pip install gguf numpy
Run (from the repo root):
  python3 Tests/GGUFTests/Fixtures/make_dequant_fixtures.py
Output: Tests/GGUFTests/Fixtures/dequant_blocks.json (deterministic; rerun gives
the same file).
"""

import importlib.metadata
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL = os.path.join(REPO, "models", "gemma-3-270m-q4_k_m.gguf")
OUT = os.path.join(HERE, "dequant_blocks.json")

SEED = 20240611
N_BLOCKS = 3

# Byte offsets of f16 scale fields inside one block, per type.
F16_SCALE_OFFSETS = {
    "Q8_0": [0],        # d, qs[32] int8                       = 34 bytes
    "Q4_0": [0],        # d, qs[16]                            = 18 bytes
    "Q4_1": [0, 2],     # d, m, qs[16]                         = 20 bytes
    "Q5_0": [0],        # d, qh[4], qs[16]                     = 22 bytes
    "Q5_1": [0, 2],     # d, m, qh[4], qs[16]                  = 24 bytes
    "Q4_K": [0, 2],     # d, dmin, scales[12], qs[128]         = 144 bytes
    "Q5_K": [0, 2],     # d, dmin, scales[12], qh[32], qs[128] = 176 bytes
    "Q6_K": [208],      # ql[128], qh[64], scales[16] i8, d    = 210 bytes
}
EXPECTED_BLOCK_BYTES = {
    "Q8_0": 34, "Q4_0": 18, "Q4_1": 20, "Q5_0": 22, "Q5_1": 24,
    "Q4_K": 144, "Q5_K": 176, "Q6_K": 210,
}
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
         "Q4_K", "Q5_K", "Q6_K"]


def moderate_f16(rng):
    mag = rng.uniform(0.05, 2.0)
    sign = -1.0 if rng.random() < 0.5 else 1.0
    return np.float16(sign * mag)


def finite_raw_floats(rng, name, n):
    """Random bytes for n raw float elements, re-drawing non-finite ones."""
    if name == "F32":
        dt, width = np.float32, 4
    elif name == "F16":
        dt, width = np.float16, 2
    else:  # BF16: check finiteness through the float32 it widens to
        dt, width = None, 2
    raw = bytearray(rng.integers(0, 256, size=n * width, dtype=np.uint8).tobytes())
    for i in range(n):
        while True:
            chunk = bytes(raw[i * width:(i + 1) * width])
            if dt is not None:
                v = np.frombuffer(chunk, dtype=dt)[0]
            else:
                u = np.frombuffer(chunk, dtype=np.uint16).astype(np.uint32) << 16
                v = u.view(np.float32)[0]
            if np.isfinite(v):
                break
            raw[i * width:(i + 1) * width] = rng.integers(0, 256, size=width, dtype=np.uint8).tobytes()
    return np.frombuffer(bytes(raw), dtype=np.uint8).copy()


def make_block_bytes(rng, name):
    qtype = T[name]
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if name in ("F32", "F16", "BF16"):
        return finite_raw_floats(rng, name, 32 * N_BLOCKS), 32 * N_BLOCKS
    assert type_size == EXPECTED_BLOCK_BYTES[name], (name, type_size)
    data = rng.integers(0, 256, size=type_size * N_BLOCKS, dtype=np.uint8)
    for b in range(N_BLOCKS):
        for off in F16_SCALE_OFFSETS[name]:
            h = moderate_f16(rng)
            pos = b * type_size + off
            data[pos:pos + 2] = np.frombuffer(h.tobytes(), dtype=np.uint8)
    return data, block_size * N_BLOCKS


def dequant(data, qtype):
    vals = gguf.quants.dequantize(data, qtype)
    return np.asarray(vals, dtype=np.float32).reshape(-1)


def synthetic_cases():
    rng = np.random.default_rng(SEED)
    cases = []
    for name in TYPES:
        qtype = T[name]
        data, n_elem = make_block_bytes(rng, name)
        vals = dequant(data, qtype)
        assert vals.size == n_elem, (name, vals.size, n_elem)
        assert np.all(np.isfinite(vals)), name
        cases.append({
            "type": name,
            "ggml_type": int(qtype),
            "block_count": N_BLOCKS,
            "elements": int(n_elem),
            "data_hex": data.tobytes().hex(),
            "values": [float(v) for v in vals],
        })
    return cases


def model_tensor_cases():
    if not os.path.exists(MODEL):
        print(f"warning: {MODEL} missing; model_tensors left empty", file=sys.stderr)
        return []
    reader = gguf.GGUFReader(MODEL)
    seen = {}
    for t in reader.tensors:
        name = t.tensor_type.name
        if name not in seen:
            seen[name] = t
    out = []
    for type_name, t in sorted(seen.items(), key=lambda kv: int(kv[1].tensor_type)):
        shape = [int(x) for x in t.shape]  # ggml order, ne0 first
        ne0 = shape[0]
        n_rows = int(t.n_elements) // ne0
        data = np.asarray(t.data)
        if t.tensor_type in (T.F32, T.F16, T.BF16):
            flat = data.reshape(-1)
            rows_view = flat.reshape(n_rows, ne0)
            deq_rows = lambda a, b: np.asarray(rows_view[a:b], dtype=np.float32)
        else:
            block_size, type_size = gguf.GGML_QUANT_SIZES[t.tensor_type]
            row_bytes = ne0 // block_size * type_size
            raw = data.reshape(-1).view(np.uint8).reshape(n_rows, row_bytes)
            deq_rows = lambda a, b: dequant(raw[a:b], t.tensor_type).reshape(b - a, ne0)
        first = deq_rows(0, min(2, n_rows))
        total = 0.0
        chunk = 4096
        for a in range(0, n_rows, chunk):
            b = min(n_rows, a + chunk)
            total += float(deq_rows(a, b).astype(np.float64).sum())
        out.append({
            "name": t.name,
            "type": type_name,
            "ggml_type": int(t.tensor_type),
            "shape": shape,
            "n_elements": int(t.n_elements),
            "data_offset": int(t.data_offset),
            "first_rows": [[float(v) for v in row] for row in first],
            "sum": total,
        })
    return out


def main():
    doc = {
        "generator": "Tests/GGUFTests/Fixtures/make_dequant_fixtures.py (reference: gguf.quants.dequantize)",
        "gguf_version": importlib.metadata.version("gguf"),
        "numpy_version": np.__version__,
        "seed": SEED,
        "cases": synthetic_cases(),
        "model_file": "models/gemma-3-270m-q4_k_m.gguf",
        "model_tensors": model_tensor_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()

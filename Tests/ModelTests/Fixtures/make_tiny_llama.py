#!/usr/bin/env python3
"""Build a tiny random-weight Llama GGUF and its greedy-decoding golden outputs.

What it does
  1. Builds transformers.LlamaForCausalLM(LlamaConfig(...)) with seeded random
     weights: vocab 320, hidden 64, 2 layers, 4 query heads, 2 KV heads (GQA),
     head_dim 16, FFN 160, rms eps 1e-5, rope theta 10000, context 256, untied
     output head. 2-D weights ~ N(0, 0.08); norm weights 1 + U(-0.1, 0.1).
     Weights that the GGUF stores as F16 (all of layer 1 and output.weight) are
     rounded to f16 in the HF model too, so the HF model and the GGUF hold the
     exact same numbers.
  2. Writes tiny_llama.gguf with gguf.GGUFWriter the way llama.cpp's
     convert_hf_to_gguf.py does for arch "llama": the same metadata keys and
     tensor names, and q_proj / k_proj rows permuted from HF's rotate-half
     RoPE layout to llama.cpp's interleaved-pair layout (permute(w, n_head,
     n_head_kv); for k the head count used is n_head_kv). token_embd and layer
     0 matrices are F32, layer 1 matrices and output.weight are F16, norms F32.
     Tokenizer metadata: a 320-piece SentencePiece-style vocab (llama model):
     <unk>, <s>, </s>, 256 byte pieces <0x00>..<0xFF>, 61 normal pieces.
  3. Reference outputs: the HF model (float32, eager attention, full-sequence
     forward per step, no EOS stopping) on 3 prompts of 5, 12 and 40 token ids
     (BOS 1 first), greedy 16 steps, top-5 (id, logit) per step.
  4. Verification of the GGUF (both are run; the script fails if either fails):
     a. reload the written GGUF with transformers
        (AutoModelForCausalLM.from_pretrained(dir, gguf_file=...), which
        un-permutes q/k) and compare its logits with the original model;
     b. an independent numpy float64 forward that reads the GGUF with
        gguf.GGUFReader and applies interleaved-pair RoPE (llama.cpp
        LLAMA_ROPE_TYPE_NORM) directly to the permuted weights; compare with
        the HF logits to 1e-4.

Reference: transformers LlamaForCausalLM (float32); gguf.GGUFWriter/GGUFReader.
Requirements: pip install torch transformers gguf numpy sentencepiece protobuf
Run (from the repo root; a few seconds):
  HF_HUB_OFFLINE=1 python3 Tests/ModelTests/Fixtures/make_tiny_llama.py
Output: Tests/ModelTests/Fixtures/tiny_llama.gguf and
        Tests/ModelTests/Fixtures/tiny_llama_golden.json (deterministic).
"""

import importlib.metadata
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch
import gguf

HERE = os.path.dirname(os.path.abspath(__file__))
GGUF_NAME = "tiny_llama.gguf"
GGUF_PATH = os.path.join(HERE, GGUF_NAME)
OUT = os.path.join(HERE, "tiny_llama_golden.json")

SEED = 1234
VOCAB = 320
HIDDEN = 64
LAYERS = 2
N_HEAD = 4
N_KV = 2
HEAD_DIM = 16
FFN = 160
EPS = 1e-5
THETA = 10000.0
CTX = 256
STEPS = 16
TOPK = 5

# 61 normal pieces, most useful first (descending scores). Every multi-char
# piece can be formed by merging two pieces of the vocab.
NORMAL_PIECES = [
    "▁", "▁the", "▁a", "e", "t", "▁Hello", "▁world", "in", "er", "o",
    "a", "n", "i", "s", "r", "h", "l", "d", "w", "H",
    "▁t", "he", "▁w", "▁H", "▁He", "ll", "llo", "▁Hel", "▁Hell", "or",
    "ld", "orld", "on", "re", "at", "en", "an", "es", "is", "it",
    "th", "▁th", "▁i", "▁in", "▁o", "f", "▁of", "▁an", "▁and", "nd",
    "▁to", "▁is", "g", "ing", "ed", "c", "u", "m", "▁s", "▁c",
    "▁m",
]


def permute(weights, n_head, n_head_kv):
    """Exactly convert_hf_to_gguf.py LlamaModel.permute."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def build_vocab():
    assert len(NORMAL_PIECES) == 61 and len(set(NORMAL_PIECES)) == 61
    pieces = set(NORMAL_PIECES)
    for p in NORMAL_PIECES:
        if len(p) > 1:
            assert any(p[:k] in pieces and p[k:] in pieces for k in range(1, len(p))), p
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + NORMAL_PIECES
    scores = [0.0] * 259 + [-float(i) for i in range(61)]
    types = [2, 3, 3] + [6] * 256 + [1] * 61
    assert len(tokens) == VOCAB
    return tokens, scores, types


def build_model():
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=FFN,
        num_hidden_layers=LAYERS, num_attention_heads=N_HEAD, num_key_value_heads=N_KV,
        head_dim=HEAD_DIM, rms_norm_eps=EPS, rope_theta=THETA, max_position_embeddings=CTX,
        tie_word_embeddings=False, hidden_act="silu", attention_bias=False, mlp_bias=False,
        bos_token_id=1, eos_token_id=2, pad_token_id=None,
        attn_implementation="eager",
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(cfg).to(torch.float32)
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.08)
            else:
                p.copy_(1.0 + (torch.rand(p.shape, generator=g) * 0.2 - 0.1))
            # weights the GGUF stores as F16 hold f16-representable values here too
            if p.dim() == 2 and (name.startswith("model.layers.1.") or name == "lm_head.weight"):
                p.copy_(p.half().float())
    model.eval()
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()
    return model


def hf_to_gguf_tensors(model):
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    out = [("token_embd.weight", sd["model.embed_tokens.weight"]),
           ("output_norm.weight", sd["model.norm.weight"]),
           ("output.weight", sd["lm_head.weight"].astype(np.float16))]
    names = {
        "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
        "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    }
    for layer in range(LAYERS):
        for hf, gg in names.items():
            w = sd[f"model.layers.{layer}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                w = permute(w, N_HEAD, N_HEAD)
            elif hf == "self_attn.k_proj":
                w = permute(w, N_HEAD, N_KV)
            if w.ndim == 2 and layer == 1:
                w = w.astype(np.float16)
            out.append((f"blk.{layer}.{gg}.weight", np.ascontiguousarray(w)))
    return out


def write_gguf(model, tokens, scores, types):
    w = gguf.GGUFWriter(GGUF_PATH, "llama")
    w.add_name("Tandem tiny llama (random weights)")
    w.add_context_length(CTX)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_rope_freq_base(THETA)
    w.add_layer_norm_rms_eps(EPS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_vocab_size(VOCAB)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    for name, arr in hf_to_gguf_tensors(model):
        w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@torch.no_grad()
def hf_logits(model, ids):
    return model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False).logits[0].float()


@torch.no_grad()
def greedy(model, prompt_ids):
    ids = list(prompt_ids)
    out, top5 = [], []
    for _ in range(STEPS):
        logits = hf_logits(model, ids)[-1]
        vals, idx = torch.topk(logits, TOPK)
        top5.append([[int(i), float(v)] for i, v in zip(idx.tolist(), vals.tolist())])
        nxt = int(torch.argmax(logits))
        out.append(nxt)
        ids.append(nxt)
    return out, top5


def numpy_forward_from_gguf(path, ids, rope_style="interleaved"):
    """Independent llama.cpp-style forward (float64) on the permuted GGUF weights.

    rope_style "interleaved" (llama.cpp) is the real check; "half" (HF's
    rotate-half applied to the permuted weights) is a negative control that
    must disagree, proving the check can detect a wrong layout."""
    r = gguf.GGUFReader(path)
    W = {}
    for t in r.tensors:
        a = np.asarray(t.data)
        if t.tensor_type == gguf.GGMLQuantizationType.F16:
            a = a.view(np.float16)
        W[t.name] = a.astype(np.float64)   # numpy shape (ne1, ne0) = (out, in)

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * w

    def rope(x, pos):  # x: (T, H, D)
        d = x.shape[-1]
        inv = THETA ** (-np.arange(0, d, 2, dtype=np.float64) / d)
        ang = pos[:, None] * inv[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        if rope_style == "interleaved":  # rotate pairs (2i, 2i+1)
            x0, x1 = x[..., 0::2], x[..., 1::2]
        else:                            # rotate pairs (i, i + d/2)
            x0, x1 = x[..., :d // 2], x[..., d // 2:]
        y0 = x0 * cos - x1 * sin
        y1 = x0 * sin + x1 * cos
        y = np.empty_like(x)
        if rope_style == "interleaved":
            y[..., 0::2], y[..., 1::2] = y0, y1
        else:
            y[..., :d // 2], y[..., d // 2:] = y0, y1
        return y

    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    h = W["token_embd.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(LAYERS):
        p = f"blk.{l}."
        x = rms(h, W[p + "attn_norm.weight"])
        q = (x @ W[p + "attn_q.weight"].T).reshape(T, N_HEAD, HEAD_DIM)
        k = (x @ W[p + "attn_k.weight"].T).reshape(T, N_KV, HEAD_DIM)
        v = (x @ W[p + "attn_v.weight"].T).reshape(T, N_KV, HEAD_DIM)
        q, k = rope(q, pos), rope(k, pos)
        att = np.empty((T, N_HEAD, HEAD_DIM))
        for hh in range(N_HEAD):
            kv = hh // (N_HEAD // N_KV)
            s = q[:, hh] @ k[:, kv].T / np.sqrt(HEAD_DIM) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            att[:, hh] = s @ v[:, kv]
        h = h + att.reshape(T, -1) @ W[p + "attn_output.weight"].T
        x = rms(h, W[p + "ffn_norm.weight"])
        g = x @ W[p + "ffn_gate.weight"].T
        u = x @ W[p + "ffn_up.weight"].T
        h = h + ((g / (1 + np.exp(-g))) * u) @ W[p + "ffn_down.weight"].T
    return rms(h, W["output_norm.weight"]) @ W["output.weight"].T


def verify(model, prompts):
    checks = {}
    # (b) independent numpy forward with interleaved RoPE on the permuted weights
    worst = 0.0
    for ids in prompts:
        ref = hf_logits(model, ids).double().numpy()
        got = numpy_forward_from_gguf(GGUF_PATH, ids)
        worst = max(worst, float(np.max(np.abs(ref - got))))
    checks["numpy_interleaved_rope_max_abs_diff"] = worst
    if worst > 1e-4:
        raise SystemExit(f"numpy interleaved-RoPE forward disagrees with HF: {worst}")
    # negative control: rotate-half RoPE on the permuted weights must disagree
    ids = prompts[-1]
    bad = float(np.max(np.abs(hf_logits(model, ids).double().numpy()
                              - numpy_forward_from_gguf(GGUF_PATH, ids, rope_style="half"))))
    checks["negative_control_rotate_half_max_abs_diff"] = bad
    if bad < 1e-3:
        raise SystemExit(f"negative control did not disagree ({bad}); the check has no teeth")

    # (a) transformers reload of the written GGUF
    try:
        from transformers import AutoModelForCausalLM
        m2 = AutoModelForCausalLM.from_pretrained(HERE, gguf_file=GGUF_NAME, dtype=torch.float32,
                                                  attn_implementation="eager")
        m2.eval()
        worst2 = 0.0
        for ids in prompts:
            worst2 = max(worst2, float((hf_logits(model, ids) - hf_logits(m2, ids)).abs().max()))
        checks["transformers_reload_max_abs_diff"] = worst2
        if worst2 > 1e-4:
            raise SystemExit(f"transformers reload of the GGUF disagrees: {worst2}")
    except SystemExit:
        raise
    except Exception as e:  # report, but the numpy check above already passed
        checks["transformers_reload_error"] = f"{type(e).__name__}: {e}"
        print(f"warning: transformers could not reload the GGUF: {e}", file=sys.stderr)
    return checks


def make_prompts():
    rng = np.random.default_rng(SEED)
    prompts = []
    for n in (5, 12, 40):
        body = rng.integers(3, VOCAB, size=n - 1).tolist()
        prompts.append([1] + [int(x) for x in body])
    return prompts


def main():
    import transformers
    tokens, scores, types = build_vocab()
    model = build_model()
    write_gguf(model, tokens, scores, types)
    prompts = make_prompts()
    checks = verify(model, prompts)

    cases = []
    for ids in prompts:
        g, t5 = greedy(model, ids)
        cases.append({"prompt_ids": ids, "greedy_ids": g, "top5": t5})
        print(f"prompt len {len(ids)} -> {g}")

    config = {
        "architecture": "llama", "vocab_size": VOCAB, "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": N_HEAD, "num_key_value_heads": N_KV,
        "head_dim": HEAD_DIM, "intermediate_size": FFN, "rms_norm_eps": EPS,
        "rope_theta": THETA, "context_length": CTX, "tie_word_embeddings": False,
        "bos_token_id": 1, "eos_token_id": 2, "unk_token_id": 0,
        "tensor_types": {"token_embd.weight": "F32", "blk.0.*": "F32", "blk.1.* (2-D)": "F16",
                         "output.weight": "F16", "*norm.weight": "F32"},
        "q_k_permuted_for_interleaved_rope": True,
        "seed": SEED,
    }
    doc = {
        "generator": "Tests/ModelTests/Fixtures/make_tiny_llama.py",
        "reference": "transformers LlamaForCausalLM (unpermuted HF weights), float32, eager, "
                     "full-sequence forward per step, raw logits",
        "gguf_file": GGUF_NAME,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "gguf_version": importlib.metadata.version("gguf"),
        "verification": checks,
        "config": config,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {GGUF_PATH} ({os.path.getsize(GGUF_PATH)} bytes)")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes); checks: {checks}")


if __name__ == "__main__":
    main()

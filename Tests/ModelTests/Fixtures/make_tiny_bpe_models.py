#!/usr/bin/env python3
"""Build tiny random-weight GGUFs for five more architectures, with golden logits.

For each of

  qwen2    Qwen2ForCausalLM   arch "qwen2": q/k/v biases, NEOX (rotate-half) RoPE,
                              tied embeddings                          -> tiny_qwen2.*
  qwen3    Qwen3ForCausalLM   arch "qwen3": per-head q_norm/k_norm, no biases, NEOX
                              RoPE, head_dim 32 != hidden/heads (16), tied -> tiny_qwen3.*
  llama3   LlamaForCausalLM   arch "llama", Llama 3 rope scaling (factor 8, low 1,
                              high 4, original context 64) as a rope_freqs.weight
                              tensor, q/k permuted, untied              -> tiny_llama3.*
  phi3     Phi3ForCausalLM    arch "phi3": fused attn_qkv, fused ffn_up = [gate; up],
                              NEOX RoPE, no sliding window, untied      -> tiny_phi3.*
  mistral  MistralForCausalLM arch "llama" (as convert_hf_to_gguf.py writes it), q/k
                              permuted, sliding_window 8, untied         -> tiny_mistral.*

it writes <name>.gguf and <name>_golden.json next to this script (same shape as
tiny_llama_golden.json from make_tiny_llama.py, plus a few sections).

Every model: hidden 64, 2 layers, 4 query heads, 2 KV heads (GQA), FFN 160,
context 256. Weights are seeded: 2-D ~ N(0, 0.08), norm weights 1 + U(-0.1, 0.1),
biases ~ N(0, 0.05). token_embd and layer-0 matrices are F32 in the GGUF, layer-1
matrices and output.weight F16 (the HF model holds the same f16-rounded values),
norms, biases and rope_freqs F32.

Tokenizers (metadata only; the golden prompts are raw ids):
  qwen2, qwen3, llama3: GPT-2 byte-level BPE (tokenizer.ggml.model "gpt2"): the 256
    byte characters of GPT-2's bytes_to_unicode in its order (so id != byte value:
    "!" is id 0, the byte 0x00 is "Ā" at id 188), then merged pieces, each with a
    merge rule "a b" whose two halves come earlier, then specials (token_type 3).
    pre "qwen2" / "qwen2" / "llama-bpe". qwen2 also pads the vocabulary with
    [PAD<i>] tokens of type 5 (UNUSED), as convert_hf_to_gguf.py does when
    config.vocab_size exceeds the tokenizer; qwen3 has <think>, </think> as
    type 4 (USER_DEFINED), as Qwen3's real GGUFs do.
  phi3, mistral: SentencePiece-style "llama" vocab as in make_tiny_llama.py
    (<unk>, <s>, </s>, <0x00>..<0xFF>, 61 scored pieces), which is what the real
    models use; phi3 appends <|endoftext|> <|assistant|> <|system|> <|end|> <|user|>
    (control, score -1000); mistral has [INST] [/INST] as control ids 3 and 4
    before the byte pieces (Mistral v0.3 layout).
  Each has tokenizer.chat_template = a short faithful version of the family's
  template (ChatML for Qwen, Llama 3 headers, Phi-3 <|user|>/<|end|>, Mistral
  [INST] ... [/INST]).

Reference: the transformers model itself (float32, eager attention), 3 prompts of
raw ids (lengths 5, 12, 40), greedy 16 steps, one full-sequence forward per step
(no KV cache), no EOS stop, top-5 (id, raw logit) per step.

Verification (the script exits non-zero if any fails; numbers go in the JSON):
  a. transformers reloads the GGUF (AutoModelForCausalLM.from_pretrained(dir,
     gguf_file=...)) and matches the original logits. transformers' GGUF config
     reader drops some keys for these archs (qwen3: attention.key_length; llama:
     rope scaling; llama-as-mistral: sliding window and the model class), so
     those reloads pass the original config explicitly; the tensors always come
     from the GGUF. Where the GGUF-derived config is complete (qwen2, phi3) the
     reload uses it alone.
  b. an independent numpy float64 forward that reads only the GGUF (metadata and
     tensors, via gguf.GGUFReader) with llama.cpp's semantics for the arch (rope
     NORM = interleaved pairs on the permuted llama weights, NEOX = halves;
     rope_freqs divides the inverse frequencies; sliding window masks j when
     i - j >= window) must match HF to 1e-4, and negative controls (a plausible
     wrong reading of the file) must not.
  c. transformers' tokenizer built from the GGUF tokenizes a few texts and a
     rendered chat prompt; the ids are recorded ("tokenizer_cases") and must
     decode back to the text (byte-level BPE vocabularies).
  d. LoRA (qwen2, qwen3, phi3, llama3): a seeded random PEFT adapter (r 4, alpha 8,
     F32) is saved to Tests/AdaptersTests/Fixtures/tiny-<arch>-r4/, loaded back
     from disk, checked bit for bit, and must change the greedy ids of at least
     2 of the 3 prompts; its greedy/top-5 go in the JSON's "lora" section.

Requirements: pip install torch transformers peft gguf safetensors numpy jinja2
  sentencepiece protobuf (CPU torch is enough)
Run (from the repo root; about 15 s on one thread):
  HF_HUB_OFFLINE=1 python3 Tests/ModelTests/Fixtures/make_tiny_bpe_models.py
Output (byte-identical on every run): Tests/ModelTests/Fixtures/tiny_{qwen2,qwen3,
  llama3,phi3,mistral}.gguf and *_golden.json; Tests/AdaptersTests/Fixtures/
  tiny-{qwen2,qwen3,phi3,llama3}-r4/.
"""

import hashlib
import importlib.metadata
import json
import math
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
import gguf

torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ADAPTER_ROOT = os.path.join(REPO, "Tests", "AdaptersTests", "Fixtures")

HIDDEN = 64
LAYERS = 2
N_HEAD = 4
N_KV = 2
FFN = 160
CTX = 256
STEPS = 16
TOPK = 5
PROMPT_LENGTHS = (5, 12, 40)
TOL = 1e-4
MIN_MARGIN = 0.005
MAX_PROMPT_ATTEMPTS = 400

LORA_R = 4
LORA_ALPHA = 8
LORA_A_STD = 0.1
LORA_B_STD = 0.05


# --------------------------------------------------------------------------- tokenizers

def bytes_to_unicode():
    """GPT-2's byte -> printable unicode character table, in GPT-2's order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()


def bl(text):
    """A text in the byte-level alphabet (" " -> "Ġ", "\\n" -> "Ċ", "é" -> "Ã©")."""
    return "".join(B2U[b] for b in text.encode("utf-8"))


# Merge rules in rank order, written in plain text (converted with bl()). Each
# result is a new piece; both halves must already be pieces.
BPE_MERGES = [
    (" ", "t"), ("h", "e"), ("i", "n"), ("e", "r"), (" ", "a"), ("o", "n"), ("r", "e"),
    ("a", "t"), ("e", "n"), (" t", "he"), ("o", "r"), (" ", "w"), (" ", "s"), ("e", "s"),
    ("i", "s"), ("i", "t"), ("a", "n"), (" ", "c"), (" ", "h"), ("l", "l"), (" ", "i"),
    ("n", "d"), (" ", "o"), (" ", "f"), (" ", "H"), (" ", "m"), ("e", "d"), ("in", "g"),
    (" a", "nd"), (" ", "b"), ("o", "u"), ("l", "d"), (" w", "or"), (" wor", "ld"),
    ("ll", "o"), ("H", "e"), ("He", "llo"), (" H", "e"), (" He", "llo"), (" i", "s"),
    (" i", "n"), (" o", "f"), (" t", "o"), (" c", "at"), (" h", "ou"), (" hou", "s"),
    (" hous", "e"), (" ", " "), ("\n", "\n"), ("1", "2"), ("12", "3"), (" a", "n"),
    ("u", "s"), ("us", "er"), ("a", "s"), ("as", "s"), ("s", "t"), ("ass", "i"),
    ("assi", "st"), ("an", "t"), ("assist", "ant"), ("s", "y"), ("sy", "st"), ("e", "m"),
    ("syst", "em"), (" c", "a"), (" ca", "f"), ("\u00c3", "\u00a9"), (" caf", "\u00e9"),
    ("W", "h"), ("Wh", "at"), (" ", "T"), (" T", "he"), ("e", "l"),
]
# ("\u00c3", "\u00a9") is written in byte-level characters already: it is "é" (c3 a9).


def build_bpe_vocab(specials, user_defined=(), pad_to=None):
    """tokens, token_types, merges for a byte-level BPE vocab.

    specials: control tokens (type 3) appended after the pieces; user_defined:
    type 4 tokens after them; pad_to: append [PAD<i>] type-5 tokens up to this size."""
    tokens = list(B2U.values())           # GPT-2 order: "!" .. "~", "¡" .., then the rest
    have = set(tokens)
    merges = []
    for a, b in BPE_MERGES:
        a_bl = a if a == "\u00c3" else bl(a)
        b_bl = b if b == "\u00a9" else bl(b)
        assert a_bl in have and b_bl in have, (a, b)
        piece = a_bl + b_bl
        assert piece not in have, piece
        merges.append(f"{a_bl} {b_bl}")
        tokens.append(piece)
        have.add(piece)
    types = [1] * len(tokens)
    for s in specials:
        tokens.append(s)
        types.append(3)
    for s in user_defined:
        tokens.append(s)
        types.append(4)
    if pad_to is not None:
        while len(tokens) < pad_to:
            tokens.append(f"[PAD{len(tokens)}]")
            types.append(5)
    assert len(set(tokens)) == len(tokens)
    return tokens, types, merges


# The SentencePiece-style pieces of make_tiny_llama.py (descending scores).
SPM_PIECES = [
    "▁", "▁the", "▁a", "e", "t", "▁Hello", "▁world", "in", "er", "o",
    "a", "n", "i", "s", "r", "h", "l", "d", "w", "H",
    "▁t", "he", "▁w", "▁H", "▁He", "ll", "llo", "▁Hel", "▁Hell", "or",
    "ld", "orld", "on", "re", "at", "en", "an", "es", "is", "it",
    "th", "▁th", "▁i", "▁in", "▁o", "f", "▁of", "▁an", "▁and", "nd",
    "▁to", "▁is", "g", "ing", "ed", "c", "u", "m", "▁s", "▁c",
    "▁m",
]


def build_spm_vocab(controls_after_eos=(), controls_at_end=()):
    """tokens, scores, types for a SentencePiece "llama" vocab."""
    pieces = set(SPM_PIECES)
    for p in SPM_PIECES:
        if len(p) > 1:
            assert any(p[:k] in pieces and p[k:] in pieces for k in range(1, len(p))), p
    tokens = ["<unk>", "<s>", "</s>"] + list(controls_after_eos)
    scores = [0.0] * len(tokens)
    types = [2, 3, 3] + [3] * len(controls_after_eos)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    scores += [0.0] * 256
    types += [6] * 256
    tokens += SPM_PIECES
    scores += [-float(i) for i in range(len(SPM_PIECES))]
    types += [1] * len(SPM_PIECES)
    for s in controls_at_end:
        tokens.append(s)
        scores.append(-1000.0)
        types.append(3)
    return tokens, scores, types


# ------------------------------------------------------------------------ chat templates

QWEN2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
QWEN3_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}"
)
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}"
)
PHI3_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)
MISTRAL_TEMPLATE = (
    "{{- bos_token }}{%- for message in messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}{%- if message['role'] == 'user' %}"
    "{{- '[INST] ' + message['content'] + '[/INST]' }}"
    "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token }}"
    "{%- else %}{{- raise_exception('Only user and assistant roles are supported!') }}"
    "{%- endif %}{%- endfor %}"
)

CHAT_MESSAGES = {
    "default": [{"role": "user", "content": "Hello world"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "What is the cat?"}],
    "system": [{"role": "system", "content": "the system"},
               {"role": "user", "content": "Hello world"}],
}
TOKENIZER_TEXTS = ["Hello world", "Hello world, the cat is in the house.",
                   " the  house\n\nWhat is 12345?", "caf\u00e9 \u2603 ok"]


# ---------------------------------------------------------------------------- specs

def spec_qwen2():
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens, types, merges = build_bpe_vocab(specials, pad_to=352)
    ids = {s: tokens.index(s) for s in specials}
    return dict(
        key="qwen2", arch="qwen2", hf="Qwen2ForCausalLM", seed=2002, eps=1e-6, theta=1000000.0,
        head_dim=16, tied=True, permute=False, rope="neox", bias=True, qk_norm=False,
        fused=False, window=None, rope_scaling=None, write_head_dim=False,
        tok=dict(model="gpt2", pre="qwen2", tokens=tokens, types=types, merges=merges,
                 bos=ids["<|endoftext|>"], eos=ids["<|im_end|>"], eot=ids["<|im_end|>"],
                 pad=ids["<|endoftext|>"], unk=None, add_bos=False, template=QWEN2_TEMPLATE,
                 specials=ids),
        hf_reads_full_config=True, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"],
    )


def spec_qwen3():
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    user = ["<think>", "</think>"]
    tokens, types, merges = build_bpe_vocab(specials, user_defined=user)
    ids = {s: tokens.index(s) for s in specials}
    return dict(
        key="qwen3", arch="qwen3", hf="Qwen3ForCausalLM", seed=3003, eps=1e-6, theta=1000000.0,
        head_dim=32, tied=False, permute=False, rope="neox", bias=False, qk_norm=True,
        fused=False, window=None, rope_scaling=None, write_head_dim=True,
        tok=dict(model="gpt2", pre="qwen2", tokens=tokens, types=types, merges=merges,
                 bos=ids["<|endoftext|>"], eos=ids["<|im_end|>"], eot=ids["<|im_end|>"],
                 pad=ids["<|endoftext|>"], unk=None, add_bos=False, template=QWEN3_TEMPLATE,
                 specials=ids, user_defined={u: tokens.index(u) for u in user}),
        hf_reads_full_config=False, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj",
                                                  "gate_proj", "up_proj", "down_proj"],
    )


def spec_llama3():
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>"]
    tokens, types, merges = build_bpe_vocab(specials)
    ids = {s: tokens.index(s) for s in specials}
    return dict(
        key="llama3", arch="llama", hf="LlamaForCausalLM", seed=3103, eps=1e-5, theta=500000.0,
        head_dim=16, tied=False, permute=True, rope="norm", bias=False, qk_norm=False,
        fused=False, window=None, write_head_dim=True,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        tok=dict(model="gpt2", pre="llama-bpe", tokens=tokens, types=types, merges=merges,
                 bos=ids["<|begin_of_text|>"], eos=ids["<|end_of_text|>"], eot=ids["<|eot_id|>"],
                 pad=None, unk=None, add_bos=True, template=LLAMA3_TEMPLATE, specials=ids),
        hf_reads_full_config=False, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj",
                                                  "gate_proj", "up_proj", "down_proj"],
    )


def spec_phi3():
    specials = ["<|endoftext|>", "<|assistant|>", "<|system|>", "<|end|>", "<|user|>"]
    tokens, scores, types = build_spm_vocab(controls_at_end=specials)
    ids = {s: tokens.index(s) for s in ["<unk>", "<s>", "</s>"] + specials}
    return dict(
        key="phi3", arch="phi3", hf="Phi3ForCausalLM", seed=3303, eps=1e-5, theta=10000.0,
        head_dim=16, tied=False, permute=False, rope="neox", bias=False, qk_norm=False,
        fused=True, window=None, rope_scaling=None, write_head_dim=False,
        tok=dict(model="llama", pre="default", tokens=tokens, types=types, scores=scores,
                 bos=ids["<s>"], eos=ids["<|endoftext|>"], eot=ids["<|end|>"],
                 pad=ids["<|endoftext|>"], unk=0, add_bos=False, template=PHI3_TEMPLATE,
                 specials=ids),
        hf_reads_full_config=True, lora_targets=["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    )


def spec_mistral():
    tokens, scores, types = build_spm_vocab(controls_after_eos=["[INST]", "[/INST]"])
    ids = {s: tokens.index(s) for s in ["<unk>", "<s>", "</s>", "[INST]", "[/INST]"]}
    return dict(
        key="mistral", arch="llama", hf="MistralForCausalLM", seed=7007, eps=1e-5, theta=10000.0,
        head_dim=16, tied=False, permute=True, rope="norm", bias=False, qk_norm=False,
        fused=False, window=8, rope_scaling=None, write_head_dim=True,
        tok=dict(model="llama", pre="default", tokens=tokens, types=types, scores=scores,
                 bos=ids["<s>"], eos=ids["</s>"], eot=None, pad=None, unk=0, add_bos=True,
                 template=MISTRAL_TEMPLATE, specials=ids),
        hf_reads_full_config=False, lora_targets=None,
    )


SPECS = [spec_qwen2, spec_qwen3, spec_llama3, spec_phi3, spec_mistral]


# ---------------------------------------------------------------------------- models

def hf_config(s):
    import transformers
    vocab = len(s["tok"]["tokens"])
    rope = {"rope_type": "default", "rope_theta": s["theta"]}
    if s["rope_scaling"]:
        rope = dict(s["rope_scaling"], rope_theta=s["theta"])
    common = dict(vocab_size=vocab, hidden_size=HIDDEN, intermediate_size=FFN,
                  num_hidden_layers=LAYERS, num_attention_heads=N_HEAD, num_key_value_heads=N_KV,
                  rms_norm_eps=s["eps"], max_position_embeddings=CTX,
                  tie_word_embeddings=s["tied"], hidden_act="silu", rope_parameters=rope,
                  bos_token_id=s["tok"]["bos"], eos_token_id=s["tok"]["eos"],
                  pad_token_id=s["tok"]["pad"], attn_implementation="eager")
    k = s["key"]
    if k == "qwen2":
        return transformers.Qwen2Config(**common, use_sliding_window=False, sliding_window=None)
    if k == "qwen3":
        return transformers.Qwen3Config(**common, head_dim=s["head_dim"], attention_bias=False,
                                        use_sliding_window=False, sliding_window=None)
    if k == "llama3":
        return transformers.LlamaConfig(**common, head_dim=s["head_dim"], attention_bias=False,
                                        mlp_bias=False)
    if k == "phi3":
        common["rope_parameters"] = dict(rope, partial_rotary_factor=1.0)
        return transformers.Phi3Config(**common, original_max_position_embeddings=CTX,
                                       sliding_window=None, resid_pdrop=0.0, embd_pdrop=0.0,
                                       attention_dropout=0.0)
    if k == "mistral":
        return transformers.MistralConfig(**common, head_dim=s["head_dim"],
                                          sliding_window=s["window"])
    raise ValueError(k)


def build_model(s):
    import transformers
    cfg = hf_config(s)
    torch.manual_seed(s["seed"])
    model = getattr(transformers, s["hf"])(cfg).to(torch.float32)
    g = torch.Generator().manual_seed(s["seed"])
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.08)
            elif name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            else:
                p.copy_(1.0 + (torch.rand(p.shape, generator=g) * 0.2 - 0.1))
            if p.dim() == 2 and (name.startswith("model.layers.1.") or name == "lm_head.weight"):
                p.copy_(p.half().float())
    model.eval()
    tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert tied == s["tied"], (s["key"], tied)
    if s["window"] is None:
        assert getattr(model.config, "sliding_window", None) in (None, 0), model.config.sliding_window
    return model


def permute(weights, n_head, n_head_kv):
    """Exactly convert_hf_to_gguf.py LlamaModel.permute (rotate-half rows -> interleaved pairs)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def llama3_rope_factors(s):
    """Exactly convert_hf_to_gguf.py LlamaModel.generate_extra_tensors (float32 tensor)."""
    rp = s["rope_scaling"]
    base, dim = s["theta"], s["head_dim"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor = rp.get("factor", 8.0)
    low_freq_factor = rp.get("low_freq_factor", 1.0)
    high_freq_factor = rp.get("high_freq_factor", 4.0)
    old_context_len = rp.get("original_max_position_embeddings", 8192)
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    rope_factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            rope_factors.append(1)
        elif wavelen > low_freq_wavelen:
            rope_factors.append(factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            rope_factors.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(rope_factors, dtype=torch.float32).numpy()


def gguf_tensors(s, model):
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    out = [("token_embd.weight", sd["model.embed_tokens.weight"])]
    if s["rope_scaling"]:
        out.append(("rope_freqs.weight", llama3_rope_factors(s)))
    out.append(("output_norm.weight", sd["model.norm.weight"]))
    if not s["tied"]:
        out.append(("output.weight", sd["lm_head.weight"].astype(np.float16)))
    if s["fused"]:
        names = [("input_layernorm.weight", "attn_norm.weight"),
                 ("self_attn.qkv_proj.weight", "attn_qkv.weight"),
                 ("self_attn.o_proj.weight", "attn_output.weight"),
                 ("post_attention_layernorm.weight", "ffn_norm.weight"),
                 ("mlp.gate_up_proj.weight", "ffn_up.weight"),
                 ("mlp.down_proj.weight", "ffn_down.weight")]
    else:
        names = [("input_layernorm.weight", "attn_norm.weight"),
                 ("self_attn.q_proj.weight", "attn_q.weight"),
                 ("self_attn.q_proj.bias", "attn_q.bias"),
                 ("self_attn.q_norm.weight", "attn_q_norm.weight"),
                 ("self_attn.k_proj.weight", "attn_k.weight"),
                 ("self_attn.k_proj.bias", "attn_k.bias"),
                 ("self_attn.k_norm.weight", "attn_k_norm.weight"),
                 ("self_attn.v_proj.weight", "attn_v.weight"),
                 ("self_attn.v_proj.bias", "attn_v.bias"),
                 ("self_attn.o_proj.weight", "attn_output.weight"),
                 ("post_attention_layernorm.weight", "ffn_norm.weight"),
                 ("mlp.gate_proj.weight", "ffn_gate.weight"),
                 ("mlp.up_proj.weight", "ffn_up.weight"),
                 ("mlp.down_proj.weight", "ffn_down.weight")]
    used = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}
    for layer in range(LAYERS):
        for hf, gg in names:
            key = f"model.layers.{layer}.{hf}"
            if key not in sd:
                continue
            used.add(key)
            w = sd[key]
            if s["permute"] and hf.startswith("self_attn.q_proj"):
                w = permute(w, N_HEAD, N_HEAD)
            elif s["permute"] and hf.startswith("self_attn.k_proj"):
                w = permute(w, N_HEAD, N_KV)
            if w.ndim == 2 and layer == 1:
                w = w.astype(np.float16)
            out.append((f"blk.{layer}.{gg}", np.ascontiguousarray(w)))
    missing = set(sd) - used
    assert not missing, missing
    return out


def write_gguf(s, model, path):
    t = s["tok"]
    w = gguf.GGUFWriter(path, s["arch"])
    w.add_name(f"Tandem tiny {s['key']} (random weights)")
    # hyperparameters, in the order convert_hf_to_gguf.py writes them
    if s["arch"] == "phi3":
        w.add_context_length(CTX)
        w.add_rope_scaling_orig_ctx_len(CTX)
        w.add_embedding_length(HIDDEN)
        w.add_feed_forward_length(FFN)
        w.add_block_count(LAYERS)
        w.add_head_count(N_HEAD)
        w.add_head_count_kv(N_KV)
        w.add_layer_norm_rms_eps(s["eps"])
        w.add_rope_dimension_count(s["head_dim"])
        w.add_rope_freq_base(s["theta"])
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        w.add_sliding_window(0)   # the converter writes 0 for sliding_window None
    else:
        w.add_block_count(LAYERS)
        w.add_context_length(CTX)
        w.add_embedding_length(HIDDEN)
        w.add_feed_forward_length(FFN)
        w.add_head_count(N_HEAD)
        w.add_head_count_kv(N_KV)
        w.add_rope_freq_base(s["theta"])
        w.add_layer_norm_rms_eps(s["eps"])
        if s["write_head_dim"]:
            w.add_key_length(s["head_dim"])
            w.add_value_length(s["head_dim"])
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        if s["arch"] == "llama":
            w.add_vocab_size(len(t["tokens"]))
            w.add_rope_dimension_count(s["head_dim"])
        if s["window"] is not None:
            # Not written by convert_hf_to_gguf.py for MistralForCausalLM and not read by
            # llama.cpp's llama arch (it runs Mistral with full attention); the key itself
            # is gguf-py's standard {arch}.attention.sliding_window.
            w.add_sliding_window(s["window"])
    # tokenizer
    w.add_tokenizer_model(t["model"])
    w.add_tokenizer_pre(t["pre"])
    w.add_token_list(t["tokens"])
    if t["model"] == "llama":
        w.add_token_scores(t["scores"])
    w.add_token_types(t["types"])
    if t["model"] == "gpt2":
        w.add_token_merges(t["merges"])
    w.add_bos_token_id(t["bos"])
    w.add_eos_token_id(t["eos"])
    if t["unk"] is not None:
        w.add_unk_token_id(t["unk"])
    if t["pad"] is not None:
        w.add_pad_token_id(t["pad"])
    if t["eot"] is not None:
        w.add_eot_token_id(t["eot"])
    w.add_add_bos_token(t["add_bos"])
    w.add_add_eos_token(False)
    w.add_chat_template(t["template"])
    for name, arr in gguf_tensors(s, model):
        w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ------------------------------------------------------------------------- inference

@torch.no_grad()
def hf_logits(model, ids):
    return model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False).logits[0].float()


@torch.no_grad()
def greedy(model, prompt_ids):
    ids = list(prompt_ids)
    out, top5 = [], []
    for _ in range(STEPS):
        logits = hf_logits(model, ids)[-1]
        if not torch.isfinite(logits).all():
            raise SystemExit("non-finite logits")
        vals, idx = torch.topk(logits, TOPK)
        top5.append([[int(i), float(v)] for i, v in zip(idx.tolist(), vals.tolist())])
        nxt = int(torch.argmax(logits))
        out.append(nxt)
        ids.append(nxt)
    return out, top5


def select_prompts(s, models):
    """Raw ids: BOS first where the vocab adds one, the rest drawn from normal pieces.

    Candidates are drawn from a seeded generator until one gives, under every model
    in `models` (the base, and the base + LoRA where there is one), a greedy run
    whose top-1/top-2 logit gap stays >= MIN_MARGIN at every step and which never
    picks an end-of-generation id, so a float32 engine that differs by ~1e-4 gets
    the same greedy ids and a generation loop that stops on EOS/EOT runs all steps."""
    t = s["tok"]
    eog = {i for i in (t["eos"], t["eot"]) if i is not None}
    normal = [i for i, ty in enumerate(t["types"]) if ty == 1]
    rng = np.random.default_rng(s["seed"])
    prompts, results, attempts = [], [], []
    for n in PROMPT_LENGTHS:
        for attempt in range(1, MAX_PROMPT_ATTEMPTS + 1):
            if t["add_bos"]:
                ids = [t["bos"]] + [int(x) for x in rng.choice(normal, size=n - 1).tolist()]
            else:
                ids = [int(x) for x in rng.choice(normal, size=n).tolist()]
            runs = [greedy(m, ids) for m in models]
            if all(min(st[0][1] - st[1][1] for st in t5) >= MIN_MARGIN and not (set(g) & eog)
                   for g, t5 in runs):
                break
        else:
            raise SystemExit(f"{s['key']}: no prompt of length {n} met the margin/EOG criteria")
        prompts.append(ids)
        results.append(runs)
        attempts.append(attempt)
    return prompts, results, attempts


# ---------------------------------------------------------------- numpy reference

def read_gguf(path):
    r = gguf.GGUFReader(path)
    meta = {}
    for name, f in r.fields.items():
        if name.startswith("tokenizer.ggml.") and name not in (
                "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"):
            continue
        meta[name] = f.contents()
    W = {}
    for t in r.tensors:
        a = np.asarray(t.data)
        if t.tensor_type == gguf.GGMLQuantizationType.F16:
            a = a.view(np.float16)
        elif t.tensor_type != gguf.GGMLQuantizationType.F32:
            raise SystemExit(f"unexpected tensor type {t.tensor_type} for {t.name}")
        W[t.name] = a.astype(np.float64)   # numpy shape (ne1, ne0) = (out, in)
    return meta, W


def numpy_forward(meta, W, ids, rope_style=None, use_rope_freqs=True, use_bias=True,
                  use_qk_norm=True, gate_first=True, window="gguf"):
    """llama.cpp-style forward in float64 from GGUF metadata + tensors only.

    The keyword arguments exist for negative controls; their defaults are the
    llama.cpp semantics of the file's arch."""
    arch = meta["general.architecture"]
    g = lambda k, d=None: meta.get(f"{arch}.{k}", d)  # noqa: E731
    n_embd, n_layer = g("embedding_length"), g("block_count")
    n_head, n_kv = g("attention.head_count"), g("attention.head_count_kv")
    eps, theta = g("attention.layer_norm_rms_epsilon"), g("rope.freq_base")
    hd = g("attention.key_length", n_embd // n_head)
    n_rot = g("rope.dimension_count", hd)
    assert n_rot == hd
    if rope_style is None:
        rope_style = "norm" if arch == "llama" else "neox"   # llama.cpp rope type per arch
    if window == "gguf":
        window = g("attention.sliding_window", 0) or None

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    inv = theta ** (-np.arange(0, n_rot, 2, dtype=np.float64) / n_rot)
    if use_rope_freqs and "rope_freqs.weight" in W:
        inv = inv / W["rope_freqs.weight"]           # llama.cpp: theta / freq_factor

    def rope(x, pos):  # x: (T, H, D)
        ang = pos[:, None] * inv[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        if rope_style == "norm":   # pairs (2i, 2i+1)
            x0, x1 = x[..., 0::2], x[..., 1::2]
        else:                      # pairs (i, i + d/2)
            x0, x1 = x[..., :n_rot // 2], x[..., n_rot // 2:]
        y0, y1 = x0 * cos - x1 * sin, x0 * sin + x1 * cos
        y = np.empty_like(x)
        if rope_style == "norm":
            y[..., 0::2], y[..., 1::2] = y0, y1
        else:
            y[..., :n_rot // 2], y[..., n_rot // 2:] = y0, y1
        return y

    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    i_idx, j_idx = np.arange(T)[:, None], np.arange(T)[None, :]
    masked = j_idx > i_idx
    if window:
        masked = masked | (i_idx - j_idx >= window)
    mask = np.where(masked, -np.inf, 0.0)
    h = W["token_embd.weight"][ids]
    for l in range(n_layer):
        p = f"blk.{l}."
        x = rms(h, W[p + "attn_norm.weight"])
        if p + "attn_qkv.weight" in W:
            qkv = x @ W[p + "attn_qkv.weight"].T
            q, k, v = np.split(qkv, [n_head * hd, n_head * hd + n_kv * hd], axis=-1)
        else:
            q = x @ W[p + "attn_q.weight"].T
            k = x @ W[p + "attn_k.weight"].T
            v = x @ W[p + "attn_v.weight"].T
            if use_bias and p + "attn_q.bias" in W:
                q, k, v = q + W[p + "attn_q.bias"], k + W[p + "attn_k.bias"], v + W[p + "attn_v.bias"]
        q, k, v = q.reshape(T, n_head, hd), k.reshape(T, n_kv, hd), v.reshape(T, n_kv, hd)
        if use_qk_norm and p + "attn_q_norm.weight" in W:
            q, k = rms(q, W[p + "attn_q_norm.weight"]), rms(k, W[p + "attn_k_norm.weight"])
        q, k = rope(q, pos), rope(k, pos)
        att = np.empty((T, n_head, hd))
        for hh in range(n_head):
            kv = hh // (n_head // n_kv)
            sc = q[:, hh] @ k[:, kv].T / np.sqrt(hd) + mask
            sc = np.exp(sc - sc.max(axis=-1, keepdims=True))
            sc /= sc.sum(axis=-1, keepdims=True)
            att[:, hh] = sc @ v[:, kv]
        h = h + att.reshape(T, -1) @ W[p + "attn_output.weight"].T
        x = rms(h, W[p + "ffn_norm.weight"])
        if p + "ffn_gate.weight" in W:
            gt, u = x @ W[p + "ffn_gate.weight"].T, x @ W[p + "ffn_up.weight"].T
        else:   # fused [gate; up] (llama.cpp LLM_FFN_SWIGLU on ffn_up alone)
            gu = x @ W[p + "ffn_up.weight"].T
            gt, u = np.split(gu, 2, axis=-1)
            if not gate_first:
                gt, u = u, gt
        h = h + ((gt / (1 + np.exp(-gt))) * u) @ W[p + "ffn_down.weight"].T
    out_w = W.get("output.weight", W["token_embd.weight"])
    return rms(h, W["output_norm.weight"]) @ out_w.T


def verify(s, model, prompts, path):
    checks = {}
    meta, W = read_gguf(path)
    refs = [hf_logits(model, ids).double().numpy() for ids in prompts]

    worst = max(float(np.max(np.abs(r - numpy_forward(meta, W, ids)))) for r, ids in zip(refs, prompts))
    checks["numpy_gguf_forward_max_abs_diff"] = worst
    if worst > TOL:
        raise SystemExit(f"{s['key']}: numpy forward from the GGUF disagrees with HF: {worst}")

    controls = {"wrong_rope_style": dict(rope_style="neox" if s["rope"] == "norm" else "norm")}
    if s["bias"]:
        controls["without_qkv_bias"] = dict(use_bias=False)
    if s["qk_norm"]:
        controls["without_qk_norm"] = dict(use_qk_norm=False)
    if s["rope_scaling"]:
        controls["without_rope_freqs"] = dict(use_rope_freqs=False)
    if s["fused"]:
        controls["up_then_gate"] = dict(gate_first=False)
    if s["window"]:
        controls["full_causal_no_window"] = dict(window=None)
        controls["window_plus_one"] = dict(window=s["window"] + 1)
        controls["window_minus_one"] = dict(window=s["window"] - 1)
    neg = {}
    ids, ref = prompts[-1], refs[-1]
    for cname, kw in controls.items():
        bad = float(np.max(np.abs(ref - numpy_forward(meta, W, ids, **kw))))
        neg[cname] = bad
        if bad < 1e-3:
            raise SystemExit(f"{s['key']}: negative control {cname} did not disagree ({bad})")
    checks["negative_controls_max_abs_diff_on_40_token_prompt"] = neg

    from transformers import AutoModelForCausalLM
    gdir, gname = os.path.dirname(path), os.path.basename(path)

    def diff(m2):
        return max(float((hf_logits(model, i) - hf_logits(m2, i)).abs().max()) for i in prompts)

    def reload(**kw):
        m2 = AutoModelForCausalLM.from_pretrained(gdir, gguf_file=gname, dtype=torch.float32,
                                                  attn_implementation="eager", **kw)
        return m2.eval()

    m2, d = None, None
    try:
        m2 = reload()
        d = diff(m2)
        checks["transformers_reload_gguf_config_class"] = type(m2).__name__
        checks["transformers_reload_gguf_config_max_abs_diff"] = d
    except Exception as e:  # noqa: BLE001 - recorded, judged below
        checks["transformers_reload_gguf_config_error"] = f"{type(e).__name__}: {str(e)[:200]}"
    if s["hf_reads_full_config"]:
        if d is None or d > TOL or type(m2).__name__ != s["hf"]:
            raise SystemExit(f"{s['key']}: transformers reload of the GGUF disagrees: {checks}")
    elif s["key"] == "mistral":
        # transformers reads this file as LlamaForCausalLM (full attention): it maps
        # llama -> mistral only when general.name equals "mistral", and with a
        # MistralConfig passed in it finds no gguf-py tensor map for "mistral". So take
        # the tensors it loaded (q/k un-permuted) into the original Mistral config.
        import transformers
        m3 = getattr(transformers, s["hf"])(model.config).to(torch.float32).eval()
        m3.load_state_dict(m2.state_dict(), strict=True)
        d2 = diff(m3)
        checks["transformers_reload_tensors_into_original_config_max_abs_diff"] = d2
        if d2 > TOL:
            raise SystemExit(f"{s['key']}: transformers reload (original config) disagrees: {d2}")
    else:
        m3 = reload(config=model.config)
        assert type(m3).__name__ == s["hf"], type(m3).__name__
        d2 = diff(m3)
        checks["transformers_reload_explicit_config_max_abs_diff"] = d2
        if d2 > TOL:
            raise SystemExit(f"{s['key']}: transformers reload (explicit config) disagrees: {d2}")
    return checks


# ------------------------------------------------------------------------- tokenizer

def tokenizer_cases(s, path):
    """ids from transformers' GGUF tokenizer for a few texts and rendered chat prompts."""
    from transformers import AutoTokenizer
    t = s["tok"]
    tok = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
    assert tok.chat_template == t["template"]
    cases = []
    for text in TOKENIZER_TEXTS:
        cases.append({"kind": "text", "text": text})
    for name, msgs in CHAT_MESSAGES.items():
        if s["key"] == "mistral" and name == "system":
            continue
        rendered = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=(s["key"] != "mistral"))
        cases.append({"kind": "chat", "messages": msgs,
                      "add_generation_prompt": s["key"] != "mistral", "text": rendered})
    spm = t["model"] == "llama"
    for c in cases:
        if spm and (c["kind"] == "chat" or c["text"].startswith(" ")):
            # transformers rebuilds a SentencePiece vocab with its own prefix-space rules
            # (per text segment between special tokens, and phi3's normalizer); llama.cpp
            # differs there, so only the rendered text is recorded, not ids.
            c["ids"] = None
            continue
        ids = tok.encode(c["text"], add_special_tokens=False)
        c["ids"] = [int(i) for i in ids]
        c["pieces"] = [t["tokens"][i] for i in ids]
        back = tok.decode(ids, skip_special_tokens=False)
        if back != c["text"]:
            raise SystemExit(f"{s['key']}: {c['text']!r} -> {ids} -> {back!r}")
        for i in ids:
            if c["kind"] == "text":
                assert t["types"][i] in (1, 6), (s["key"], c["text"], i)
    if not spm:
        chat_specials = [i for c in cases if c["kind"] == "chat" for i in c["ids"] if t["types"][i] == 3]
        assert chat_specials, f"{s['key']}: no control token in a rendered chat prompt"
    return {"reference": "transformers AutoTokenizer.from_pretrained(dir, gguf_file=...) "
                         "(tokenizers backend built from the GGUF vocab), encode(text, "
                         "add_special_tokens=False), checked to decode back to the text; chat "
                         "text from tokenizer.apply_chat_template(messages, tokenize=False). "
                         + ("SentencePiece vocab: ids only for texts without a leading space "
                            "and outside chat prompts (transformers' prefix-space handling "
                            "differs from llama.cpp's there)" if spm else
                            "Byte-level BPE: ids for every case"),
            "cases": cases}


# ------------------------------------------------------------------------------ LoRA

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def create_lora(s, model):
    """Save a seeded random adapter with PEFT, load it back from disk, check it."""
    import copy
    from peft import LoraConfig, PeftModel, get_peft_model
    from safetensors.torch import load_file, save_file

    name = f"tiny-{s['key']}-r4"
    folder = os.path.join(ADAPTER_ROOT, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    base = copy.deepcopy(model)
    cfg = LoraConfig(r=LORA_R, lora_alpha=LORA_ALPHA, target_modules=list(s["lora_targets"]),
                     lora_dropout=0.0, bias="none")
    pm = get_peft_model(base, cfg)
    gen = torch.Generator().manual_seed(s["seed"] + 1)
    with torch.no_grad():
        for pname, p in sorted(pm.named_parameters()):
            if ".lora_A." in pname:
                p.copy_(torch.randn(p.shape, generator=gen) * LORA_A_STD)
            elif ".lora_B." in pname:
                p.copy_(torch.randn(p.shape, generator=gen) * LORA_B_STD)
    pm.save_pretrained(folder)
    base = pm.unload()
    readme = os.path.join(folder, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    st_path = os.path.join(folder, "adapter_model.safetensors")
    tensors = {k: v.to(torch.float32).contiguous() for k, v in sorted(load_file(st_path).items())}
    save_file(tensors, st_path, metadata={"format": "pt"})
    os.chmod(st_path, 0o644)
    cfg_path = os.path.join(folder, "adapter_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        conf = json.load(f)
    conf["target_modules"] = sorted(conf["target_modules"])
    conf["base_model_name_or_path"] = f"tandem-tiny-{s['key']}"
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
        f.write("\n")

    # reference: the adapter loaded back from disk
    stored = load_file(st_path)
    pm = PeftModel.from_pretrained(base, folder)
    pm.eval()
    loaded = {k: v for k, v in pm.state_dict().items() if "lora_" in k}
    assert len(loaded) == len(stored) == 2 * len(s["lora_targets"]) * LAYERS, (len(loaded), len(stored))
    for k, v in stored.items():
        lk = k.replace(".lora_A.weight", ".lora_A.default.weight").replace(
            ".lora_B.weight", ".lora_B.default.weight")
        assert torch.equal(loaded[lk], v), lk
    scaling = LORA_ALPHA / LORA_R
    for mod in pm.modules():
        if hasattr(mod, "scaling") and isinstance(mod.scaling, dict) and "default" in mod.scaling:
            assert abs(mod.scaling["default"] - scaling) < 1e-12

    shapes = {k: list(v.shape) for k, v in sorted(stored.items()) if ".layers.0." in k}
    info = {
        "adapter_dir": os.path.relpath(folder, REPO),
        "reference": "peft.PeftModel.from_pretrained(base, adapter_dir) on the HF model above "
                     "(float32, eager), full-sequence forward per step, raw logits, no EOS stop",
        "peft_version": importlib.metadata.version("peft"),
        "r": LORA_R, "lora_alpha": LORA_ALPHA, "use_rslora": False, "scaling": scaling,
        "scaling_formula": "lora_alpha / r", "dtype": "F32",
        "target_modules": conf["target_modules"], "tensor_count": len(stored),
        "init": {"seed": s["seed"] + 1, "lora_A_std": LORA_A_STD, "lora_B_std": LORA_B_STD},
        "layer0_tensor_shapes": shapes,
        "safetensors_sha256": sha256(st_path),
    }
    return pm, info


# ------------------------------------------------------------------------------ main

def tensor_listing(path):
    r = gguf.GGUFReader(path)
    return [{"name": t.name, "type": t.tensor_type.name, "ne": [int(x) for x in t.shape]}
            for t in r.tensors]


def metadata_keys(path):
    r = gguf.GGUFReader(path)
    return [k for k in r.fields if not k.startswith("GGUF.")]


def run(spec_fn):
    import transformers
    s = spec_fn()
    gname = f"tiny_{s['key']}.gguf"
    path = os.path.join(HERE, gname)
    model = build_model(s)
    write_gguf(s, model, path)
    models = [model]
    lora = None
    if s["lora_targets"]:
        pm, lora = create_lora(s, model)
        models.append(pm)
    prompts, results, attempts = select_prompts(s, models)
    checks = verify(s, model, prompts, path)
    cases = []
    for ids, runs in zip(prompts, results):
        gids, t5 = runs[0]
        cases.append({"prompt_ids": ids, "greedy_ids": gids, "top5": t5,
                      "min_top1_margin": min(st[0][1] - st[1][1] for st in t5)})
        print(f"{s['key']}: prompt len {len(ids)} -> {gids}", flush=True)
    if lora is not None:
        lcases, changed = [], 0
        for ids, runs, bc in zip(prompts, results, cases):
            gids, t5 = runs[1]
            changed += gids != bc["greedy_ids"]
            lcases.append({"prompt_ids": ids, "greedy_ids": gids, "top5": t5,
                           "min_top1_margin": min(st[0][1] - st[1][1] for st in t5)})
        if changed < 2:
            raise SystemExit(f"{s['key']}: the adapter changed only {changed} greedy outputs")
        lora["greedy_changed_vs_base"] = changed
        lora["cases"] = lcases
        # the base must be untouched by the adapter round trip
        assert greedy(model, prompts[0]) == results[0][0]
    t = s["tok"]
    tok_info = {
        "model": t["model"], "pre": t["pre"], "n_tokens": len(t["tokens"]),
        "bos_token_id": t["bos"], "eos_token_id": t["eos"], "eot_token_id": t["eot"],
        "padding_token_id": t["pad"], "unknown_token_id": t["unk"], "add_bos_token": t["add_bos"],
        "add_eos_token": False,
        "special_ids": t["specials"],
        "control_ids": [i for i, ty in enumerate(t["types"]) if ty == 3],
        "user_defined_ids": t.get("user_defined", {}),
        "unused_ids": [i for i, ty in enumerate(t["types"]) if ty == 5],
        "chat_template": t["template"],
    }
    if t["model"] == "gpt2":
        tok_info["n_merges"] = len(t["merges"])
        tok_info["byte_tokens"] = "ids 0..255 are GPT-2 bytes_to_unicode characters in its order"
    else:
        tok_info["byte_tokens"] = "<0x00>..<0xFF> at ids %d..%d" % (
            t["tokens"].index("<0x00>"), t["tokens"].index("<0xFF>"))
    tok_info.update(tokenizer_cases(s, path))

    hcfg = model.config
    config = {
        "hf_architecture": s["hf"], "gguf_architecture": s["arch"],
        "vocab_size": len(t["tokens"]), "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
        "num_attention_heads": N_HEAD, "num_key_value_heads": N_KV, "head_dim": s["head_dim"],
        "intermediate_size": FFN, "rms_norm_eps": s["eps"], "rope_theta": s["theta"],
        "rope_type_llama_cpp": "NORM (interleaved pairs)" if s["rope"] == "norm" else "NEOX (halves)",
        "rope_scaling": s["rope_scaling"],
        "sliding_window": s["window"], "context_length": CTX,
        "tie_word_embeddings": s["tied"], "attention_qkv_bias": s["bias"], "qk_norm": s["qk_norm"],
        "fused_qkv_and_gate_up": s["fused"],
        "q_k_permuted_for_interleaved_rope": s["permute"],
        "hf_rope_parameters": hcfg.rope_parameters,
        "tensor_types": {"token_embd.weight": "F32", "blk.0.* (2-D)": "F32", "blk.1.* (2-D)": "F16",
                         "output.weight": "F16" if not s["tied"] else "absent (tied to token_embd)",
                         "norms, biases, rope_freqs": "F32"},
        "seed": s["seed"],
    }
    if s["rope_scaling"]:
        config["rope_freqs"] = [float(x) for x in llama3_rope_factors(s)]
    if s["window"]:
        config["sliding_window_semantics"] = ("position i attends to j iff i - window < j <= i "
                                              "(window tokens including itself)")
        config["sliding_window_gguf_key"] = "llama.attention.sliding_window (not written by "\
            "convert_hf_to_gguf.py, not read by llama.cpp's llama arch)"
    doc = {
        "generator": "Tests/ModelTests/Fixtures/make_tiny_bpe_models.py",
        "reference": f"transformers {s['hf']} (HF weight layout), float32, eager, "
                     "full-sequence forward per step, raw logits, no EOS stop",
        "gguf_file": gname,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "gguf_version": importlib.metadata.version("gguf"),
        "verification": checks,
        "config": config,
        "gguf_metadata_keys": metadata_keys(path),
        "gguf_tensors": tensor_listing(path),
        "tokenizer": tok_info,
        "steps": STEPS,
        "prompt_selection": {"min_top1_margin": MIN_MARGIN, "no_eos_or_eot_in_greedy": True,
                             "candidates_drawn_per_prompt": attempts},
        "cases": cases,
    }
    if lora is not None:
        doc["lora"] = lora
    out = os.path.join(HERE, f"tiny_{s['key']}_golden.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    size = os.path.getsize(path)
    assert size < 520_000, size
    print(f"wrote {gname} ({size} bytes), {os.path.basename(out)} ({os.path.getsize(out)} bytes); "
          f"checks {json.dumps(checks)}", flush=True)


def main():
    only = sys.argv[1:]
    for fn in SPECS:
        if not only or fn.__name__.removeprefix("spec_") in only:
            run(fn)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Train a LoRA adapter for Tandem's base model (Gemma 3 270M) on chat examples.

Input: a JSONL file, one example per line:
    {"messages": [{"role": "system" | "user" | "assistant", "content": "..."}, ...]}
Each example is rendered with the Gemma chat template Tandem uses:
    <bos><start_of_turn>user\\n{system}\\n\\n{user}<end_of_turn>\\n<start_of_turn>model\\n{assistant}<end_of_turn>\\n
(a system message folds into the next user turn; more user/assistant turns follow the same
pattern). The loss is computed only on assistant tokens: each assistant reply plus the
<end_of_turn> (id 106) that closes it, never on the prompt, the template or the padding.

Output: a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors, tensors saved as
F16 by default, or BF16 / F32 with --save-dtype), plus train_log.json (settings, per-epoch loss,
wall time). The folder loads with peft.PeftModel.from_pretrained and in `tandem serve`.

The base is loaded exactly like the golden fixtures: transformers dequantizes
models/gemma-3-270m-q4_k_m.gguf to float32 (eager attention); training runs in float32 on the
CPU with one thread by default (--threads). Logits are computed only at the positions that carry
a loss, which skips most of the 262k-vocabulary output projection.

Requirements: pip install -r tools/requirements.txt
Example (from the repo root):
    HF_HUB_OFFLINE=1 python3 tools/train_adapter.py --data adapters/ticket-triage/data/train.jsonl \\
        --out adapters/ticket-triage --epochs 3 --lr 1e-3 --max-length 96
"""

import argparse
import json
import math
import os
import random
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_MODEL = os.path.join(REPO, "models", "gemma-3-270m-q4_k_m.gguf")

SHORT_TARGETS = {
    "q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj",
    "gate": "gate_proj", "up": "up_proj", "down": "down_proj",
}
END_OF_TURN = 106
IGNORE = -100


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="training JSONL ({\"messages\": [...]} per line)")
    p.add_argument("--out", required=True, help="output folder (created; existing adapter files are replaced)")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16)
    p.add_argument("--targets", default="q,k,v,o,gate,up,down",
                   help="comma-separated: q,k,v,o,gate,up,down (or the HF names q_proj, ...)")
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-length", type=int, default=96,
                   help="examples longer than this many tokens are skipped (a warning is printed)")
    p.add_argument("--truncate", action="store_true",
                   help="truncate over-long examples to --max-length instead of skipping them")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--dropout", type=float, default=0.05, help="lora_dropout")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with linear warmup")
    p.add_argument("--rslora", action="store_true", help="use_rslora (scaling alpha/sqrt(r))")
    p.add_argument("--save-dtype", choices=["f16", "bf16", "f32"], default="f16")
    p.add_argument("--model", default=DEFAULT_MODEL, help="the base GGUF file")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    return p.parse_args(argv)


def hf_targets(spec):
    out = []
    for t in spec.split(","):
        t = t.strip()
        if not t:
            continue
        name = SHORT_TARGETS.get(t, t)
        if name not in SHORT_TARGETS.values():
            raise SystemExit(f"unknown target '{t}': use q,k,v,o,gate,up,down")
        if name not in out:
            out.append(name)
    return out


def render_turns(messages):
    """Split an example into (prompt_text, reply_text) pairs in order.

    Returns a list of segments [(text, trainable)], where the concatenation of all texts is the
    whole conversation (without BOS, which the tokenizer adds)."""
    segments = []
    system = None
    seen_user = False
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if not isinstance(content, str):
            raise ValueError("content must be a string")
        if role in ("system", "developer"):
            system = content if system is None else system + "\n\n" + content
        elif role == "user":
            text = content if system is None else f"{system}\n\n{content}"
            system = None
            segments.append((f"<start_of_turn>user\n{text}<end_of_turn>\n", False))
            seen_user = True
        elif role == "assistant":
            if not seen_user:
                raise ValueError("assistant turn before any user turn")
            segments.append(("<start_of_turn>model\n", False))
            segments.append((f"{content}<end_of_turn>", True))
            segments.append(("\n", False))
        else:
            raise ValueError(f"unknown role {role!r}")
    if not any(t for _, t in segments):
        raise ValueError("no assistant turn")
    # Trailing "\n" after the last reply carries no loss and is not needed.
    while segments and not segments[-1][1]:
        segments.pop()
    return segments


def encode_example(tok, messages, max_length):
    """Token ids (BOS first) and labels (IGNORE outside assistant replies)."""
    segments = render_turns(messages)
    ids = tok.encode("", add_special_tokens=True)
    assert ids == [2], ids
    labels = [IGNORE]
    text = ""
    for seg, trainable in segments:
        text += seg
        full = tok.encode(text, add_special_tokens=True)
        if full[:len(ids)] != ids:
            raise ValueError(f"tokenization of a segment boundary is not stable: {seg!r}")
        new = full[len(ids):]
        labels += new if trainable else [IGNORE] * len(new)
        ids = full
    assert ids[0] == 2 and (len(ids) < 2 or ids[1] != 2)
    truncated = len(ids) > max_length
    ids, labels = ids[:max_length], labels[:max_length]
    # labels[i] is the token at position i; the model predicts it from position i - 1.
    return ids, labels, truncated


def load_examples(path, tok, max_length, truncate):
    examples, truncated, skipped = [], 0, 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                ex = json.loads(line)
                ids, labels, cut = encode_example(tok, ex["messages"], max_length)
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"{path}:{n}: {e}")
            if cut and not truncate:
                skipped += 1
                continue
            truncated += cut
            if sum(1 for x in labels[1:] if x != IGNORE) == 0:
                print(f"warning: {path}:{n}: no assistant tokens left after truncation; skipped",
                      file=sys.stderr)
                continue
            examples.append((ids, labels))
    if truncated:
        print(f"warning: {truncated} example(s) truncated to --max-length {max_length}", file=sys.stderr)
    if skipped:
        print(f"warning: {skipped} example(s) longer than --max-length {max_length} skipped "
              f"(--truncate keeps them, cut)", file=sys.stderr)
    if not examples:
        raise SystemExit(f"{path}: no examples")
    return examples


def batches(examples, batch_size, rng):
    """Shuffled batches, grouped by length within windows of 8 batches to limit padding."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    window = batch_size * 8
    out = []
    for i in range(0, len(order), window):
        chunk = sorted(order[i:i + window], key=lambda j: len(examples[j][0]))
        out += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


def collate(examples, idx, pad_id):
    n = max(len(examples[j][0]) for j in idx)
    ids = torch.full((len(idx), n), pad_id, dtype=torch.long)
    labels = torch.full((len(idx), n), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(idx), n), dtype=torch.long)
    for row, j in enumerate(idx):
        x, y = examples[j]
        ids[row, :len(x)] = torch.tensor(x)
        labels[row, :len(y)] = torch.tensor(y)
        mask[row, :len(x)] = 1
    return ids, labels, mask


def batch_loss(pm, ids, labels, mask):
    """Mean cross-entropy over assistant tokens; logits only where a loss is taken."""
    inner = pm.get_base_model()  # Gemma3ForCausalLM with the LoRA layers injected
    hidden = inner.model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    target = labels[:, 1:]
    sel = target != IGNORE
    h = hidden[:, :-1][sel]
    logits = inner.lm_head(h).float()
    cap = inner.config.final_logit_softcapping
    if cap is not None:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, target[sel]), int(sel.sum())


def save_adapter(pm, out, save_dtype):
    """Writes adapter_config.json + adapter_model.safetensors into `out`, touching nothing else
    there (save_pretrained also writes a model-card README.md, so it saves to a scratch folder)."""
    import shutil
    import tempfile

    from safetensors.torch import load_file, save_file

    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".save-") as tmp:
        pm.save_pretrained(tmp)
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.move(os.path.join(tmp, name), os.path.join(out, name))
    st = os.path.join(out, "adapter_model.safetensors")
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[save_dtype]
    tensors = {}
    for k, v in sorted(load_file(st).items()):
        c = v.to(dtype).contiguous()
        if not torch.isfinite(c.float()).all():
            raise SystemExit(f"{k}: not finite in {save_dtype}; use --save-dtype f32 or bf16")
        tensors[k] = c
    save_file(tensors, st, metadata={"format": "pt"})
    os.chmod(st, 0o644)
    cfg_path = os.path.join(out, "adapter_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        conf = json.load(f)
    conf["target_modules"] = sorted(conf["target_modules"])
    conf["base_model_name_or_path"] = "gemma-3-270m"
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
        f.write("\n")
    return os.path.getsize(st)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    targets = hf_targets(args.targets)
    if float(args.alpha).is_integer():
        args.alpha = int(args.alpha)  # adapter_config.json gets "lora_alpha": 16, not 16.0
    model_dir, gguf_file = os.path.split(os.path.abspath(args.model))
    t0 = time.time()
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=gguf_file)
    base = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=gguf_file, dtype=torch.float32,
                                                attn_implementation="eager")
    load_s = time.time() - t0
    examples = load_examples(args.data, tok, args.max_length, args.truncate)
    n_tokens = sum(len(x) for x, _ in examples)
    n_loss = sum(sum(1 for t in y[1:] if t != IGNORE) for _, y in examples)
    print(f"loaded base in {load_s:.0f}s; {len(examples)} examples, {n_tokens} tokens "
          f"({n_tokens / len(examples):.0f} avg, max {max(len(x) for x, _ in examples)}), "
          f"{n_loss} assistant tokens", flush=True)

    cfg = LoraConfig(r=args.rank, lora_alpha=args.alpha, target_modules=targets,
                     lora_dropout=args.dropout, bias="none", use_rslora=args.rslora,
                     task_type="CAUSAL_LM")
    pm = get_peft_model(base, cfg)
    pm.train()
    params = [p for p in pm.parameters() if p.requires_grad]
    print(f"trainable parameters: {sum(p.numel() for p in params)}", flush=True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)

    rng = random.Random(args.seed)
    steps_per_epoch = math.ceil(len(examples) / args.batch_size)
    total_steps = max(1, round(steps_per_epoch * args.epochs))
    warmup = max(1, round(total_steps * args.warmup))

    def lr_at(step):  # linear warmup, cosine decay to 10%
        if step < warmup:
            return args.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, total_steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    log = {"epochs": []}
    step, t_train = 0, time.time()
    epoch = 0
    while step < total_steps:
        epoch += 1
        tot, cnt, t_ep = 0.0, 0, time.time()
        for idx in batches(examples, args.batch_size, rng):
            if step >= total_steps:
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            ids, labels, mask = collate(examples, idx, pad_id)
            loss, n = batch_loss(pm, ids, labels, mask)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            tot += loss.item() * n
            cnt += n
            step += 1
            if step % 5 == 0 or step == total_steps:
                print(f"  step {step}/{total_steps} loss {loss.item():.4f} "
                      f"({time.time() - t_train:.0f}s)", flush=True)
        ep = {"epoch": epoch, "mean_loss": tot / max(1, cnt), "seconds": round(time.time() - t_ep, 1)}
        log["epochs"].append(ep)
        print(f"epoch {epoch}: mean assistant-token loss {ep['mean_loss']:.4f} ({ep['seconds']}s)",
              flush=True)
    train_s = time.time() - t_train

    os.makedirs(args.out, exist_ok=True)
    pm.eval()
    size = save_adapter(pm, args.out, args.save_dtype)
    log.update({
        "data": args.data, "examples": len(examples), "tokens": n_tokens, "assistant_tokens": n_loss,
        "rank": args.rank, "alpha": args.alpha, "targets": targets, "rslora": args.rslora,
        "epochs_arg": args.epochs, "steps": total_steps, "batch_size": args.batch_size,
        "lr": args.lr, "max_length": args.max_length, "seed": args.seed, "dropout": args.dropout,
        "threads": args.threads, "save_dtype": args.save_dtype,
        "train_seconds": round(train_s, 1), "load_seconds": round(load_s, 1),
        "safetensors_bytes": size,
    })
    with open(os.path.join(args.out, "train_log.json"), "w", encoding="utf-8") as f:
        json.dump(log, f, indent=2)
        f.write("\n")
    print(f"trained {total_steps} steps in {train_s:.0f}s; wrote {args.out} "
          f"(adapter_model.safetensors {size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

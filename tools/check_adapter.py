#!/usr/bin/env python3
"""Held-out check for Tandem adapters: greedy generations with transformers + peft, scored.

Each SPEC is `ADAPTER[@ROLE]`:
  ADAPTER  `base` (the bare model) or a PEFT adapter folder (e.g. adapters/ticket-triage)
  ROLE     a role name from ADAPTER/roles.yaml (for `base`: --base-roles, default
           adapters/roles.yaml). The role's system_prompt is folded into the user turn (Gemma
           chat format), its max_tokens caps the generation and its stop strings cut the text.
           Decoding is always greedy here, whatever the role's temperature.
For every held-out example (a JSONL line {"messages": [...]}; the last assistant message is the
reference, the messages before it the prompt) the prompt is rendered as
    <bos><start_of_turn>user\\n{system}\\n\\n{user}<end_of_turn>\\n<start_of_turn>model\\n
and decoded greedily until <end_of_turn> (106) or <eos> (1).

Tasks (--task, default: guessed from --data):
  triage  the reference is {"category": ..., "priority": ...}. Reports `accuracy` (both fields
          equal, read from the first {...} object in the output), `category_accuracy`,
          `priority_accuracy`, and `json_only` (the whole output is exactly such a JSON object).
  pirate  reports `pirate_rate`: the share of outputs containing a pirate marker (arr, matey,
          ye, yer, ahoy, aye, avast, hearty, shiver me timbers, yo ho, savvy, booty, grog,
          landlubber, o' ...; see MARKERS), and mean output words.

Requirements: pip install -r tools/requirements.txt (plus pyyaml for roles)
Example (from the repo root):
    HF_HUB_OFFLINE=1 python3 tools/check_adapter.py --data adapters/ticket-triage/data/heldout.jsonl \\
        base base@triage-fewshot adapters/ticket-triage adapters/ticket-triage@strict
"""

import argparse
import json
import os
import re
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_MODEL = os.path.join(REPO, "models", "gemma-3-270m-q4_k_m.gguf")
STOP_IDS = [1, 106]

MARKERS = re.compile(
    r"\b(arr+|matey|mateys|ye|yer|ahoy|aye|avast|hearty|shiver me timbers|yo[- ]ho|savvy|booty|"
    r"landlubbers?|scallywags?|doubloons?|grog|plunder)\b|\bo'\s",
    re.IGNORECASE)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("specs", nargs="+", help="ADAPTER[@ROLE], ADAPTER = base or an adapter folder")
    p.add_argument("--data", required=True, help="held-out JSONL")
    p.add_argument("--task", choices=["triage", "pirate"], help="default: guessed from --data")
    p.add_argument("--max-new-tokens", type=int, default=48, help="when the role sets no max_tokens")
    p.add_argument("--base-roles", default=os.path.join(REPO, "adapters", "roles.yaml"))
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--json", help="write the full report (metrics and every output) here")
    p.add_argument("--show", type=int, default=3, help="print this many outputs per spec")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def load_roles(path):
    if not os.path.exists(path):
        return {}
    import yaml
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    return doc.get("roles", {}) or {}


def render_prompt(messages, system_prompt=None):
    """Gemma chat prompt (without BOS) for `messages`, a role's system prompt prepended."""
    system = system_prompt
    out = ""
    for m in messages:
        role, content = m["role"], m["content"]
        if role in ("system", "developer"):
            system = content if system is None else system + "\n\n" + content
        elif role == "user":
            text = content if system is None else f"{system}\n\n{content}"
            system = None
            out += f"<start_of_turn>user\n{text}<end_of_turn>\n"
        elif role == "assistant":
            out += f"<start_of_turn>model\n{content}<end_of_turn>\n"
    return out + "<start_of_turn>model\n"


def split_example(ex):
    msgs = ex["messages"]
    assert msgs[-1]["role"] == "assistant", "the last message must be the reference reply"
    return msgs[:-1], msgs[-1]["content"]


def first_json_object(text):
    start = text.find("{")
    while start != -1:
        depth = 0
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    try:
                        obj = json.loads(text[start:i + 1])
                        if isinstance(obj, dict):
                            return obj
                    except ValueError:
                        pass
                    break
        start = text.find("{", start + 1)
    return None


def score_triage(rows):
    n = len(rows)
    both = cat = pri = only = 0
    for r in rows:
        ref = json.loads(r["reference"].split("\n")[0])
        got = first_json_object(r["output"]) or {}
        c = got.get("category") == ref["category"]
        p = got.get("priority") == ref["priority"]
        cat += c
        pri += p
        both += c and p
        r["correct"] = bool(c and p)
        try:
            whole = json.loads(r["output"].strip())
            only += isinstance(whole, dict) and set(whole) == {"category", "priority"}
        except ValueError:
            pass
    return {"n": n, "accuracy": both / n, "category_accuracy": cat / n, "priority_accuracy": pri / n,
            "json_only": only / n}


def score_pirate(rows):
    n = len(rows)
    hits = 0
    words = 0
    for r in rows:
        r["pirate"] = bool(MARKERS.search(r["output"]))
        hits += r["pirate"]
        words += len(r["output"].split())
    return {"n": n, "pirate_rate": hits / n, "mean_words": words / n}


@torch.no_grad()
def generate(model, tok, prompt_text, max_new, stops):
    ids = tok.encode(prompt_text, add_special_tokens=True)
    assert ids[0] == 2 and ids[1] != 2
    x = torch.tensor([ids])
    out = model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=max_new,
                         do_sample=False, eos_token_id=STOP_IDS, pad_token_id=0)
    new = out[0, len(ids):].tolist()
    while new and new[-1] in STOP_IDS:
        new.pop()
    text = tok.decode(new, skip_special_tokens=False)
    for s in stops or []:
        k = text.find(s)
        if k != -1:
            text = text[:k]
    return text


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    task = args.task or ("triage" if "triage" in args.data else "pirate" if "pirate" in args.data else None)
    if task is None:
        raise SystemExit("--task is needed")
    with open(args.data, encoding="utf-8") as f:
        examples = [json.loads(l) for l in f if l.strip()]

    model_dir, gguf_file = os.path.split(os.path.abspath(args.model))
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=gguf_file)
    base = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=gguf_file, dtype=torch.float32,
                                                attn_implementation="eager")
    base.eval()

    report = {"data": args.data, "task": task, "results": []}
    for spec in args.specs:
        adapter, _, role_name = spec.partition("@")
        roles = load_roles(args.base_roles if adapter == "base" else os.path.join(adapter, "roles.yaml"))
        role = {}
        if role_name:
            if role_name not in roles:
                raise SystemExit(f"{spec}: no role '{role_name}' (have: {', '.join(roles) or 'none'})")
            role = roles[role_name] or {}
        model = base if adapter == "base" else PeftModel.from_pretrained(base, adapter)
        model.eval()
        max_new = int(role.get("max_tokens", args.max_new_tokens))
        t0 = time.time()
        rows = []
        for ex in examples:
            prompt_msgs, reference = split_example(ex)
            prompt = render_prompt(prompt_msgs, role.get("system_prompt"))
            out = generate(model, tok, prompt, max_new, role.get("stop"))
            rows.append({"prompt": prompt_msgs[-1]["content"], "reference": reference, "output": out})
        metrics = score_triage(rows) if task == "triage" else score_pirate(rows)
        metrics["seconds"] = round(time.time() - t0, 1)
        print(f"{spec}: {json.dumps(metrics)}", flush=True)
        for r in rows[:args.show]:
            print(f"    {r['prompt'][:70]!r} -> {r['output'][:100]!r}", flush=True)
        report["results"].append({"spec": spec, "role": role, "metrics": metrics, "outputs": rows})
        if adapter != "base":
            base = model.unload()

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()

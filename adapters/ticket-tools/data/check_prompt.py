#!/usr/bin/env python3
"""Checks that the training prompts are the ones Tandem feeds the model.

For a few messages it renders the prompt of make_data.py and tokenizes it
  (1) as tools/train_adapter.py does (the whole text at once, control tokens parsed), and
  (2) as Tandem's ChatTemplate.encode does (markup pieces with control tokens, each text piece alone),
checks (1) == (2) for every prompt of data/train.jsonl, and compares both with `usage.prompt_tokens`
of a running `tandem serve` for the same chat request with `tools=[open_ticket]`,
`tool_choice="auto"` (max_tokens 1). Models: the base `gemma-3-270m` (no role: tools turn + user),
and a model whose role has a system prompt (role prompt first, then the tools turn), `ticket-tools`
by default. (A message with a typed `<end_of_turn>` is the one expected difference: Tandem keeps it
text, the training tokenizer would parse it; no training message has one.)

Run from the repo root with a server up:
    python3 adapters/ticket-tools/data/check_prompt.py --base-url http://localhost:8790/v1
"""

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_data as md  # noqa: E402

MESSAGES = [
    "I was charged $49 three times this morning for the Pro plan. Please reverse this immediately!",
    "hi,\nmy order #48213 is a week late and the tracking hasn't updated.\nthanks.",
    "What is the capital of France?",
    "Ünïcödé test — “quotes” and a tab\there, plus <end_of_turn> typed by a user.",
]


def train_ids(tok, messages):
    """The prompt ids tools/train_adapter.py trains on (its segments up to the model turn)."""
    sys.path.insert(0, os.path.join(md.REPO, "tools"))
    import train_adapter
    segs = train_adapter.render_turns(messages + [{"role": "assistant", "content": "x"}])
    text = "".join(s for s, trainable in segs if not trainable and s != "\n")
    return tok.encode(text, add_special_tokens=True), text


def tandem_ids(tok, messages):
    """ChatTemplate.gemma.encode: system turns joined, folded into the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    user = [m["content"] for m in messages if m["role"] == "user"]
    assert len(user) == 1
    pieces = [("<bos>", True), ("<start_of_turn>user\n", True)]
    if system:
        pieces.append((system + "\n\n", False))
    pieces += [(user[0], False), ("<end_of_turn>\n", True), ("<start_of_turn>model\n", True)]
    ids = []
    for text, markup in pieces:
        if markup:
            ids += tok.encode(text, add_special_tokens=False)
        else:  # control tokens not parsed: split_special_tokens
            ids += tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    return ids


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", default="http://localhost:8790/v1")
    p.add_argument("--role-model", default="ticket-tools")
    p.add_argument("--role-prompt", default=md.SYSTEM, help="the system prompt of --role-model's role")
    args = p.parse_args()

    from openai import OpenAI
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(os.path.join(md.REPO, "models"), gguf_file="gemma-3-270m-q4_k_m.gguf")
    client = OpenAI(base_url=args.base_url, api_key="none")
    ok = True
    # Every training prompt: the text train_adapter.py tokenizes whole gives the ids Tandem's pieces give.
    with open(os.path.join(md.HERE, "train.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line)["messages"][:-1] for line in f]
    bad = sum(train_ids(tok, m)[0] != tandem_ids(tok, m) for m in rows)
    lengths = [len(tandem_ids(tok, m)) for m in rows]
    print(f"train.jsonl: {len(rows) - bad}/{len(rows)} prompts tokenize the same whole and in Tandem's pieces "
          f"({min(lengths)}-{max(lengths)} tokens)")
    ok &= bad == 0
    for model, role_prompt in (("gemma-3-270m", None), (args.role_model, args.role_prompt)):
        for user in MESSAGES:
            msgs = ([{"role": "system", "content": role_prompt}] if role_prompt else []) + [
                {"role": "system", "content": md.tools_turn([md.OPEN_TICKET])}, {"role": "user", "content": user}]
            a, _ = train_ids(tok, msgs)
            b = tandem_ids(tok, msgs)
            r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": user}],
                                               tools=[md.OPEN_TICKET], tool_choice="auto", max_tokens=1,
                                               temperature=0)
            served = r.usage.prompt_tokens
            same = len(a) == len(b) == served and a == b
            ok &= same or "<end_of_turn>" in user  # the training side parses a typed control token
            print(json.dumps({"model": model, "user": user[:40], "train_tokens": len(a), "tandem_pieces": len(b),
                              "ids_equal": a == b, "served_prompt_tokens": served}))
    print("MATCH" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

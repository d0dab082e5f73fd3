#!/usr/bin/env python3
"""Scores models on adapters/ticket-tools/eval.jsonl through a running `tandem serve` (openai client).

The suite's first line holds the request fields every case gets (`tools`, `tool_choice`); each case
then expects either a `tool_call` (right function name and the listed arguments equal; the title is
free text) or `no_tool_call` (an answer in words). Every case is one chat request at temperature 0.

Run from the repo root with a server up (adapters dir `adapters`):
    python3 adapters/ticket-tools/data/quick_eval.py --base-url http://localhost:8790/v1
Prints a Markdown table and writes every reply to data/quick_eval_report.json (--report).
"""

import argparse
import json
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(os.path.dirname(HERE), "eval.jsonl")

# (label, model id, tool_choice)
RUNS = [
    ("base `gemma-3-270m`, auto", "gemma-3-270m", "auto"),
    ("**`ticket-tools`** (default role `filer`), auto", "ticket-tools", "auto"),
    ("base `gemma-3-270m`, required", "gemma-3-270m", "required"),
    ("`ticket-tools`, required", "ticket-tools", "required"),
]


def load(path):
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return rows[0], rows[1:]


def score(case, message):
    calls = message.tool_calls or []
    if case.get("no_tool_call"):
        return {"ok": not calls, "called": bool(calls)}
    want = case["tool_call"]
    if not calls:
        return {"ok": False, "called": False, "name": False, "category": False, "priority": False}
    call = calls[0]
    try:
        args = json.loads(call.function.arguments)
    except json.JSONDecodeError:
        args = {}
    name = call.function.name == want["name"]
    fields = {k: args.get(k) == v for k, v in want["arguments"].items()}
    return {"ok": name and all(fields.values()) and len(calls) == 1, "called": True, "name": name, **fields}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", default="http://localhost:8790/v1")
    p.add_argument("--max-tokens", type=int, default=120)
    p.add_argument("--runs", default="0,1,2,3", help="indexes into RUNS")
    p.add_argument("--report", default=os.path.join(HERE, "quick_eval_report.json"))
    args = p.parse_args()

    from openai import OpenAI

    client = OpenAI(base_url=args.base_url, api_key="none")
    header, cases = load(SUITE)
    tickets = [c for c in cases if "tool_call" in c]
    others = [c for c in cases if c.get("no_tool_call")]
    report, table = {}, []
    for i in map(int, args.runs.split(",")):
        label, model, choice = RUNS[i]
        rows, t0 = [], time.time()
        for case in cases:
            r = client.chat.completions.create(model=model, messages=case["messages"], tools=header["tools"],
                                               tool_choice=choice, temperature=0, max_tokens=args.max_tokens)
            m = r.choices[0].message
            s = score(case, m)
            rows.append({"id": case["id"], **s, "finish_reason": r.choices[0].finish_reason,
                         "content": m.content,
                         "tool_calls": [{"name": c.function.name, "arguments": c.function.arguments}
                                        for c in (m.tool_calls or [])]})
        by = {row["id"]: row for row in rows}
        t = [by[c["id"]] for c in tickets]
        o = [by[c["id"]] for c in others]
        line = {
            "run": label, "model": model, "tool_choice": choice,
            "correct": sum(r["ok"] for r in rows), "cases": len(rows),
            "tickets_correct": sum(r["ok"] for r in t), "tickets": len(t),
            "tickets_called": sum(r["called"] for r in t),
            "category": sum(r.get("category", False) for r in t),
            "priority": sum(r.get("priority", False) for r in t),
            "no_call_correct": sum(r["ok"] for r in o), "no_call_cases": len(o),
            "seconds": round(time.time() - t0, 1),
        }
        report[f"{model}/{choice}"] = {"summary": line, "cases": rows}
        table.append(line)
        print(json.dumps(line), flush=True)
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print()
    print("| model, tool_choice | correct (all 40) | tickets: right call | called | category | priority "
          "| non-tickets: no call |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in table:
        print(f"| {r['run']} | {r['correct']} / {r['cases']} ({r['correct'] / r['cases']:.2f}) "
              f"| {r['tickets_correct']} / {r['tickets']} | {r['tickets_called']} | {r['category']} "
              f"| {r['priority']} | {r['no_call_correct']} / {r['no_call_cases']} |")


if __name__ == "__main__":
    main()

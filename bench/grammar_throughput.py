#!/usr/bin/env python3
"""Decode throughput with and without a json_schema constraint, at 1 and 16 streams, in one run.

Starts `tandem serve` on the default model (or uses --server), sends the same prompts free
(ignore_eos, max_tokens) and constrained by a schema whose documents run long (a list of ticket
objects), greedy and at temperature 1, and prints completion tokens per second of wall time per
setting plus the constrained/free ratio. Run: python3 bench/grammar_throughput.py
"""
import argparse
import concurrent.futures as futures
import json
import os
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["tickets"],
    "properties": {"tickets": {"type": "array", "minItems": 6, "maxItems": 6, "items": {
        "type": "object", "additionalProperties": False, "required": ["id", "category", "priority", "summary"],
        "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 9999},
                       "category": {"enum": ["billing", "technical", "account", "shipping", "other"]},
                       "priority": {"enum": ["low", "medium", "high"]},
                       "summary": {"type": "string", "maxLength": 60}}}}}}
PROMPTS = ["List six support tickets from this week as JSON.", "Give six example customer tickets in JSON.",
           "Write six invented help-desk tickets as JSON.", "Six tickets, JSON, for a training set."]


def post(url, body):
    req = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def run(url, model, streams, constrained, temperature, max_tokens, rounds):
    bodies = []
    for i in range(streams * rounds):
        body = {"model": model, "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                "max_tokens": max_tokens, "temperature": temperature, "seed": i}
        if constrained:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "tickets", "schema": SCHEMA}}
        else:
            body["ignore_eos"] = True
        bodies.append(body)
    start = time.time()
    with futures.ThreadPoolExecutor(streams) as pool:
        replies = list(pool.map(lambda b: post(url, b), bodies))
    elapsed = time.time() - start
    tokens = sum(r["usage"]["completion_tokens"] for r in replies)
    if constrained:
        for r in replies:
            if r["choices"][0]["finish_reason"] == "stop":
                json.loads(r["choices"][0]["message"]["content"])
    return tokens / elapsed, tokens / len(replies)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", help="base URL of a running server (default: start one)")
    p.add_argument("--tandem-bin", default=os.path.join(ROOT, ".build/release/tandem"))
    p.add_argument("--model-id", default="gemma-3-270m")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--rounds", type=int, default=2, help="requests per stream")
    a = p.parse_args()
    server = None
    url = a.server
    if not url:
        url = "http://127.0.0.1:8977"
        server = subprocess.Popen([a.tandem_bin, "serve", "--port", "8977"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except Exception:
                time.sleep(0.5)
    try:
        post(url, {"model": a.model_id, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8,
                   "response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}})
        print("| streams | temperature | free tok/s | constrained tok/s | ratio | tokens/request (constrained) |")
        print("|---:|---:|---:|---:|---:|---:|")
        for streams in (1, 16):
            for temperature in (0, 1):
                free, _ = run(url, a.model_id, streams, False, temperature, a.max_tokens, a.rounds)
                held, per = run(url, a.model_id, streams, True, temperature, a.max_tokens, a.rounds)
                print(f"| {streams} | {temperature} | {free:.1f} | {held:.1f} | {held / free:.2f} | {per:.0f} |")
                sys.stdout.flush()
    finally:
        if server:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()

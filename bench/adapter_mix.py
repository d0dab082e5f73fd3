#!/usr/bin/env python3
"""Adapter-mix throughput: N concurrent streams on the base model vs N streams spread round-robin over
K adapters, against a running Tandem server (OpenAI API). Every request generates exactly
--max-tokens tokens (`ignore_eos`). Prints aggregate output tok/s for both and the cost of the mix.

  python3 bench/adapter_mix.py --url http://127.0.0.1:8000 --adapters a,b,c,... [--streams 16]

Python standard library only. Not a test.
"""
import argparse
import json
import threading
import time
import urllib.request


def one(url, model, max_tokens, out, i):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": f"Tell me about the number {i}."}],
                       "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        out[i] = json.loads(r.read())["usage"]["completion_tokens"]


def run(url, models, streams, max_tokens):
    out = [0] * streams
    threads = [threading.Thread(target=one, args=(url, models[i % len(models)], max_tokens, out, i)) for i in range(streams)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(out) / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--base", default="gemma-3-270m")
    p.add_argument("--adapters", required=True, help="comma-separated adapter ids")
    p.add_argument("--streams", type=int, default=16)
    p.add_argument("--max-tokens", type=int, default=64)
    a = p.parse_args()
    adapters = a.adapters.split(",")
    run(a.url, adapters, len(adapters), 4)  # warm-up: loads every adapter
    base = run(a.url, [a.base], a.streams, a.max_tokens)
    mix = run(a.url, adapters, a.streams, a.max_tokens)
    print(f"| workload ({a.streams} streams × {a.max_tokens} tokens) | aggregate tok/s |")
    print("|---|---:|")
    print(f"| base only | {base:.1f} |")
    print(f"| round-robin over {len(adapters)} adapters | {mix:.1f} |")
    print(f"| adapter-mix cost | {100 * (1 - mix / base):.1f}% |")


if __name__ == "__main__":
    main()

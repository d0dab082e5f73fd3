#!/usr/bin/env python3
"""Engine benchmark: Tandem vs llama.cpp on the same GGUF, same machine, same run.

Runs `tandem bench` (prompt processing of 512 tokens; aggregate decode with 1/4/16/64 sequences of
64-token prompts, 128 steps). When --llama-cpp-bin (or $LLAMA_CPP_BIN) names a llama.cpp build
directory made outside this repository, runs `llama-bench` (pp512, tg128) and `llama-batched-bench`
(-npp 64 -ntg 128 -npl 1,4,16,64) with 2 threads on the same file and prints ratios.
A shared host's speed drifts by tens of percent within minutes: `--rounds N` runs both N times,
alternating which goes first, takes each ratio within a round and prints the medians with the range.
Python standard library only.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out.stdout


def tandem(binary, model, batches, prompt_tokens):
    cmd = [binary, "bench", "--model", model, "--batches", ",".join(map(str, batches)),
           "--prompt-tokens", str(prompt_tokens)]
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    table = out.stdout
    # The CPU and kernel path line (stderr) and the bandwidth line go out as they are.
    results = {"notes": [l for l in out.stderr.splitlines() if l.startswith("CPU:")]
               + [l for l in table.splitlines() if l.startswith("memory read bandwidth")]}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 4 or not cells[3].replace(".", "").isdigit():
            continue
        name, rate = cells[0], float(cells[3])
        if name.startswith("pp"):
            results["pp"] = rate
        else:
            results[int(re.search(r"× (\d+) seq", name).group(1))] = rate
    return results


def llama(bin_dir, model, batches, prompt_tokens):
    results = {}
    rows = json.loads(run([os.path.join(bin_dir, "llama-bench"), "-m", model, "-t", "2",
                           "-p", str(prompt_tokens), "-n", "0", "-o", "json"]))
    for row in rows:
        if row.get("n_prompt") == prompt_tokens and row.get("n_gen") == 0:
            results["pp"] = row["avg_ts"]
    table = run([os.path.join(bin_dir, "llama-batched-bench"), "-m", model, "-t", "2", "-c", "16384",
                 "-npp", "64", "-ntg", "128", "-npl", ",".join(map(str, batches))])
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0].isdigit():
            results[int(cells[2])] = float(cells[7])  # S_TG t/s
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tandem", default=os.path.join(ROOT, ".build/release/tandem"))
    parser.add_argument("--model", default=os.path.join(ROOT, "models/gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--llama-cpp-bin", default=os.environ.get("LLAMA_CPP_BIN"))
    parser.add_argument("--batches", default="1,4,16,64")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=1, help="runs of both, alternating which goes first")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    rounds = []
    for r in range(args.rounds):
        def measure_ours():
            return tandem(args.tandem, args.model, batches, args.prompt_tokens)
        def measure_theirs():
            return llama(args.llama_cpp_bin, args.model, batches, args.prompt_tokens) if args.llama_cpp_bin else {}
        if r % 2 == 0:
            ours = measure_ours()
            theirs = measure_theirs()
        else:
            theirs = measure_theirs()
            ours = measure_ours()
        rounds.append((ours, theirs))

    several = args.rounds > 1
    # The CPU line once; each round's bandwidth line (the host's bandwidth drifts too).
    for n, (ours, _) in enumerate(rounds):
        for note in ours.pop("notes"):
            if note.startswith("CPU:"):
                if n == 0:
                    print(note)
            else:
                print(f"round {n + 1}: {note}" if several else note)
    print()
    print(f"| work (2 threads, {os.path.basename(args.model)}) | Tandem tok/s | llama.cpp tok/s | ratio |"
          + (f" ({args.rounds} rounds: medians, ratio range)" if several else ""))
    print("|---|---:|---:|---:|")
    for key in ["pp"] + batches:
        label = f"prompt processing, {args.prompt_tokens} tokens" if key == "pp" else f"decode, {key} sequence{'s' if key > 1 else ''} (aggregate)"
        a = statistics.median(o[key] for o, _ in rounds)
        paired = [(o[key], t[key]) for o, t in rounds if t.get(key)]
        if not paired:
            print(f"| {label} | {a:.1f} | – | – |")
            continue
        b = statistics.median(t for _, t in paired)
        ratios = [x / y for x, y in paired]
        ratio = f"{statistics.median(ratios):.2f}×" + (f" ({min(ratios):.2f}–{max(ratios):.2f})" if several else "")
        print(f"| {label} | {a:.1f} | {b:.1f} | {ratio} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Load benchmark: many concurrent streaming chat requests against Tandem (and llama-server).

The script starts each server itself (free port, waits for /health, SIGTERM at the end, log in a
temporary folder), sends OpenAI /v1/chat/completions requests with `stream: true`, and measures
what a client sees. A fresh server is started for every workload × concurrency cell, so its peak
RSS belongs to that cell alone.

Workloads (--workloads a,b,c,d):
  a  base      every request on the base model, no adapter
  b  adapter   every request on one LoRA adapter (ticket-triage)
  c  mix       requests round-robin over 8 adapters: the bundled ticket-triage and pirate-style
               plus 6 random-weight PEFT adapters of the same shape (rank 8, all 7 projections)
  d  role      a ~300-token role system prompt plus a short user turn: TTFT of the first request
               on a fresh server (cold) against later requests with the same role prompt and other
               user turns (warm: the role prompt's KV can come from a prefix cache)

In a-c every request sends the same ~64-token prompt, prefixed by its request number so that no
server can serve it from a prompt cache (workload d measures caching), with `max_tokens`
(default 128), `temperature` 0 and `ignore_eos: true`, so every request generates exactly
max_tokens tokens. usage.completion_tokens is checked; a mismatch counts as an error, as do HTTP
errors and broken streams. Each concurrency level N (--concurrency 1,4,8,16,32) runs N client
threads that together send --requests-per-level requests ("2x" = 2 × N), after one short warm-up
request per model so lazy loading is not timed.

Reading the table:
  tok/s        aggregate output tokens per second: completion tokens of all successful requests /
               wall time from the first request sent to the last one finished (higher is better)
  TTFT         time to first token: request sent → first chunk with content (p50, p99)
  ITL          inter-token latency: gap between consecutive content chunks of one stream, pooled
               over all streams of the level (p50, p99); a chunk usually carries one token
  errors       failed requests + wrong completion token counts
  peak RSS     VmHWM of the server process at the end of the cell
With LLAMA_SERVER set, the ratio table divides Tandem by llama.cpp: tok/s above 1 means Tandem is
faster, TTFT / ITL / RSS below 1 mean Tandem is lower (better); beside them Tandem's own ITL p99 / p50.
A shared host's speed drifts by tens of percent within minutes: `--rounds N` measures every cell N
times, the two servers back to back and alternating which goes first, takes each ratio within a round,
and prints the median over the rounds with their range.

llama-server gets the same GGUF, `-np N` slots (N = concurrency), `-c` = N × (prompt budget +
max_tokens), `-t 2`, and for workloads b/c the same adapters converted with
tools/peft_to_gguf_lora.py, chosen per request with `"lora": [{"id": k, "scale": 1.0}]`. It
never batches requests with different LoRA sets together. The default GGUF carries no chat
template, so llama-server is given its built-in `gemma` template (--no-jinja --chat-template
gemma), the format Tandem uses; both then see the same prompt tokens. For workload d it gets the
role prompt as a system message (Gemma folds it into the user turn on both servers) and its
default `cache_prompt`. Gemma 3 uses sliding-window attention, and by default llama-server then
re-processes the whole prompt (cached tokens 0); `--llama-args=--swa-full` lets it reuse the prefix.
Tandem gets the same context capacity, `--kv-cache-tokens` = llama-server's `-c`, so its prefix cache
cannot keep more than that resident.

  python3 bench/load_bench.py                                # Tandem only
  LLAMA_SERVER=/path/to/llama-server python3 bench/load_bench.py --json-out results.json
  python3 bench/load_bench.py --concurrency 1,2 --requests-per-level 2 --max-tokens 8   # smoke run
  python3 bench/load_bench.py --temperature 1 --no-ignore-eos    # what OpenAI clients send by default
  python3 bench/load_bench.py --busy-core                        # another process keeps one core busy

The first lines printed name the CPU, its class (AVX2, AVX2 + AVX-VNNI, AVX-512 or AVX-512 VNNI) and the kernel path
Tandem chose (from its /health).

Needs numpy (random adapters) and, with LLAMA_SERVER, the gguf package (the converter). Not a test.
"""
import argparse
import contextlib
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_ADAPTERS = ["ticket-triage", "pirate-style"]
ADAPTER_COUNT = 8
RANDOM_LORA_STD = 0.02
ROLE_NAME = "bench-role"
ROLE_MAX_TOKENS = 16
PROMPT_BUDGET = {"a": 128, "b": 128, "c": 128, "d": 512}  # tokens per llama-server slot, plus max_tokens

# ~55 tokens of text; with the Gemma chat template and the request number about 64 prompt tokens.
PROMPT = ("Write a short, friendly paragraph for a company newsletter that explains why regular "
          "backups matter, how often a small team should test restoring them, and one common "
          "mistake to avoid. Keep the tone practical and avoid jargon so that every reader can "
          "follow each sentence.")

# ~300 tokens: the system prompt of workload d's role.
ROLE_PROMPT = (
    "You are the customer support assistant of Northwind Outfitters, an online shop that sells "
    "hiking boots, tents, backpacks, sleeping bags and other outdoor gear in Europe. Answer every "
    "customer message politely, clearly and briefly, in the language the customer used. Follow "
    "these rules. First, never promise a refund, a replacement or a delivery date yourself; say "
    "that a human colleague will confirm it within one business day. Second, orders can be "
    "returned within thirty days of delivery if the item is unused and in its original "
    "packaging; worn boots can only be returned when they have a manufacturing defect. Third, "
    "standard shipping takes three to five business days inside the European Union and seven to "
    "ten days to Switzerland, Norway and the United Kingdom; express shipping halves these times. "
    "Fourth, never ask for a full card number, a password or a security code, and tell the "
    "customer to ignore any message that asks for them. Fifth, when a question is about the fit "
    "of boots, recommend trying them on in the afternoon with the socks the customer plans to "
    "wear, and mention the free size exchange. Sixth, if the customer is angry, acknowledge the "
    "problem in one sentence before giving facts. Seventh, if you do not know an answer, say so "
    "and offer to forward the question to the product team. Always end with a short offer of "
    "further help, and sign every answer as Northwind Support. Use plain sentences without lists, "
    "tables or markdown, because the answers are shown in a simple chat window on the website.")
ROLE_USER_TURNS = [
    "Hi, can I still return a tent I bought three weeks ago?",
    "How long does express shipping to Norway take?",
    "My new boots feel tight at the toes. What should I do?",
    "Someone emailed me asking for my card's security code. Is that you?",
    "Do you sell sleeping bags for winter camping?",
    "Where is my order? I paid for it last Monday.",
    "Can I exchange a backpack for a bigger size?",
    "Is the rain jacket I ordered waterproof or only water resistant?",
]


# ---------------------------------------------------------------- adapters

def read_safetensors_header(path):
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(size))


def write_safetensors(path, tensors):
    """Writes {name: numpy array} (float16 or float32) in the safetensors layout."""
    dtypes = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, array in tensors.items():
        header[name] = {"dtype": dtypes[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(len(blob).to_bytes(8, "little"))
        f.write(blob)
        for array in tensors.values():
            f.write(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())


def copy_adapter(src, dst):
    """Only the PEFT files: no roles.yaml, so `model: NAME` is the adapter alone on both servers."""
    os.makedirs(dst)
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))


def make_random_adapter(template, dst, seed):
    """A PEFT adapter with the template's config and tensor names/shapes, random normal weights."""
    os.makedirs(dst)
    shutil.copyfile(os.path.join(template, "adapter_config.json"), os.path.join(dst, "adapter_config.json"))
    header = read_safetensors_header(os.path.join(template, "adapter_model.safetensors"))
    rng = np.random.default_rng(seed)
    dtypes = {"F16": np.float16, "F32": np.float32, "BF16": np.float32}
    tensors = {name: (rng.standard_normal(info["shape"]) * RANDOM_LORA_STD).astype(dtypes[info["dtype"]])
               for name, info in sorted(header.items()) if name != "__metadata__"}
    write_safetensors(os.path.join(dst, "adapter_model.safetensors"), tensors)


def write_roles(path):
    # A JSON string is a valid YAML scalar: no quoting surprises in the long prompt.
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"roles:\n  {ROLE_NAME}:\n    system_prompt: {json.dumps(ROLE_PROMPT)}\n")


def build_adapters(folder):
    """adapters folder for Tandem: 8 PEFT adapters + roles.yaml; returns the adapter names."""
    os.makedirs(folder)
    names = []
    for name in BUNDLED_ADAPTERS:
        copy_adapter(os.path.join(ROOT, "adapters", name), os.path.join(folder, name))
        names.append(name)
    template = os.path.join(ROOT, "adapters", BUNDLED_ADAPTERS[0])
    for k in range(ADAPTER_COUNT - len(names)):
        name = f"random-{k + 1}"
        make_random_adapter(template, os.path.join(folder, name), seed=k + 1)
        names.append(name)
    write_roles(os.path.join(folder, "roles.yaml"))
    return names


def convert_adapters(adapters_dir, names, out_dir):
    """GGUF LoRA files for llama-server, in the order of `names` (= llama-server adapter ids)."""
    os.makedirs(out_dir)
    converter = os.path.join(ROOT, "tools", "peft_to_gguf_lora.py")
    paths = []
    for name in names:
        path = os.path.join(out_dir, name + ".gguf")
        subprocess.run([sys.executable, converter, os.path.join(adapters_dir, name), path, "--arch", "gemma3"],
                       check=True, stdout=subprocess.DEVNULL)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Server:
    """A server process started by this script; logs go to `log_path`."""

    def __init__(self, cmd, port, log_path):
        self.port, self.log_path = port, log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_path}\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if http_get(self.port, "/health")[0] == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"server not ready after {timeout} s; log: {self.log_path}")

    def peak_rss_mb(self):
        fields = {}
        with contextlib.suppress(OSError), open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value
        value = fields.get("VmHWM") or fields.get("VmRSS")
        return int(value.split()[0]) / 1024 if value else None

    def log_tail(self, lines=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def adapter_index(workload, i):
    """Workload b: always the first adapter; c: round-robin over all of them."""
    return 0 if workload == "b" else i % ADAPTER_COUNT


def distinct_models(workload):
    return ADAPTER_COUNT if workload == "c" else 1


class Tandem:
    name = "Tandem"

    def __init__(self, binary, model, adapters_dir, adapters, extra_args=()):
        self.binary, self.model, self.adapters_dir, self.adapters = binary, model, adapters_dir, adapters
        self.extra_args = list(extra_args)
        self.base_id = None

    def command(self, port, workload, concurrency, max_tokens):
        # The same context capacity as llama-server's -c, so the prefix cache cannot grow past it.
        ctx = concurrency * (PROMPT_BUDGET[workload] + max_tokens)
        return [self.binary, "serve", "--model", self.model, "--adapters", self.adapters_dir,
                "--port", str(port), "--max-running", str(concurrency), "--kv-cache-tokens", str(ctx)] + self.extra_args

    def on_ready(self, server, workload):
        """The base id is the /v1/models entry without a parent (e.g. gemma-3-270m)."""
        models = json.loads(http_get(server.port, "/v1/models")[1])["data"]
        self.base_id = next(m["id"] for m in models if not m.get("parent"))
        if KERNEL_PATH[0] is None:
            health = json.loads(http_get(server.port, "/health")[1])
            KERNEL_PATH[0] = health.get("kernel_path", "?")
            print(f"# Tandem kernel path: {KERNEL_PATH[0]}", file=sys.stderr, flush=True)

    def target(self, workload, i):
        """The request fields that choose the model of request i."""
        if workload == "a":
            return {"model": self.base_id}
        return {"model": self.adapters[adapter_index(workload, i)]}

    def role_request(self, user_text):
        return {"model": f"{self.base_id}:{ROLE_NAME}", "messages": [{"role": "user", "content": user_text}]}


class LlamaServer:
    name = "llama.cpp"

    def __init__(self, binary, model, lora_files, chat_template, extra_args):
        self.binary, self.model, self.lora_files, self.chat_template = binary, model, lora_files, chat_template
        self.extra_args = extra_args

    def command(self, port, workload, concurrency, max_tokens):
        ctx = concurrency * (PROMPT_BUDGET[workload] + max_tokens)
        cmd = [self.binary, "-m", self.model, "--host", "127.0.0.1", "--port", str(port),
               "-np", str(concurrency), "-c", str(ctx), "-t", "2", "-tb", "2",
               "--no-jinja", "--chat-template", self.chat_template]
        if workload in ("b", "c"):
            cmd += ["--lora", ",".join(self.lora_files)]
        return cmd + self.extra_args

    def on_ready(self, server, workload):
        if workload in ("b", "c"):
            loaded = json.loads(http_get(server.port, "/lora-adapters")[1])
            if len(loaded) != len(self.lora_files):
                raise RuntimeError(f"llama-server loaded {len(loaded)} LoRA files, expected {len(self.lora_files)}")

    def target(self, workload, i):
        # A LoRA not listed in a request's "lora" gets scale 0 for that request.
        if workload == "a":
            return {"model": "base"}
        k = adapter_index(workload, i)
        return {"model": f"lora-{k}", "lora": [{"id": k, "scale": 1.0}]}

    def role_request(self, user_text):
        return {"model": "base", "messages": [{"role": "system", "content": ROLE_PROMPT},
                                              {"role": "user", "content": user_text}]}


@contextlib.contextmanager
def running(backend, workload, concurrency, max_tokens, log_dir):
    port = free_port()
    log_path = os.path.join(log_dir, f"{backend.name}-{workload}-c{concurrency}.log")
    server = Server(backend.command(port, workload, concurrency, max_tokens), port, log_path)
    busy = None
    try:
        server.wait_ready()
        backend.on_ready(server, workload)
        if BUSY_CORE[0]:
            # Another process spinning on the last CPU for the whole cell, as a noisy neighbour would.
            busy = subprocess.Popen([sys.executable, "-c", "import os; os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})\n"
                                     "while True: pass"])
        yield server
    finally:
        if busy:
            busy.kill()
            busy.wait()
        server.stop()


# Set from the command line: whether a busy process shares the cores; the kernel path Tandem chose.
BUSY_CORE = [False]
KERNEL_PATH = [None]


def cpu_description():
    """The CPU model and its class, from /proc/cpuinfo."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return "unknown CPU"
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "unknown")
    flags = set(next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), []))
    kind = "AVX-512 VNNI" if {"avx512f", "avx512_vnni"} <= flags else "AVX-512" if "avx512f" in flags \
        else "AVX2 + AVX-VNNI" if {"avx2", "avx_vnni"} <= flags else "AVX2" if "avx2" in flags else "pre-AVX2"
    return f"{model}, {os.cpu_count()} CPUs, class {kind} (flags: " \
        + " ".join(f for f in ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni"] if f in flags) + ")"


# ---------------------------------------------------------------- client

# What every request asks for: greedy with ignore_eos by default; --temperature 1 --no-ignore-eos is
# what OpenAI clients send by default (the completion tokens counted are then the usage's).
SAMPLING = {"temperature": 0.0, "ignore_eos": True}

def stream_chat(port, body, timeout=900):
    """One streaming request. Returns a dict: ttft, gaps (s), completion/prompt/cached tokens, error."""
    body = dict(body, stream=True, stream_options={"include_usage": True}, ignore_eos=SAMPLING["ignore_eos"],
                temperature=SAMPLING["temperature"])
    out = {"ttft": None, "gaps": [], "completion_tokens": None, "prompt_tokens": None, "cached_tokens": None,
           "error": None}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    start = time.perf_counter()
    last = None
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            out["error"] = f"HTTP {resp.status}: {resp.read()[:200].decode(errors='replace')}"
            return out
        for raw in resp:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            chunk = json.loads(data)
            if "error" in chunk:
                out["error"] = f"stream error: {chunk['error']}"
                return out
            if chunk.get("usage"):
                usage = chunk["usage"]
                out["completion_tokens"] = usage.get("completion_tokens")
                out["prompt_tokens"] = usage.get("prompt_tokens")
                out["cached_tokens"] = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    now = time.perf_counter()
                    if last is None:
                        out["ttft"] = now - start
                    else:
                        out["gaps"].append(now - last)
                    last = now
    except (OSError, http.client.HTTPException, ValueError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    finally:
        conn.close()
    return out


def check_tokens(result, expected):
    """With ignore_eos every request generates exactly `expected` tokens; otherwise at most that."""
    tokens = result["completion_tokens"]
    if result["error"] is None and not SAMPLING["ignore_eos"] and tokens is not None and 0 < tokens <= expected:
        return result
    if result["error"] is None and tokens != expected:
        result["error"] = f"completion_tokens {result['completion_tokens']} != {expected}"
    return result


def prompt_messages(i):
    return [{"role": "user", "content": f"Request {i:04d}. {PROMPT}"}]


def run_level(port, bodies, concurrency, max_tokens):
    """Sends `bodies` from `concurrency` threads; returns (results in request order, wall seconds)."""
    results = [None] * len(bodies)
    lock = threading.Lock()
    pending = iter(range(len(bodies)))

    def worker():
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                return
            results[i] = check_tokens(stream_chat(port, bodies[i]), max_tokens)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - start


def warm_up(port, backend, workload):
    """One short request per distinct model, so that lazy adapter loading is not timed."""
    for i in range(distinct_models(workload)):
        stream_chat(port, dict(backend.target(workload, i), messages=prompt_messages(9999), max_tokens=2))


# ---------------------------------------------------------------- measurements

def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(seconds):
    return None if seconds is None else seconds * 1000


def summarize(results, wall):
    ok = [r for r in results if r["error"] is None]
    ttfts = [r["ttft"] for r in ok if r["ttft"] is not None]
    gaps = [g for r in ok for g in r["gaps"]]
    return {
        "requests": len(results),
        "wall_s": wall,
        "tok_s": sum(r["completion_tokens"] for r in ok) / wall if wall > 0 else None,
        "ttft_p50_ms": ms(percentile(ttfts, 50)), "ttft_p99_ms": ms(percentile(ttfts, 99)),
        "itl_p50_ms": ms(percentile(gaps, 50)), "itl_p99_ms": ms(percentile(gaps, 99)),
        "errors": len(results) - len(ok),
        "error_samples": sorted({r["error"] for r in results if r["error"]})[:3],
        "prompt_tokens": ok[0]["prompt_tokens"] if ok else None,
    }


def measure_load(backend, workload, concurrency, n_requests, max_tokens, log_dir):
    with running(backend, workload, concurrency, max_tokens, log_dir) as server:
        warm_up(server.port, backend, workload)
        bodies = [dict(backend.target(workload, i), messages=prompt_messages(i), max_tokens=max_tokens)
                  for i in range(n_requests)]
        results, wall = run_level(server.port, bodies, concurrency, max_tokens)
        row = summarize(results, wall)
        row["peak_rss_mb"] = server.peak_rss_mb()
    row.update(server=backend.name, workload=workload, concurrency=concurrency, raw=results)
    return row


def measure_role(backend, warm_requests, max_tokens, log_dir):
    """Workload d: first request on a fresh server (cold), then the same role prompt again (warm)."""
    with running(backend, "d", 1, max_tokens, log_dir) as server:
        results = []
        for k in range(warm_requests + 1):
            body = dict(backend.role_request(ROLE_USER_TURNS[k % len(ROLE_USER_TURNS)]), max_tokens=max_tokens)
            results.append(check_tokens(stream_chat(server.port, body), max_tokens))
        rss = server.peak_rss_mb()
    cold, warm = results[0], [r for r in results[1:] if r["error"] is None]
    warm_ttft = percentile([r["ttft"] for r in warm if r["ttft"] is not None], 50)
    return {"server": backend.name, "workload": "d", "cold_ttft_ms": ms(cold["ttft"]) if cold["error"] is None else None,
            "warm_ttft_p50_ms": ms(warm_ttft), "warm_requests": warm_requests,
            "prompt_tokens": cold["prompt_tokens"], "warm_cached_tokens": warm[0]["cached_tokens"] if warm else None,
            "errors": sum(r["error"] is not None for r in results),
            "error_samples": sorted({r["error"] for r in results if r["error"]})[:3],
            "peak_rss_mb": rss, "raw": results}


# ---------------------------------------------------------------- tables

WORKLOAD_NAMES = {"a": "a base", "b": "b 1 adapter", "c": f"c {ADAPTER_COUNT} adapters", "d": "d role prompt"}


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "–"


def print_load_table(rows, max_tokens):
    print(f"\n| server | workload | conc | requests | tok/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms "
          f"| errors | peak RSS MB |   ({max_tokens} tokens per request)")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        server = r["server"] + (f" #{r['round'] + 1}" if any(q.get("round") for q in rows) else "")
        print(f"| {server} | {WORKLOAD_NAMES[r['workload']]} | {r['concurrency']} | {r['requests']} "
              f"| {fmt(r['tok_s'])} | {fmt(r['ttft_p50_ms'])} | {fmt(r['ttft_p99_ms'])} | {fmt(r['itl_p50_ms'])} "
              f"| {fmt(r['itl_p99_ms'])} | {r['errors']} | {fmt(r['peak_rss_mb'], 0)} |")


def quotient(a, b):
    return a / b if a is not None and b else None


def spread(values, digits=2, unit="×"):
    """The median of `values`, and their range when there are several (one per round)."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    text = f"{statistics.median(values):.{digits}f}{unit}"
    return text + (f" ({min(values):.{digits}f}–{max(values):.{digits}f})" if len(values) > 1 else "")


def print_ratio_table(rows):
    """Tandem / llama.cpp per cell: each round's two servers ran back to back, so a ratio is taken
    within a round and the table gives the median over rounds (with their range)."""
    cells = {}
    for r in rows:
        cells.setdefault((r["workload"], r["concurrency"]), {}).setdefault(r.get("round", 0), {})[r["server"]] = r
    print("\n| Tandem / llama.cpp | conc | rounds | tok/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 / p50 (Tandem) "
          "| peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (workload, conc), rounds in cells.items():
        pairs = [(p[Tandem.name], p[LlamaServer.name]) for p in rounds.values()
                 if Tandem.name in p and LlamaServer.name in p]
        if not pairs:
            continue
        def of(key):
            return spread([quotient(t[key], l[key]) for t, l in pairs])
        tails = spread([quotient(t["itl_p99_ms"], t["itl_p50_ms"]) for t, _ in pairs], unit="")
        print(f"| {WORKLOAD_NAMES[workload]} | {conc} | {len(pairs)} | {of('tok_s')} | {of('ttft_p50_ms')} "
              f"| {of('ttft_p99_ms')} | {of('itl_p50_ms')} | {tails} | {of('peak_rss_mb')} |")


def print_role_table(rows):
    print("\n| server | prompt tokens (role + turn) | cold TTFT ms | warm TTFT p50 ms | cold / warm "
          "| cached tokens (warm) | errors | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['server']} | {r['prompt_tokens'] or '–'} | {fmt(r['cold_ttft_ms'])} | {fmt(r['warm_ttft_p50_ms'])} "
              f"| {ratio(r['cold_ttft_ms'], r['warm_ttft_p50_ms'])} | {fmt(r['warm_cached_tokens'], 0)} "
              f"| {r['errors']} | {fmt(r['peak_rss_mb'], 0)} |")


# ---------------------------------------------------------------- main

def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tandem-bin", default=os.path.join(ROOT, ".build/release/tandem"))
    p.add_argument("--model", default=os.path.join(ROOT, "models/gemma-3-270m-q4_k_m.gguf"))
    p.add_argument("--workloads", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    p.add_argument("--concurrency", default="1,4,8,16,32", help="comma-separated concurrency levels")
    p.add_argument("--requests-per-level", default="2x",
                   help="requests per concurrency level: 'Kx' = K × concurrency, or a plain number")
    p.add_argument("--max-tokens", type=int, default=128, help="tokens generated per request (a-c)")
    p.add_argument("--role-warm-requests", type=int, default=4, help="warm requests after the cold one (d)")
    p.add_argument("--llama-server", default=os.environ.get("LLAMA_SERVER"),
                   help="llama-server binary to compare with (default: $LLAMA_SERVER)")
    p.add_argument("--llama-chat-template", default="gemma", help="built-in llama.cpp chat template")
    p.add_argument("--tandem-args", default="", help="extra tandem serve arguments, written --tandem-args='--prefill-tokens-while-decoding 32'")
    p.add_argument("--llama-args", default="", help="extra llama-server arguments, written --llama-args='--swa-full ...'")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature of every request (0: greedy)")
    p.add_argument("--no-ignore-eos", action="store_true", help="let requests end at an end token (count usage tokens)")
    p.add_argument("--json-out", help="write every row, with per-request raw results, to this file")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary adapters and logs")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure every cell this many times, the servers alternating which goes first; ratios are "
                        "taken within a round and the ratio table shows their median and range (a noisy host)")
    p.add_argument("--busy-core", action="store_true",
                   help="run a busy-looping process pinned to the last CPU during every cell (a noisy neighbour)")
    args = p.parse_args()
    BUSY_CORE[0] = args.busy_core
    SAMPLING.update(temperature=args.temperature, ignore_eos=not args.no_ignore_eos)
    args.workloads = [w for w in args.workloads.split(",") if w]
    if not set(args.workloads) <= set("abcd"):
        p.error("--workloads takes a, b, c, d")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def requests_for(spec, concurrency):
    return int(spec[:-1]) * concurrency if spec.endswith("x") else int(spec)


def main():
    args = parse_args()
    tmp = tempfile.mkdtemp(prefix="tandem-load-bench-")
    log_dir = os.path.join(tmp, "logs")
    os.makedirs(log_dir)
    adapters_dir = os.path.join(tmp, "adapters")
    names = build_adapters(adapters_dir)
    backends = [Tandem(os.path.abspath(args.tandem_bin), os.path.abspath(args.model), adapters_dir, names, shlex.split(args.tandem_args))]
    if args.llama_server:
        lora_files = convert_adapters(adapters_dir, names, os.path.join(tmp, "gguf-lora")) \
            if {"b", "c"} & set(args.workloads) else []
        backends.append(LlamaServer(args.llama_server, os.path.abspath(args.model), lora_files,
                                    args.llama_chat_template, shlex.split(args.llama_args)))
    print(f"# temporary folder (adapters, logs): {tmp}", file=sys.stderr)
    print(f"CPU: {cpu_description()}" + ("; one CPU kept busy by another process" if args.busy_core else ""))
    print(f"sampling: temperature {args.temperature}, " + ("ignore_eos" if not args.no_ignore_eos else "ends at end tokens"))

    load_rows, role_rows = [], []
    try:
        for workload in [w for w in args.workloads if w != "d"]:
            for conc in args.concurrency:
                for round_ in range(args.rounds):
                    # Alternate which server goes first, so a host that drifts within a round favours neither.
                    for backend in backends if round_ % 2 == 0 else backends[::-1]:
                        n = requests_for(args.requests_per_level, conc)
                        print(f"# {backend.name}: workload {workload}, concurrency {conc}, {n} requests"
                              + (f", round {round_ + 1} of {args.rounds}" if args.rounds > 1 else ""),
                              file=sys.stderr, flush=True)
                        row = measure_load(backend, workload, conc, n, args.max_tokens, log_dir)
                        row["round"] = round_
                        load_rows.append(row)
        if "d" in args.workloads:
            for backend in backends:
                print(f"# {backend.name}: workload d (role prompt, cold vs warm)", file=sys.stderr, flush=True)
                role_rows.append(measure_role(backend, args.role_warm_requests, min(args.max_tokens, ROLE_MAX_TOKENS), log_dir))
    finally:
        errors = sum(r["errors"] for r in load_rows + role_rows)
        if KERNEL_PATH[0]:
            print(f"Tandem kernel path: {KERNEL_PATH[0]}")
        if load_rows:
            print_load_table(load_rows, args.max_tokens)
            if len(backends) > 1:
                print_ratio_table(load_rows)
        if role_rows:
            print_role_table(role_rows)
        for r in load_rows + role_rows:
            for sample in r["error_samples"]:
                print(f"# {r['server']} {r['workload']} c{r.get('concurrency', 1)} error: {sample}", file=sys.stderr)
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump({"max_tokens": args.max_tokens, "prompt": PROMPT, "role_prompt": ROLE_PROMPT,
                           "adapters": names, "rows": load_rows + role_rows}, f, indent=1)
        if args.keep_tmp or errors:
            print(f"# kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

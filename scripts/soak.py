#!/usr/bin/env python3
"""Soak test of `tandem serve`: many concurrent clients for a long time, with adapters changing under load.

    python3 scripts/soak.py                          # 64 clients for 600 s (make soak)
    python3 scripts/soak.py --duration 30 --clients 8   # a smoke run

It starts its own server (a temporary adapters folder holding copies of adapters/, a small --max-queue
so bursts get 429) and runs until --duration is over:

* --clients workers, each looping over a random mix: chat and text completions, streamed or not, on the
  base, its roles, the adapters and their roles (model ids from /v1/models, refreshed as they change),
  streams dropped by the client after a few events, and greedy probes;
* a churn thread that adds adapter folders (copies of a bundled adapter), overwrites them in place with
  another adapter's files, and removes them, in the server's adapters folder;
* a burst thread that fires more simultaneous requests than --max-running + --max-queue can hold.

Checks (any failure: exit code 1):
* no crash: the process is alive and /health is 200 at the end, and it exits 0 on SIGTERM;
* every response is well-formed: OpenAI JSON shapes with consistent usage, SSE streams of JSON chunks
  ending with `data: [DONE]`, errors with OpenAI's error body; no 5xx, no dropped connection;
* no mixed-up responses: each model id's greedy answer to a fixed probe prompt (temperature 0) is
  recorded right after start-up, and every later greedy probe of that id, streamed or not, must give
  exactly that text (a churned adapter must give the answer of the adapter it was copied from);
* refused requests are 429 with a Retry-After header;
* RSS at the end within --rss-tolerance (10 %) of RSS after the warm-up;
* nothing leaks: once the load stops, tandem_running_sequences, tandem_queue_depth and
  tandem_kv_pages_committed read 0 on /metrics, and tandem_kv_pages_used holds no more than the prefix
  cache's entries can (none without entries).

Standard library only. Every request goes to 127.0.0.1.
"""
from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROBE_PROMPT = "Describe the sea in one short sentence."
PROBE_MAX_TOKENS = 12
STABLE_ADAPTERS = ("pirate-style", "ticket-triage")
CHURN_PREFIX = "churn-"
PROMPTS = [
    "Write a haiku about the sea.", "My invoice is wrong, I was charged twice!", "What is the capital of Italy?",
    "Tell me a story about a lighthouse keeper.", "The app crashes when I open settings.", "Hello!",
    "List three colours.", "Why is the sky blue?", "Translate 'good morning' to French.", "Count to ten.",
]


# ---------------------------------------------------------------------------------------------
# Bookkeeping
# ---------------------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = collections.Counter()      # kind -> sent
        self.outcomes = collections.Counter()      # (kind, outcome) -> count
        self.errors = collections.Counter()        # error kind -> count
        self.examples: dict[str, list[str]] = collections.defaultdict(list)
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.probes_checked = 0
        self.churn = collections.Counter()

    def sent(self, kind: str) -> None:
        with self.lock:
            self.requests[kind] += 1

    def outcome(self, kind: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[(kind, outcome)] += 1

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.examples[kind]) < 5:
                self.examples[kind].append(detail[:600])

    def tokens(self, usage: dict | None) -> None:
        if usage:
            with self.lock:
                self.prompt_tokens += usage.get("prompt_tokens", 0)
                self.completion_tokens += usage.get("completion_tokens", 0)


class Problem(Exception):
    """A response that breaks a check: (error kind, detail)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

class Conn:
    """One keep-alive connection; reconnects after the server closes it."""

    def __init__(self, port: int, timeout: float):
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def open(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, method: str, path: str, body: dict | None = None) -> http.client.HTTPResponse:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            conn = self.open()
            conn.request(method, path, body=data, headers=headers)
            return conn.getresponse()
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            self.close()
            raise Problem("connection", f"{method} {path}: {type(exc).__name__}: {exc}") from None

    def finish(self, response: http.client.HTTPResponse) -> None:
        if response.getheader("Connection", "").lower() == "close" or response.will_close:
            self.close()

    def json_request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, object]:
        response = self.send(method, path, body)
        try:
            raw = response.read()
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            self.close()
            raise Problem("connection", f"{method} {path}: reading: {type(exc).__name__}: {exc}") from None
        self.finish(response)
        headers = {k.lower(): v for k, v in response.getheaders()}
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw
        return response.status, headers, payload


def sse_events(response: http.client.HTTPResponse, limit: int | None = None):
    """Yields the payload of each `data: ` event; stops after `limit` events when given."""
    buffer = b""
    count = 0
    while True:
        chunk = response.read1(65536)
        if not chunk:
            if buffer.strip():
                raise Problem("sse_malformed", f"stream ended inside an event: {buffer[:300]!r}")
            return
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            text = event.decode("utf-8")
            if not text.startswith("data: ") or "\n" in text:
                raise Problem("sse_malformed", f"not a single data line: {text[:300]!r}")
            yield text[len("data: "):]
            count += 1
            if limit is not None and count >= limit:
                return


def check_error_body(status: int, payload, where: str) -> dict:
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        raise Problem("bad_error_shape", f"{where}: HTTP {status} body {str(payload)[:300]}")
    err = payload["error"]
    if not all(k in err for k in ("message", "type", "param", "code")) or not isinstance(err["message"], str) \
            or not isinstance(err["type"], str) or not all(err[k] is None or isinstance(err[k], str) for k in ("param", "code")):
        raise Problem("bad_error_shape", f"{where}: HTTP {status} error {err}")
    return err


def check_usage(usage, where: str) -> None:
    if not isinstance(usage, dict) or not all(isinstance(usage.get(k), int) and usage[k] >= 0
                                              for k in ("prompt_tokens", "completion_tokens", "total_tokens")):
        raise Problem("bad_shape", f"{where}: usage {usage}")
    if usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]:
        raise Problem("bad_shape", f"{where}: usage total is not prompt + completion: {usage}")


# ---------------------------------------------------------------------------------------------
# The soak
# ---------------------------------------------------------------------------------------------

class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.stats = Stats()
        self.stop = threading.Event()
        self.load_stop = threading.Event()
        self.work = Path(tempfile.mkdtemp(prefix="tandem-soak."))
        self.adapters = self.work / "adapters"
        self.port = args.port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.work / "server.log"
        self.models: list[str] = []
        self.models_lock = threading.Lock()
        self.expected: dict[str, str] = {}        # model id -> greedy probe text
        self.churn_lock = threading.Lock()
        self.churn: dict[str, str] = {}           # churn adapter -> the bundled adapter it holds
        self.failures: list[str] = []
        self.base_id = ""

    # -- server ----------------------------------------------------------------------------

    def start_server(self) -> None:
        shutil.copytree(REPO / "adapters", self.adapters)
        for extra in self.adapters.glob("*/data"):
            shutil.rmtree(extra)  # training data is not part of an adapter
        argv = [str(self.args.binary), "serve", "--model", str(self.args.model), "--adapters", str(self.adapters),
                "--host", "127.0.0.1", "--port", str(self.port), "--max-queue", str(self.args.max_queue),
                "--max-running", str(self.args.max_running), "--max-model-len", str(self.args.max_model_len),
                "--log-level", "warning"]
        help_text = subprocess.run([str(self.args.binary), "serve", "--help"], capture_output=True, text=True).stdout
        if "--kv-cache-mb" in help_text and self.args.kv_cache_mb > 0:
            # A bounded KV budget, so the prefix cache (which keeps pages until the budget needs them)
            # reaches its steady size during the warm-up and RSS can be compared.
            argv += ["--kv-cache-mb", str(self.args.kv_cache_mb)]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 180
        conn = Conn(self.port, 5)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"soak: the server exited with {self.proc.returncode} while starting\n{self.log_tail()}")
            try:
                status, _, _ = conn.json_request("GET", "/health")
                if status == 200:
                    print(f"soak: server pid {self.proc.pid} on port {self.port}: {' '.join(argv[1:])}", flush=True)
                    return
            except Problem:
                pass
            time.sleep(0.2)
        raise SystemExit(f"soak: the server was not healthy after 180 s\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def metrics(self) -> dict[str, float]:
        conn = Conn(self.port, 10)
        response = conn.send("GET", "/metrics")
        text = response.read().decode()
        conn.close()
        values: dict[str, float] = collections.defaultdict(float)
        for line in text.splitlines():
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
            if m:
                try:
                    values[m.group(1)] += float(m.group(3))
                except ValueError:
                    pass
        return values

    # -- models ----------------------------------------------------------------------------

    def refresh_models(self, conn: Conn) -> list[str]:
        status, _, payload = conn.json_request("GET", "/v1/models")
        if status != 200 or not isinstance(payload, dict) or payload.get("object") != "list":
            raise Problem("bad_status", f"GET /v1/models: HTTP {status} {str(payload)[:300]}")
        ids = []
        for card in payload["data"]:
            if not isinstance(card.get("id"), str) or card.get("object") != "model":
                raise Problem("bad_shape", f"/v1/models entry {card}")
            ids.append(card["id"])
        with self.models_lock:
            self.models = ids
        return ids

    def pick_model(self, rng: random.Random) -> str:
        with self.models_lock:
            return rng.choice(self.models)

    def is_churn(self, model: str) -> bool:
        return model.split(":", 1)[0].startswith(CHURN_PREFIX)

    def allowed_probe_texts(self, model: str) -> set[str]:
        """Texts a greedy probe of `model` may give; empty when nothing was recorded for it."""
        if model in self.expected:
            return {self.expected[model]}
        if self.is_churn(model):  # a churned adapter answers like the bundled adapter it was copied from
            role = model.split(":", 1)[1] if ":" in model else None
            return {text for source in STABLE_ADAPTERS
                    for key, text in self.expected.items() if key == (f"{source}:{role}" if role else source)}
        return set()

    # -- requests --------------------------------------------------------------------------

    def body(self, rng: random.Random, route: str, model: str, stream: bool, greedy: bool = False) -> dict:
        if greedy:
            body = {"model": model, "max_tokens": PROBE_MAX_TOKENS, "temperature": 0}
            body["messages" if route == "chat" else "prompt"] = (
                [{"role": "user", "content": PROBE_PROMPT}] if route == "chat" else PROBE_PROMPT)
        else:
            body = {"model": model, "max_tokens": rng.randint(1, self.args.max_tokens)}
            if route == "chat":
                body["messages"] = [{"role": "user", "content": rng.choice(PROMPTS)}]
                if rng.random() < 0.2:
                    body["messages"].insert(0, {"role": "system", "content": "Be brief."})
            else:
                body["prompt"] = rng.choice(PROMPTS) if rng.random() < 0.8 else rng.sample(PROMPTS, 2)
            if rng.random() < 0.7:
                body["temperature"] = rng.choice([0, 0.3, 0.7, 1.0, 1.3])
            if rng.random() < 0.3:
                body["top_p"] = rng.choice([0.5, 0.9, 1.0])
            if rng.random() < 0.2:
                body["seed"] = rng.randrange(1 << 31)
            if rng.random() < 0.15:
                body["n"] = 2
            if rng.random() < 0.1:
                body["stop"] = ["\n"]
        if stream:
            body["stream"] = True
            if rng.random() < 0.6:
                body["stream_options"] = {"include_usage": True}
        return body

    def expect_refusal(self, kind: str, model: str, status: int, headers: dict, payload) -> str:
        """Classifies a non-200 answer: allowed refusals return their outcome name, others raise."""
        where = f"{kind} {model}"
        if status == 503 and self.is_churn(model) and isinstance(payload, dict) \
                and (payload.get("error") or {}).get("code") == "adapter_updating":
            if not (headers.get("retry-after") or "").strip().isdigit():
                raise Problem("503_without_retry_after", f"{where}: headers {headers}")
            return "503_updating"  # its files are being copied: the server refuses rather than mix versions
        if status >= 500:
            raise Problem("http_5xx", f"{where}: HTTP {status} {str(payload)[:300]}")
        err = check_error_body(status, payload, where)
        if status == 429:
            if not (headers.get("retry-after") or "").strip().isdigit():
                raise Problem("429_without_retry_after", f"{where}: headers {headers}")
            return "429"
        if status == 404 and err.get("code") == "model_not_found" and self.is_churn(model):
            return "404_churned"  # the adapter (or its role) went away between listing and request
        if status == 400 and err.get("code") == "adapter_unusable" and self.is_churn(model):
            return "400_churn_unusable"  # caught half-written by the rescan
        raise Problem(f"unexpected_{status}", f"{where}: {err}")

    def run_json(self, conn: Conn, kind: str, route: str, body: dict) -> tuple[str, str | None]:
        path = "/v1/chat/completions" if route == "chat" else "/v1/completions"
        status, headers, payload = conn.json_request("POST", path, body)
        if status != 200:
            return self.expect_refusal(kind, body["model"], status, headers, payload), None
        where = f"{kind} {body['model']}"
        expected_object = "chat.completion" if route == "chat" else "text_completion"
        if not isinstance(payload, dict) or payload.get("object") != expected_object:
            raise Problem("bad_shape", f"{where}: {str(payload)[:300]}")
        if payload.get("model") != body["model"]:
            raise Problem("wrong_model", f"{where}: answered for model {payload.get('model')!r}")
        prompts = len(body["prompt"]) if route == "completion" and isinstance(body["prompt"], list) else 1
        choices = payload.get("choices")
        n = body.get("n", 1) * prompts
        if not isinstance(choices, list) or len(choices) != n or sorted(c.get("index") for c in choices) != list(range(n)):
            raise Problem("bad_shape", f"{where}: {n} choices expected: {str(payload)[:300]}")
        texts = []
        for c in choices:
            text = c["message"]["content"] if route == "chat" else c.get("text")
            if not isinstance(text, str) or c.get("finish_reason") not in ("stop", "length"):
                raise Problem("bad_shape", f"{where}: choice {c}")
            texts.append(text)
        check_usage(payload.get("usage"), where)
        if payload["usage"]["completion_tokens"] > body["max_tokens"] * n:
            raise Problem("bad_shape", f"{where}: {payload['usage']} over max_tokens {body['max_tokens']} × {n}")
        self.stats.tokens(payload["usage"])
        return "200", texts[0]

    def run_stream(self, conn: Conn, kind: str, route: str, body: dict, drop_after: int | None = None) -> tuple[str, str | None]:
        path = "/v1/chat/completions" if route == "chat" else "/v1/completions"
        response = conn.send("POST", path, body)
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status != 200:
            raw = response.read()
            conn.finish(response)
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw
            return self.expect_refusal(kind, body["model"], response.status, headers, payload), None
        where = f"{kind} {body['model']}"
        if not headers.get("content-type", "").startswith("text/event-stream"):
            conn.close()
            raise Problem("bad_shape", f"{where}: 200 with Content-Type {headers.get('content-type')}")
        expected_object = "chat.completion.chunk" if route == "chat" else "text_completion"
        prompts = len(body["prompt"]) if route == "completion" and isinstance(body["prompt"], list) else 1
        n = body.get("n", 1) * prompts
        texts = [""] * n
        finished = [False] * n
        done = False
        usage = None
        try:
            for data in sse_events(response, limit=drop_after):
                if done:
                    raise Problem("sse_malformed", f"{where}: event after [DONE]: {data[:200]}")
                if data == "[DONE]":
                    done = True
                    continue
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise Problem("sse_malformed", f"{where}: not JSON: {data[:300]}") from None
                if "error" in chunk:
                    raise Problem("stream_error_event", f"{where}: {data[:300]}")
                if chunk.get("object") != expected_object or chunk.get("model") != body["model"]:
                    raise Problem("bad_shape", f"{where}: chunk {data[:300]}")
                if chunk.get("usage") is not None:
                    usage = chunk["usage"]
                    check_usage(usage, where)
                for c in chunk.get("choices", []):
                    i = c.get("index")
                    if not isinstance(i, int) or not 0 <= i < n or finished[i]:
                        raise Problem("bad_shape", f"{where}: chunk for choice {i} (n={n}, finished={finished}): {data[:300]}")
                    piece = (c.get("delta") or {}).get("content", "") if route == "chat" else c.get("text", "")
                    if not isinstance(piece, str):
                        raise Problem("bad_shape", f"{where}: chunk {data[:300]}")
                    texts[i] += piece
                    if c.get("finish_reason") is not None:
                        if c["finish_reason"] not in ("stop", "length"):
                            raise Problem("bad_shape", f"{where}: finish_reason {c['finish_reason']}")
                        finished[i] = True
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            conn.close()
            raise Problem("connection", f"{where}: mid-stream: {type(exc).__name__}: {exc}") from None
        if drop_after is not None and not done:
            conn.close()  # the client goes away mid-stream
            return "dropped", None
        # The server may close the connection after an event stream without saying so (checked once, at
        # start-up, by check_keep_alive_after_stream): open a new one for the next request.
        conn.close()
        if not done or not all(finished):
            raise Problem("sse_malformed", f"{where}: stream ended without [DONE] or a finish for every choice")
        if body.get("stream_options", {}).get("include_usage"):
            if usage is None:
                raise Problem("bad_shape", f"{where}: include_usage but no usage chunk")
            self.stats.tokens(usage)
        return "200", texts[0]

    def one_request(self, rng: random.Random, conn: Conn) -> None:
        r = rng.random()
        route = "chat" if rng.random() < 0.7 else "completion"
        model = self.pick_model(rng)
        if r < self.args.probe_share:
            stream = rng.random() < 0.5
            kind = "probe_stream" if stream else "probe"
            route = "chat"
            body = self.body(rng, route, model, stream, greedy=True)
        elif r < self.args.probe_share + self.args.drop_share:
            kind = "dropped_stream"
            body = self.body(rng, route, model, True)
            body["max_tokens"] = max(body["max_tokens"], 24)
        else:
            stream = rng.random() < 0.5
            kind = f"{route}{'_stream' if stream else ''}"
            body = self.body(rng, route, model, stream)
        self.stats.sent(kind)
        try:
            if kind == "dropped_stream":
                drop = Conn(self.port, self.args.request_timeout)  # its own connection, closed mid-stream
                try:
                    outcome, text = self.run_stream(drop, kind, route, body, drop_after=rng.randint(1, 3))
                finally:
                    drop.close()
            elif body.get("stream"):
                outcome, text = self.run_stream(conn, kind, route, body)
            else:
                outcome, text = self.run_json(conn, kind, route, body)
            if kind.startswith("probe") and outcome == "200":
                allowed = self.allowed_probe_texts(model)
                if allowed:
                    with self.stats.lock:
                        self.stats.probes_checked += 1
                    if text not in allowed:
                        raise Problem("mixed_up_response", f"{kind} {model}: got {text!r}, expected one of {sorted(allowed)}")
            self.stats.outcome(kind, outcome)
            if outcome == "429":
                # A well-behaved client waits about as long as Retry-After says (the burst thread
                # is the one that keeps hammering).
                time.sleep(rng.uniform(0.5, 1.5))
        except Problem as p:
            self.stats.outcome(kind, "error")
            self.stats.error(p.kind, p.detail)
            if p.kind == "connection" and not self.alive():
                self.stop.set()

    # -- threads ---------------------------------------------------------------------------

    def client_loop(self, index: int) -> None:
        rng = random.Random(f"{self.args.seed}-client-{index}")
        conn = Conn(self.port, self.args.request_timeout)
        while not self.load_stop.is_set():
            self.one_request(rng, conn)
        conn.close()

    def burst_loop(self) -> None:
        rng = random.Random(f"{self.args.seed}-burst")
        size = self.args.max_running + self.args.max_queue + self.args.burst_extra
        while not self.load_stop.wait(self.args.burst_interval):
            results = collections.Counter()

            def fire(i: int) -> None:
                conn = Conn(self.port, self.args.request_timeout)
                body = self.body(rng, "chat", self.pick_model(rng), False)
                body["max_tokens"] = 4
                self.stats.sent("burst")
                try:
                    outcome, _ = self.run_json(conn, "burst", "chat", body)
                    self.stats.outcome("burst", outcome)
                    results[outcome] += 1
                except Problem as p:
                    self.stats.outcome("burst", "error")
                    self.stats.error(p.kind, p.detail)
                    results["error"] += 1
                finally:
                    conn.close()

            threads = [threading.Thread(target=fire, args=(i,), daemon=True) for i in range(size)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(self.args.request_timeout + 10)
            print(f"soak: burst of {size}: {dict(results)}", flush=True)

    def churn_loop(self) -> None:
        rng = random.Random(f"{self.args.seed}-churn")
        counter = 0
        conn = Conn(self.port, 30)
        while not self.load_stop.wait(self.args.churn_interval):
            with self.churn_lock:
                names = sorted(self.churn)
                action = rng.choice(["add"] * 2 + (["change", "remove"] if names else []))
                if len(names) >= self.args.max_churn_adapters:
                    action = rng.choice(["change", "remove"])
                if action == "add":
                    counter += 1
                    name, source = f"{CHURN_PREFIX}{counter}", rng.choice(STABLE_ADAPTERS)
                    shutil.copytree(self.adapters / source, self.adapters / name)
                    self.churn[name] = source
                elif action == "change":  # overwrite in place with the other adapter's files
                    name = rng.choice(names)
                    source = next(s for s in STABLE_ADAPTERS if s != self.churn[name])
                    for f in (self.adapters / source).iterdir():
                        if f.is_file():
                            shutil.copyfile(f, self.adapters / name / f.name)
                    self.churn[name] = source
                else:
                    name = rng.choice(names)
                    shutil.rmtree(self.adapters / name)
                    del self.churn[name]
                self.stats.churn[action] += 1
            try:
                time.sleep(0.6)  # the server rescans every 0.5 s
                self.refresh_models(conn)
            except Problem as p:
                self.stats.error(p.kind, p.detail)

    def model_refresh_loop(self) -> None:
        conn = Conn(self.port, 30)
        while not self.load_stop.wait(2.0):
            try:
                self.refresh_models(conn)
            except Problem as p:
                self.stats.error(p.kind, p.detail)

    # -- phases ----------------------------------------------------------------------------

    def record_probes(self) -> None:
        conn = Conn(self.port, self.args.request_timeout)
        ids = self.refresh_models(conn)
        self.base_id = ids[0]
        for model in ids:
            body = self.body(self.rng, "chat", model, False, greedy=True)
            try:
                outcome, text = self.run_json(conn, "record", "chat", body)
                if outcome != "200":
                    raise Problem(outcome, "")
                stream_body = dict(body, stream=True)
                outcome, stream_text = self.run_stream(conn, "record", "chat", stream_body)
            except Problem as p:
                raise SystemExit(f"soak: could not record the greedy probe of {model}: {p} (server "
                                 f"{'alive' if self.alive() else 'dead'})\n{self.log_tail()}") from None
            self.expected[model] = text
            if stream_text != text:
                self.failures.append(f"probe of {model}: streamed {stream_text!r} != non-streamed {text!r}")
        conn.close()
        print(f"soak: recorded greedy probes of {len(self.expected)} model ids: {', '.join(self.expected)}", flush=True)

    def check_keep_alive_after_stream(self) -> None:
        """A connection that carried an event stream must either be closed with `Connection: close` or stay
        usable: a client reusing it (as connection pools do) must not find it dropped."""
        conn = Conn(self.port, self.args.request_timeout)
        body = {"model": self.base_id, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "stream": True}
        response = conn.send("POST", "/v1/chat/completions", body)
        response.read()
        if response.will_close or response.getheader("Connection", "").lower() == "close":
            conn.close()
            return
        time.sleep(0.2)
        try:
            status, _, payload = conn.json_request("GET", "/health")
            if status != 200:
                self.failures.append(f"keep-alive after a stream: GET /health answered {status} {payload}")
        except Problem as p:
            self.failures.append("the server drops a keep-alive connection after an event stream without sending "
                                 f"`Connection: close`: the next request on it fails ({p.detail})")
        conn.close()

    def wait_idle(self, timeout: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            values = self.metrics()
            busy = {k: v for k, v in values.items() if self.is_leak_gauge(k) and v != 0}
            if (not busy and not self.kv_leak(values)) or time.monotonic() > deadline:
                return values
            time.sleep(0.25)

    @staticmethod
    def is_leak_gauge(name: str) -> bool:
        """Gauges that must read 0 once no request runs: sequences, the queue, KV pages committed to
        sequences. (`tandem_kv_pages_used` also counts pages the prefix cache keeps: see kv_leak.)"""
        if name in ("tandem_running_sequences", "tandem_queue_depth"):
            return True
        lowered = name.lower()
        return "kv" in lowered and ("page" in lowered or "block" in lowered) and "committed" in lowered

    @staticmethod
    def kv_leak(values: dict[str, float]) -> str | None:
        """At idle, KV pages in use are only the prefix cache's: none without entries, and at most one page
        per layer of each entry (64 layers allowed: a loose bound that still catches pages left behind)."""
        if "tandem_kv_pages_used" not in values:
            return None
        used, entries = values["tandem_kv_pages_used"], values.get("tandem_prefix_cache_entries", 0)
        if used > 64 * entries:
            return f"tandem_kv_pages_used = {used:g} with {entries:g} prefix cache entries once idle (leak)"
        return None

    def run(self) -> int:
        started = time.monotonic()
        self.start_server()
        self.record_probes()
        self.check_keep_alive_after_stream()
        threads = [threading.Thread(target=self.client_loop, args=(i,), daemon=True) for i in range(self.args.clients)]
        threads += [threading.Thread(target=self.burst_loop, daemon=True),
                    threading.Thread(target=self.churn_loop, daemon=True),
                    threading.Thread(target=self.model_refresh_loop, daemon=True)]
        load_start = time.monotonic()
        for t in threads:
            t.start()
        # Warm-up: at least --warmup seconds, and until the KV pool is nearly full. The prefix cache
        # keeps pages until the --kv-cache-mb budget is reached, so RSS grows by design until then;
        # only after that does "flat memory" mean anything. Bounded by half the duration.
        warmup_start = time.monotonic()
        time.sleep(min(self.args.warmup, self.args.duration / 3))
        while time.monotonic() - load_start < self.args.duration / 2 and self.alive():
            values = self.metrics()
            used, total = values.get("tandem_kv_pages_used", 0), values.get("tandem_kv_pages_total", 0)
            if total == 0 or used >= 0.9 * total:
                break
            time.sleep(5)
        warmup = time.monotonic() - warmup_start
        rss_warm = rss_kb(self.proc.pid) if self.alive() else 0
        print(f"soak: RSS after {warmup:.0f} s of warm-up: {rss_warm / 1024:.1f} MiB", flush=True)
        rss_peak = rss_warm
        last_report = time.monotonic()
        while time.monotonic() - load_start < self.args.duration and not self.stop.is_set():
            time.sleep(1)
            if self.alive():
                rss_peak = max(rss_peak, rss_kb(self.proc.pid))
            if time.monotonic() - last_report >= 30:
                last_report = time.monotonic()
                with self.stats.lock:
                    sent = sum(self.stats.requests.values())
                    errors = sum(self.stats.errors.values())
                print(f"soak: {time.monotonic() - load_start:5.0f} s: {sent} requests, {errors} errors, "
                      f"RSS {rss_kb(self.proc.pid) / 1024 if self.alive() else 0:.1f} MiB", flush=True)
        # The end of the load, measured like the warm-up: under load (when it stops, the server
        # hands memory back and RSS drops, which says nothing about leaks).
        rss_loaded_end = rss_kb(self.proc.pid) if self.alive() else 0
        self.load_stop.set()
        for t in threads:
            t.join(self.args.request_timeout + 15)
        load_seconds = time.monotonic() - load_start

        # After the load: nothing leaked, still serving, the same greedy answers.
        alive = self.alive()
        if not alive:
            self.failures.append(f"the server died (exit code {self.proc.returncode})\n{self.log_tail(60)}")
        metrics = {}
        rss_end = 0
        if alive:
            metrics = self.wait_idle(30)
            for name, value in sorted(metrics.items()):
                if self.is_leak_gauge(name) and value != 0:
                    self.failures.append(f"{name} = {value} 30 s after the load stopped (leak)")
            if self.kv_leak(metrics):
                self.failures.append(self.kv_leak(metrics))
            conn = Conn(self.port, 30)
            try:
                status, _, payload = conn.json_request("GET", "/health")
                if status != 200:
                    self.failures.append(f"/health is {status} at the end: {payload}")
                self.refresh_models(conn)
                for model in (m for m in self.expected if not self.is_churn(m)):
                    outcome, text = self.run_json(conn, "final_probe", "chat", self.body(self.rng, "chat", model, False, greedy=True))
                    if outcome != "200" or text != self.expected[model]:
                        self.failures.append(f"final probe of {model}: {outcome} {text!r} != {self.expected[model]!r}")
            except Problem as p:
                self.failures.append(f"after the load: {p}")
            conn.close()
            time.sleep(1)
            rss_end = rss_kb(self.proc.pid)
            print(f"soak: RSS at the end of the load {rss_loaded_end / 1024:.1f} MiB, idle afterwards {rss_end / 1024:.1f} MiB", flush=True)
            if rss_warm and abs(rss_loaded_end - rss_warm) > self.args.rss_tolerance * rss_warm:
                self.failures.append(f"RSS {rss_loaded_end / 1024:.1f} MiB at the end of the load vs {rss_warm / 1024:.1f} MiB after warm-up "
                                     f"(more than {self.args.rss_tolerance:.0%} apart)")
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(60)
                if code != 0:
                    self.failures.append(f"exit code {code} after SIGTERM\n{self.log_tail(30)}")
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.failures.append("the server did not exit within 60 s of SIGTERM")
        self.summary(load_seconds, time.monotonic() - started, rss_warm, rss_peak, rss_end, metrics)
        return 1 if self.failures or self.stats.errors else 0

    def summary(self, load_seconds, total_seconds, rss_warm, rss_peak, rss_end, metrics) -> None:
        s = self.stats
        print("\n==== soak summary ====")
        print(f"duration: {load_seconds:.0f} s under load ({total_seconds:.0f} s in all), {self.args.clients} clients, "
              f"--max-running {self.args.max_running} --max-queue {self.args.max_queue}")
        print(f"{'kind':16s} {'sent':>7s}  outcomes")
        for kind in sorted(s.requests):
            outcomes = {o: c for (k, o), c in s.outcomes.items() if k == kind}
            print(f"{kind:16s} {s.requests[kind]:7d}  " + ", ".join(f"{o}: {c}" for o, c in sorted(outcomes.items())))
        total = sum(s.requests.values())
        print(f"{'total':16s} {total:7d}  ({total / max(load_seconds, 1):.1f}/s)")
        print(f"tokens: {s.prompt_tokens} prompt, {s.completion_tokens} completion (from usage; "
              f"streams without include_usage and dropped streams not counted)")
        print(f"greedy probes checked: {s.probes_checked} (against {len(self.expected)} recorded ids)")
        print(f"adapter churn: {dict(s.churn)}")
        print(f"RSS: {rss_warm / 1024:.1f} MiB after warm-up, {rss_peak / 1024:.1f} MiB peak, {rss_end / 1024:.1f} MiB at the end")
        gauges = {k: v for k, v in metrics.items() if self.is_leak_gauge(k)
                  or k in ("tandem_kv_pages_used", "tandem_kv_pages_total", "tandem_prefix_cache_entries")}
        print(f"after the load: {', '.join(f'{k} = {v:g}' for k, v in sorted(gauges.items())) or 'no metrics'}")
        if s.errors:
            print("errors by kind:")
            for kind, count in s.errors.most_common():
                print(f"  {kind}: {count}")
                for example in s.examples[kind]:
                    print(f"    e.g. {example}")
        else:
            print("errors: none")
        for failure in self.failures:
            print(f"FAIL: {failure}")
        print("soak: " + ("FAIL" if self.failures or s.errors else "PASS"))
        if self.args.keep_work:
            print(f"(server log: {self.log_path})")

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self.args.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    p.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    p.add_argument("--binary", type=Path, default=Path(os.environ.get("TANDEM_BIN", REPO / ".build/release/tandem")))
    p.add_argument("--model", type=Path, default=Path(os.environ.get("TANDEM_MODEL", REPO / "models/gemma-3-270m-q4_k_m.gguf")))
    p.add_argument("--port", type=int, default=0, help="default: a free port")
    p.add_argument("--max-running", type=int, default=32, help="server --max-running (default 32)")
    p.add_argument("--max-queue", type=int, default=8, help="server --max-queue, small so bursts get 429 (default 8)")
    p.add_argument("--max-model-len", type=int, default=1024)
    p.add_argument("--kv-cache-mb", type=int, default=256,
                   help="server --kv-cache-mb when it has the flag (default 256; 0: the server's default)")
    p.add_argument("--max-tokens", type=int, default=32, help="largest max_tokens of ordinary requests")
    p.add_argument("--probe-share", type=float, default=0.15, help="share of requests that are greedy probes")
    p.add_argument("--drop-share", type=float, default=0.1, help="share of requests that are streams dropped mid-way")
    p.add_argument("--warmup", type=float, default=60, help="seconds of load before the RSS baseline (at most a third of --duration)")
    p.add_argument("--burst-interval", type=float, default=15)
    p.add_argument("--burst-extra", type=int, default=24, help="burst size over --max-running + --max-queue")
    p.add_argument("--churn-interval", type=float, default=2.0, help="seconds between adapter folder changes")
    p.add_argument("--max-churn-adapters", type=int, default=4)
    p.add_argument("--rss-tolerance", type=float, default=0.10)
    p.add_argument("--request-timeout", type=float, default=120)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-work", action="store_true", help="keep the temporary folder (server log, adapters)")
    args = p.parse_args()
    if not args.binary.is_file():
        print(f"soak: {args.binary} is missing: run `swift build -c release`", file=sys.stderr)
        return 2
    if not args.model.is_file():
        print(f"soak: {args.model} is missing: run `make setup`", file=sys.stderr)
        return 2
    soak = Soak(args)
    code = 1
    try:
        code = soak.run()
        return code
    finally:
        if code != 0 and not args.keep_work:
            args.keep_work = True
            print(f"soak: kept {soak.work} (server log: {soak.log_path})")
        soak.cleanup()


if __name__ == "__main__":
    sys.exit(main())

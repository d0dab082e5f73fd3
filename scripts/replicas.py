#!/usr/bin/env python3
"""Three `tandem serve` replicas behind LiteLLM's proxy: adapter hot swap, SIGKILL and SIGTERM under load.

    python3 scripts/replicas.py                    # make replicas (about 2 minutes)
    python3 scripts/replicas.py --load-seconds 20  # shorter load phases

It starts three replicas on free loopback ports (`--max-running 8 --kv-cache-mb 256`), all watching ONE
temporary adapters folder (a copy of adapters/), and LiteLLM's proxy (the `litellm` CLI) as a router over
them: a generated config.yaml with one model_list entry per replica under the same model_name for each id
the load uses (`gemma-3-270m`, `ticket-triage`, `pirate-style`), plus one wildcard entry `*` ->
`openai/*` per replica, so an adapter that appears later (`pirate-copy`) is routed with no change to the
gateway. The router retries a failed call on another replica (`num_retries`) and cools a failing replica
down for a few seconds (`allowed_fails: 0`, `cooldown_time`).

Checks (the report table at the end; exit 1 if one fails):
1. hot swap: pirate-style is copied outside the folder and renamed into it as `pirate-copy`; every
   replica lists it in /v1/models and serves it (a direct request), and the gateway serves it, each
   within 5 s of the rename (times per replica in the table);
2. SIGKILL: --clients clients send short chat requests, streamed and not (max_tokens 16-32), through the
   gateway for --load-seconds; a quarter of the way in, at a moment one replica streams to a client (and
   runs one more sequence, when that happens within 15 s), that replica is SIGKILLed. Only streams that
   were running on that replica at that moment may fail; every other request must succeed. The replica
   is restarted on the same port, answers /health and a direct request, and receives gateway traffic
   again (its tandem_requests_total rises);
3. SIGTERM: the same load, another replica gets SIGTERM: no request fails and it exits 0 (it is then
   restarted and must be healthy again).

The replicas run a copy of the binary taken at start, so a rebuild during the run changes none of them.
Every request goes to 127.0.0.1; every wait and loop is bounded; all processes and temporary folders are
removed at exit, also on failure or Ctrl-C. LiteLLM runs with its remote lookups (model cost map,
telemetry) switched off, and with a random master key the clients send.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASE_ID = "gemma-3-270m"
LOAD_MODELS = ("ticket-triage", BASE_ID, "pirate-style")
NEW_ADAPTER = "pirate-copy"
HOT_SWAP_LIMIT_S = 5.0
COOLDOWN_S = 3
PROMPTS = [
    "My invoice is wrong, I was charged twice!", "The app crashes when I open settings.", "Hello!",
    "What is the capital of Italy?", "Write a haiku about the sea.", "List three colours.",
    "My package is a week late.", "Why is the sky blue?",
]
# LiteLLM fetches a few documents from the internet at start unless told to use its bundled copies.
LITELLM_OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_TELEMETRY_DISABLED": "true",
    "DISABLE_TELEMETRY": "true",
    "DISABLE_AUTOUPDATER": "true",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (held open together while chosen, so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None,
         timeout: float = 10.0) -> tuple[int, bytes]:
    assert url.startswith("http://127.0.0.1:"), url
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, ValueError):
        return 0, b""


def chat_body(model: str, max_tokens: int = 16, stream: bool = False) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": random.choice(PROMPTS)}],
            "max_tokens": max_tokens, "temperature": 0, "stream": stream}


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

class Processes:
    """Every process this script starts, each in its own session, so cleanup ends exactly those."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running: list[subprocess.Popen] = []

    def start(self, argv: list[str], log_path: Path, env: dict | None = None) -> subprocess.Popen:
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True, cwd=REPO)
        with self.lock:
            self.running.append(proc)
        return proc

    def stop_all(self) -> None:
        with self.lock:
            procs, self.running = self.running, []
        for proc in procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)


@dataclass
class Replica:
    name: str
    port: int
    binary: Path   # a copy taken at start: a rebuild during the run changes no replica
    model: Path
    adapters: Path
    logs: Path
    procs: Processes
    proc: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        env = dict(os.environ)
        self.proc = self.procs.start(
            [str(self.binary), "serve", "--model", str(self.model), "--adapters", str(self.adapters),
             "--host", "127.0.0.1", "--port", str(self.port), "--max-running", "8", "--kv-cache-mb", "256"],
            self.logs / f"{self.name}.log", env=env)

    def wait_healthy(self, timeout: float = 90.0) -> float:
        """Seconds until /health answers 200; raises when the process dies or the time is over."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} while starting")
            status, _ = http("GET", f"{self.url}/health", timeout=2)
            if status == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s")

    def model_ids(self) -> set[str]:
        status, body = http("GET", f"{self.url}/v1/models", timeout=3)
        if status != 200:
            return set()
        return {entry["id"] for entry in json.loads(body).get("data", [])}

    def direct_chat(self, model: str) -> tuple[int, str]:
        status, body = http("POST", f"{self.url}/v1/chat/completions", chat_body(model, 8), timeout=30)
        text = ""
        if status == 200:
            text = json.loads(body)["choices"][0]["message"]["content"] or ""
        return status, text

    def gauge(self, name: str) -> float:
        """Sum of an unlabelled or labelled gauge on /metrics (NaN when /metrics does not answer)."""
        status, body = http("GET", f"{self.url}/metrics", timeout=3)
        if status != 200:
            return float("nan")
        return sum(float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:\{{[^}}]*\}})?\s+(\S+)$",
                                                           body.decode(), re.M))

    def chat_requests_total(self, model: str | None = None) -> float:
        """Sum of tandem_requests_total on /metrics, optionally of one adapter (with any of its roles)."""
        status, body = http("GET", f"{self.url}/metrics", timeout=3)
        if status != 200:
            return float("nan")
        total = 0.0
        for line in body.decode().splitlines():
            match = re.match(r"tandem_requests_total\{([^}]*)\}\s+(\S+)", line)
            if not match:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            name = labels.get("model", "")
            if model is not None and name != model and not name.startswith(model + ":"):
                continue
            total += float(match.group(2))
        return total


class Gateway:
    def __init__(self, port: int, replicas: list[Replica], workdir: Path, procs: Processes):
        self.port = port
        self.replicas = replicas
        self.workdir = workdir
        self.procs = procs
        self.key = "sk-" + secrets.token_hex(32)
        self.config = workdir / "litellm-config.yaml"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        lines = ["model_list:"]
        for model_name, model in [(m, f"openai/{m}") for m in LOAD_MODELS] + [("*", "openai/*")]:
            for replica in self.replicas:
                lines += [f'  - model_name: "{model_name}"',
                          "    litellm_params:",
                          f'      model: "{model}"',
                          f'      api_base: "{replica.url}/v1"',
                          '      api_key: "unused"',
                          "      timeout: 60",
                          "    model_info:",
                          f'      id: "{replica.name}-{model_name.replace("*", "wildcard")}"']
        lines += [
            "router_settings:",
            "  routing_strategy: simple-shuffle",
            "  num_retries: 3",
            "  retry_after: 0",
            "  allowed_fails: 0",
            f"  cooldown_time: {COOLDOWN_S}",
            "  timeout: 60",
            "litellm_settings:",
            "  num_retries: 3",
            "  request_timeout: 60",
            "general_settings:",
            "  master_key: os.environ/LITELLM_MASTER_KEY",
        ]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 120.0) -> float:
        self.write_config()
        cli = shutil.which("litellm") or str(Path(sys.executable).with_name("litellm"))
        env = dict(os.environ, **LITELLM_OFFLINE_ENV, LITELLM_MASTER_KEY=self.key)
        self.proc = self.procs.start([cli, "--config", str(self.config), "--host", "127.0.0.1",
                                      "--port", str(self.port), "--num_workers", "1"],
                                     self.workdir / "logs" / "litellm.log", env=env)
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"litellm exited with {self.proc.returncode} while starting")
            status, _ = http("GET", f"{self.url}/health/liveliness", timeout=2)
            if status == 200:
                return time.monotonic() - started
            time.sleep(0.25)
        raise RuntimeError(f"litellm not up after {timeout:.0f} s")

    def chat(self, model: str, max_tokens: int = 8) -> tuple[int, str]:
        status, body = http("POST", f"{self.url}/v1/chat/completions", chat_body(model, max_tokens),
                            headers={"Authorization": f"Bearer {self.key}"}, timeout=60)
        return status, body.decode(errors="replace")


# ---------------------------------------------------------------------------------------------
# Load through the gateway
# ---------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    client: int
    stream: bool
    model: str
    started: float
    ended: float = 0.0
    ok: bool = False
    error: str = ""
    api_base: str = ""
    retries: str = ""
    chunks: int = 0


@dataclass
class Load:
    gateway: Gateway
    clients: int
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    active: dict[int, Outcome] = field(default_factory=dict)   # client -> its request in flight
    max_requests_per_client: int = 2000

    def streams_on(self, port: int) -> list[Outcome]:
        """Streams in flight right now whose first chunk came from the replica on `port`."""
        with self.lock:
            return [o for o in self.active.values() if o.stream and o.chunks > 0 and port_of(o.api_base) == port]

    def wait_for_moment(self, replica: "Replica", timeout: float) -> None:
        """Waits (at most `timeout`) until `replica` runs a stream to a client and one more sequence (a
        non-streamed request, most likely), so a signal then hits both kinds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            streams = self.streams_on(replica.port)
            if streams and replica.gauge("tandem_running_sequences") > len(streams):
                return
            time.sleep(0.02)

    def start(self) -> None:
        self.t0 = time.monotonic()
        for index in range(self.clients):
            thread = threading.Thread(target=self.client_loop, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        remaining = self.t0 + self.seconds - time.monotonic()
        if remaining > 0:
            self.stop.wait(remaining)
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=90)

    def client_loop(self, index: int) -> None:
        from openai import OpenAI

        client = OpenAI(base_url=f"{self.gateway.url}/v1", api_key=self.gateway.key, max_retries=0, timeout=60)
        rng = random.Random(index)
        for number in range(self.max_requests_per_client):
            if self.stop.is_set() or time.monotonic() - self.t0 > self.seconds:
                break
            stream = (number + index) % 2 == 0
            outcome = Outcome(index, stream, LOAD_MODELS[(number + index) % len(LOAD_MODELS)], time.monotonic())
            with self.lock:
                self.active[index] = outcome
            try:
                self.one_request(client, outcome, rng)
            except Exception as error:  # every failure is counted, whatever it is
                outcome.ok = False
                outcome.error = f"{type(error).__name__}: {str(error)[:160]}"
            outcome.ended = time.monotonic()
            with self.lock:
                del self.active[index]
                self.outcomes.append(outcome)

    def save(self, path: Path, t0: float) -> None:
        rows = [dict(o.__dict__, started=round(o.started - t0, 3), ended=round(o.ended - t0, 3))
                for o in self.outcomes]
        path.write_text(json.dumps(rows, indent=1))

    @staticmethod
    def one_request(client, outcome: Outcome, rng: random.Random) -> None:
        kwargs = dict(model=outcome.model, messages=[{"role": "user", "content": rng.choice(PROMPTS)}],
                      max_tokens=rng.randint(16, 32), temperature=0.7, seed=rng.randint(0, 1 << 30))
        raw = client.chat.completions.with_raw_response.create(stream=outcome.stream, **kwargs)
        outcome.api_base = raw.headers.get("x-litellm-model-api-base", "")
        outcome.retries = raw.headers.get("x-litellm-attempted-retries", "")
        result = raw.parse()
        if not outcome.stream:
            choice = result.choices[0]
            if choice.finish_reason not in ("stop", "length") or choice.message.content is None:
                raise RuntimeError(f"bad completion: finish_reason={choice.finish_reason}")
            outcome.ok = True
            return
        finish = None
        for chunk in result:
            outcome.chunks += 1
            for choice in chunk.choices:
                if choice.finish_reason:
                    finish = choice.finish_reason
        if finish not in ("stop", "length"):
            raise RuntimeError(f"stream ended without a finish_reason after {outcome.chunks} chunks")
        outcome.ok = True


def port_of(api_base: str) -> int | None:
    match = re.match(r"http://127\.0\.0\.1:(\d+)/", api_base)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.rows: list[tuple[str, bool, str]] = []
        self.notes: list[str] = []

    def add(self, name: str, passed: bool, detail: str) -> None:
        self.rows.append((name, passed, detail))
        log(f"{'PASS' if passed else 'FAIL'} {name}: {detail}")

    def print(self) -> None:
        width = max([len(r[0]) for r in self.rows] + [5])
        print("\n## Multi-replica report\n")
        print(f"| {'check'.ljust(width)} | result | detail |")
        print(f"|{'-' * (width + 2)}|--------|--------|")
        for name, passed, detail in self.rows:
            print(f"| {name.ljust(width)} | {'PASS' if passed else 'FAIL'}   | {detail} |")
        for note in self.notes:
            print(f"\n{note}")
        print()

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(passed for _, passed, _ in self.rows)


def check_hot_swap(replicas: list[Replica], gateway: Gateway, workdir: Path, adapters: Path,
                   report: Report) -> None:
    staging = workdir / "staging" / NEW_ADAPTER
    shutil.copytree(REPO / "adapters" / "pirate-style", staging)
    t0 = time.monotonic()
    os.rename(staging, adapters / NEW_ADAPTER)
    listed: dict[str, float] = {}
    served: dict[str, float] = {}
    deadline = t0 + HOT_SWAP_LIMIT_S + 10   # look a little past the limit, to report how late
    while time.monotonic() < deadline and len(served) < len(replicas):
        for replica in replicas:
            if replica.name not in listed and NEW_ADAPTER in replica.model_ids():
                listed[replica.name] = time.monotonic() - t0
            if replica.name in listed and replica.name not in served:
                status, _ = replica.direct_chat(NEW_ADAPTER)
                if status == 200:
                    served[replica.name] = time.monotonic() - t0
        time.sleep(0.05)
    gateway_time = None
    while time.monotonic() < deadline and gateway_time is None:
        status, _ = gateway.chat(NEW_ADAPTER)
        if status == 200:
            gateway_time = time.monotonic() - t0
        else:
            time.sleep(0.1)
    before = {r.name: r.chat_requests_total(NEW_ADAPTER) for r in replicas}
    extra_ok = sum(gateway.chat(NEW_ADAPTER)[0] == 200 for _ in range(9))
    spread = {r.name: int(r.chat_requests_total(NEW_ADAPTER) - before[r.name]) for r in replicas}

    def fmt(value: float | None) -> str:
        return f"{value:.2f} s" if value is not None else "never"

    per_replica = ", ".join(f"{r.name} listed {fmt(listed.get(r.name))} / served {fmt(served.get(r.name))}"
                            for r in replicas)
    passed = (all(listed.get(r.name, 99) <= HOT_SWAP_LIMIT_S and served.get(r.name, 99) <= HOT_SWAP_LIMIT_S
                  for r in replicas)
              and gateway_time is not None and gateway_time <= HOT_SWAP_LIMIT_S and extra_ok == 9)
    report.add("1 hot swap: new adapter on every replica", passed,
               f"`{NEW_ADAPTER}` after rename: {per_replica}; gateway (wildcard entry) served it at "
               f"{fmt(gateway_time)}; 9 more via gateway: {extra_ok} ok, per replica "
               + ", ".join(f"{k}={v}" for k, v in spread.items()))


def summarize(outcomes: list[Outcome]) -> str:
    ok = sum(o.ok for o in outcomes)
    streams = sum(o.stream for o in outcomes)
    return f"{len(outcomes)} requests ({streams} streamed), {ok} ok, {len(outcomes) - ok} failed"


def failure_lines(failures: list[Outcome], t0: float) -> list[str]:
    return [f"    client {o.client} {'stream' if o.stream else 'plain'} {o.model} via {o.api_base or '?'} "
            f"t={o.started - t0:.1f}-{o.ended - t0:.1f} s: {o.error}" for o in failures[:20]]


def check_sigkill(replicas: list[Replica], gateway: Gateway, args, workdir: Path, report: Report) -> None:
    victim = replicas[0]
    load = Load(gateway, args.clients, args.load_seconds)
    load.start()
    time.sleep(min(10.0, args.load_seconds / 4))
    # Kill while the victim is streaming to a client, so the check covers what a kill can break.
    load.wait_for_moment(victim, timeout=15)
    running_before = victim.gauge("tandem_running_sequences")
    streams_at_kill = load.streams_on(victim.port)
    t_kill = time.monotonic()
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(timeout=10)
    log(f"SIGKILL {victim.name} (port {victim.port}) at t={t_kill - load.t0:.1f} s: {running_before:.0f} "
        f"sequences running there, {len(streams_at_kill)} of them streams to our clients")
    time.sleep(1.0)
    victim.start()
    healthy_after = victim.wait_healthy(timeout=60)
    direct_status, _ = victim.direct_chat("ticket-triage")
    baseline = victim.chat_requests_total()
    t_back = time.monotonic()
    log(f"{victim.name} restarted, healthy {healthy_after:.1f} s after start; direct request {direct_status}")
    load.join()
    after = victim.chat_requests_total()
    load.save(workdir / "sigkill-requests.json", load.t0)
    outcomes = load.outcomes
    failures = [o for o in outcomes if not o.ok]
    # A failure is excused only if it was a stream on the killed replica that was running at the kill.
    excused = [o for o in failures if o.stream and port_of(o.api_base) == victim.port
               and o.started <= t_kill <= o.ended]
    unexcused = [o for o in failures if all(o is not e for e in excused)]
    plain_in_flight = [o for o in outcomes if not o.stream and o.started <= t_kill <= o.ended]
    retried = [o for o in outcomes if o.retries not in ("", "0")]
    gateway_traffic = after - baseline
    report.add("2a SIGKILL: only its running streams fail", not unexcused,
               f"{summarize(outcomes)}; at the kill {victim.name} ran {running_before:.0f} sequences, "
               f"{len(streams_at_kill)} streaming to clients: {len(excused)} of those streams failed, "
               f"{len(streams_at_kill) - len(excused)} completed; non-streamed requests in flight (any "
               f"replica): {len(plain_in_flight)}, {sum(o.ok for o in plain_in_flight)} ok, "
               f"{sum(o.retries not in ('', '0') for o in plain_in_flight)} of them after a retry; "
               f"all answers after a gateway retry: {len(retried)}; other failures: {len(unexcused)}")
    report.add("2b SIGKILL: restarted replica serves again",
               direct_status == 200 and gateway_traffic > 0,
               f"same port {victim.port}, /health 200 {healthy_after:.1f} s after restart, direct request "
               f"{direct_status}; gateway requests it served in the {time.monotonic() - t_back:.0f} s after: "
               f"{gateway_traffic:.0f} (tandem_requests_total {baseline:.0f} -> {after:.0f})")
    if failures:
        report.notes.append("SIGKILL phase failures:\n" + "\n".join(failure_lines(failures, load.t0)))


def check_sigterm(replicas: list[Replica], gateway: Gateway, args, workdir: Path, report: Report) -> None:
    victim = replicas[1]
    load = Load(gateway, args.clients, args.load_seconds)
    load.start()
    time.sleep(min(10.0, args.load_seconds / 4))
    load.wait_for_moment(victim, timeout=15)
    running_before = victim.gauge("tandem_running_sequences")
    streams_at_term = load.streams_on(victim.port)
    t_term = time.monotonic()
    os.kill(victim.proc.pid, signal.SIGTERM)
    log(f"SIGTERM {victim.name} (port {victim.port}) at t={t_term - load.t0:.1f} s: {running_before:.0f} "
        f"sequences running there, {len(streams_at_term)} of them streams to our clients")
    try:
        code = victim.proc.wait(timeout=45)
    except subprocess.TimeoutExpired:
        code = None
    drained = time.monotonic() - t_term
    load.join()
    load.save(workdir / "sigterm-requests.json", load.t0)
    outcomes = load.outcomes
    failures = [o for o in outcomes if not o.ok]
    streams_ok = sum(o.ok for o in streams_at_term)
    plain_in_flight = [o for o in outcomes if not o.stream and o.started <= t_term <= o.ended]
    report.add("3 SIGTERM: no request fails, exit 0", not failures and code == 0,
               f"{summarize(outcomes)}; at SIGTERM {victim.name} ran {running_before:.0f} sequences, "
               f"{len(streams_at_term)} streaming to clients: {streams_ok} of those completed; non-streamed "
               f"in flight (any replica): {len(plain_in_flight)}, {sum(o.ok for o in plain_in_flight)} ok; "
               f"exit code {code} {drained:.1f} s after SIGTERM")
    if failures:
        report.notes.append("SIGTERM phase failures:\n" + "\n".join(failure_lines(failures, load.t0)))
    victim.start()
    healthy_after = victim.wait_healthy(timeout=60)
    status, _ = victim.direct_chat("ticket-triage")
    report.notes.append(f"After the SIGTERM check {victim.name} was restarted: /health 200 after "
                        f"{healthy_after:.1f} s, direct request {status}.")


# ---------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(REPO / ".build/release/tandem"))
    parser.add_argument("--model", default=str(REPO / "models/gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--load-seconds", type=float, default=40.0)
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary folder (logs, config)")
    args = parser.parse_args()
    binary, model = Path(args.binary), Path(args.model)
    for path, hint in ((binary, "make build"), (model, "make setup")):
        if not path.exists():
            print(f"{path} is missing: run `{hint}` first", file=sys.stderr)
            return 2
    if grep_avx512() and "OPENBLAS_CORETYPE" not in os.environ:
        os.environ["OPENBLAS_CORETYPE"] = "SKYLAKEX"   # spares each replica its re-exec

    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="tandem-replicas-"))
    report = Report()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)   # also when started in the background, where SIGINT is ignored
    started = time.monotonic()
    try:
        (workdir / "logs").mkdir()
        (workdir / "staging").mkdir()
        adapters = workdir / "adapters"
        shutil.copytree(REPO / "adapters", adapters)
        shutil.copy2(binary, workdir / "tandem")
        binary = workdir / "tandem"
        ports = free_ports(4)
        replicas = [Replica(f"r{i + 1}", ports[i], binary, model, adapters, workdir / "logs", procs)
                    for i in range(3)]
        for replica in replicas:
            replica.start()
        for replica in replicas:
            seconds = replica.wait_healthy()
            log(f"{replica.name} on 127.0.0.1:{replica.port} healthy after {seconds:.1f} s")
        for replica in replicas:
            status, _ = replica.direct_chat("ticket-triage")
            if status != 200:
                raise RuntimeError(f"{replica.name}: warm-up request answered {status}")
        gateway = Gateway(ports[3], replicas, workdir, procs)
        log(f"LiteLLM proxy on 127.0.0.1:{gateway.port} up after {gateway.start():.1f} s "
            f"(config {gateway.config})")
        for model_id in LOAD_MODELS:
            status, body = gateway.chat(model_id)
            if status != 200:
                raise RuntimeError(f"gateway warm-up on {model_id} answered {status}: {body[:300]}")

        check_hot_swap(replicas, gateway, workdir, adapters, report)
        time.sleep(COOLDOWN_S + 1)   # let any cooldown from the hot swap expire
        check_sigkill(replicas, gateway, args, workdir, report)
        time.sleep(COOLDOWN_S + 1)
        check_sigterm(replicas, gateway, args, workdir, report)
        report.notes.append(f"Gateway: LiteLLM {litellm_version()} proxy, `simple-shuffle`, num_retries 3, "
                            f"allowed_fails 0, cooldown_time {COOLDOWN_S} s; `{NEW_ADAPTER}` was not declared, "
                            "it went through the wildcard entry (`*` -> `openai/*`, one per replica).")
        report.notes.append(f"Total time {time.monotonic() - started:.0f} s.")
    except KeyboardInterrupt as interrupt:
        report.add("run", False, f"interrupted ({interrupt})")
    except Exception as error:
        report.add("run", False, f"{type(error).__name__}: {error}")
        for log_file in sorted((workdir / "logs").glob("*.log")):
            tail = log_file.read_text(errors="replace").splitlines()[-15:]
            print(f"--- last lines of {log_file.name} ---\n" + "\n".join(tail))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        if args.keep_temp:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report.print()
    return 0 if report.passed else 1


def grep_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def litellm_version() -> str:
    try:
        from importlib.metadata import version
        return version("litellm")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())

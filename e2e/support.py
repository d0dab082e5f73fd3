"""Shared helpers for the Tandem end-to-end suite (standard library only).

Imported by conftest.py and the test modules (pytest puts this directory on sys.path).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TANDEM_BIN = Path(os.environ.get("TANDEM_BIN", REPO / ".build" / "release" / "tandem"))
MODEL_PATH = Path(os.environ.get("TANDEM_MODEL", REPO / "models" / "gemma-3-270m-q4_k_m.gguf"))
MODEL_ID = "gemma-3-270m"

HEALTH_TIMEOUT_S = 120
SHUTDOWN_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 120

# Token ids from the model's GGUF vocabulary (tokenizer.ggml.tokens).
BOS_ID = 2
SEA_ID = 5442  # "▁sea"
# "<bos>The capital of France is" == [2, 818 "The", 5279 "▁capital", 529 "▁of", 7001 "▁France", 563 "▁is"]
CAPITAL_PROMPT = "The capital of France is"
CAPITAL_PROMPT_IDS = [BOS_ID, 818, 5279, 529, 7001, 563]

ERROR_KEYS = ("message", "type", "param", "code")


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_serve_subcommand(binary: Path) -> bool:
    """True when `tandem --help` lists a `serve` subcommand."""
    try:
        out = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return re.search(r"^\s+serve\b", out.stdout + out.stderr, re.MULTILINE) is not None


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


class TandemServer:
    """One `tandem serve` process on a free port; stderr (and stdout) go to a log file."""

    def __init__(self, name: str, binary: Path, model: Path, adapters_dir: Path, log_dir: Path,
                 extra_args: list[str] | None = None):
        self.name = name
        self.binary = Path(binary)
        self.model = Path(model)
        self.adapters_dir = Path(adapters_dir)
        self.extra_args = list(extra_args or [])
        self.port = free_port()
        self.host = "127.0.0.1"
        self.url = f"http://{self.host}:{self.port}"
        self.log_path = Path(log_dir) / f"tandem-{name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self._log = None

    @property
    def argv(self) -> list[str]:
        return [str(self.binary), "serve", "--model", str(self.model), "--adapters", str(self.adapters_dir),
                "--host", self.host, "--port", str(self.port), *self.extra_args]

    def describe(self) -> str:
        return f"[{self.name}] {' '.join(self.argv)} (log: {self.log_path})"

    def start(self, timeout: float = HEALTH_TIMEOUT_S) -> "TandemServer":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=str(REPO))
        deadline = time.monotonic() + timeout
        last = "no response yet"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self.returncode = code
                raise RuntimeError(f"tandem serve exited with code {code} before becoming healthy\n"
                                   f"{self.describe()}\n--- log tail ---\n{tail(self.log_path)}")
            try:
                status, _, _ = http_request("GET", self.url + "/health", timeout=2)
                if status == 200:
                    return self
                last = f"/health returned {status}"
            except OSError as exc:  # connection refused while the socket is not bound yet
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"tandem serve not healthy after {timeout:.0f} s ({last})\n{self.describe()}\n"
                           f"--- log tail ---\n{tail(self.log_path)}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout: float = SHUTDOWN_TIMEOUT_S) -> int | None:
        """SIGTERM and wait; returns the exit code, or None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.returncode = None
        else:
            self.returncode = self.proc.returncode
        self._close_log()
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines)


# ---------------------------------------------------------------------------------------------
# HTTP without third-party packages
# ---------------------------------------------------------------------------------------------

def http_request(method: str, url: str, body=None, headers: dict | None = None,
                 timeout: float = REQUEST_TIMEOUT_S) -> tuple[int, dict, bytes]:
    """(status, lower-cased headers, raw body). `body` may be bytes, str or a JSON-able object.
    HTTP error statuses are returned, not raised; connection errors raise OSError."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, {k.lower(): v for k, v in err.headers.items()}, raw


def post_json(url: str, body, headers: dict | None = None, timeout: float = REQUEST_TIMEOUT_S):
    status, _, raw = http_request("POST", url, body, headers, timeout)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, parsed, raw


def assert_error_shape(payload, *, status: int | None = None, param=..., code=..., types=None) -> dict:
    """Checks `{"error": {"message": str, "type": str, "param": str|null, "code": str|null}}` and
    returns the inner object. `param`/`code` are checked when given; `types` is a set of allowed types."""
    where = f" (HTTP {status})" if status is not None else ""
    assert isinstance(payload, dict) and "error" in payload, f"not an OpenAI error body{where}: {payload!r}"
    err = payload["error"]
    assert isinstance(err, dict), f"error is not an object{where}: {payload!r}"
    for key in ERROR_KEYS:
        assert key in err, f"error object lacks {key!r}{where}: {payload!r}"
    assert isinstance(err["message"], str) and err["message"], f"empty/non-string message{where}: {payload!r}"
    assert isinstance(err["type"], str) and err["type"], f"empty/non-string type{where}: {payload!r}"
    assert err["param"] is None or isinstance(err["param"], str), f"param not str|null{where}: {payload!r}"
    assert err["code"] is None or isinstance(err["code"], str), f"code not str|null{where}: {payload!r}"
    if param is not ...:
        assert err["param"] == param, f"expected param {param!r}{where}, got {err['param']!r}: {payload!r}"
    if code is not ...:
        assert err["code"] == code, f"expected code {code!r}{where}, got {err['code']!r}: {payload!r}"
    if types is not None:
        assert err["type"] in types, f"expected type in {sorted(types)}{where}, got {err['type']!r}"
    return err


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------

def fetch_metrics(base_url: str) -> str:
    status, _, raw = http_request("GET", base_url + "/metrics", timeout=10)
    assert status == 200, f"/metrics returned {status}: {raw[:500]!r}"
    return raw.decode("utf-8", "replace")


def metric_sum(text: str, name: str) -> float | None:
    """Sum of every sample of exactly `name` (any label set); None when no sample exists."""
    pattern = re.compile(r"^" + re.escape(name) + r"(?:\{[^}]*\})?\s+([-+0-9.eEinfaINFA]+)(?:\s+\d+)?\s*$")
    total, found = 0.0, False
    for line in text.splitlines():
        m = pattern.match(line)
        if m:
            total += float(m.group(1))
            found = True
    return total if found else None


# ---------------------------------------------------------------------------------------------
# `tandem generate` (the reference path for greedy output)
# ---------------------------------------------------------------------------------------------

def gemma_chat_prompt(turns: list[tuple[str, str]]) -> str:
    """Gemma 3 chat template over (role, text) turns, roles 'user' / 'model', ending with the model turn
    open. BOS is not written: `tandem generate` adds it."""
    out = []
    for role, text in turns:
        out.append(f"<start_of_turn>{role}\n{text}<end_of_turn>\n")
    out.append("<start_of_turn>model\n")
    return "".join(out)


def run_generate(prompt: str, max_tokens: int, binary: Path = TANDEM_BIN, model: Path = MODEL_PATH) -> dict:
    """Runs `tandem generate ... --temperature 0`; returns {"text", "prompt_tokens", "completion_tokens",
    "finish"} (the last three None when the timing line on stderr cannot be parsed)."""
    proc = subprocess.run([str(binary), "generate", "--model", str(model), "--prompt", prompt,
                           "--max-tokens", str(max_tokens), "--temperature", "0"],
                          capture_output=True, timeout=180)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, f"tandem generate failed ({proc.returncode}):\n{stderr[-3000:]}"
    text = proc.stdout.decode("utf-8")
    # The command ends its output with one newline of its own (`print("")`).
    if text.endswith("\n"):
        text = text[:-1]
    result = {"text": text, "prompt_tokens": None, "completion_tokens": None, "finish": None}
    m = re.search(r"prompt: (\d+) tokens.*decode: (\d+) tokens.*finish: (\w+)", stderr)
    if m:
        result.update(prompt_tokens=int(m.group(1)), completion_tokens=int(m.group(2)), finish=m.group(3))
    return result


# ---------------------------------------------------------------------------------------------
# curl
# ---------------------------------------------------------------------------------------------

CURL = shutil.which("curl")


def curl(args: list[str], input_bytes: bytes | None = None, timeout: float = REQUEST_TIMEOUT_S):
    """Runs `curl -sS <args>`; returns CompletedProcess with bytes stdout/stderr."""
    assert CURL, "curl not found on PATH"
    return subprocess.run([CURL, "-sS", "--max-time", str(int(timeout)), *args], input=input_bytes,
                          capture_output=True, timeout=timeout + 15)


def parse_sse(raw: str) -> list[str]:
    """Payloads of the `data: ` lines of an SSE body, in order. Asserts every non-empty line is a
    `data: ` line (comments `:...` are allowed) and events are separated by blank lines."""
    payloads = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        if not line or line.startswith(":"):
            continue
        assert line.startswith("data: "), f"unexpected SSE line: {line!r}"
        payloads.append(line[len("data: "):])
    return payloads


def assert_still_serving(client) -> None:
    """One short chat request through an `openai.OpenAI` client answers normally."""
    r = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    assert r.choices[0].finish_reason in ("stop", "length")

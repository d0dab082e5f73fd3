"""Tandem driven by `curl -sS -N` through subprocess: raw SSE framing, HTTP status codes, auth, body
limits, client disconnects, /health and /metrics."""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import time

import pytest

from support import (CURL, MODEL_ID, assert_error_shape, curl, fetch_metrics, metric_sum, parse_sse)

pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed")

METRIC_NAMES = [
    "tandem_requests_total",
    "tandem_prompt_tokens_total",
    "tandem_completion_tokens_total",
    "tandem_time_to_first_token_seconds",
    "tandem_queue_depth",
    "tandem_running_sequences",
]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def curl_http(tmp_path, url: str, *, method: str = "GET", body: bytes | None = None,
              headers: dict | None = None, timeout: float = 120, extra: list[str] | None = None):
    """One request through curl. Returns (status, headers_text, body_text)."""
    out_file = tmp_path / f"body-{time.monotonic_ns()}"
    hdr_file = tmp_path / f"headers-{time.monotonic_ns()}"
    args = ["-N", "-X", method, url, "-o", str(out_file), "-D", str(hdr_file), "-w", "%{http_code}"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    if body is not None:
        # `Expect:` off: curl 7.x would otherwise send `Expect: 100-continue` for bodies over 1 KiB.
        args += ["-H", "Content-Type: application/json", "-H", "Expect:", "--data-binary", "@-"]
    args += extra or []
    proc = curl(args, input_bytes=body if body is not None else b"", timeout=timeout)
    assert proc.returncode == 0, f"curl failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
    status = int(proc.stdout.decode().strip() or 0)
    headers_text = hdr_file.read_text(errors="replace") if hdr_file.exists() else ""
    body_text = out_file.read_text(errors="replace") if out_file.exists() else ""
    return status, headers_text, body_text


def header(headers_text: str, name: str) -> str | None:
    for line in headers_text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            if k.strip().lower() == name.lower():
                return v.strip()
    return None


def chat_body(**fields) -> bytes:
    payload = {"model": MODEL_ID, "messages": user("Write a short poem about the sea."), "max_tokens": 8,
               "temperature": 0}
    payload.update(fields)
    return json.dumps(payload).encode()


# ---------------------------------------------------------------------------------------------
# Health and metrics
# ---------------------------------------------------------------------------------------------

def test_health(tandem_server, tmp_path):
    status, _, _ = curl_http(tmp_path, tandem_server + "/health")
    assert status == 200


def test_metrics_names(tandem_server, tmp_path):
    status, headers, text = curl_http(tmp_path, tandem_server + "/metrics")
    assert status == 200
    content_type = (header(headers, "content-type") or "").lower()
    assert "text/plain" in content_type or "openmetrics" in content_type, content_type
    missing = [name for name in METRIC_NAMES if name not in text]
    assert not missing, f"/metrics lacks {missing}:\n{text[:3000]}"
    for gauge in ("tandem_queue_depth", "tandem_running_sequences"):
        assert metric_sum(text, gauge) is not None, f"no sample line for {gauge}"


def test_metrics_count_a_request(tandem_server, tmp_path):
    names = ["tandem_requests_total", "tandem_prompt_tokens_total", "tandem_completion_tokens_total"]
    before = {n: metric_sum(fetch_metrics(tandem_server), n) or 0.0 for n in names}
    status, _, text = curl_http(tmp_path, tandem_server + "/v1/chat/completions", method="POST",
                                body=chat_body(max_tokens=5, ignore_eos=True))
    assert status == 200, text
    usage = json.loads(text)["usage"]
    want = {"tandem_requests_total": 1, "tandem_prompt_tokens_total": usage["prompt_tokens"],
            "tandem_completion_tokens_total": usage["completion_tokens"]}
    deadline = time.monotonic() + 3
    while True:
        after = {n: metric_sum(fetch_metrics(tandem_server), n) or 0.0 for n in names}
        short = {n: (after[n] - before[n], want[n]) for n in names if after[n] - before[n] < want[n]}
        if not short or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not short, f"counters did not grow by at least the request's numbers (delta, expected): {short}"


# ---------------------------------------------------------------------------------------------
# Streaming framing
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_stream_framing(tandem_server, tmp_path, endpoint):
    if endpoint == "chat":
        path, obj = "/v1/chat/completions", "chat.completion.chunk"
        body = chat_body(max_tokens=12, stream=True, stream_options={"include_usage": True})
    else:
        path, obj = "/v1/completions", "text_completion"
        body = json.dumps({"model": MODEL_ID, "prompt": "The capital of France is", "max_tokens": 12,
                           "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}).encode()
    status, headers, raw = curl_http(tmp_path, tandem_server + path, method="POST", body=body)
    assert status == 200, raw
    assert (header(headers, "content-type") or "").startswith("text/event-stream"), headers
    normalized = raw.replace("\r\n", "\n")
    assert normalized.rstrip("\n").endswith("data: [DONE]"), f"stream does not end with [DONE]: {raw[-300:]!r}"
    for event in filter(None, (e.strip("\n") for e in normalized.split("\n\n"))):
        assert event.startswith("data: ") or event.startswith(":"), f"bad SSE event: {event!r}"
    payloads = parse_sse(raw)
    assert payloads[-1] == "[DONE]" and payloads.count("[DONE]") == 1
    chunks = [json.loads(p) for p in payloads[:-1]]  # each chunk must be valid JSON
    assert len(chunks) >= 2
    assert len({c["id"] for c in chunks}) == 1
    for c in chunks:
        assert c["object"] == obj, c
        assert c["model"] == MODEL_ID, c
        assert isinstance(c["created"], int), c
    usage_chunk, content_chunks = chunks[-1], chunks[:-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] > 0, usage_chunk
    assert usage_chunk["usage"]["total_tokens"] == (usage_chunk["usage"]["prompt_tokens"]
                                                     + usage_chunk["usage"]["completion_tokens"])
    assert all(len(c["choices"]) == 1 for c in content_chunks)
    finishes = [c["choices"][0].get("finish_reason") for c in content_chunks]
    assert finishes[-1] in {"stop", "length"} and all(f is None for f in finishes[:-1]), finishes
    if endpoint == "chat":
        assert content_chunks[0]["choices"][0]["delta"].get("role") == "assistant"


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_malformed_json_is_400(tandem_server, tmp_path, path):
    status, _, text = curl_http(tmp_path, tandem_server + path, method="POST",
                                body=b'{"model": "gemma-3-270m", "messages": [')
    assert status == 400, text
    err = assert_error_shape(json.loads(text), status=status)
    assert err["type"] == "invalid_request_error", err


def test_body_too_large_is_413(small_body_server, tmp_path):
    limit = small_body_server.max_body_bytes
    big = chat_body(messages=user("word " * (4 * limit // 5)))
    assert len(big) > 2 * limit
    status, _, text = curl_http(tmp_path, small_body_server.url + "/v1/chat/completions", method="POST", body=big)
    assert status == 413, text[:500]
    if text.strip().startswith("{"):
        assert_error_shape(json.loads(text), status=status)
    # A body under the limit is served normally.
    small = chat_body(max_tokens=2)
    assert len(small) < limit
    status, _, text = curl_http(tmp_path, small_body_server.url + "/v1/chat/completions", method="POST", body=small)
    assert status == 200, text


def test_api_key(auth_server, tmp_path):
    url = auth_server.url
    auth_types = {"invalid_request_error", "authentication_error"}

    status, _, text = curl_http(tmp_path, url + "/v1/chat/completions", method="POST", body=chat_body(max_tokens=2))
    assert status == 401, text
    assert_error_shape(json.loads(text), status=status, code="invalid_api_key", types=auth_types)

    status, _, text = curl_http(tmp_path, url + "/v1/chat/completions", method="POST", body=chat_body(max_tokens=2),
                                headers={"Authorization": "Bearer not-the-key"})
    assert status == 401, text
    assert_error_shape(json.loads(text), status=status, code="invalid_api_key", types=auth_types)

    status, _, text = curl_http(tmp_path, url + "/v1/models")
    assert status == 401, text
    assert_error_shape(json.loads(text), status=status, code="invalid_api_key", types=auth_types)

    status, _, text = curl_http(tmp_path, url + "/v1/chat/completions", method="POST", body=chat_body(max_tokens=2),
                                headers={"Authorization": f"Bearer {auth_server.api_key}"})
    assert status == 200, text
    assert json.loads(text)["object"] == "chat.completion"

    status, _, _ = curl_http(tmp_path, url + "/health")
    assert status == 200, "/health must not need the key"


# ---------------------------------------------------------------------------------------------
# Client disconnect
# ---------------------------------------------------------------------------------------------

def _read_first_data_line(proc: subprocess.Popen, timeout: float) -> bytes:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for line in buf.split(b"\n")[:-1]:
                if line.startswith(b"data: {"):
                    return line
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
    finally:
        sel.close()
    stderr = b""
    if proc.poll() is not None and proc.stderr is not None:
        stderr = proc.stderr.read()
    raise AssertionError(f"no `data: {{` line within {timeout} s; got {buf[:500]!r}; curl stderr {stderr!r}")


def _running_sequences(url: str) -> float:
    value = metric_sum(fetch_metrics(url), "tandem_running_sequences")
    assert value is not None, "/metrics has no tandem_running_sequences sample"
    return value


def test_disconnect_mid_stream(tandem_server, tmp_path):
    body = chat_body(messages=user("Tell me a very long story about a lighthouse keeper."), max_tokens=2000,
                     ignore_eos=True, stream=True, temperature=0)
    body_file = tmp_path / "long.json"
    body_file.write_bytes(body)
    proc = subprocess.Popen([CURL, "-sS", "-N", "-X", "POST", tandem_server + "/v1/chat/completions",
                             "-H", "Content-Type: application/json", "-H", "Expect:",
                             "--data-binary", f"@{body_file}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = _read_first_data_line(proc, timeout=60)
        assert json.loads(first[len(b"data: "):])["object"] == "chat.completion.chunk"
        # The generation is under way (2000 tokens take far longer than this check).
        deadline = time.monotonic() + 5
        while _running_sequences(tandem_server) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _running_sequences(tandem_server) >= 1, "stream is open but tandem_running_sequences is 0"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()

    deadline = time.monotonic() + 5
    running = _running_sequences(tandem_server)
    while running > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        running = _running_sequences(tandem_server)
    assert running == 0, "the server kept generating for a disconnected client"

    status, _, text = curl_http(tmp_path, tandem_server + "/health")
    assert status == 200
    status, _, text = curl_http(tmp_path, tandem_server + "/v1/chat/completions", method="POST",
                                body=chat_body(max_tokens=4), timeout=60)
    assert status == 200, text
    assert json.loads(text)["choices"][0]["finish_reason"] in {"stop", "length"}

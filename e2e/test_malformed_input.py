"""Generated hostile input for the JSON and SSE layers of the chat and completions routes.

Random bytes, every truncation of a valid body, values of the wrong JSON type in every field, huge and
extreme numbers, deeply nested JSON, broken HTTP framing: each must be answered with a 4xx OpenAI error
body (never a 5xx, a hang or a crash), streamed requests that are refused must get a JSON error rather
than an event stream, and the server must keep serving afterwards.

The cases come from `random.Random(SEED)` (stdlib only, no extra dependency); set TANDEM_MALFORMED_SEED
to explore other cases. The suite has its own server instance (`--max-model-len 256`), so a crash here
cannot take the shared instance down with it; it runs in a few seconds.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import socket
import time

import pytest

from support import MODEL_ID, SHUTDOWN_TIMEOUT_S, assert_error_shape, fetch_metrics, metric_sum

SEED = int(os.environ.get("TANDEM_MALFORMED_SEED", "20261124"))

MAX_MODEL_LEN = 256
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


# ---------------------------------------------------------------------------------------------
# Server and HTTP plumbing
# ---------------------------------------------------------------------------------------------

DEATHS: list[str] = []  # tests during which the server died (it is restarted for the next test)


@pytest.fixture(scope="module")
def server(tandem_factory):
    instance = tandem_factory("malformed-input", ["--max-model-len", str(MAX_MODEL_LEN), "--default-max-tokens", "4"])
    yield instance
    alive = instance.alive()
    code = instance.terminate(SHUTDOWN_TIMEOUT_S)
    assert not DEATHS, f"tandem serve died during: {', '.join(DEATHS)}"
    assert alive, f"tandem serve died during the malformed-input tests\n{instance.log_tail(60)}"
    assert code == 0, f"tandem serve exited with {code} after SIGTERM\n{instance.log_tail(40)}"


@pytest.fixture(autouse=True)
def _restart_after_a_crash(request, server, client):
    """A crash fails the test that caused it (and the module teardown); the next test gets a new server,
    so one crash does not hide what the other tests would find."""
    yield
    client.close()
    try:
        healthy = server.alive() and client.request("GET", "/health", timeout=5)[0] == 200
    except AssertionError:
        healthy = False
    client.close()
    if not healthy:
        if request.node.get_closest_marker("xfail") is None:
            DEATHS.append(request.node.name)
        if server.proc is not None:
            try:
                server.proc.wait(timeout=15)  # a crashing Swift process first writes its backtrace
            except Exception:  # noqa: BLE001 - still running: stop it
                server.kill()
        server.start()


def crash_excerpt(server) -> str:
    """The lines of the server log that say why it crashed (Swift runtime failure, crashed thread, top
    frames), else its tail."""
    lines = server.log_tail(100_000).splitlines()
    picked = []
    for i, line in enumerate(lines):
        if "Fatal error" in line or "runtime failure" in line or "crashed:" in line:
            picked += [l for l in lines[i:i + 5] if l.strip()]
    return "\n".join(picked[:20]) if picked else "\n".join(lines[-30:])


class Client:
    """Keep-alive HTTP/1.1 client: the server must keep a connection usable after answering an error."""

    def __init__(self, server):
        self.server = server
        self.conn: http.client.HTTPConnection | None = None
        self.sent = 0

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 60) -> tuple[int, dict, bytes]:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                response = self.conn.getresponse()
                data = response.read()
                self.sent += 1
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data
            except (ConnectionError, http.client.HTTPException, socket.timeout) as exc:
                self.close()
                if attempt == 2 or not self.server.alive():
                    try:
                        self.server.proc.wait(timeout=5)  # a crashing Swift process first writes its backtrace
                    except Exception:  # noqa: BLE001 - still running
                        pass
                    raise AssertionError(
                        f"{method} {path} with body {(body or b'')[:200]!r}: {type(exc).__name__}: {exc}; server "
                        f"{'alive' if self.server.alive() else 'DEAD'}\n{crash_excerpt(self.server)}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@pytest.fixture(scope="module")
def client(server):
    c = Client(server)
    yield c
    c.close()


def expect_4xx(client: Client, path: str, body: bytes, *, status: int | set[int] | None = None,
               param=..., code=..., what: str = "") -> dict:
    """Sends `body`; asserts a 4xx with an OpenAI error body (JSON, not an event stream)."""
    got, headers, raw = client.request("POST", path, body)
    label = f"{what or 'body'} {body[:160]!r}{'...' if len(body) > 160 else ''}"
    assert got < 500, f"{label}: HTTP {got} {raw[:300]!r}\n{client.server.log_tail(30)}"
    assert 400 <= got < 500, f"{label}: expected a 4xx, got HTTP {got} {raw[:300]!r}"
    if status is not None:
        wanted = {status} if isinstance(status, int) else status
        assert got in wanted, f"{label}: expected HTTP {sorted(wanted)}, got {got} {raw[:300]!r}"
    assert headers.get("content-type", "").startswith("application/json"), (
        f"{label}: HTTP {got} with Content-Type {headers.get('content-type')!r}")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise AssertionError(f"{label}: HTTP {got} body is not JSON: {raw[:300]!r}") from None
    return assert_error_shape(payload, status=got, param=param, code=code)


def ok_body(path: str = CHAT, **fields) -> dict:
    base = ({"model": MODEL_ID, "messages": [{"role": "user", "content": "Say hi."}]} if path == CHAT
            else {"model": MODEL_ID, "prompt": "Say hi."})
    base.update({"max_tokens": 2, "temperature": 0})
    base.update(fields)
    return base


def dump(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def assert_serving(client: Client) -> None:
    """The server still answers /health and a real generation, on the same client."""
    assert client.server.alive(), f"tandem serve died\n{client.server.log_tail(40)}"
    status, _, raw = client.request("GET", "/health")
    assert status == 200, raw
    status, _, raw = client.request("POST", CHAT, dump(ok_body(max_tokens=2)))
    assert status == 200, raw
    answer = json.loads(raw)
    assert answer["object"] == "chat.completion" and answer["choices"][0]["finish_reason"] in {"stop", "length"}, answer


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------

def random_bytes(rng: random.Random, n: int) -> list[bytes]:
    out = [b"", b"\x00", b"\xff\xfe\xfd", b"null", b"true", b"0", b"\"text\"", b"[]", b"{}", b"{\"model\": 5}"]
    while len(out) < n:
        kind = rng.randrange(3)
        size = rng.choice([1, 2, 7, 64, 513, 4096])
        if kind == 0:
            out.append(bytes(rng.randrange(256) for _ in range(size)))
        elif kind == 1:  # printable junk with JSON punctuation
            out.append("".join(rng.choice("{}[]\":,0123456789.eE+-truefalsnl \\\n\t") for _ in range(size)).encode())
        else:  # a valid body with random bytes spliced in
            body = bytearray(dump(ok_body()))
            at = rng.randrange(len(body))
            body[at:at + rng.randrange(1, 4)] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
            out.append(bytes(body))
    return out


def is_valid_request_json(raw: bytes, path: str) -> bool:
    """True when `raw` happens to be a JSON object that names model and messages/prompt (then any answer
    but a 5xx is fine)."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(value, dict) and "model" in value and ("messages" in value or "prompt" in value)


# JSON kinds each field accepts; any other kind must be a 400 naming the field.
CHAT_FIELDS = {
    "model": {"string"}, "messages": {"array"},
    "max_tokens": {"int", "null"}, "max_completion_tokens": {"int", "null"}, "n": {"int", "null"},
    "temperature": {"int", "number", "null"}, "top_p": {"int", "number", "null"},
    "top_k": {"int", "null"}, "min_p": {"int", "number", "null"}, "seed": {"int", "null"},
    "presence_penalty": {"int", "number", "null"}, "frequency_penalty": {"int", "number", "null"},
    "repetition_penalty": {"int", "number", "null"}, "lora_scale": {"int", "number", "null"},
    "logit_bias": {"object", "null"}, "stop": {"string", "array", "null"}, "ignore_eos": {"bool", "null"},
    "stream": {"bool", "null"}, "stream_options": {"object", "null"}, "logprobs": {"bool", "null"},
    "top_logprobs": {"int", "null"}, "user": {"string", "null"}, "response_format": {"object", "null"},
}
COMPLETION_FIELDS = {**{k: v for k, v in CHAT_FIELDS.items()
                        if k not in ("messages", "logprobs", "top_logprobs", "response_format")},
                     "prompt": {"string", "array"}, "logprobs": {"int", "null"}, "echo": {"bool", "null"}}
SAMPLES = {
    "null": [None], "bool": [True, False], "int": [0, 7, -3], "number": [0.5, -1.25, 1e-7],
    "string": ["", "x", "12", "true", "null"], "array": [[], [1], ["a"], [[1]], [{}]],
    "object": [{}, {"a": 1}, {"model": MODEL_ID}],
}


def wrong_type_cases(rng: random.Random, fields: dict[str, set[str]], per_field: int) -> list[tuple[str, object]]:
    cases = []
    for field, accepted in fields.items():
        # (A fraction in an integer field has a test of its own, below.)
        kinds = [k for k in SAMPLES if k not in accepted and not (k == "int" and "number" in accepted)
                 and not (k == "number" and "int" in accepted)]
        for _ in range(per_field):
            kind = rng.choice(kinds)
            cases.append((field, rng.choice(SAMPLES[kind])))
    return cases


def nested(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_random_bytes_are_4xx(client, path):
    rng = random.Random(f"{SEED}-bytes-{path}")
    for raw in random_bytes(rng, 60):
        if is_valid_request_json(raw, path):
            status, _, body = client.request("POST", path, raw)
            assert status < 500, (raw, status, body)
        else:
            expect_4xx(client, path, raw, status=400, what="random bytes")
    assert_serving(client)


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
@pytest.mark.parametrize("stream", [False, True])
def test_every_truncation_is_invalid_json(client, path, stream):
    body = dump(ok_body(path, stream=stream, stop=["\n\n", "é✓"], logit_bias={"5442": 1.5},
                        **({"messages": [{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": [{"type": "text", "text": "Hi ☃"}]}]}
                           if path == CHAT else {"prompt": ["Hi ☃", "Yo"]})))
    rng = random.Random(f"{SEED}-cut-{path}-{stream}")
    cuts = sorted(set(range(0, 12)) | set(rng.sample(range(12, len(body)), min(40, len(body) - 12))))
    for cut in cuts:
        expect_4xx(client, path, body[:cut], status=400, code="invalid_json", what=f"cut at {cut}/{len(body)}")
    assert_serving(client)


@pytest.mark.parametrize("path,fields", [(CHAT, CHAT_FIELDS), (COMPLETIONS, COMPLETION_FIELDS)], ids=["chat", "completions"])
def test_wrong_types_name_the_field(client, path, fields):
    rng = random.Random(f"{SEED}-types-{path}")
    for field, value in wrong_type_cases(rng, fields, per_field=3):
        for stream in (False, True):
            body = ok_body(path, stream=stream)
            body[field] = value
            err = expect_4xx(client, path, dump(body), status=400, what=f"{field}={value!r} stream={stream}")
            assert err["param"] is not None and err["param"].split(".")[0].split("[")[0] == field, (field, value, err)
    assert_serving(client)


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_fractions_in_integer_fields_name_the_field(client, path):
    """`{"n": 1.5}` is valid JSON with a wrong value: a 400 naming `n`, not "could not parse the JSON body"."""
    fields = [f for f, kinds in (CHAT_FIELDS if path == CHAT else COMPLETION_FIELDS).items()
              if "int" in kinds and "number" not in kinds]
    wrong = []
    for field in fields:
        for value in (1.5, 0.5, 1e-07):
            err = expect_4xx(client, path, dump(ok_body(path, **{field: value})), status=400, what=f"{field}={value}")
            if err["param"] != field:
                wrong.append(f"{field}={value}: param {err['param']!r} code {err['code']!r}")
    assert not wrong, "fractions in integer fields are not reported against the field:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_wrong_types_inside_nested_fields(client, path):
    cases = [("stream_options", {"include_usage": "yes"}), ("stream_options", {"include_usage": 1}),
             ("logit_bias", {"5442": "high"}), ("logit_bias", {"5442": None}), ("logit_bias", {"5442": [1]}),
             ("stop", [1, 2]), ("stop", ["a", None]), ("stop", [["a"]])]
    if path == CHAT:
        cases += [("messages", [1]), ("messages", ["hi"]), ("messages", [None]), ("messages", [{}]),
                  ("messages", [{"role": 1, "content": "x"}]), ("messages", [{"role": None, "content": "x"}]),
                  ("messages", [{"role": "user", "content": 5}]), ("messages", [{"role": "user", "content": {"text": "x"}}]),
                  ("messages", [{"role": "user", "content": [5]}]), ("messages", [{"role": "user", "content": [{"text": "x"}]}]),
                  ("messages", [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]),
                  ("messages", [{"role": "user", "content": "x", "name": 3}]),
                  ("messages", [{"role": "robot", "content": "x"}]), ("response_format", {"type": 5}),
                  ("response_format", {"type": "json_schema"}), ("response_format", {"type": "yaml"}),
                  ("response_format", {})]
    else:
        cases += [("prompt", [1, "a"]), ("prompt", [[1], "a"]), ("prompt", [[1, [2]]]), ("prompt", [None]),
                  ("prompt", [-1]), ("prompt", [2**31]), ("prompt", [[262144]]), ("prompt", [1.5]), ("prompt", [{}])]
    for field, value in cases:
        for stream in (False, True):
            body = ok_body(path, stream=stream)
            body[field] = value
            err = expect_4xx(client, path, dump(body), status=400, what=f"{field}={value!r}")
            assert err["param"] is not None and err["param"].split(".")[0].split("[")[0] == field, (field, value, err)
    assert_serving(client)


HUGE_INVALID = [
    ("max_tokens", 2**62), ("max_tokens", INT64_MIN), ("max_tokens", MAX_MODEL_LEN),
    ("max_completion_tokens", 2**62), ("max_completion_tokens", INT64_MIN),
    ("n", INT64_MAX), ("n", INT64_MIN), ("n", 9), ("top_k", INT64_MIN),
    ("temperature", 1e308), ("temperature", -1e308), ("temperature", 2.000001), ("top_p", 1e-320 * 0),
    ("top_p", 1e308), ("min_p", 1e308), ("presence_penalty", 1e308), ("frequency_penalty", -1e308),
    ("repetition_penalty", 1e308), ("lora_scale", 1e308), ("lora_scale", -1e-9),
    ("logit_bias", {"5442": 1e308}), ("logit_bias", {"99999999999999999999": 1}), ("logit_bias", {"-1": 1}),
    ("logit_bias", {"262144": 1}), ("logit_bias", {"1e3": 1}), ("logit_bias", {"": 1}),
]
# Out of the 64-bit range or not a JSON number at all: refused while parsing.
UNPARSABLE_NUMBERS = ["18446744073709551616", "-9223372036854775809", "1e400", "-1e400", "NaN", "Infinity",
                      "-Infinity", "0x10", "01", "1.", ".5", "+1", "1e", "--1"]


HUGE_INVALID_BY_PATH = {
    CHAT: [("top_logprobs", INT64_MAX), ("top_logprobs", 21)],
    COMPLETIONS: [("logprobs", INT64_MAX), ("logprobs", INT64_MIN), ("best_of", INT64_MAX)],
}


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_huge_and_extreme_numbers(client, path):
    for field, value in HUGE_INVALID + HUGE_INVALID_BY_PATH[path]:
        for stream in (False, True):
            body = ok_body(path, stream=stream)
            body.pop("max_tokens")
            body[field] = value
            if field == "top_logprobs":
                body["logprobs"] = True
            expect_4xx(client, path, dump(body), status=400, what=f"{field}={value!r} stream={stream}")
    for field in ("max_tokens", "max_completion_tokens", "n", "seed", "top_k", "temperature", "logprobs")\
            + (("top_logprobs",) if path == CHAT else ()):
        for literal in UNPARSABLE_NUMBERS:
            body = ok_body(path)
            body.pop(field, None)
            raw = dump(body)[:-1] + f', "{field}": {literal}}}'.encode()
            expect_4xx(client, path, raw, status=400, what=f"{field}: {literal}")
    # Extreme values that are valid must be served.
    for field, value in [("seed", INT64_MAX), ("seed", INT64_MIN), ("top_k", INT64_MAX), ("temperature", 5e-324),
                         ("logit_bias", {"5442": 100}), ("logit_bias", {"5442": -100}), ("max_tokens", 1)]:
        status, _, raw = client.request("POST", path, dump(ok_body(path, **{"max_tokens": 1, field: value})))
        assert status == 200, (field, value, raw[:300])
    assert_serving(client)


def test_max_tokens_near_int64_max_is_refused(client):
    """Repro: curl -d '{"model": "gemma-3-270m", "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 9223372036854775807}' .../v1/chat/completions   -> the server process dies.
    (One test for every case: each crash costs a restart.)"""
    for path in (CHAT, COMPLETIONS):
        for field in ("max_tokens", "max_completion_tokens"):
            for value in (INT64_MAX, INT64_MAX - 3):
                body = ok_body(path)
                body.pop("max_tokens")
                body[field] = value
                expect_4xx(client, path, dump(body), status=400, code="context_length_exceeded", what=f"{field}={value}")


@pytest.mark.parametrize("temperature", [1e-30, 1e-40, 5e-324])
def test_tiny_temperatures_behave_like_greedy(client, temperature):
    """A temperature that is tiny (even subnormal as a Float, or 0 after conversion) must not turn the
    logits into inf/NaN: the answer is the greedy one."""
    def tokens(t: float):
        status, _, raw = client.request("POST", CHAT, dump(ok_body(max_tokens=3, temperature=t, logprobs=True)))
        assert status == 200, raw[:300]
        choice = json.loads(raw)["choices"][0]
        return choice["message"]["content"], [e["token"] for e in choice["logprobs"]["content"]]

    assert tokens(temperature) == tokens(0.0), f"temperature {temperature} is not greedy"


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_deeply_nested_json(client, path):
    for depth in (600, 5000, 100_000):
        for kind in ("array", "object"):
            deep = nested(depth, kind)
            expect_4xx(client, path, deep.encode(), status=400, what=f"{kind} depth {depth}")
            field = "messages" if path == CHAT else "prompt"
            raw = json.dumps(ok_body(path)).replace(f'"{field}": ', f'"{field}": {deep}, "x{field}": ', 1).encode()
            expect_4xx(client, path, raw, status=400, what=f"{field} nested {kind} depth {depth}")
            for inner in ("logit_bias", "stop", "stream_options", "user"):
                raw = json.dumps(ok_body(path)).replace('"temperature": 0', f'"{inner}": {deep}', 1).encode()
                expect_4xx(client, path, raw, status=400, what=f"{inner} nested {kind} depth {depth}")
    assert_serving(client)


def test_strings_with_odd_unicode_are_served_as_well_formed_streams(client):
    """Lone surrogates are refused; NUL, controls, BOMs, combining marks, RTL and astral characters in
    content and stop strings are served, and the stream stays well-formed SSE with valid JSON chunks."""
    for raw in (b'{"model": "gemma-3-270m", "messages": [{"role": "user", "content": "\\ud800"}]}',
                b'{"model": "gemma-3-270m", "messages": [{"role": "user", "content": "\\udc00x"}]}',
                b'{"model": "gemma-3-270m", "messages": [{"role": "user", "content": "\\u12"}]}',
                b'{"model": "gemma-3-270m", "messages": [{"role": "user", "content": "a\\qb"}]}',
                b'{"model": "gemma-3-270m", "messages": [{"role": "user", "content": "\xc3\x28"}]}'):
        expect_4xx(client, CHAT, raw, status=400, what="bad string")
    rng = random.Random(f"{SEED}-unicode")
    alphabet = ["\x00", "\x01", "\x1b[31m", "\ufeff", "\u202e", "e\u0301", "\U0001F600", "\u2028", "\n", "\r\n",
                "data: [DONE]\n\n", "\\", "\"", "<start_of_turn>", "<end_of_turn>", "\t", "漢字", "ﷺ"]
    for i in range(6):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))
        stop = ["".join(rng.choice(alphabet) for _ in range(2)) for _ in range(rng.randrange(1, 4))]
        for path in (CHAT, COMPLETIONS):
            fields = {"messages": [{"role": "user", "content": text}]} if path == CHAT else {"prompt": text}
            body = ok_body(path, stream=True, stop=stop, stream_options={"include_usage": True}, **fields)
            status, headers, raw = client.request("POST", path, dump(body))
            assert status == 200, (body, raw[:300])
            assert headers.get("content-type", "").startswith("text/event-stream"), headers
            events = raw.decode("utf-8").split("\n\n")
            assert events[-1] == "" and events[-2] == "data: [DONE]", raw[-200:]
            chunks = [json.loads(e[len("data: "):]) for e in events[:-2] if e.startswith("data: ")]
            assert len(chunks) == len(events) - 2, raw[:500]
            assert chunks[-1]["usage"]["completion_tokens"] <= 2, chunks[-1]
    assert_serving(client)


def raw_exchange(server, payload: bytes, wait: float = 0.5) -> bytes:
    """Sends raw bytes on a new connection, half-closes it, and returns whatever comes back."""
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(wait + 5)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return data


def check_framing(client, server, payloads: list[bytes]) -> None:
    for payload in payloads:
        answer = raw_exchange(server, payload)
        if answer:
            status_line = answer.split(b"\r\n", 1)[0]
            assert not status_line.startswith(b"HTTP/1.1 5") or status_line.startswith(b"HTTP/1.1 505"), (
                f"a client's broken framing got a server error:\n  sent {payload[:160]!r}\n  got {answer[:400]!r}")
        assert server.alive(), f"server died on {payload[:120]!r}\n{crash_excerpt(server)}"
    assert_serving(client)


HEAD = f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()


def test_broken_http_framing_does_not_hurt_the_server(client, server):
    """Impossible Content-Length values, garbage request lines, a TLS hello, and clients that send half a
    request and vanish: the server answers 4xx or drops that connection, and goes on."""
    body = dump(ok_body())
    check_framing(client, server, [
        HEAD + b"Content-Length: 99999999999999999999\r\n\r\n" + body,
        HEAD + b"Content-Length: -5\r\n\r\n" + body,
        HEAD + b"Content-Length: 5\r\nContent-Length: 9\r\n\r\n" + body,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),  # a TLS ClientHello
        b"GARBAGE\r\n\r\n",
        b"POST /v1/chat/completions HTTP/9.9\r\nContent-Length: 2\r\n\r\n{}",
        b"\x00" * 2048 + b"\r\n\r\n",
    ])
    for _ in range(5):  # half a request, then the client hangs up without a word
        with socket.create_connection((server.host, server.port), timeout=5) as s:
            s.sendall(HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[: len(body) // 2])
    time.sleep(0.2)
    assert_serving(client)


def test_truncated_and_badly_chunked_bodies_are_4xx(client, server):
    """Repro: printf 'POST /v1/chat/completions HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n
    \\r\\nzz\\r\\n{}\\r\\n0\\r\\n\\r\\n' | nc -q 2 127.0.0.1 8000   -> 500 "Internal error: invalid character in
    chunk size header"; a body shorter than its Content-Length followed by EOF -> 500 "stream ended at an
    unexpected time"."""
    body = dump(ok_body())
    check_framing(client, server, [
        HEAD + f"Content-Length: {len(body) + 50}\r\n\r\n".encode() + body,  # short body, then EOF
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + b"\r\n0\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body[:10],
    ])


def test_refused_streams_are_json_errors_and_nothing_leaks(client, server):
    """Streamed requests refused before generation get a JSON error, not a half-open event stream;
    afterwards no sequence is left running or queued."""
    for path in (CHAT, COMPLETIONS):
        refused = [{"model": "no-such-model"}, {"model": "../etc"}, {"temperature": 3}, {"n": 0},
                   {"max_tokens": MAX_MODEL_LEN * 2}, {"stop": [""]}, {"lora_scale": 5}]
        refused += ([{"top_logprobs": 3, "logprobs": None}, {"tools": [{"type": "function"}]}] if path == CHAT
                    else [{"logprobs": 21}, {"echo": True}, {"suffix": "x"}])
        for fields in refused:
            expect_4xx(client, path, dump(ok_body(path, stream=True, **fields)), what=f"stream {fields}")
    deadline = time.monotonic() + 10
    while True:
        text = fetch_metrics(server.url)
        running = metric_sum(text, "tandem_running_sequences")
        queued = metric_sum(text, "tandem_queue_depth")
        if running == 0 and queued == 0:
            break
        assert time.monotonic() < deadline, f"running={running} queued={queued} 10 s after the load stopped"
        time.sleep(0.2)
    assert_serving(client)


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_connection_is_reusable_after_a_stream(server, path):
    """After an event stream the server either says `Connection: close` or keeps the connection usable:
    a client that reuses it (as connection pools do) must not find it silently dropped."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("POST", path, body=dump(ok_body(path, stream=True)), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.read().endswith(b"data: [DONE]\n\n")
        if response.will_close or (response.getheader("Connection") or "").lower() == "close":
            return  # announced: a client opens a new connection
        time.sleep(0.2)
        try:
            conn.request("GET", "/health")
            follow_up = conn.getresponse()
            follow_up.read()
        except (ConnectionError, http.client.HTTPException) as exc:
            pytest.fail(f"the server dropped the keep-alive connection after an event stream without sending "
                        f"`Connection: close`; the next request on it failed: {type(exc).__name__}: {exc}")
        assert follow_up.status == 200
    finally:
        conn.close()

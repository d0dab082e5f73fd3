"""Schemathesis hooks for scripts/fuzz_api.sh (loaded through SCHEMATHESIS_HOOKS).

Checks added to Schemathesis' own:
* `openai_error_shape`: every 4xx/5xx body is OpenAI's `{"error": {"message", "type", "param", "code"}}`
  (message and type non-empty strings, param and code strings or null), served as application/json.
* `retry_after_on_429`: a 429 carries a `Retry-After` header of whole seconds.
* `sse_well_formed`: a 200 text/event-stream body is only `data: {json}` events separated by blank
  lines, each a chunk of the right `object`, ending with `data: [DONE]`.

One request rewrite keeps the run short without hiding bugs: `max_tokens` / `max_completion_tokens`
between 17 and the server's --max-model-len (TANDEM_FUZZ_MAX_MODEL_LEN, default 256) become 16: those
the server would run. Anything larger still reaches it and must be refused (it cannot fit the context).
At exit it prints how many responses each status got (TANDEM_FUZZ_STATS names a JSON file to write too).
"""
from __future__ import annotations

import atexit
import collections
import json
import os
import sys

import schemathesis

ERROR_KEYS = ("message", "type", "param", "code")
STATUSES: collections.Counter = collections.Counter()
BY_OPERATION: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
MAX_MODEL_LEN = int(os.environ.get("TANDEM_FUZZ_MAX_MODEL_LEN", "256"))


def _header(response, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name.lower():
            if isinstance(values, (list, tuple)):
                return values[0] if values else None
            return values
    return None


def _operation(case) -> str:
    try:
        return f"{case.method.upper()} {case.path}"
    except Exception:  # noqa: BLE001 - only a label
        return "?"


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, dict):
        for key in ("max_tokens", "max_completion_tokens"):
            value = body.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 16 < value <= MAX_MODEL_LEN:
                body[key] = 16


@schemathesis.hook
def after_call(context, case, response):
    STATUSES[response.status_code] += 1
    label = _operation(case)
    try:
        documented = case.method.lower() == case.operation.method.lower()
    except Exception:  # noqa: BLE001 - only a label
        documented = True
    BY_OPERATION[label if documented else "(methods the spec does not list)"][response.status_code] += 1


@schemathesis.check
def openai_error_shape(ctx, response, case):
    """Every 4xx/5xx answer is an OpenAI error body."""
    if response.status_code < 400:
        return None
    content_type = (_header(response, "content-type") or "").split(";")[0].strip()
    if content_type != "application/json":
        raise AssertionError(f"HTTP {response.status_code} with Content-Type {content_type!r}, not application/json")
    try:
        payload = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"HTTP {response.status_code} body is not JSON ({exc}): {response.content[:300]!r}")
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        raise AssertionError(f"HTTP {response.status_code} body is not {{'error': {{...}}}}: {payload!r}")
    error = payload["error"]
    missing = [k for k in ERROR_KEYS if k not in error]
    if missing:
        raise AssertionError(f"HTTP {response.status_code} error object lacks {missing}: {payload!r}")
    if not isinstance(error["message"], str) or not error["message"]:
        raise AssertionError(f"error.message is not a non-empty string: {payload!r}")
    if not isinstance(error["type"], str) or not error["type"]:
        raise AssertionError(f"error.type is not a non-empty string: {payload!r}")
    for key in ("param", "code"):
        if error[key] is not None and not isinstance(error[key], str):
            raise AssertionError(f"error.{key} is neither a string nor null: {payload!r}")
    return None


@schemathesis.check
def retry_after_on_429(ctx, response, case):
    """A refused request says when to come back."""
    if response.status_code != 429:
        return None
    value = _header(response, "retry-after")
    if value is None or not value.strip().isdigit():
        raise AssertionError(f"429 without a Retry-After header of whole seconds (got {value!r})")
    return None


@schemathesis.check
def sse_well_formed(ctx, response, case):
    """A streamed 200 is `data:` events, each a JSON chunk, ending with `data: [DONE]`; on
    /v1/responses, `event:` + `data:` pairs numbered by `sequence_number` and ending with
    `response.completed` or `response.incomplete` (OpenAI's Responses stream sends no [DONE])."""
    content_type = (_header(response, "content-type") or "").split(";")[0].strip()
    if response.status_code != 200 or content_type != "text/event-stream":
        return None
    text = response.content.decode("utf-8")
    if not text.endswith("\n\n"):
        raise AssertionError(f"event stream does not end with a blank line: {text[-200:]!r}")
    events = text[:-2].split("\n\n")
    if case.path.endswith("/responses"):
        _check_response_events(events)
        return None
    if not events or events[-1] != "data: [DONE]":
        raise AssertionError(f"event stream does not end with `data: [DONE]`: {text[-200:]!r}")
    chat = case.path.endswith("/chat/completions")
    expected = "chat.completion.chunk" if chat else "text_completion"
    for number, event in enumerate(events[:-1]):
        if not event.startswith("data: ") or "\n" in event:
            raise AssertionError(f"malformed SSE event #{number}: {event[:300]!r}")
        try:
            chunk = json.loads(event[len("data: "):])
        except ValueError as exc:
            raise AssertionError(f"SSE event #{number} is not JSON ({exc}): {event[:300]!r}")
        _check_chunk(chunk, expected, chat, number)
    return None


def _check_response_events(events) -> None:
    kinds = []
    for number, event in enumerate(events):
        lines = event.split("\n")
        if len(lines) != 2 or not lines[0].startswith("event: ") or not lines[1].startswith("data: "):
            raise AssertionError(f"malformed Responses event #{number}: {event[:300]!r}")
        data = json.loads(lines[1][len("data: "):])
        if data.get("type") != lines[0][len("event: "):] or data.get("sequence_number") != number:
            raise AssertionError(f"Responses event #{number}: type or sequence_number is off: {event[:300]!r}")
        kinds.append(data["type"])
    if not kinds or kinds[0] != "response.created" or kinds[-1] not in ("response.completed", "response.incomplete"):
        raise AssertionError(f"Responses events must run from response.created to completed/incomplete: {kinds}")


def _check_chunk(chunk, expected: str, chat: bool, number: int) -> None:
    def fail(why: str):
        raise AssertionError(f"SSE event #{number}: {why}: {json.dumps(chunk)[:400]}")

    if not isinstance(chunk, dict):
        fail("not a JSON object")
    if "error" in chunk:
        fail("generation failed mid-stream")
    if chunk.get("object") != expected:
        fail(f"object is not {expected!r}")
    for key, kind in (("id", str), ("created", int), ("model", str), ("choices", list)):
        if not isinstance(chunk.get(key), kind):
            fail(f"{key!r} is not a {kind.__name__}")
    usage = chunk.get("usage")
    if usage is not None:
        if not isinstance(usage, dict) or not all(isinstance(usage.get(k), int) and usage[k] >= 0
                                                  for k in ("prompt_tokens", "completion_tokens", "total_tokens")):
            fail("usage is malformed")
        if usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]:
            fail("usage.total_tokens is not prompt + completion")
    if not chunk["choices"] and usage is None:
        fail("a chunk with no choices and no usage")
    for choice in chunk["choices"]:
        if not isinstance(choice, dict) or not isinstance(choice.get("index"), int) or choice["index"] < 0:
            fail("choice without a non-negative index")
        if choice.get("finish_reason") not in (None, "stop", "length"):
            fail(f"finish_reason {choice.get('finish_reason')!r}")
        if chat:
            delta = choice.get("delta")
            if not isinstance(delta, dict) or not all(isinstance(delta[k], str) for k in delta if k in ("role", "content")):
                fail("delta is not an object of strings")
        elif not isinstance(choice.get("text"), str):
            fail("text is not a string")


def _report() -> None:
    if not STATUSES:
        return
    total = sum(STATUSES.values())
    print(f"\n[fuzz] {total} responses by status: "
          + ", ".join(f"{s}: {n}" for s, n in sorted(STATUSES.items())), file=sys.stderr)
    for op, counts in sorted(BY_OPERATION.items()):
        print(f"[fuzz]   {op:34s} " + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())), file=sys.stderr)
    path = os.environ.get("TANDEM_FUZZ_STATS")
    if path:
        with open(path, "w") as f:
            json.dump({"total": total, "by_status": {str(k): v for k, v in STATUSES.items()},
                       "by_operation": {op: {str(k): v for k, v in c.items()} for op, c in BY_OPERATION.items()}}, f)


atexit.register(_report)

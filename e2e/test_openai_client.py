"""Tandem driven by the official `openai` Python package.

Gemma 3 270M is a base model: the tests assert shapes, counts, determinism and equality between paths
(stream vs non-stream, chat vs `tandem generate`), never the quality of the text.
"""
from __future__ import annotations

import json

import pytest

openai = pytest.importorskip("openai")

from support import (CAPITAL_PROMPT, CAPITAL_PROMPT_IDS, MODEL_ID, SEA_ID, assert_error_shape,  # noqa: E402
                     gemma_chat_prompt, post_json, run_generate)

CHAT_PROMPT = "Write a short poem about the sea."
IGNORE_EOS = {"ignore_eos": True}
FINISH_REASONS = {"stop", "length"}


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------

def make_client(base_url: str, api_key: str = "unused"):
    return openai.OpenAI(base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def client(tandem_server):
    c = make_client(tandem_server)
    yield c
    c.close()


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def chat(client, messages=None, **kwargs):
    return client.chat.completions.create(model=MODEL_ID, messages=messages or user(CHAT_PROMPT), **kwargs)


def chat_raw(client, messages=None, **kwargs) -> tuple[object, dict]:
    """(parsed ChatCompletion, the raw JSON body)."""
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL_ID, messages=messages or user(CHAT_PROMPT), **kwargs)
    assert raw.status_code == 200
    return raw.parse(), json.loads(raw.text)


def completion_raw(client, **kwargs) -> tuple[object, dict]:
    raw = client.completions.with_raw_response.create(model=MODEL_ID, **kwargs)
    assert raw.status_code == 200
    return raw.parse(), json.loads(raw.text)


def check_usage(usage: dict, *, completion_tokens: int | None = None) -> None:
    assert set(usage) >= {"prompt_tokens", "completion_tokens", "total_tokens"}, usage
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert isinstance(usage[key], int) and usage[key] >= 0, usage
    assert usage["prompt_tokens"] > 0, usage
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"], usage
    if completion_tokens is not None:
        assert usage["completion_tokens"] == completion_tokens, usage


def expect_status_error(exc_type, status: int, fn, *args, **kwargs):
    """Calls fn, expects `exc_type` with `status`; checks the OpenAI error body; returns the inner error."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    e = info.value
    assert e.status_code == status, f"expected HTTP {status}, got {e.status_code}: {e.response.text}"
    err = assert_error_shape(e.response.json(), status=status)
    # The client hands the inner error object to the exception as `body`.
    assert isinstance(e.body, dict) and e.body.get("message") == err["message"], e.body
    assert e.param == err["param"] and e.code == err["code"]
    return err


@pytest.fixture(scope="module")
def greedy_baseline(client):
    """Greedy chat output for CHAT_PROMPT with 24 tokens (no stop strings)."""
    completion = chat(client, max_tokens=24, temperature=0)
    return completion.choices[0].message.content


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

def test_models_list(client):
    page = client.models.list()
    ids = [m.id for m in page.data]
    assert MODEL_ID in ids, ids
    raw = client.models.with_raw_response.list()
    body = json.loads(raw.text)
    assert body["object"] == "list"
    for m in body["data"]:
        assert m["object"] == "model", m
        assert isinstance(m["id"], str) and m["id"], m
        assert isinstance(m["created"], int), m
        assert isinstance(m["owned_by"], str), m


def test_models_retrieve(client):
    model = client.models.retrieve(MODEL_ID)
    assert model.id == MODEL_ID
    assert model.object == "model"
    assert isinstance(model.created, int)
    assert isinstance(model.owned_by, str)


def test_models_retrieve_unknown_is_404(client):
    expect_status_error(openai.NotFoundError, 404, client.models.retrieve, "no-such-model")


# ---------------------------------------------------------------------------------------------
# Chat completions
# ---------------------------------------------------------------------------------------------

def test_chat_non_stream_shape(client):
    completion, body = chat_raw(client, max_tokens=12, temperature=0)
    assert isinstance(body["id"], str) and body["id"].startswith("chatcmpl-"), body["id"]
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int) and body["created"] > 1_600_000_000
    assert body["model"] == MODEL_ID
    assert len(body["choices"]) == 1
    choice = body["choices"][0]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert "logprobs" in choice and choice["logprobs"] is None
    assert choice["finish_reason"] in FINISH_REASONS
    check_usage(body["usage"])
    assert body["usage"]["completion_tokens"] <= 12
    if choice["finish_reason"] == "length":
        assert body["usage"]["completion_tokens"] == 12
    assert completion.choices[0].message.content == choice["message"]["content"]


def test_chat_is_deterministic_when_greedy(client, greedy_baseline):
    again = chat(client, max_tokens=24, temperature=0).choices[0].message.content
    assert again == greedy_baseline


def test_chat_stream_deltas(client, greedy_baseline):
    stream = chat(client, max_tokens=24, temperature=0, stream=True)
    chunks = list(stream)
    assert chunks, "no chunks"
    ids = {c.id for c in chunks}
    assert len(ids) == 1 and next(iter(ids)).startswith("chatcmpl-"), ids
    for c in chunks:
        assert c.object == "chat.completion.chunk"
        assert c.model == MODEL_ID
        assert isinstance(c.created, int)
        assert len(c.choices) == 1, "without include_usage every chunk carries the choice"
        assert c.choices[0].index == 0
        assert c.usage is None
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks]
    assert finishes[-1] in FINISH_REASONS, finishes
    assert all(f is None for f in finishes[:-1]), finishes
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == greedy_baseline, "stream and non-stream greedy outputs differ"


def test_chat_stream_include_usage(client):
    stream = chat(client, max_tokens=10, temperature=0, stream=True,
                  stream_options={"include_usage": True}, extra_body=IGNORE_EOS)
    chunks = list(stream)
    assert len(chunks) >= 2
    final = chunks[-1]
    assert final.choices == [], "the usage chunk must have choices: []"
    assert final.usage is not None
    check_usage(final.usage.model_dump(), completion_tokens=10)
    content_chunks = chunks[:-1]
    assert all(c.choices for c in content_chunks)
    assert all(c.usage is None for c in content_chunks), "only the final chunk carries usage"
    assert content_chunks[0].choices[0].delta.role == "assistant"
    assert content_chunks[-1].choices[0].finish_reason == "length"
    assert len({c.id for c in chunks}) == 1


def test_chat_n2(client):
    kwargs = dict(n=2, max_tokens=8, temperature=0.9, seed=1234, extra_body=IGNORE_EOS)
    completion, body = chat_raw(client, **kwargs)
    assert sorted(c["index"] for c in body["choices"]) == [0, 1]
    for choice in body["choices"]:
        assert choice["message"]["role"] == "assistant"
        assert isinstance(choice["message"]["content"], str)
        assert choice["finish_reason"] == "length"
    # OpenAI counts the prompt once and the completion tokens of every choice.
    check_usage(body["usage"], completion_tokens=16)
    # The same seeded request gives the same pair of choices.
    again = chat(client, **kwargs)
    first = {c.index: c.message.content for c in completion.choices}
    second = {c.index: c.message.content for c in again.choices}
    assert first == second


@pytest.mark.parametrize("as_list", [False, True], ids=["stop-string", "stop-list"])
def test_chat_stop(client, greedy_baseline, as_list):
    text = greedy_baseline
    # A word (>= 3 letters) that is not at the very start of the output.
    candidates = [w for w in text.split() if len(w) >= 3 and w.isalpha() and text.find(w) > 0]
    if not candidates:
        pytest.skip(f"greedy output has no usable word to stop on: {text!r}")
    word = candidates[len(candidates) // 2]
    cut = text.find(word)
    stop = ["<never-appears-in-output>", word] if as_list else word
    completion = chat(client, max_tokens=24, temperature=0, stop=stop)
    choice = completion.choices[0]
    assert choice.message.content == text[:cut], f"stop={stop!r} baseline={text!r}"
    assert word not in choice.message.content
    assert choice.finish_reason == "stop"


def test_seed_reproducibility(client):
    kwargs = dict(max_tokens=16, temperature=1.0, extra_body=IGNORE_EOS)
    a = chat(client, seed=42, **kwargs).choices[0].message.content
    b = chat(client, seed=42, **kwargs).choices[0].message.content
    assert a == b, "same seed, different text"
    c = chat(client, seed=43, **kwargs)  # usually different; only validity is asserted
    assert isinstance(c.choices[0].message.content, str)
    assert c.usage.completion_tokens == 16


def test_logprobs_top3(client):
    completion, body = chat_raw(client, max_tokens=8, temperature=0, logprobs=True, top_logprobs=3,
                                extra_body=IGNORE_EOS)
    choice = body["choices"][0]
    assert choice["logprobs"] is not None and isinstance(choice["logprobs"]["content"], list)
    content = choice["logprobs"]["content"]
    assert len(content) == body["usage"]["completion_tokens"] == 8
    for entry in content:
        assert set(entry) >= {"token", "logprob", "bytes", "top_logprobs"}, entry
        assert isinstance(entry["token"], str)
        assert isinstance(entry["logprob"], (int, float)) and entry["logprob"] <= 1e-6, entry
        if entry["bytes"] is not None:
            assert all(isinstance(b, int) and 0 <= b <= 255 for b in entry["bytes"]), entry
            if "\ufffd" not in entry["token"] and not entry["token"].startswith("bytes:"):
                assert bytes(entry["bytes"]) == entry["token"].encode("utf-8"), entry
        tops = entry["top_logprobs"]
        assert len(tops) == 3, entry
        for top in tops:
            assert set(top) >= {"token", "logprob", "bytes"}, top
            assert isinstance(top["token"], str)
            assert top["logprob"] <= 1e-6, top
        values = [t["logprob"] for t in tops]
        assert values == sorted(values, reverse=True), f"top_logprobs not sorted: {values}"
        # Greedy: the chosen token is the most likely one (ties allowed).
        assert entry["logprob"] >= values[0] - 1e-3, entry
        assert entry["token"] in [t["token"] for t in tops], entry
    assert completion.choices[0].logprobs.content[0].token == content[0]["token"]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_gives_length(client, field):
    completion = chat(client, temperature=0, extra_body=IGNORE_EOS, **{field: 7})
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 7
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 7


def test_sampling_fields_accepted(client):
    completion = chat(client, messages=[{"role": "system", "content": "You are terse."},
                                        {"role": "user", "content": "Name a fruit."}],
                      max_tokens=6, temperature=0.7, top_p=0.9, seed=5, presence_penalty=0.5,
                      frequency_penalty=0.5, logit_bias={"107": -5}, user="e2e-test",
                      response_format={"type": "text"}, stop=["\n\n"])
    assert completion.choices[0].finish_reason in FINISH_REASONS
    assert completion.usage.completion_tokens <= 6


def test_logit_bias_forces_token(client):
    completion, body = chat_raw(client, max_tokens=4, temperature=0, logit_bias={str(SEA_ID): 100},
                                logprobs=True, extra_body=IGNORE_EOS)
    tokens = [e["token"] for e in body["choices"][0]["logprobs"]["content"]]
    assert len(tokens) == 4
    assert len(set(tokens)) == 1, f"logit_bias +100 should force one token every step: {tokens}"
    assert body["choices"][0]["message"]["content"].split() == ["sea"] * 4, body["choices"][0]


def test_content_parts_equal_string(client):
    plain = chat(client, max_tokens=10, temperature=0)
    parts = chat(client, messages=[{"role": "user", "content": [
        {"type": "text", "text": CHAT_PROMPT}]}], max_tokens=10, temperature=0)
    assert parts.choices[0].message.content == plain.choices[0].message.content
    assert parts.usage.prompt_tokens == plain.usage.prompt_tokens


GREEDY_CASES = {
    "user": ([{"role": "user", "content": CHAT_PROMPT}],
             [("user", CHAT_PROMPT)]),
    "system+user": ([{"role": "system", "content": "You are a poet."},
                     {"role": "user", "content": CHAT_PROMPT}],
                    [("user", "You are a poet.\n\n" + CHAT_PROMPT)]),
    "multi-turn": ([{"role": "user", "content": "Hello."},
                    {"role": "assistant", "content": "Hi! How can I help?"},
                    {"role": "user", "content": CHAT_PROMPT}],
                   [("user", "Hello."), ("model", "Hi! How can I help?"), ("user", CHAT_PROMPT)]),
}


@pytest.mark.parametrize("case", list(GREEDY_CASES))
def test_chat_greedy_matches_generate(client, tandem_binary, model_path, case):
    messages, turns = GREEDY_CASES[case]
    reference = run_generate(gemma_chat_prompt(turns), 16, tandem_binary, model_path)
    completion = chat(client, messages=messages, max_tokens=16, temperature=0)
    choice = completion.choices[0]
    assert choice.message.content == reference["text"]
    if reference["prompt_tokens"] is not None:
        # `tandem generate` counts BOS + the templated prompt, as the server should.
        assert completion.usage.prompt_tokens == reference["prompt_tokens"]
        assert choice.finish_reason == reference["finish"]
        if reference["finish"] == "length":  # (whether a final EOS counts is not specified)
            assert completion.usage.completion_tokens == reference["completion_tokens"]


# ---------------------------------------------------------------------------------------------
# Legacy completions
# ---------------------------------------------------------------------------------------------

def check_completion_body(body: dict, n_choices: int) -> None:
    assert isinstance(body["id"], str) and body["id"], body
    assert body["object"] == "text_completion"
    assert isinstance(body["created"], int)
    assert body["model"] == MODEL_ID
    assert sorted(c["index"] for c in body["choices"]) == list(range(n_choices))
    for c in body["choices"]:
        assert isinstance(c["text"], str)
        assert c["finish_reason"] in FINISH_REASONS
    check_usage(body["usage"])


def test_completions_non_stream(client):
    completion, body = completion_raw(client, prompt=CAPITAL_PROMPT, max_tokens=8, temperature=0,
                                      extra_body=IGNORE_EOS)
    check_completion_body(body, 1)
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 8
    assert completion.choices[0].text == body["choices"][0]["text"]


def test_completions_greedy_matches_generate(client, tandem_binary, model_path):
    reference = run_generate(CAPITAL_PROMPT, 12, tandem_binary, model_path)
    completion = client.completions.create(model=MODEL_ID, prompt=CAPITAL_PROMPT, max_tokens=12, temperature=0)
    assert completion.choices[0].text == reference["text"]
    if reference["prompt_tokens"] is not None:
        assert completion.usage.prompt_tokens == reference["prompt_tokens"]


def test_completions_prompt_list(client):
    prompts = [CAPITAL_PROMPT, "Once upon a time"]
    completion, body = completion_raw(client, prompt=prompts, max_tokens=4, temperature=0, extra_body=IGNORE_EOS)
    check_completion_body(body, 2)
    singles = [client.completions.create(model=MODEL_ID, prompt=p, max_tokens=4, temperature=0,
                                         extra_body=IGNORE_EOS).choices[0].text for p in prompts]
    by_index = {c["index"]: c["text"] for c in body["choices"]}
    assert [by_index[0], by_index[1]] == singles, "a prompt list must give each prompt's own completion"
    assert body["usage"]["completion_tokens"] == 8


def test_completions_token_ids(client):
    completion, body = completion_raw(client, prompt=CAPITAL_PROMPT_IDS, max_tokens=6, temperature=0,
                                      extra_body=IGNORE_EOS)
    check_completion_body(body, 1)
    assert body["usage"]["prompt_tokens"] in (len(CAPITAL_PROMPT_IDS), len(CAPITAL_PROMPT_IDS) + 1), body["usage"]
    text_prompt = client.completions.create(model=MODEL_ID, prompt=CAPITAL_PROMPT, max_tokens=6, temperature=0,
                                            extra_body=IGNORE_EOS)
    if (body["usage"]["prompt_tokens"] == len(CAPITAL_PROMPT_IDS)
            and text_prompt.usage.prompt_tokens == len(CAPITAL_PROMPT_IDS)):
        # Ids used verbatim, and the text tokenizes to the same ids: same continuation.
        assert body["choices"][0]["text"] == text_prompt.choices[0].text


def test_completions_stream(client):
    reference = client.completions.create(model=MODEL_ID, prompt=CAPITAL_PROMPT, max_tokens=10, temperature=0,
                                          extra_body=IGNORE_EOS)
    chunks = list(client.completions.create(model=MODEL_ID, prompt=CAPITAL_PROMPT, max_tokens=10, temperature=0,
                                            stream=True, stream_options={"include_usage": True},
                                            extra_body=IGNORE_EOS))
    assert len(chunks) >= 2
    assert len({c.id for c in chunks}) == 1
    assert all(c.object == "text_completion" for c in chunks)
    final = chunks[-1]
    assert final.choices == [] and final.usage is not None
    check_usage(final.usage.model_dump(), completion_tokens=10)
    body = chunks[:-1]
    finishes = [c.choices[0].finish_reason for c in body]
    assert finishes[-1] == "length" and all(f is None for f in finishes[:-1]), finishes
    assert "".join(c.choices[0].text for c in body) == reference.choices[0].text


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

INVALID = {
    "temperature": ({"temperature": -1}, "temperature"),
    "n": ({"n": 0}, "n"),
    "messages-empty": ({"messages": []}, "messages"),
    "max_tokens-0": ({"max_tokens": 0}, "max_tokens"),
    "max_tokens-negative": ({"max_tokens": -5}, "max_tokens"),
    "tool_choice": ({"tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {}}}}],
                     "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
    "response_format": ({"response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "object", "not": {}}}}}, "response_format"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_request_is_400(client, case):
    overrides, param = INVALID[case]
    kwargs = {"model": MODEL_ID, "messages": user("Hi"), "max_tokens": 4, **overrides}
    err = expect_status_error(openai.BadRequestError, 400, client.chat.completions.create, **kwargs)
    assert err["param"] == param, err
    assert err["type"] == "invalid_request_error", err


def test_messages_missing_is_400(tandem_server):
    status, body, raw = post_json(tandem_server + "/v1/chat/completions", {"model": MODEL_ID, "max_tokens": 4})
    assert status == 400, raw
    assert_error_shape(body, status=status, param="messages")


def test_unknown_model_is_404(client):
    err = expect_status_error(openai.NotFoundError, 404, client.chat.completions.create,
                              model="no-such-model", messages=user("Hi"), max_tokens=4)
    assert err["code"] == "model_not_found", err


def test_context_length_exceeded(short_context_server):
    c = make_client(short_context_server.url)
    long_prompt = "The quick brown fox jumps over the lazy dog. " * 40  # ~400 tokens > 256
    err = expect_status_error(openai.BadRequestError, 400, c.chat.completions.create,
                              model=MODEL_ID, messages=user(long_prompt), max_tokens=8)
    assert err["code"] == "context_length_exceeded", err
    # A short prompt whose max_tokens runs past the context is rejected too.
    err = expect_status_error(openai.BadRequestError, 400, c.chat.completions.create,
                              model=MODEL_ID, messages=user("Hi"), max_tokens=400)
    assert err["code"] == "context_length_exceeded", err
    err = expect_status_error(openai.BadRequestError, 400, c.completions.create,
                              model=MODEL_ID, prompt=long_prompt, max_tokens=8)
    assert err["code"] == "context_length_exceeded", err
    # What fits still works.
    ok = c.chat.completions.create(model=MODEL_ID, messages=user("Hi"), max_tokens=4, temperature=0)
    assert ok.choices[0].finish_reason in FINISH_REASONS
    c.close()


def test_wrong_api_key_is_401(auth_server):
    c = make_client(auth_server.url, api_key="wrong-key")
    err = expect_status_error(openai.AuthenticationError, 401, c.chat.completions.create,
                              model=MODEL_ID, messages=user("Hi"), max_tokens=4)
    assert err["code"] == "invalid_api_key", err
    assert err["type"] in {"invalid_request_error", "authentication_error"}, err
    expect_status_error(openai.AuthenticationError, 401, c.models.list)
    c.close()


def test_right_api_key_works(auth_server):
    c = make_client(auth_server.url, api_key=auth_server.api_key)
    completion = c.chat.completions.create(model=MODEL_ID, messages=user("Hi"), max_tokens=4, temperature=0)
    assert completion.choices[0].finish_reason in FINISH_REASONS
    assert MODEL_ID in [m.id for m in c.models.list().data]
    c.close()


def test_no_tools_and_tool_choice_none_are_accepted(client):
    """Clients that always send `tools` (empty) or `tool_choice: "none"` ask for no tool calls."""
    for extra in ({"tools": []}, {"tool_choice": "none"}, {"tools": [], "tool_choice": "none"}):
        r = client.chat.completions.create(model=MODEL_ID, messages=user("Hi"), max_tokens=2, **extra)
        assert r.choices[0].message.tool_calls is None and r.choices[0].finish_reason in ("stop", "length")
    err = expect_status_error(openai.BadRequestError, 400, client.chat.completions.create, model=MODEL_ID,
                              messages=user("Hi"), max_tokens=2, tool_choice="required")
    assert err["param"] == "tool_choice"

"""`response_format: {"type": "json_object"}`: the reply is one JSON object, enforced token by token,
streamed or not, with n > 1, sampled or greedy, on the base or an adapter, and beside free requests
in the same batch. Checked with the official `openai` client and Python's json module."""
import json
import math
import shutil
import threading

import openai
import pytest

from support import REPO, SHUTDOWN_TIMEOUT_S, TandemServer, post_json

JSON_MODE = {"type": "json_object"}
TICKET = [{"role": "user", "content": "Printer on floor 3 is jammed again and nobody can print invoices."}]


@pytest.fixture(scope="module")
def bundled(tandem_binary, model_path, tmp_path_factory):
    """A server with the bundled adapters (ticket-triage answers in JSON, pirate-style does not)."""
    folder = tmp_path_factory.mktemp("so-adapters") / "adapters"
    shutil.copytree(REPO / "adapters", folder)
    with open(folder / "roles.yaml", "a") as roles:
        roles.write("  json:\n    system_prompt: Answer with a JSON object.\n    response_format: json_object\n")
    server = TandemServer("structured", tandem_binary, model_path, folder, tmp_path_factory.mktemp("so-logs"))
    server.start()
    yield server.url
    assert server.terminate(SHUTDOWN_TIMEOUT_S) == 0


@pytest.fixture(scope="module")
def client(bundled):
    return openai.OpenAI(base_url=bundled + "/v1", api_key="unused", max_retries=0)


def test_reply_is_one_json_object(client):
    r = client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=120,
                                       response_format=JSON_MODE)
    choice = r.choices[0]
    assert choice.finish_reason == "stop"
    assert isinstance(json.loads(choice.message.content), dict), choice.message.content


def test_streamed_reply_is_one_json_object(client):
    text, reasons = "", []
    for chunk in client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=120,
                                                response_format=JSON_MODE, stream=True):
        for c in chunk.choices:
            text += c.delta.content or ""
            if c.finish_reason:
                reasons.append(c.finish_reason)
    assert reasons == ["stop"]
    assert isinstance(json.loads(text), dict), text


def test_sampled_choices_are_each_one_json_object(client):
    r = client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=160, n=3, temperature=1,
                                       seed=7, response_format=JSON_MODE)
    finished = [c for c in r.choices if c.finish_reason == "stop"]
    assert finished, [c.message.content for c in r.choices]
    for c in finished:
        assert isinstance(json.loads(c.message.content), dict), c.message.content
    for c in r.choices:
        assert c.message.content.lstrip().startswith("{")


def test_max_tokens_cuts_with_length(client):
    # Greedy: sampled, the model may close an empty object ("{}") within 3 tokens and stop.
    r = client.chat.completions.create(model="gemma-3-270m", messages=TICKET, max_tokens=3, response_format=JSON_MODE,
                                       temperature=0)
    assert r.choices[0].finish_reason == "length"
    assert r.choices[0].message.content.lstrip().startswith("{")


def test_constrained_and_free_requests_share_a_batch(client):
    free = dict(model="pirate-style", messages=[{"role": "user", "content": "Where is the treasure?"}], max_tokens=24,
                temperature=0)
    alone = client.chat.completions.create(**free).choices[0].message.content
    results = {}

    def ask(name, **kwargs):
        results[name] = client.chat.completions.create(**kwargs).choices[0]

    threads = [threading.Thread(target=ask, args=("free",), kwargs=free)]
    threads += [threading.Thread(target=ask, args=(f"json{i}",), kwargs=dict(
        model="ticket-triage", messages=TICKET, max_tokens=120, response_format=JSON_MODE)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results["free"].message.content == alone, "a free row is unaffected by constrained rows beside it"
    for i in range(3):
        assert isinstance(json.loads(results[f"json{i}"].message.content), dict)


def test_completions_take_response_format_too(bundled):
    status, body, raw = post_json(bundled + "/v1/completions", {
        "model": "ticket-triage", "prompt": "Ticket: the VPN drops every hour.\nJSON:", "max_tokens": 120,
        "response_format": JSON_MODE})
    assert status == 200, raw
    choice = body["choices"][0]
    if choice["finish_reason"] == "stop":
        assert isinstance(json.loads(choice["text"]), dict), choice["text"]
    assert choice["text"].lstrip().startswith("{")


def test_unsupported_types_are_400_naming_response_format(client):
    for fmt in ({"type": "xml"}, {"type": "grammar"}):
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=4, response_format=fmt)
        assert e.value.body["param"] == "response_format" and fmt["type"] in e.value.body["message"]


def test_a_role_binds_json_mode_unless_the_request_names_a_format(client):
    """`gemma-3-270m:json` declares response_format json_object in roles.yaml: it holds when the
    request names no format, and a request's own response_format wins."""
    r = client.chat.completions.create(model="gemma-3-270m:json", messages=TICKET, max_tokens=60)
    text = r.choices[0].message.content
    assert text.startswith("{"), text
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(text), dict)
    own = {"type": "json_schema", "json_schema": {"name": "yn", "schema": {"type": "string", "enum": ["yes", "no"]}}}
    r = client.chat.completions.create(model="gemma-3-270m:json", messages=TICKET, max_tokens=20, response_format=own)
    assert json.loads(r.choices[0].message.content) in {"yes", "no"}, r.choices[0].message.content


def test_the_bundled_triage_role_binds_its_schema(client):
    """ticket-triage's default role (strict) carries the triage schema: every reply is exactly
    {"category": one of five, "priority": one of three}, with no client change."""
    for text in ["The app crashes on start.", "Charged twice this month!", "Where is my parcel?"]:
        r = client.chat.completions.create(model="ticket-triage", max_tokens=40,
                                           messages=[{"role": "user", "content": text}])
        value = json.loads(r.choices[0].message.content)
        assert r.choices[0].finish_reason == "stop"
        assert list(value) == ["category", "priority"], value
        assert value["category"] in {"billing", "technical", "account", "shipping", "other"}
        assert value["priority"] in {"low", "medium", "high"}


def test_logprobs_describe_the_masked_distribution(client):
    r = client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=8, logprobs=True,
                                       top_logprobs=5, response_format=JSON_MODE)
    first = r.choices[0].logprobs.content[0]
    assert first.token.startswith("{")
    # Only tokens that can open the object are alternatives, and together they hold all the mass.
    assert all(t.token.startswith("{") for t in first.top_logprobs), [t.token for t in first.top_logprobs]
    assert sum(math.exp(t.logprob) for t in first.top_logprobs) <= 1 + 1e-4
    assert all(math.isfinite(t.logprob) for t in first.top_logprobs)

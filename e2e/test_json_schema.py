"""`response_format: {"type": "json_schema", ...}`: the reply is an instance of the schema, enforced token
by token. As documented it is compact JSON (no whitespace outside strings) with object keys in the schema's
`properties` order. Checked with the official `openai` client (`.parse` with Pydantic models and raw
schemas), the `jsonschema` package as the independent judge, and, when installed, LangChain and
instructor. Schemas the grammar cannot enforce are a 400 naming the keyword and its place, quickly, and
hostile ones never take the server down."""
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import Literal, Optional

import jsonschema
import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from support import MODEL_ID, REPO, assert_error_shape, assert_still_serving, post_json

MODELS = [MODEL_ID, "ticket-triage", "pirate-style"]
TICKET_TEXT = "Printer on floor 3 is jammed again and nobody can print invoices."
TICKET = [{"role": "user", "content": TICKET_TEXT}]
MAX_TOKENS = 400  # above the longest reply any schema below allows, so every reply ends with "stop"


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Models and schemas
# ---------------------------------------------------------------------------------------------

class Triage(BaseModel):
    category: Literal["hardware", "software", "network", "access", "billing"]
    priority: Literal["low", "medium", "high", "urgent"]
    summary: str = Field(max_length=80)


class Contact(BaseModel):
    name: str = Field(max_length=24)
    email: Optional[str] = Field(default=None, max_length=40)


class Handoff(BaseModel):
    """A nested model with Optional fields (anyOf with null once made strict)."""
    title: str = Field(max_length=40)
    contact: Contact
    phone: Optional[str] = Field(default=None, max_length=16)
    escalate: Optional[bool] = None


class Severity(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Incident(BaseModel):
    severity: Severity
    service: Literal["web", "database", "mail", "printing"]
    customers_affected: int = Field(ge=0, le=10000)


class Step(BaseModel):
    action: str = Field(max_length=30)
    minutes: int = Field(ge=1, le=120)
    done: bool


class Plan(BaseModel):
    """A list of sub-models with max_length, and `$defs` (Step, Contact, Severity)."""
    steps: list[Step] = Field(min_length=1, max_length=3)
    owner: Optional[Contact]
    severity: Severity


PARSE_MODELS = [Triage, Handoff, Incident, Plan]


def fixture_cases():
    return json.loads((REPO / "Tests" / "GrammarTests" / "Fixtures" / "schema_cases.json").read_text())


FORMAT_CHARS = {"date": 12, "date-time": 34, "uuid": 38}


def longest_reply(node, root):
    """Characters of the longest compact instance, or None when unbounded (a string without maxLength, an
    integer without both bounds, any number, an open object, an array without maxItems)."""
    if "$ref" in node:
        target = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return longest_reply(target, root)
    if "const" in node:
        return len(compact(node["const"]))
    if "enum" in node:
        return max(len(compact(v)) for v in node["enum"])
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        sizes = [longest_reply(b, root) for b in branches]
        return None if None in sizes else max(sizes)
    kind = node.get("type")
    if kind == "object" and node.get("additionalProperties", True) is False:
        sizes = [longest_reply(sub, root) for sub in node["properties"].values()]
        if None in sizes:
            return None
        return 2 + sum(sizes) + sum(len(compact(k)) + 2 for k in node["properties"])
    if kind == "array" and "maxItems" in node:
        size = longest_reply(node.get("items", {}), root)
        return None if size is None else 2 + node["maxItems"] * (size + 1)
    if kind == "string" and "format" in node:
        return FORMAT_CHARS.get(node["format"])
    if kind == "string":
        return node["maxLength"] + 2 if "maxLength" in node else None
    if kind == "integer":
        low, high = node.get("minimum", node.get("exclusiveMinimum")), node.get("maximum", node.get("exclusiveMaximum"))
        return None if low is None or high is None else max(len(str(low)), len(str(high)))
    return {"boolean": 5, "null": 4}.get(kind)


def bounded_random_cases(count=5):
    """The first seeded random schemas (object roots) whose replies are bounded and not trivially short."""
    picked = []
    for case in fixture_cases():
        size = longest_reply(case["schema"], case["schema"]) if case["name"].startswith("random_") else None
        if size is not None and 40 <= size <= MAX_TOKENS // 2:
            picked.append(case)
    assert len(picked) >= 3, "the fixtures have too few bounded random schemas"
    return picked[:count]


RANDOM_CASES = bounded_random_cases()


# ---------------------------------------------------------------------------------------------
# The documented shape of a reply
# ---------------------------------------------------------------------------------------------

def json_schema_format(schema, name="x", strict=True, description=None):
    spec = {"name": name, "schema": schema, "strict": strict}
    if description is not None:
        spec["description"] = description
    return {"type": "json_schema", "json_schema": spec}


def assert_compact(text):
    in_string = escaped = False
    for i, c in enumerate(text):
        if in_string:
            in_string = escaped or c != '"'
            escaped = not escaped and c == "\\"
        elif c == '"':
            in_string = True
        else:
            assert c not in " \t\r\n", f"whitespace outside a string at offset {i}: {text!r}"


def resolve(node, root):
    while "$ref" in node:
        target = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def assert_schema_order(value, node, validator, root, where="#"):
    """Object keys named in `properties` come in that order, before any additional key, at every level
    (through $ref, allOf and the anyOf/oneOf branch the value matches)."""
    node = resolve(node, root)
    for member in node.get("allOf", []):
        assert_schema_order(value, member, validator, root, where)
    branches = node.get("anyOf") or node.get("oneOf") or []
    matching = [b for b in branches if validator.evolve(schema=b).is_valid(value)]
    if matching:
        assert_schema_order(value, matching[0], validator, root, where)
    if isinstance(value, dict):
        properties = list(node.get("properties", {}))
        named = [k for k in value if k in properties]
        assert named == sorted(named, key=properties.index), f"keys out of schema order at {where}: {named}"
        known = [k in properties for k in value]
        assert known == sorted(known, reverse=True), f"a schema key after an additional one at {where}: {list(value)}"
        for key in named:
            assert_schema_order(value[key], node["properties"][key], validator, root, f"{where}/{key}")
    if isinstance(value, list):
        prefix = node.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else node.get("items")
            if isinstance(sub, dict):
                assert_schema_order(item, sub, validator, root, f"{where}/{i}")


def assert_conforms(text, schema):
    """Compact JSON, an instance of `schema` per jsonschema (Draft 2020-12, formats checked), keys in
    schema order. Returns the parsed value."""
    assert_compact(text)
    value = json.loads(text)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(value), key=lambda e: e.json_path)
    assert not errors, f"{text!r} is not an instance: {errors[0].message} at {errors[0].json_path}"
    assert_schema_order(value, schema, validator, schema)
    return value


def assert_finished_and_conforms(choice, schema):
    text = choice.message.content
    assert choice.finish_reason == "stop", f"finish_reason {choice.finish_reason!r}: {text!r}"
    return assert_conforms(text, schema)


def names_keyword(message, keyword):
    return any(form in message for form in (f"'{keyword}'", f'"{keyword}"', f"`{keyword}`", f"/{keyword}"))


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled(bundled_server):
    return bundled_server


@pytest.fixture(scope="module")
def client(bundled):
    return openai.OpenAI(base_url=bundled + "/v1", api_key="unused", max_retries=0, timeout=180)



def post_schema(url, schema, max_tokens=8, timeout=60):
    """(status, payload, seconds) of one chat request with `schema` as its response_format."""
    started = time.monotonic()
    status, payload, _ = post_json(url + "/v1/chat/completions", {
        "model": MODEL_ID, "messages": TICKET, "max_tokens": max_tokens,
        "response_format": json_schema_format(schema)}, timeout=timeout)
    return status, payload, time.monotonic() - started


# ---------------------------------------------------------------------------------------------
# .parse with Pydantic models
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("temperature,seed", [(0, None), (1, 11)], ids=["greedy", "sampled"])
@pytest.mark.parametrize("model_class", PARSE_MODELS, ids=lambda m: m.__name__)
def test_parse_returns_the_pydantic_model(client, model_class, temperature, seed):
    extra = {} if seed is None else {"seed": seed}
    completion = client.chat.completions.parse(model="ticket-triage", messages=TICKET, response_format=model_class,
                                               max_tokens=MAX_TOKENS, temperature=temperature, **extra)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    assert isinstance(choice.message.parsed, model_class), choice.message.content
    # .parse sends exactly this schema
    assert_conforms(choice.message.content, to_strict_json_schema(model_class))


# ---------------------------------------------------------------------------------------------
# Raw schemas from the grammar fixtures, on the base model and both adapters
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", RANDOM_CASES, ids=lambda c: c["name"])
def test_raw_schema_greedy_and_sampled(client, case, model):
    fmt = json_schema_format(case["schema"], name=case["name"], description="fixture schema " + case["name"])
    greedy = client.chat.completions.create(model=model, messages=TICKET, max_tokens=MAX_TOKENS, temperature=0,
                                            response_format=fmt)
    assert_finished_and_conforms(greedy.choices[0], case["schema"])
    sampled = client.chat.completions.create(model=model, messages=TICKET, max_tokens=MAX_TOKENS, temperature=1,
                                             seed=3, n=3, response_format=fmt)
    assert len(sampled.choices) == 3
    for choice in sampled.choices:
        assert_finished_and_conforms(choice, case["schema"])


@pytest.mark.parametrize("model", MODELS)
def test_streamed_reply_assembles_to_the_greedy_instance(client, model):
    schema = to_strict_json_schema(Plan)
    fmt = json_schema_format(schema, name="plan")
    texts, reasons = {}, {}
    for chunk in client.chat.completions.create(model=model, messages=TICKET, max_tokens=MAX_TOKENS, temperature=0,
                                                n=2, response_format=fmt, stream=True):
        for c in chunk.choices:
            texts[c.index] = texts.get(c.index, "") + (c.delta.content or "")
            if c.finish_reason:
                reasons.setdefault(c.index, []).append(c.finish_reason)
    assert sorted(texts) == [0, 1]
    assert reasons == {0: ["stop"], 1: ["stop"]}
    for text in texts.values():
        assert_conforms(text, schema)
    whole = client.chat.completions.create(model=model, messages=TICKET, max_tokens=MAX_TOKENS, temperature=0,
                                           response_format=fmt)
    assert texts[0] == whole.choices[0].message.content, "streamed and non-streamed greedy replies differ"


def test_logprobs_are_finite_and_not_positive(client):
    schema = to_strict_json_schema(Triage)
    r = client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=MAX_TOKENS, logprobs=True,
                                       top_logprobs=3, response_format=json_schema_format(schema, "triage"))
    choice = r.choices[0]
    assert_finished_and_conforms(choice, schema)
    entries = choice.logprobs.content
    assert entries, "no logprobs"
    for entry in entries:
        assert math.isfinite(entry.logprob) and entry.logprob <= 1e-6, entry
        for alternative in entry.top_logprobs:
            assert math.isfinite(alternative.logprob) and alternative.logprob <= 1e-6, alternative


# ---------------------------------------------------------------------------------------------
# Cut short
# ---------------------------------------------------------------------------------------------

def test_max_tokens_cuts_a_schema_reply_with_length(client):
    schema = to_strict_json_schema(Triage)
    r = client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=5,
                                       response_format=json_schema_format(schema, "triage"))
    choice = r.choices[0]
    assert choice.finish_reason == "length"
    opening = '{"category":"'  # the first property in schema order, compact
    text = choice.message.content
    assert text.startswith(opening) or opening.startswith(text), text
    with pytest.raises(openai.LengthFinishReasonError):
        client.chat.completions.parse(model="ticket-triage", messages=TICKET, max_tokens=5, response_format=Triage)


# ---------------------------------------------------------------------------------------------
# /v1/completions
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
def test_completions_take_a_json_schema(client, model):
    schema = to_strict_json_schema(Incident)
    r = client.completions.create(model=model, prompt="Ticket: the VPN drops every hour.\nJSON:", max_tokens=MAX_TOKENS,
                                  temperature=0, extra_body={"response_format": json_schema_format(schema, "incident")})
    choice = r.choices[0]
    assert choice.finish_reason == "stop", choice.text
    assert_conforms(choice.text, schema)


# ---------------------------------------------------------------------------------------------
# A mixed burst
# ---------------------------------------------------------------------------------------------

def test_burst_of_mixed_constrained_and_free_requests(client):
    schemas = [to_strict_json_schema(Triage), to_strict_json_schema(Plan), to_strict_json_schema(Handoff),
               *(c["schema"] for c in RANDOM_CASES[:2])]
    jobs = []
    for i in range(16):
        model = MODELS[i % len(MODELS)]
        kind = ["json_schema", "json_schema", "json_object", "text"][i % 4]
        schema = schemas[i % len(schemas)] if kind == "json_schema" else None
        fmt = json_schema_format(schema, f"s{i}") if schema else {"type": kind}
        max_tokens = MAX_TOKENS if schema else 48
        jobs.append((kind, schema, dict(model=model, messages=TICKET, max_tokens=max_tokens, temperature=i % 2,
                                        seed=i, response_format=fmt)))

    def ask(job):
        return job[0], job[1], client.chat.completions.create(**job[2]).choices[0]

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(ask, jobs))
    for kind, schema, choice in results:
        if kind == "json_schema":
            assert_finished_and_conforms(choice, schema)
        elif kind == "json_object":
            assert choice.message.content.startswith("{"), choice.message.content
            if choice.finish_reason == "stop":
                assert isinstance(json.loads(choice.message.content), dict)
        else:
            assert choice.finish_reason in ("stop", "length") and isinstance(choice.message.content, str)


# ---------------------------------------------------------------------------------------------
# Libraries built on the API
# ---------------------------------------------------------------------------------------------

def test_langchain_with_structured_output(bundled):
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(base_url=bundled + "/v1", api_key="x", model="ticket-triage", temperature=0,
                                      max_tokens=MAX_TOKENS, max_retries=0)
    result = llm.with_structured_output(Triage, method="json_schema").invoke(TICKET_TEXT)
    assert isinstance(result, Triage), result


def test_instructor_json_schema_mode(client):
    instructor = pytest.importorskip("instructor")
    patched = instructor.from_openai(client, mode=instructor.Mode.JSON_SCHEMA)
    result = patched.chat.completions.create(model="ticket-triage", response_model=Triage, messages=TICKET,
                                             max_tokens=MAX_TOKENS, temperature=0, max_retries=1)
    assert isinstance(result, Triage), result


# ---------------------------------------------------------------------------------------------
# Schemas the grammar cannot enforce, and hostile ones
# ---------------------------------------------------------------------------------------------

UNSUPPORTED = [
    ("not", {"type": "object", "properties": {"a": {"type": "string"}}, "not": {"required": ["a"]}}, None),
    ("uniqueItems", {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"},
                                                               "uniqueItems": True}}}, "properties/tags"),
    ("patternProperties", {"type": "object", "patternProperties": {"^x": {"type": "string"}}}, None),
    ("if", {"type": "object", "properties": {"a": {"type": "string"}}, "if": {"required": ["a"]}}, None),
]


@pytest.mark.parametrize("keyword,schema,place", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_keyword_is_400_naming_it_and_its_place(bundled, client, keyword, schema, place):
    status, payload, _ = post_schema(bundled, schema)
    assert status == 400, payload
    err = assert_error_shape(payload, status=status, param="response_format", types={"invalid_request_error"})
    assert names_keyword(err["message"], keyword), err["message"]
    if place:
        assert place in err["message"], err["message"]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="ticket-triage", messages=TICKET, max_tokens=4,
                                       response_format=json_schema_format(schema))


def recursive_without_base_case():
    return {"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}, "required": ["next"],
                            "additionalProperties": False}}, "$ref": "#/$defs/n"}


@pytest.mark.parametrize("schema", [{"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
                                    recursive_without_base_case()], ids=["ref-to-itself", "required-recursion"])
def test_ref_cycle_without_base_case_is_400_quickly(bundled, client, schema):
    status, payload, seconds = post_schema(bundled, schema, timeout=30)
    assert status == 400, payload
    assert_error_shape(payload, status=status, param="response_format", types={"invalid_request_error"})
    assert seconds < 2, f"{seconds:.1f} s"
    assert_still_serving(client)


def test_two_hundred_nested_objects_are_400(bundled, client):
    schema = {"type": "string"}
    for _ in range(200):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"], "additionalProperties": False}
    status, payload, seconds = post_schema(bundled, schema, timeout=30)
    assert status == 400, payload
    assert_error_shape(payload, status=status, types={"invalid_request_error"})
    assert_still_serving(client)


def test_hundred_thousand_value_enum_is_refused_or_fast(bundled, client):
    schema = {"type": "object", "properties": {"v": {"enum": [f"value{i}" for i in range(100_000)]}},
              "required": ["v"], "additionalProperties": False}
    status, payload, seconds = post_schema(bundled, schema, timeout=60)
    assert status in (200, 400), payload
    if status == 400:
        assert_error_shape(payload, status=status, param="response_format", types={"invalid_request_error"})
    else:
        assert seconds < 5, f"accepted but took {seconds:.1f} s"
    assert_still_serving(client)


@pytest.mark.parametrize("pattern", ["^(a|aa)*{999}$", "^((a+)+)+$", "^(a|aa){0,999}$", "^([a-z]{0,40}){0,40}b$"])
def test_pathological_pattern_is_refused_or_fast(bundled, client, pattern):
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}, "required": ["s"],
              "additionalProperties": False}
    status, payload, seconds = post_schema(bundled, schema, max_tokens=8, timeout=60)
    assert status in (200, 400), payload
    assert seconds < 10, f"{seconds:.1f} s"
    if status == 400:
        assert_error_shape(payload, status=status, param="response_format", types={"invalid_request_error"})
    else:
        choice = payload["choices"][0]
        assert choice["finish_reason"] in ("stop", "length")
        assert choice["message"]["content"].startswith('{"s":"'[:len(choice["message"]["content"])])
    assert_still_serving(client)


def test_server_still_answers_after_everything(client):
    r = client.chat.completions.create(model="pirate-style", messages=[{"role": "user", "content": "Ahoy?"}],
                                       max_tokens=16)
    assert r.choices[0].finish_reason in ("stop", "length") and r.choices[0].message.content
    assert_still_serving(client)

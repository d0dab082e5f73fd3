"""Function calling on `/v1/chat/completions`: `tools`, `tool_choice` (none, auto, required, a named function)
and `parallel_tool_calls`. With "required" or a named function the reply is grammar-constrained to calls of
the offered functions with arguments valid for their `parameters`; under "auto" the model may answer in words.
Every call's arguments are judged by the `jsonschema` package against the function's own schema. Checked
with the official `openai` client (plain, raw stream and the `.stream` helper), stdlib HTTP for the 400s, and,
when installed, LangChain, instructor, LiteLLM and the OpenAI Agents SDK."""
import asyncio
import json
import os
from enum import Enum
from typing import Literal

import jsonschema
import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel

from support import MODEL_ID, REPO, assert_error_shape, assert_still_serving, post_json

MODELS = [MODEL_ID, "ticket-triage"]
MAX_TOKENS = 120
MAX_PARALLEL_CALLS = 8
WEATHER_QUESTION = [{"role": "user", "content": "What's the weather in Paris?"}]
TICKET = [{"role": "user", "content": "Printer on floor 3 is jammed again and nobody can print invoices."}]
ORDER_QUESTION = [{"role": "user", "content": "Where is my order 1234? Also refund 5 dollars."}]


# ---------------------------------------------------------------------------------------------
# Functions offered
# ---------------------------------------------------------------------------------------------

def function_tool(name, description, parameters, strict=True):
    return {"type": "function",
            "function": {"name": name, "description": description, "parameters": parameters, "strict": strict}}


def closed_object(properties):
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


WEATHER = function_tool("get_weather", "Get the current weather in a city", closed_object({
    "city": {"type": "string", "maxLength": 40},
    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}))
CREATE_TICKET = function_tool("create_ticket", "Open a support ticket", closed_object({
    "category": {"enum": ["hardware", "software", "network", "access"]},
    "priority": {"enum": ["low", "medium", "high"]}}))
# Both define `$defs/Id`, with different types: the server must keep each function's references its own.
LOOKUP_ORDER = function_tool("lookup_order", "Look up an order by its id", {
    **closed_object({"order_id": {"$ref": "#/$defs/Id"}, "shipping": {"$ref": "#/$defs/Shipping"}}),
    "$defs": {"Id": {"type": "string", "pattern": "^[0-9]{4}$"}, "Shipping": {"enum": ["air", "sea", "road"]}}})
REFUND = function_tool("refund", "Refund an amount in dollars", {
    **closed_object({"amount": {"$ref": "#/$defs/Id"}}),
    "$defs": {"Id": {"type": "integer", "minimum": 1, "maximum": 99}}})
PING = function_tool("ping", "Ping a host", closed_object({"host": {"enum": ["a", "b", "c"]}}))

SUPPORT_TOOLS = [WEATHER, CREATE_TICKET]
ORDER_TOOLS = [LOOKUP_ORDER, REFUND]


def named(name):
    return {"type": "function", "function": {"name": name}}


# ---------------------------------------------------------------------------------------------
# The documented shape of a reply
# ---------------------------------------------------------------------------------------------

def parameters_of(tools):
    return {t["function"]["name"]: t["function"]["parameters"] for t in tools}


def assert_arguments_valid(name, arguments, tools):
    """`arguments` (a JSON text) is an instance of the parameters schema of `name`, one of `tools`."""
    schemas = parameters_of(tools)
    assert name in schemas, f"called {name!r}, not one of {sorted(schemas)}"
    value = json.loads(arguments)
    validator = jsonschema.Draft202012Validator(schemas[name], format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(value), key=lambda e: e.json_path)
    assert not errors, f"{name}({arguments}): {errors[0].message} at {errors[0].json_path}"
    return value


def assert_tool_calls(choice, tools, *, only=None, max_calls=1):
    """A choice that ended in calls: finish_reason tool_calls, no content, 1..max_calls calls of the offered
    functions (of `only` when given) with valid arguments and non-empty ids. Returns the calls."""
    message = choice.message
    assert choice.finish_reason == "tool_calls", f"finish_reason {choice.finish_reason!r}: {message.content!r}"
    assert message.content is None, message.content
    calls = message.tool_calls or []
    assert 1 <= len(calls) <= max_calls, f"{len(calls)} calls (at most {max_calls} allowed): {calls}"
    for call in calls:
        assert call.type == "function"
        assert isinstance(call.id, str) and call.id, call
        if only is not None:
            assert call.function.name == only, call
        assert_arguments_valid(call.function.name, call.function.arguments, tools)
    return calls


def assert_unique_ids(choices):
    ids = [call.id for choice in choices for call in (choice.message.tool_calls or [])]
    assert len(ids) == len(set(ids)), f"repeated call ids: {ids}"


ENVELOPE_OPENINGS = ('{"tool_calls"', '{"response"')


def assert_calls_or_words(choice, tools):
    """Under "auto": valid calls, or an answer in words that is never the raw envelope."""
    if choice.message.tool_calls:
        return assert_tool_calls(choice, tools)
    text = choice.message.content
    assert isinstance(text, str), choice
    assert choice.finish_reason in ("stop", "length"), choice.finish_reason
    assert not text.startswith('{"response"'), f"the envelope leaked into content: {text!r}"
    if choice.finish_reason == "stop":
        assert not text.startswith(ENVELOPE_OPENINGS), f"the envelope leaked into content: {text!r}"
    return []


def as_pairs(calls):
    return [(c.function.name, c.function.arguments) for c in calls]


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled(bundled_server):
    return bundled_server


@pytest.fixture(scope="module")
def client(bundled):
    return openai.OpenAI(base_url=bundled + "/v1", api_key="unused", max_retries=0, timeout=180)



def ask(client, model=MODEL_ID, messages=WEATHER_QUESTION, tools=SUPPORT_TOOLS, **extra):
    extra = {"temperature": 0, "max_tokens": MAX_TOKENS, **extra}
    return client.chat.completions.create(model=model, messages=messages, tools=tools, **extra)


# ---------------------------------------------------------------------------------------------
# Forced calls: "required" and a named function
# ---------------------------------------------------------------------------------------------

SAMPLING = [({"temperature": 0}, 2), ({"temperature": 1, "seed": 7}, 3)]


@pytest.mark.parametrize("sampling,n", SAMPLING, ids=["greedy", "sampled"])
@pytest.mark.parametrize("choice", ["required", "create_ticket"], ids=["required", "named"])
@pytest.mark.parametrize("model", MODELS)
def test_forced_calls_are_valid(client, model, choice, sampling, n):
    tool_choice = choice if choice == "required" else named(choice)
    r = ask(client, model, TICKET, tool_choice=tool_choice, n=n, **sampling)
    assert len(r.choices) == n
    for c in r.choices:
        assert_tool_calls(c, SUPPORT_TOOLS, only=None if choice == "required" else choice)
    assert_unique_ids(r.choices)


@pytest.mark.parametrize("model", MODELS)
def test_references_stay_with_their_function(client, model):
    """Two functions whose `$defs/Id` differ (a 4-digit string, an integer 1..99)."""
    for tool_choice in ("required", named("lookup_order"), named("refund")):
        r = ask(client, model, ORDER_QUESTION, tools=ORDER_TOOLS, tool_choice=tool_choice)
        only = None if tool_choice == "required" else tool_choice["function"]["name"]
        assert_tool_calls(r.choices[0], ORDER_TOOLS, only=only)


# ---------------------------------------------------------------------------------------------
# "auto", "none" and no tools
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sampling", [{"temperature": 0}, {"temperature": 1, "seed": 5}], ids=["greedy", "sampled"])
@pytest.mark.parametrize("model", MODELS)
def test_auto_is_calls_or_words(client, model, sampling):
    replies = [ask(client, model, messages, tool_choice="auto", **sampling).choices[0]
               for messages in (WEATHER_QUESTION, TICKET)]
    for choice in replies:
        assert_calls_or_words(choice, SUPPORT_TOOLS)
    default = ask(client, model, WEATHER_QUESTION, **sampling).choices[0]  # "auto" is the default with tools

    def said(choice):
        return choice.message.content, as_pairs(choice.message.tool_calls or [])
    assert said(default) == said(replies[0]), "no tool_choice differs from tool_choice auto"


@pytest.mark.parametrize("tools,tool_choice", [(SUPPORT_TOOLS, "none"), ([], None), ([], "none")],
                         ids=["none", "empty-tools", "empty-tools-none"])
def test_no_tool_use_is_the_plain_reply(client, tools, tool_choice):
    """With "none" the functions are not shown to the model: the greedy reply is the one without tools."""
    plain = client.chat.completions.create(model=MODEL_ID, messages=WEATHER_QUESTION, max_tokens=24, temperature=0)
    extra = {} if tool_choice is None else {"tool_choice": tool_choice}
    r = client.chat.completions.create(model=MODEL_ID, messages=WEATHER_QUESTION, max_tokens=24, temperature=0,
                                       tools=tools, **extra)
    choice = r.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert not choice.message.tool_calls
    assert choice.message.content == plain.choices[0].message.content


@pytest.mark.parametrize("model", MODELS)
def test_auto_answer_in_words_takes_the_response_format(client, model):
    """Under "auto" with a json_schema response_format, an answer that is not a call is an instance of it."""
    schema = to_strict_json_schema(Ticket)
    fmt = {"type": "json_schema", "json_schema": {"name": "ticket", "schema": schema, "strict": True}}
    for messages in (TICKET, WEATHER_QUESTION):
        choice = ask(client, model, messages, tool_choice="auto", response_format=fmt).choices[0]
        if not assert_calls_or_words(choice, SUPPORT_TOOLS) and choice.finish_reason == "stop":
            jsonschema.validate(json.loads(choice.message.content), schema)


def test_max_tokens_cuts_a_reply_with_length(client):
    """A cut call comes back as OpenAI returns one: finish_reason length, the calls named so far with their
    arguments so far (a prefix of the uncut call's), streamed or not; cut words are a prefix."""
    whole = ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="required").choices[0]
    full = assert_tool_calls(whole, SUPPORT_TOOLS)[0]
    forced = ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="required", max_tokens=12).choices[0]
    assert forced.finish_reason == "length" and forced.message.content is None, forced
    (cut_call,) = forced.message.tool_calls
    assert cut_call.id and cut_call.function.name == full.function.name
    assert full.function.arguments.startswith(cut_call.function.arguments)
    assert cut_call.function.arguments != full.function.arguments
    streamed = list(ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="required", max_tokens=12, stream=True))
    deltas = [c.choices[0] for c in streamed if c.choices]
    pieces = [tc for d in deltas for tc in d.delta.tool_calls or []]
    assert pieces[0].function.name == full.function.name and {tc.index for tc in pieces} == {0}
    assert "".join(tc.function.arguments or "" for tc in pieces) == cut_call.function.arguments
    assert [d.finish_reason for d in deltas if d.finish_reason] == ["length"]
    before_name = ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="required", max_tokens=2).choices[0]
    assert before_name.finish_reason == "length" and not before_name.message.tool_calls, before_name
    longer = ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="auto").choices[0]
    cut = ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="auto", max_tokens=12).choices[0]
    assert cut.finish_reason == "length" and not cut.message.tool_calls, cut
    if not longer.message.tool_calls:
        assert longer.message.content.startswith(cut.message.content), (cut.message.content, longer.message.content)
        assert not cut.message.content.startswith(ENVELOPE_OPENINGS), cut.message.content


# ---------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------

STREAM_CASES = [
    (MODEL_ID, SUPPORT_TOOLS, WEATHER_QUESTION, {"tool_choice": "required"}),
    ("ticket-triage", SUPPORT_TOOLS, TICKET, {"tool_choice": named("create_ticket")}),
    ("ticket-triage", ORDER_TOOLS, ORDER_QUESTION, {"tool_choice": "required", "parallel_tool_calls": True}),
]


@pytest.mark.parametrize("model,tools,messages,extra", STREAM_CASES, ids=["required", "named", "parallel"])
def test_stream_helper_assembles_the_greedy_calls(client, model, tools, messages, extra):
    whole = ask(client, model, messages, tools=tools, **extra)
    calls = assert_tool_calls(whole.choices[0], tools, max_calls=MAX_PARALLEL_CALLS)
    done = []
    with client.chat.completions.stream(model=model, messages=messages, tools=tools, max_tokens=MAX_TOKENS,
                                        temperature=0, **extra) as stream:
        for event in stream:
            if event.type == "tool_calls.function.arguments.done":
                done.append((event.name, event.arguments))
        final = stream.get_final_completion()
    choice = final.choices[0]
    streamed = assert_tool_calls(choice, tools, max_calls=MAX_PARALLEL_CALLS)
    assert as_pairs(streamed) == as_pairs(calls), "streamed and non-streamed greedy calls differ"
    assert done == as_pairs(calls)
    for call in streamed:  # strict tools are parsed by the helper
        assert call.function.parsed_arguments == json.loads(call.function.arguments)


@pytest.mark.parametrize("model,tools,messages,extra", STREAM_CASES, ids=["required", "named", "parallel"])
def test_raw_stream_chunks(client, model, tools, messages, extra):
    whole = ask(client, model, messages, tools=tools, **extra)
    calls = assert_tool_calls(whole.choices[0], tools, max_calls=MAX_PARALLEL_CALLS)
    chunks = list(ask(client, model, messages, tools=tools, stream=True, **extra))
    deltas = [c.choices[0] for c in chunks if c.choices]
    assert deltas and deltas[0].delta.role == "assistant", deltas[:1]
    assert sum(1 for d in deltas if d.delta.tool_calls) > len(calls), "arguments arrive as they are written"
    seen, names, arguments = {}, {}, {}
    for d in deltas:
        assert not d.delta.content, f"content in a tool-call reply: {d.delta.content!r}"
        for tc in d.delta.tool_calls or []:
            if tc.index not in seen:
                assert tc.id and tc.type == "function" and tc.function.name, f"first delta of call {tc.index}: {tc}"
                seen[tc.index] = tc.id
                names[tc.index] = tc.function.name
                arguments[tc.index] = tc.function.arguments or ""
            else:
                assert tc.id is None and tc.function.name is None, f"a later delta repeats id or name: {tc}"
                arguments[tc.index] += tc.function.arguments or ""
    assert sorted(seen) == list(range(len(calls))), f"indexes {sorted(seen)} for {len(calls)} calls"
    assert len(set(seen.values())) == len(seen), seen
    assert [(names[i], arguments[i]) for i in sorted(seen)] == as_pairs(calls)
    reasons = [d.finish_reason for d in deltas if d.finish_reason]
    assert reasons == ["tool_calls"] and deltas[-1].finish_reason == "tool_calls", reasons


def test_streamed_auto_words_equal_the_whole_reply(client):
    whole = ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="auto").choices[0]
    chunks = list(ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice="auto", stream=True))
    deltas = [c.choices[0] for c in chunks if c.choices]
    text = "".join(d.delta.content or "" for d in deltas)
    reasons = [d.finish_reason for d in deltas if d.finish_reason]
    if whole.message.tool_calls:
        assert reasons == ["tool_calls"]
    else:
        assert text == whole.message.content
        assert reasons == [whole.finish_reason]


# ---------------------------------------------------------------------------------------------
# Calls and results in the history
# ---------------------------------------------------------------------------------------------

WEATHER_ARGUMENTS = json.dumps({"city": "Paris", "unit": "celsius"})
ROUND_TRIP = [
    *WEATHER_QUESTION,
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": WEATHER_ARGUMENTS}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"temperature": 18, "sky": "sunny"})},
]
TWO_CALLS = [
    *ORDER_QUESTION,
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function",
         "function": {"name": "lookup_order", "arguments": '{"order_id":"1234","shipping":"air"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "refund", "arguments": '{"amount":5}'}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": "In transit, arrives Friday."},
    {"role": "tool", "tool_call_id": "call_b", "content": "Refunded 5 dollars."},
]


@pytest.mark.parametrize("history,tools", [(ROUND_TRIP, SUPPORT_TOOLS), (TWO_CALLS, ORDER_TOOLS)],
                         ids=["one-call", "two-calls"])
@pytest.mark.parametrize("tool_choice", [None, "auto", "required"], ids=["no-tools", "auto", "required"])
def test_history_with_calls_and_results(bundled, history, tools, tool_choice):
    body = {"model": MODEL_ID, "messages": history, "max_tokens": MAX_TOKENS, "temperature": 0}
    if tool_choice is not None:
        body.update(tools=tools, tool_choice=tool_choice)
    status, payload, raw = post_json(bundled + "/v1/chat/completions", body)
    assert status == 200, raw[:500]
    choice = openai.types.chat.ChatCompletion.model_validate(payload).choices[0]
    if tool_choice is None:
        assert choice.finish_reason in ("stop", "length") and isinstance(choice.message.content, str)
        assert not choice.message.tool_calls
    elif tool_choice == "required":
        assert_tool_calls(choice, tools)
    else:
        assert_calls_or_words(choice, tools)


# ---------------------------------------------------------------------------------------------
# Tools a role binds (adapters/ticket-tools/roles.yaml `filer-tools` offers open_ticket)
# ---------------------------------------------------------------------------------------------

FILER_TOOLS = "ticket-tools:filer-tools"
OPEN_TICKET = json.loads((REPO / "adapters" / "ticket-tools" / "eval.jsonl").read_text().splitlines()[0])["tools"]
SHIPPING_TICKET = [{"role": "user", "content": "Hello folks, Order #20458 with insulin supplies says delivered "
                                               "but it's nowhere, I need it today. Many thanks"}]


def test_role_bound_tools_are_offered_as_if_the_request_sent_them(client):
    """A client that sends no tools gets the role's: the same prompt (usage.prompt_tokens), the same call."""
    bound = client.chat.completions.create(model=FILER_TOOLS, messages=SHIPPING_TICKET, temperature=0,
                                           max_tokens=MAX_TOKENS)
    sent = client.chat.completions.create(model="ticket-tools:filer", messages=SHIPPING_TICKET, temperature=0,
                                          max_tokens=MAX_TOKENS, tools=OPEN_TICKET, tool_choice="auto")
    assert bound.usage.prompt_tokens == sent.usage.prompt_tokens
    calls = assert_tool_calls(bound.choices[0], OPEN_TICKET)
    assert [(c.function.name, c.function.arguments) for c in calls] == \
        [(c.function.name, c.function.arguments) for c in sent.choices[0].message.tool_calls]
    assert json.loads(calls[0].function.arguments)["category"] == "shipping"


def test_request_fields_win_over_the_role_bound_tools(client):
    words = client.chat.completions.create(model=FILER_TOOLS, messages=SHIPPING_TICKET, temperature=0,
                                           max_tokens=16, tool_choice="none")
    assert not words.choices[0].message.tool_calls and isinstance(words.choices[0].message.content, str)
    other = ask(client, FILER_TOOLS, WEATHER_QUESTION, tools=[WEATHER], tool_choice="required")
    assert_tool_calls(other.choices[0], [WEATHER])
    plain = client.chat.completions.create(model="ticket-tools:filer", messages=SHIPPING_TICKET, temperature=0,
                                           max_tokens=16)
    assert not plain.choices[0].message.tool_calls


def test_role_bound_tools_stream_as_calls(client):
    with client.chat.completions.stream(model=FILER_TOOLS, messages=SHIPPING_TICKET, temperature=0,
                                        max_tokens=MAX_TOKENS) as stream:
        final = stream.get_final_completion()
    assert_tool_calls(final.choices[0], OPEN_TICKET)


def test_reply_message_object_goes_back_into_the_history(client):
    """The cookbook loop: append the returned message object itself, then the tool's result."""
    first = ask(client, MODEL_ID, WEATHER_QUESTION, tool_choice=named("get_weather")).choices[0]
    [call] = assert_tool_calls(first, SUPPORT_TOOLS, only="get_weather")
    messages = [*WEATHER_QUESTION, first.message,
                {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"}]
    r = ask(client, MODEL_ID, messages)
    assert_calls_or_words(r.choices[0], SUPPORT_TOOLS)


# ---------------------------------------------------------------------------------------------
# parallel_tool_calls
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
def test_parallel_calls_are_each_valid(client, model):
    r = ask(client, model, ORDER_QUESTION, tools=ORDER_TOOLS, tool_choice="required", parallel_tool_calls=True)
    calls = assert_tool_calls(r.choices[0], ORDER_TOOLS, max_calls=MAX_PARALLEL_CALLS)
    assert_unique_ids(r.choices)
    assert len(calls) >= 1


@pytest.mark.parametrize("parallel", [None, False], ids=["default", "false"])
@pytest.mark.parametrize("model", MODELS)
def test_one_call_unless_parallel(client, model, parallel):
    """`ping` over three hosts: the base model, let free, repeats calls; by default a reply has exactly one."""
    extra = {} if parallel is None else {"parallel_tool_calls": parallel}
    messages = [{"role": "user", "content": "Ping all hosts a, b and c."}]
    r = ask(client, model, messages, tools=[PING], tool_choice="required", **extra)
    assert len(assert_tool_calls(r.choices[0], [PING], max_calls=1)) == 1


# ---------------------------------------------------------------------------------------------
# Requests refused
# ---------------------------------------------------------------------------------------------

def with_name(tool, name):
    return {**tool, "function": {**tool["function"], "name": name}}


def with_parameters(tool, parameters):
    return {**tool, "function": {**tool["function"], "parameters": parameters}}


NOT_SCHEMA = {**closed_object({"city": {"type": "string"}}), "not": {"required": ["city"]}}
NO_ID_HISTORY = [*WEATHER_QUESTION, ROUND_TRIP[1], {"role": "tool", "content": "18 degrees"}]

REFUSED = [
    ("unknown-named-function", {"tools": [WEATHER], "tool_choice": named("nope")}, "tool_choice", None),
    ("named-function-without-tools", {"tool_choice": named("get_weather")}, "tool_choice", None),
    ("required-without-tools", {"tool_choice": "required"}, "tool_choice", None),
    ("required-with-empty-tools", {"tools": [], "tool_choice": "required"}, "tool_choice", None),
    ("unknown-tool-choice", {"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice", None),
    ("unsupported-keyword", {"tools": [with_parameters(WEATHER, NOT_SCHEMA)]}, "tools[0].function.parameters", "not"),
    ("unsupported-keyword-second-tool", {"tools": [WEATHER, with_parameters(CREATE_TICKET, NOT_SCHEMA)]},
     "tools[1].function.parameters", "not"),
    ("duplicate-names", {"tools": [WEATHER, WEATHER]}, "tools[1].function.name", None),
    ("name-with-spaces", {"tools": [with_name(WEATHER, "get weather")]}, "tools[0].function.name", None),
    ("name-too-long", {"tools": [with_name(WEATHER, "f" * 65)]}, "tools[0].function.name", None),
    ("not-a-function-tool", {"tools": [{**WEATHER, "type": "retrieval"}]}, "tools[0].type", None),
    ("tool-message-without-id", {"messages": NO_ID_HISTORY}, "messages[2].tool_call_id", None),
    ("tool-message-without-id-and-tools", {"messages": NO_ID_HISTORY, "tools": [WEATHER]},
     "messages[2].tool_call_id", None),
]


@pytest.mark.parametrize("fields,param,keyword", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_with_400(bundled, client, fields, param, keyword):
    body = {"model": MODEL_ID, "messages": WEATHER_QUESTION, "max_tokens": 8, **fields}
    status, payload, raw = post_json(bundled + "/v1/chat/completions", body)
    assert status == 400, raw[:500]
    err = assert_error_shape(payload, status=status, param=param, types={"invalid_request_error"})
    if keyword:
        assert f"'{keyword}'" in err["message"], err["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**body)
    assert caught.value.param == param
    assert_still_serving(client)


# ---------------------------------------------------------------------------------------------
# Libraries built on the API
# ---------------------------------------------------------------------------------------------

class Category(str, Enum):
    hardware = "hardware"
    software = "software"
    network = "network"
    access = "access"


class Ticket(BaseModel):
    """A support ticket."""
    category: Category
    priority: Literal["low", "medium", "high"]


def test_langchain_bind_tools_and_tool_message_round_trip(bundled):
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    llm = langchain_openai.ChatOpenAI(base_url=bundled + "/v1", api_key="x", model=MODEL_ID, temperature=0,
                                      max_tokens=MAX_TOKENS, max_retries=0)
    question = HumanMessage(WEATHER_QUESTION[0]["content"])
    ai = llm.bind_tools([WEATHER], tool_choice="required").invoke([question])
    assert isinstance(ai, AIMessage) and ai.tool_calls, ai
    for call in ai.tool_calls:
        assert call["id"]
        assert_arguments_valid(call["name"], json.dumps(call["args"]), [WEATHER])
    result = ToolMessage(content="18 degrees and sunny", tool_call_id=ai.tool_calls[0]["id"])
    answer = llm.bind_tools([WEATHER]).invoke([question, ai, result])
    assert isinstance(answer, AIMessage), answer
    plain = llm.invoke([question, ai, result])  # the same history without tools
    assert isinstance(plain, AIMessage) and isinstance(plain.content, str), plain


def test_langchain_structured_output_by_function_calling(bundled):
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(base_url=bundled + "/v1", api_key="x", model=MODEL_ID, temperature=0,
                                      max_tokens=MAX_TOKENS, max_retries=0)
    result = llm.with_structured_output(Ticket, method="function_calling").invoke(TICKET[0]["content"])
    assert isinstance(result, Ticket), result


def test_instructor_tools_mode(client):
    instructor = pytest.importorskip("instructor")
    patched = instructor.from_openai(client)
    assert patched.mode == instructor.Mode.TOOLS
    result = patched.chat.completions.create(model=MODEL_ID, response_model=Ticket, messages=TICKET,
                                             max_tokens=MAX_TOKENS, temperature=0, max_retries=1)
    assert isinstance(result, Ticket), result


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic's ReadOnly notes on litellm's own types
def test_litellm_completion_with_tools(bundled):
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch of the price list at import
    litellm = pytest.importorskip("litellm")
    r = litellm.completion(model="openai/" + MODEL_ID, api_base=bundled + "/v1", api_key="x",
                           messages=WEATHER_QUESTION, tools=[WEATHER], tool_choice="required",
                           max_tokens=MAX_TOKENS, temperature=0, num_retries=0)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    calls = choice.message.tool_calls
    assert calls, choice
    for call in calls:
        assert call.id
        assert_arguments_valid(call.function.name, call.function.arguments, [WEATHER])


def weather_agent(agents, model_class, url, invoked):
    """An agent with one function tool; `tool_choice` "required" holds for its first turn only
    (reset_tool_choice), so a later turn may answer in words."""
    @agents.function_tool
    def get_weather(city: Literal["Paris", "London", "Tokyo"]) -> str:
        """Get the current weather in a city."""
        invoked.append(city)
        return f"18 degrees and sunny in {city}"

    model = model_class(model=MODEL_ID, openai_client=openai.AsyncOpenAI(base_url=url + "/v1", api_key="x",
                                                                         max_retries=0))
    return agents.Agent(name="weather", instructions="Answer questions about the weather.", tools=[get_weather],
                        model=model, model_settings=agents.ModelSettings(tool_choice="required", temperature=0,
                                                                         max_tokens=MAX_TOKENS))


@pytest.mark.parametrize("api,streamed", [("chat", False), ("responses", False), ("responses", True)],
                         ids=["chat-completions", "responses", "responses-streamed"])
def test_openai_agents_runner_calls_the_tool(bundled, api, streamed):
    """Over chat completions and over `/v1/responses` (the SDK's default model class): function_call
    items out, function_call_output in."""
    agents = pytest.importorskip("agents")
    invoked = []
    model_class = agents.OpenAIChatCompletionsModel if api == "chat" else agents.OpenAIResponsesModel
    agent = weather_agent(agents, model_class, bundled, invoked)
    config = agents.RunConfig(tracing_disabled=True)
    question = WEATHER_QUESTION[0]["content"]
    try:
        if streamed:
            async def run():
                result = agents.Runner.run_streamed(agent, question, max_turns=3, run_config=config)
                kinds = [event.type async for event in result.stream_events()]
                return result, kinds
            result, kinds = asyncio.run(run())
            assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
        else:
            result = agents.Runner.run_sync(agent, question, max_turns=3, run_config=config)
        assert isinstance(result.final_output, str), result.final_output
    except agents.MaxTurnsExceeded:
        pass  # a 270M model may call the tool again every turn; the loop itself is not the server's doing
    assert invoked and set(invoked) <= {"Paris", "London", "Tokyo"}, invoked


def test_server_still_answers_after_everything(client):
    assert_still_serving(client)

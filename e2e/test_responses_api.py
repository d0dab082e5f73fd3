"""`POST /v1/responses` (OpenAI's Responses API, stateless) with the official client: text input
and message lists, `instructions`, the semantic event stream assembled by `responses.stream`,
`text.format` with a json_schema, function tools and a `function_call_output` round trip, and the
400s for what Tandem does not keep (`store: true`, `previous_response_id`)."""
import json

import jsonschema
import openai
import pytest

from support import post_json

COLOR = {"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]}}, "required": ["color"],
         "additionalProperties": False}
WEATHER = [{"type": "function", "name": "get_weather", "description": "Current weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}},
                           "required": ["city"], "additionalProperties": False}}]


@pytest.fixture(scope="module")
def client(tandem_server):
    return openai.OpenAI(base_url=tandem_server + "/v1", api_key="unused", max_retries=0)


def test_text_input_and_usage(client):
    r = client.responses.create(model="gemma-3-270m", input="The capital of France is", max_output_tokens=8,
                                temperature=0)
    assert r.object == "response" and r.id.startswith("resp_")
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.output[0].type == "message" and r.output_text
    assert r.usage.output_tokens == 8 and r.usage.input_tokens > 0


def test_messages_and_instructions(client):
    r = client.responses.create(model="gemma-3-270m", instructions="Answer in one short sentence.",
                                input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello?"}]}],
                                max_output_tokens=40, temperature=0)
    assert r.output_text.strip()


def test_schema_format_streamed(client):
    fmt = {"format": {"type": "json_schema", "name": "color", "schema": COLOR, "strict": True}}
    with client.responses.stream(model="gemma-3-270m", input="Pick red, green or blue.", text=fmt,
                                 max_output_tokens=40, temperature=0) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds and "response.output_text.done" in kinds
    jsonschema.validate(json.loads(final.output_text), COLOR)
    plain = client.responses.create(model="gemma-3-270m", input="Pick red, green or blue.", text=fmt,
                                    max_output_tokens=40, temperature=0)
    assert plain.output_text == final.output_text


def test_function_tools_and_a_round_trip(client):
    r = client.responses.create(model="gemma-3-270m", input="What is the weather in Oslo?", tools=WEATHER,
                                tool_choice="required", max_output_tokens=60, temperature=0)
    call = r.output[0]
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id.startswith("call_")
    jsonschema.validate(json.loads(call.arguments), WEATHER[0]["parameters"])
    history = [{"role": "user", "content": "What is the weather in Oslo?"},
               {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
               {"type": "function_call_output", "call_id": call.call_id, "output": "-3 C and snow"}]
    again = client.responses.create(model="gemma-3-270m", input=history, tools=WEATHER, max_output_tokens=60,
                                    temperature=0)
    assert again.status in {"completed", "incomplete"} and again.output
    with client.responses.stream(model="gemma-3-270m", input="What is the weather in Oslo?", tools=WEATHER,
                                 tool_choice="required", max_output_tokens=60, temperature=0) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    assert final.output[0].arguments == call.arguments


def test_calls_stream_as_they_are_written(client):
    """Arguments arrive in several deltas between the item's `added` and `done`, under the id of the final
    item; a call cut by max_output_tokens ends `incomplete` with its arguments so far; words under "auto"
    stream as output_text deltas that add up to the whole reply's text."""
    with client.responses.stream(model="gemma-3-270m", input="What is the weather in Oslo?", tools=WEATHER,
                                 tool_choice="required", max_output_tokens=60, temperature=0) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 1 and {d.item_id for d in deltas} == {final.output[0].id}
    assert kinds.index("response.output_item.added") < kinds.index("response.function_call_arguments.delta")
    assert "".join(d.delta for d in deltas) == final.output[0].arguments
    with client.responses.stream(model="gemma-3-270m", input="What is the weather in Oslo?", tools=WEATHER,
                                 tool_choice="required", max_output_tokens=12, temperature=0) as stream:
        # As OpenAI's: the last event is response.incomplete (the helper's get_final_response wants completed).
        cut = [e for e in stream][-1].response
    assert cut.status == "incomplete" and cut.output[0].status == "incomplete"
    assert final.output[0].arguments.startswith(cut.output[0].arguments)
    whole = client.responses.create(model="gemma-3-270m", input="Say hello.", tools=WEATHER, tool_choice="auto",
                                    max_output_tokens=40, temperature=0)
    with client.responses.stream(model="gemma-3-270m", input="Say hello.", tools=WEATHER, tool_choice="auto",
                                 max_output_tokens=40, temperature=0) as stream:
        events = list(stream)
        streamed = stream.get_final_response()
    if whole.output[0].type == "message":
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == whole.output_text == streamed.output_text


@pytest.mark.parametrize("field", [{"store": True}, {"previous_response_id": "resp_123"}, {"frobnicate": 1}])
def test_what_is_not_kept_is_a_400(tandem_server, field):
    status, body, _ = post_json(tandem_server + "/v1/responses", {"model": "gemma-3-270m", "input": "x", **field})
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == next(iter(field))

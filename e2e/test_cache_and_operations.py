"""Prefix cache, GGUF LoRA adapters, request ids and KV metrics, end to end with the `openai` client.

* A repeated long system prompt is served from the prefix cache (`cached_tokens` > 0) with the same
  greedy answer; the same prompt under an adapter never reuses the base model's KV. In a burst of
  requests with one new system prompt, all but the first take it from the cache (they wait for the
  first to compute it instead of computing it beside it).
* A llama.cpp GGUF LoRA (converted from a PEFT fixture) is servable by folder name and equals its
  PEFT twin token for token.
* Every response carries `x-request-id` (the client's own when it sent one); `/metrics` shows the
  KV page gauges and they return to idle when the load ends.
"""
from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from support import REPO, SHUTDOWN_TIMEOUT_S, TandemServer, fetch_metrics, http_request, metric_sum

FIXTURES = REPO / "Tests" / "AdaptersTests" / "Fixtures"
BASE = "gemma-3-270m"
SYSTEM = "You are a meticulous support agent for Acme Corp. Answer briefly and politely. " * 8


@pytest.fixture(scope="module")
def server(tandem_binary, model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache-adapters")
    shutil.copytree(FIXTURES / "random-r4", folder / "peft-r4")
    shutil.copytree(FIXTURES / "random-r4-gguf", folder / "gguf-r4")
    s = TandemServer("cache", tandem_binary, model_path, folder, tmp_path_factory.mktemp("cache-logs"))
    s.start()
    yield s
    assert s.terminate(SHUTDOWN_TIMEOUT_S) == 0, s.log_tail()


def ask(server, model, question, system=SYSTEM, max_tokens=8):
    c = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    r = c.chat.completions.create(model=model, messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
                                  max_tokens=max_tokens, temperature=0)
    return r.choices[0].message.content, r.usage


def test_repeated_system_prompt_is_served_from_the_prefix_cache(server):
    first, u1 = ask(server, BASE, "Where is my order?")
    second, u2 = ask(server, BASE, "Where is my order?")
    assert u1.prompt_tokens_details.cached_tokens == 0
    assert u2.prompt_tokens_details.cached_tokens >= u2.prompt_tokens - 16 > 0
    assert second == first
    # Another question after the same system prompt still reuses the shared part.
    _, u3 = ask(server, BASE, "How do I reset my password?")
    assert u3.prompt_tokens_details.cached_tokens > 100


def test_a_burst_with_one_new_system_prompt_computes_it_once(server):
    # Longer than one step's prompt budget (256 tokens), so the others arrive while the first computes.
    system = "You are a patient maths tutor for Acme School. Explain every step in plain words. " * 24
    questions = [f"What is {n} plus {n + 1}?" for n in range(6)]
    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        usages = list(pool.map(lambda q: ask(server, BASE, q, system=system, max_tokens=4)[1], questions))
    cached = sorted(u.prompt_tokens_details.cached_tokens for u in usages)
    assert cached[0] == 0, cached
    assert all(c > 100 for c in cached[1:]), cached


def test_kv_from_the_base_is_never_reused_under_an_adapter(server):
    ask(server, BASE, "Is the base cached?")
    _, u = ask(server, "peft-r4", "Is the base cached?")
    assert u.prompt_tokens_details.cached_tokens == 0
    _, again = ask(server, "peft-r4", "Is the base cached?")
    assert again.prompt_tokens_details.cached_tokens > 0


def test_gguf_lora_equals_its_peft_twin(server):
    ids = {m.id for m in openai.OpenAI(base_url=server.url + "/v1", api_key="unused").models.list().data}
    assert {"peft-r4", "gguf-r4"} <= ids
    peft, _ = ask(server, "peft-r4", "Name three colours.", system="Be brief.", max_tokens=12)
    gguf, _ = ask(server, "gguf-r4", "Name three colours.", system="Be brief.", max_tokens=12)
    base, _ = ask(server, BASE, "Name three colours.", system="Be brief.", max_tokens=12)
    assert gguf == peft and gguf != base
    status, _, raw = http_request("GET", server.url + "/v1/adapters")
    entry = next(a for a in json.loads(raw)["data"] if a["name"] == "gguf-r4")
    assert status == 200 and entry["rank"] == 4 and entry["loaded"] and len(entry["targets"]) == 7


def test_request_ids_are_returned_and_kv_pages_return_to_idle(server):
    status, headers, _ = http_request("GET", server.url + "/v1/models", headers={"x-request-id": "client-42"})
    assert status == 200 and headers["x-request-id"] == "client-42"
    status, headers, _ = http_request("GET", server.url + "/v1/models/nope", headers={"x-request-id": "../bad id"})
    assert status == 404 and headers["x-request-id"].startswith("req-")
    text = fetch_metrics(server.url)
    total, committed = metric_sum(text, "tandem_kv_pages_total"), metric_sum(text, "tandem_kv_pages_committed")
    assert total and total > 1000 and committed == 0
    assert metric_sum(text, "tandem_prefix_cache_hit_tokens") > 0
    assert "tandem_batch_rows_bucket" in text and "tandem_step_seconds_count" in text

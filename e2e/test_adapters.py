"""Adapters and roles end to end: a real `tandem serve` over an adapters folder built from the LoRA
fixtures, driven with the official `openai` client and plain HTTP.

Covers: selecting adapters and roles by `model`, 404s for unknown adapters and roles, hostile names,
`/v1/models` and `/v1/adapters` listings, an adapter copied in while a stream runs (served within
2 s, the running stream unaffected), a corrupt overwrite (the old version keeps serving, the error is
shown), removal.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import openai
import pytest

from support import REPO, SHUTDOWN_TIMEOUT_S, TandemServer, http_request, post_json

FIXTURES = REPO / "Tests" / "AdaptersTests" / "Fixtures"
BASE = "gemma-3-270m"


@pytest.fixture(scope="module")
def adapter_server(tandem_binary, model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapters-e2e")
    shutil.copytree(FIXTURES / "random-r4", folder / "alpha")
    shutil.copytree(FIXTURES / "zero-r8", folder / "zero")
    (folder / "roles.yaml").write_text("roles:\n  terse:\n    system_prompt: Answer in one word.\n    temperature: 0\n    max_tokens: 3\n")
    (folder / "alpha" / "roles.yaml").write_text(
        "roles:\n  strict:\n    system_prompt: Reply with JSON only.\n    max_tokens: 5\n    default: true\n"
        "  loose:\n    system_prompt: Say anything.\n")
    server = TandemServer("adapters", tandem_binary, model_path, folder, tmp_path_factory.mktemp("adapter-logs"))
    server.start()
    server.folder = folder
    yield server
    assert server.terminate(SHUTDOWN_TIMEOUT_S) == 0, server.log_tail()


def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def greedy(server, model, text="The capital of France is", max_tokens=6, **extra):
    r = client(server).chat.completions.create(model=model, messages=[{"role": "user", "content": text}],
                                               max_tokens=max_tokens, temperature=0, extra_body=extra or None)
    return r.choices[0].message.content, r


def test_models_lists_base_roles_adapters_and_their_roles(adapter_server):
    ids = {m.id: m for m in client(adapter_server).models.list().data}
    assert {BASE, f"{BASE}:terse", "alpha", "alpha:strict", "alpha:loose", "zero"} <= set(ids)
    alpha = ids["alpha:strict"].model_dump()
    assert alpha["parent"] == BASE and alpha["adapter"] == "alpha" and alpha["role"] == "strict"


def test_adapter_changes_the_answer_and_zero_adapter_does_not(adapter_server):
    base, _ = greedy(adapter_server, BASE, ignore_eos=True)
    zero, _ = greedy(adapter_server, "zero", ignore_eos=True)
    alpha, _ = greedy(adapter_server, "alpha:loose", ignore_eos=True)
    assert zero == base
    assert alpha != base


def test_roles_apply_system_prompt_and_defaults(adapter_server):
    _, r = greedy(adapter_server, "alpha", max_tokens=None)  # default role 'strict' caps max_tokens at 5
    assert r.usage.completion_tokens <= 5
    _, explicit = greedy(adapter_server, "alpha", max_tokens=2, ignore_eos=True)  # the request wins over the role
    assert explicit.usage.completion_tokens == 2
    _, plain = greedy(adapter_server, "alpha:loose", max_tokens=2, ignore_eos=True)
    # The role's system prompt is part of the prompt.
    assert explicit.usage.prompt_tokens != plain.usage.prompt_tokens
    _, terse = greedy(adapter_server, f"{BASE}:terse", max_tokens=None)
    assert terse.usage.completion_tokens <= 3


@pytest.mark.parametrize("model", ["nope", "alpha:missing", f"{BASE}:missing"])
def test_unknown_adapter_or_role_is_404(adapter_server, model):
    with pytest.raises(openai.NotFoundError) as e:
        greedy(adapter_server, model)
    assert e.value.body["code"] == "model_not_found" and e.value.body["param"] == "model"


@pytest.mark.parametrize("model", ["../alpha", "a/b", "..", "alpha/../../etc"])
def test_hostile_names_are_refused(adapter_server, model):
    status, _, body = post_json(adapter_server.url + "/v1/chat/completions",
                                {"model": model, "messages": [{"role": "user", "content": "x"}]})
    assert status in (400, 404)
    assert json.loads(body)["error"]["param"] == "model"


def test_new_adapter_is_served_within_two_seconds_while_a_stream_runs(adapter_server):
    folder = adapter_server.folder
    results = {}

    def stream():
        chunks = client(adapter_server).chat.completions.create(
            model="alpha:loose", messages=[{"role": "user", "content": "Count to one hundred."}],
            max_tokens=60, temperature=0, stream=True, extra_body={"ignore_eos": True})
        results["text"] = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        results["finish"] = "done"

    reference, _ = greedy(adapter_server, "alpha:loose", "Count to one hundred.", max_tokens=60, ignore_eos=True)
    t = threading.Thread(target=stream)
    t.start()
    time.sleep(0.3)
    shutil.copytree(FIXTURES / "random-r8", folder / "beta")
    deadline = time.monotonic() + 2.0
    listed = False
    while time.monotonic() < deadline and not listed:
        listed = "beta" in {m.id for m in client(adapter_server).models.list().data}
        time.sleep(0.1)
    assert listed, "a new adapter folder was not listed within 2 s"
    text, _ = greedy(adapter_server, "beta", ignore_eos=True)
    assert text
    t.join(timeout=60)
    assert results.get("finish") == "done" and results["text"] == reference


def test_corrupt_overwrite_keeps_the_old_version_and_reports_it(adapter_server):
    folder = adapter_server.folder
    before, _ = greedy(adapter_server, "alpha:loose", ignore_eos=True)
    (folder / "alpha" / "adapter_model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    time.sleep(1.5)
    after, _ = greedy(adapter_server, "alpha:loose", ignore_eos=True)
    assert after == before
    status, _, body = http_request("GET", adapter_server.url + "/v1/adapters")
    assert status == 200
    alpha = next(a for a in json.loads(body)["data"] if a["name"] == "alpha")
    assert alpha["error"] and "adapter_model.safetensors" in alpha["error"]
    assert alpha["loaded"] and alpha["rank"] == 4


def test_removed_adapter_stops_being_listed(adapter_server):
    folder = adapter_server.folder
    shutil.copytree(FIXTURES / "random-r4", folder / "gamma")
    time.sleep(1.2)
    assert "gamma" in {m.id for m in client(adapter_server).models.list().data}
    shutil.rmtree(folder / "gamma")
    time.sleep(1.2)
    assert "gamma" not in {m.id for m in client(adapter_server).models.list().data}
    with pytest.raises(openai.NotFoundError):
        greedy(adapter_server, "gamma")


def test_admin_routes_need_a_key(adapter_server):
    status, _, body = post_json(adapter_server.url + "/v1/load_lora_adapter",
                                {"lora_name": "delta", "lora_path": str(adapter_server.folder / "zero")})
    assert status == 403 and json.loads(body)["error"]["code"] == "admin_disabled"


@pytest.fixture(scope="module")
def admin_server(tandem_binary, model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapters-admin")
    shutil.copytree(FIXTURES / "random-r4", folder / "stash")
    server = TandemServer("admin", tandem_binary, model_path, folder, tmp_path_factory.mktemp("admin-logs"), ["--api-key", "k"])
    server.start()
    server.folder = folder
    yield server
    assert server.terminate(SHUTDOWN_TIMEOUT_S) == 0, server.log_tail()


def test_load_and_unload_with_the_key(admin_server, tmp_path):
    auth = {"Authorization": "Bearer k"}
    url = admin_server.url
    status, _, _ = post_json(url + "/v1/load_lora_adapter", {"lora_name": "extra", "lora_path": str(admin_server.folder / "stash")})
    assert status == 401
    status, _, body = post_json(url + "/v1/load_lora_adapter", {"lora_name": "extra", "lora_path": str(admin_server.folder / "stash")}, headers=auth)
    assert status == 200, body
    c = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
    assert "extra" in {m.id for m in c.models.list().data}
    r = c.chat.completions.create(model="extra", messages=[{"role": "user", "content": "hi"}], max_tokens=2, temperature=0)
    assert r.choices[0].message.content is not None
    # Outside the adapters folder, and escapes with '..', are refused.
    outside = tmp_path / "outside"
    shutil.copytree(FIXTURES / "random-r4", outside)
    for path in [str(outside), str(admin_server.folder / ".." / outside.name)]:
        status, _, body = post_json(url + "/v1/load_lora_adapter", {"lora_name": "evil", "lora_path": path}, headers=auth)
        assert status == 400 and json.loads(body)["error"]["param"] == "lora_path"
    status, _, body = post_json(url + "/v1/load_lora_adapter", {"lora_name": "../evil", "lora_path": str(admin_server.folder / "stash")}, headers=auth)
    assert status == 400 and json.loads(body)["error"]["param"] == "lora_name"
    status, _, _ = post_json(url + "/v1/unload_lora_adapter", {"lora_name": "extra"}, headers=auth)
    assert status == 200
    assert "extra" not in {m.id for m in c.models.list().data}
    status, _, _ = post_json(url + "/v1/unload_lora_adapter", {"lora_name": "extra"}, headers=auth)
    assert status == 404

"""Tenants from `--api-keys FILE`: each key reaches only the model ids its patterns allow, another
tenant's adapter is a 404 exactly like a missing one, admin routes need an admin key, limits answer
429 with Retry-After, the key's name (never the key) is in the log and the metrics, and the file is
reloaded without a restart (a broken file keeps the previous keys)."""
import json
import time

import pytest

from support import REPO, SHUTDOWN_TIMEOUT_S, TandemServer, assert_error_shape, fetch_metrics, http_request

KEYS = """
keys:
  - name: team-a
    key: "key-of-team-a"
    models: ["ticket-triage", "ticket-triage:*", "gemma-3-270m"]
  - name: team-b
    key: "key-of-team-b"
    models: ["pirate-style"]
    requests_per_minute: 2
  - name: ops
    key: "key-of-ops"
    admin: true
    models: ["*"]
"""


@pytest.fixture(scope="module")
def tenants(tandem_binary, model_path, tmp_path_factory):
    keys = tmp_path_factory.mktemp("tenants") / "keys.yaml"
    keys.write_text(KEYS)
    server = TandemServer("tenants", tandem_binary, model_path, REPO / "adapters", tmp_path_factory.mktemp("tenant-logs"),
                          ["--api-keys", str(keys)])
    server.start()
    server.keys_file = keys
    yield server
    assert server.terminate(SHUTDOWN_TIMEOUT_S) == 0


def call(server, key, method, path, body=None):
    status, headers, raw = http_request(method, server.url + path, body, headers={"Authorization": f"Bearer {key}"})
    return status, headers, json.loads(raw) if raw else None


def chat(server, key, model):
    return call(server, key, "POST", "/v1/chat/completions",
                {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})


def test_a_key_sees_and_uses_only_its_models(tenants):
    status, _, body = call(tenants, "key-of-team-a", "GET", "/v1/models")
    assert status == 200
    ids = {m["id"] for m in body["data"]}
    assert "ticket-triage" in ids and "gemma-3-270m" in ids and any(i.startswith("ticket-triage:") for i in ids)
    assert not any(i.startswith("pirate-style") for i in ids) and "gemma-3-270m:triage-fewshot" not in ids
    assert chat(tenants, "key-of-team-a", "ticket-triage")[0] == 200
    status, _, body = call(tenants, "key-of-ops", "GET", "/v1/models")
    assert any(m["id"] == "pirate-style" for m in body["data"])


def test_another_tenants_adapter_is_a_404_like_a_missing_one(tenants):
    other = chat(tenants, "key-of-team-a", "pirate-style")
    missing = chat(tenants, "key-of-team-a", "no-such-adapter")
    assert other[0] == missing[0] == 404
    for status, _, body in (other, missing):
        assert_error_shape(body, code="model_not_found")
    assert other[2]["error"]["message"].replace("pirate-style", "X") == \
        missing[2]["error"]["message"].replace("no-such-adapter", "X")
    assert call(tenants, "key-of-team-a", "GET", "/v1/models/pirate-style")[0] == 404
    status, _, body = call(tenants, "key-of-team-a", "GET", "/v1/adapters")
    assert [a["name"] for a in body["data"]] == ["ticket-triage"]


def test_wrong_key_is_401_and_admin_needs_an_admin_key(tenants):
    assert chat(tenants, "key-of-nobody", "ticket-triage")[0] == 401
    status, _, body = call(tenants, "key-of-team-a", "POST", "/v1/unload_lora_adapter", {"lora_name": "nothing-here"})
    assert status == 403
    assert_error_shape(body, code="admin_required")
    status, _, body = call(tenants, "key-of-ops", "POST", "/v1/unload_lora_adapter", {"lora_name": "nothing-here"})
    assert status == 404, "an admin key passes authorization; the adapter does not exist"


def test_tokenize_routes_need_a_key_and_see_only_its_models(tenants):
    for route, body in [("/tokenize", {"prompt": "hi"}), ("/detokenize", {"tokens": [2]})]:
        status, _, payload = call(tenants, "key-of-nobody", "POST", route, body)
        assert status == 401, (route, payload)
        status, _, _ = http_request("POST", tenants.url + route, body)
        assert status == 401, f"{route} without a key"
    assert call(tenants, "key-of-team-a", "POST", "/tokenize", {"model": "ticket-triage", "prompt": "hi"})[0] == 200
    assert call(tenants, "key-of-team-a", "POST", "/tokenize", {"model": "pirate-style", "prompt": "hi"})[0] == 404


def test_rate_limit_answers_429_with_retry_after(tenants):
    results = [chat(tenants, "key-of-team-b", "pirate-style") for _ in range(3)]
    assert [r[0] for r in results[:2]] == [200, 200]
    status, headers, body = results[2]
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert_error_shape(body, code="rate_limit_exceeded")
    assert chat(tenants, "key-of-team-a", "ticket-triage")[0] == 200, "limits are per tenant"


def test_the_tenant_name_not_the_key_is_logged_and_counted(tenants):
    assert chat(tenants, "key-of-team-a", "ticket-triage")[0] == 200
    assert call(tenants, "key-of-team-a", "GET", "/v1/models")[0] == 200
    log = tenants.log_path.read_text()
    assert "tenant=team-a" in log and "key-of-team-a" not in log
    assert any("path=/v1/models" in line and "tenant=team-a" in line for line in log.splitlines()), \
        "other routes' log lines name the tenant too"
    metrics = fetch_metrics(tenants.url)
    assert 'tenant="team-a"' in metrics and "key-of" not in metrics


def test_the_keys_file_reloads_and_a_broken_one_keeps_the_previous_keys(tenants):
    tenants.keys_file.write_text(KEYS + '  - name: team-c\n    key: "key-of-team-c"\n    models: ["gemma-3-270m"]\n')
    deadline = time.monotonic() + 10
    while chat(tenants, "key-of-team-c", "gemma-3-270m")[0] != 200:
        assert time.monotonic() < deadline, "the new key was not taken within 10 s"
        time.sleep(0.2)
    tenants.keys_file.write_text("keys:\n  - name: broken\n    colour: red\n")
    time.sleep(2.5)
    assert chat(tenants, "key-of-team-c", "gemma-3-270m")[0] == 200
    assert "api keys file refused" in tenants.log_path.read_text()

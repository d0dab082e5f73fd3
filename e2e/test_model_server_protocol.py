"""The model-server protocol of the Gateway API Inference Extension, under vLLM's metric names.

The endpoint picker scrapes `/metrics` for queue depth, running requests, KV-cache utilization,
the cache layout and the LoRA gauge `vllm:lora_requests_info` (labels `max_lora`,
`running_lora_adapters`, `waiting_lora_adapters`, value the time of the last change). Parsed with
`prometheus_client`'s own text parser; semantics checked under load: the queue gauge rises above 0
when the server is saturated, an adapter is listed while its requests run, utilization rises and
falls back.
"""
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support import REPO, SHUTDOWN_TIMEOUT_S, TandemServer, fetch_metrics, http_request

PROTOCOL = ["vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc",
            "vllm:lora_requests_info", "vllm:cache_config_info"]


def scrape(url):
    """{metric name: [(labels, value)]} for the protocol's gauges."""
    found = {}
    for family in text_string_to_metric_families(fetch_metrics(url)):
        for sample in family.samples:
            if sample.name in PROTOCOL:
                found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(metrics, name):
    (labels, v), = metrics[name]
    return v


@pytest.fixture(scope="module")
def saturated_server(tandem_binary, model_path, tmp_path_factory):
    """Two running slots, the bundled adapters."""
    server = TandemServer("model-server-protocol", tandem_binary, model_path, REPO / "adapters",
                          tmp_path_factory.mktemp("mspp-logs"), ["--max-running", "2"])
    server.start()
    yield server
    assert server.terminate(SHUTDOWN_TIMEOUT_S) == 0


def test_gauges_are_there_at_rest(saturated_server):
    m = scrape(saturated_server.url)
    assert set(m) == set(PROTOCOL)
    assert value(m, "vllm:num_requests_waiting") == 0 and value(m, "vllm:num_requests_running") == 0
    assert value(m, "vllm:kv_cache_usage_perc") == 0
    (labels, _), = m["vllm:cache_config_info"]
    assert labels["block_size"] == "16" and int(labels["num_gpu_blocks"]) > 0
    (labels, updated), = m["vllm:lora_requests_info"]
    assert labels["max_lora"] == "16" and labels["running_lora_adapters"] == "" and labels["waiting_lora_adapters"] == ""
    assert value(m, "vllm:num_requests_running") == 0 and m["vllm:num_requests_running"][0][0]["model_name"]


def test_gauges_follow_the_load(saturated_server):
    url = saturated_server.url
    models = ["ticket-triage", "pirate-style", "ticket-triage", "gemma-3-270m", "pirate-style", "ticket-triage"]
    statuses = []

    def ask(model):
        status, _, _ = http_request("POST", url + "/v1/chat/completions", {
            "model": model, "messages": [{"role": "user", "content": "Printer on floor 3 is jammed again."}],
            "max_tokens": 40, "ignore_eos": True}, timeout=120)
        statuses.append(status)

    threads = [threading.Thread(target=ask, args=(m,)) for m in models]
    for t in threads:
        t.start()
    most_waiting, most_usage, running_seen, waiting_seen, stamps = 0, 0.0, set(), set(), set()
    deadline = time.monotonic() + 120
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        m = scrape(url)
        most_waiting = max(most_waiting, value(m, "vllm:num_requests_waiting"))
        most_usage = max(most_usage, value(m, "vllm:kv_cache_usage_perc"))
        (labels, stamp), = m["vllm:lora_requests_info"]
        running_seen |= set(filter(None, labels["running_lora_adapters"].split(",")))
        waiting_seen |= set(filter(None, labels["waiting_lora_adapters"].split(",")))
        stamps.add(stamp)
        time.sleep(0.05)
    for t in threads:
        t.join(timeout=5)
    assert statuses == [200] * len(models)
    assert most_waiting >= 1, "six requests on two running slots must queue"
    assert 0 < most_usage <= 1
    assert "ticket-triage" in running_seen and "ticket-triage" in waiting_seen
    assert running_seen <= {"ticket-triage", "pirate-style"}, "the base model is no adapter"
    assert len(stamps) >= 2 and all(s > 1.7e9 for s in stamps), "the value is the time of the last change"

    m = scrape(url)
    assert value(m, "vllm:num_requests_waiting") == 0 and value(m, "vllm:num_requests_running") == 0
    assert value(m, "vllm:kv_cache_usage_perc") == 0, "utilization falls back when the requests end"
    (labels, _), = m["vllm:lora_requests_info"]
    assert labels["running_lora_adapters"] == "" and labels["waiting_lora_adapters"] == ""

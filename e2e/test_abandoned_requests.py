"""Abandoned requests stop, and every status is counted.

A non-streamed request whose client gives up (openai-python with a 0.3 s timeout) frees its
sequence at once instead of generating to max_tokens, and its 499 is logged with the tokens made
so far; a pooled client keeps its connection meanwhile. `tandem_requests_total` counts 4xx as well
as 200s, with a route label per endpoint.
"""
import re
import time

import openai

from support import fetch_metrics, http_request, metric_sum, post_json

LONG = [{"role": "user", "content": "Tell me a very long story about the sea."}]


def samples(url, name, **labels):
    """Sum of `name` over the samples whose labels include `labels`."""
    total = 0.0
    for line in fetch_metrics(url).splitlines():
        m = re.match(re.escape(name) + r"\{([^}]*)\}\s+(\S+)$", line)
        if not m:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def test_a_client_that_times_out_frees_its_sequence(tandem_server, tandem_instance):
    impatient = openai.OpenAI(base_url=tandem_server + "/v1", api_key="unused", timeout=0.3, max_retries=2)
    before = samples(tandem_server, "tandem_requests_total", route="chat", status="499")
    started = time.time()
    try:
        impatient.chat.completions.create(model="gemma-3-270m", messages=LONG, max_tokens=2000,
                                          extra_body={"ignore_eos": True})
        raise AssertionError("a 2000-token answer cannot arrive within 0.3 s")
    except openai.APITimeoutError:
        pass
    # Three attempts (two retries) of 0.3 s each; each must have stopped when its client left.
    deadline = time.time() + 5
    while time.time() < deadline and metric_sum(fetch_metrics(tandem_server), "tandem_running_sequences"):
        time.sleep(0.1)
    assert metric_sum(fetch_metrics(tandem_server), "tandem_running_sequences") == 0
    assert time.time() - started < 10, "the server kept generating for the abandoned requests"
    assert samples(tandem_server, "tandem_requests_total", route="chat", status="499") - before == 3
    log = tandem_instance.log_tail(400)
    lines = [l for l in log.splitlines() if "status=499" in l and "completion_tokens=" in l]
    assert lines, log[-2000:]
    assert "ttft_ms=" in lines[-1]


def test_a_pooled_client_keeps_its_connection(tandem_server):
    pooled = openai.OpenAI(base_url=tandem_server + "/v1", api_key="unused", max_retries=0)
    for _ in range(4):
        r = pooled.chat.completions.create(model="gemma-3-270m", messages=[{"role": "user", "content": "hi"}],
                                           max_tokens=3)
        assert r.choices[0].finish_reason in {"stop", "length"}


def test_every_status_is_counted_per_route(tandem_server):
    def count(route, status):
        return samples(tandem_server, "tandem_requests_total", route=route, status=status)

    before = {k: count(*k) for k in [("chat", "400"), ("chat", "404"), ("completions", "400"), ("chat", "200")]}
    status, _, _ = post_json(tandem_server + "/v1/chat/completions", {"model": "gemma-3-270m", "messages": []})
    assert status == 400
    status, _, _ = post_json(tandem_server + "/v1/chat/completions",
                             {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404
    status, _, _ = http_request("POST", tandem_server + "/v1/completions", body=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert status == 400
    status, _, _ = post_json(tandem_server + "/v1/chat/completions",
                             {"model": "gemma-3-270m", "messages": [{"role": "user", "content": "x"}],
                              "max_tokens": 2})
    assert status == 200
    assert count("chat", "400") - before[("chat", "400")] == 1
    assert count("chat", "404") - before[("chat", "404")] == 1
    assert count("completions", "400") - before[("completions", "400")] == 1
    assert count("chat", "200") - before[("chat", "200")] == 1

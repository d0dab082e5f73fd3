"""`tandem eval` end to end: a tiny suite against the live server, every output format.

The suite is built so the answer does not matter: one case any answer passes (`regex: "."` after
`max_tokens` ≥ 1), one no answer passes (`exact` of a string the model cannot produce in 4 tokens),
so accuracy is exactly 1/2 per model and the counts and formats can be checked exactly.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess

from support import TANDEM_BIN

CASES = [
    {"id": "always", "prompt": "Say something.", "regex": "."},
    {"id": "never", "messages": [{"role": "user", "content": "Say hi."}], "exact": "zq" * 40},
    {"id": "json", "prompt": "Reply with JSON.", "json_fields": {"impossible_field_name_xyz": 1}},
]


def run_eval(server_url, suite, fmt, *extra):
    result = subprocess.run([str(TANDEM_BIN), "eval", "--server", server_url, "--suite", str(suite), "--models", "gemma-3-270m",
                             "--max-tokens", "4", "--format", fmt, *extra], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_eval_scores_a_tiny_suite_in_every_format(tandem_server, tmp_path):
    suite = tmp_path / "tiny.jsonl"
    suite.write_text("\n".join(json.dumps(c) for c in CASES) + "\n")
    rows = json.loads(run_eval(tandem_server, suite, "json").stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["model"] == "gemma-3-270m" and row["cases"] == 3 and row["passed"] == 1 and row["errors"] == 0
    assert 0 < row["accuracyLow"] < 1 / 3 < row["accuracyHigh"] < 1
    assert row["meanCompletionTokens"] <= 4 and row["meanPromptTokens"] > 5 and row["ttftP50Milliseconds"] > 0

    table = run_eval(tandem_server, suite, "markdown", "--show-failures").stdout
    assert "| gemma-3-270m | base | 33.3% (1/3) |" in table
    assert "✗ gemma-3-270m · never" in table and "expected: exactly" in table

    parsed = list(csv.reader(io.StringIO(run_eval(tandem_server, suite, "csv").stdout)))
    assert parsed[0][0] == "model" and parsed[1][0] == "gemma-3-270m" and len(parsed) == 2


def test_eval_refuses_a_bad_suite_naming_the_line(tandem_server, tmp_path):
    suite = tmp_path / "bad.jsonl"
    suite.write_text(json.dumps(CASES[0]) + "\n" + json.dumps({"prompt": "x"}) + "\n")
    result = subprocess.run([str(TANDEM_BIN), "eval", "--server", tandem_server, "--suite", str(suite), "--models", "gemma-3-270m"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "bad.jsonl:2" in result.stderr

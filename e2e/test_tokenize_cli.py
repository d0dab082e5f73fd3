"""`tandem tokenize` on the default model and on llama.cpp's vocabulary-only GGUFs (make vocab-ggufs),
against the ids of transformers' GGUF tokenizer in Tests/TokenizerTests/Fixtures/bpe_cases.json."""
import json
import subprocess

import pytest

from support import MODEL_PATH, REPO, TANDEM_BIN

FIXTURE = json.loads((REPO / "Tests/TokenizerTests/Fixtures/bpe_cases.json").read_text())
VOCABS = REPO / ".build-vocab"


def tokenize(model, text, *flags):
    out = subprocess.run([str(TANDEM_BIN), "tokenize", "--model", str(model), "--text", text, "--format", "json",
                          *flags], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_default_model_control_tokens_and_plain_text():
    special = tokenize(MODEL_PATH, "<start_of_turn>user")
    plain = tokenize(MODEL_PATH, "<start_of_turn>user", "--no-special")
    assert special["count"] == len(special["tokens"]) == 2
    assert plain["count"] > 2 and special["tokens"][0] not in plain["tokens"]
    assert tokenize(MODEL_PATH, "hi", "--add-bos")["tokens"][0] == 2


@pytest.mark.parametrize("vocab", sorted(FIXTURE["vocabs"]))
def test_vocab_only_gguf_matches_transformers(vocab):
    spec = FIXTURE["vocabs"][vocab]
    path = VOCABS / spec["file"]
    if not path.exists():
        pytest.skip("run `make vocab-ggufs` first")
    cases = [c for c in spec["cases"] if c["text"]][:12]
    for case in cases:
        assert tokenize(path, case["text"], "--no-special")["tokens"] == case["ids"], case["text"]


def test_missing_file_is_a_clear_error():
    out = subprocess.run([str(TANDEM_BIN), "tokenize", "--model", "/nonexistent.gguf", "--text", "x"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "/nonexistent.gguf" in out.stderr

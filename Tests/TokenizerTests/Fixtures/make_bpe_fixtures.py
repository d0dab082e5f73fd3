#!/usr/bin/env python3
"""Generate golden fixtures for byte-level BPE vocabularies (GGUF tokenizer.ggml.model = "gpt2").

What it does
  For the llama.cpp test vocabularies ggml-vocab-{llama-bpe,qwen2,gpt-2}.gguf (vocabulary only,
  no weights; scripts/fetch_vocab_ggufs.sh puts them in .build-vocab/), loads the tokenizer that
  Hugging Face transformers builds from the GGUF metadata
  (AutoTokenizer.from_pretrained(dir, gguf_file=name); no hub access) and records, per text:
    ids            encode(text, add_special_tokens=False): no BOS, special-token parsing ON
    ids_no_special the same with split_special_tokens=True (control tokens written in the text
                   are NOT parsed); only present when it differs from ids
    decoded        decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
  Texts: every test string of llama.cpp's <vocab>.gguf.inp (split on "\\n__ggml_vocab_test__\\n",
  as llama.cpp's tests/test-tokenizer-0.cpp reads it) plus hostile strings (ZWJ emoji, flags,
  CJK, digit runs, whitespace runs, tabs/newlines, NBSP, zero-width space, NEL, code,
  contractions, accents, combining marks, long words, special tokens in the text).

  One correction: transformers' GGUF loader builds a plain BPE model for llama-bpe, while the
  original Llama 3 tokenizer.json (and llama.cpp, which sets ignore_merges for this pre-tokenizer)
  use ignore_merges=true: a pre-token word that is itself in the vocabulary is emitted whole.
  For llama-bpe, "ids" come from the transformers tokenizer with that flag set; when the flag
  changes the result, the unmodified output is kept as "transformers_gguf_ids".

  Cross-check (informational): llama.cpp's <vocab>.gguf.out holds the ids llama.cpp's own
  generator took from the original Hugging Face tokenizer (add_special=false, parse_special=false).
  Each .inp case gets "llamacpp_ids"; the cases where they differ from "ids" are listed in the
  vocabulary's "llamacpp_disagreements" (by index) and printed.

Requirements: pip install torch transformers gguf sentencepiece tokenizers numpy
Run (from the repo root; the GGUFs from scripts/fetch_vocab_ggufs.sh):
  python3 Tests/TokenizerTests/Fixtures/make_bpe_fixtures.py [VOCAB_DIR]
  VOCAB_DIR defaults to $TANDEM_VOCAB_DIR, then .build-vocab/ in the repository.
Output: Tests/TokenizerTests/Fixtures/bpe_cases.json (deterministic for fixed library versions).
"""

import importlib.metadata
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(HERE, "bpe_cases.json")
SEPARATOR = "\n__ggml_vocab_test__\n"
VOCABS = ["llama-bpe", "qwen2", "gpt-2"]

HOSTILE = [
    # emoji: ZWJ sequences, flags, skin tones, variation selectors
    "👨\u200d👩\u200d👧",
    "Family: 👨\u200d👩\u200d👧\u200d👦 done",
    "flags 🇫🇷🇯🇵🇺🇸 and 🏳️\u200d🌈",
    "Thumbs 👍🏽 up",
    "test tube \U0001F9EA and \u2764\ufe0f",
    "ab😀cd\ue000private",
    # CJK and other scripts
    "你好世界",
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。",
    "안녕하세요 세계",
    "Привет, мир! Ελληνικά, עברית, العربية, हिन्दी, ไทย",
    # digits
    "1234567890123",
    "In 1999 there were 12345 apples and 3.14159 pies.",
    "12,345,678.90 and 007 and ١٢٣ and ５６７",
    # whitespace runs
    "a  b",
    "a     b",
    "x" + " " * 16 + "y",
    "x" + " " * 33 + "y",
    " " * 40,
    "   leading and trailing   ",
    # tabs and newlines
    "col1\tcol2\t\tcol3",
    "\t\tindented\n\n\tmore\r\n",
    "\n\n\n",
    " \n \n ",
    "line one\nline two\n\nline four\n",
    "windows\r\nline endings\r\n",
    # unusual whitespace and invisible characters
    "a\u00a0b",
    "\u00a0\u00a0x \u00a0 y",
    "a\u200bb",
    "\u200b",
    "zero\u200bwidth\u200b space",
    "a\x0bb\x0cc",
    "a\x85b",
    "a\u2028b\u2029c",
    "ideographic\u3000space",
    "soft\u00adhyphen",
    "bom\ufeffhere",
    # code
    "def f(x):\n    return x**2",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    '{"name": "Tandem", "tags": ["llm", "swift"], "ok": true}',
    "See https://example.com/path?q=1&lang=en#top for details.",
    # contractions, mixed case
    "I'M you're",
    "DON'T we'll THEY'VE she'd it's It'S",
    "'s 'S 't 're 'VE 'm 'LL 'd",
    "''s ' s",
    "the 'ſ long s it'ſt IT'ST we'LLama",
    # accents and combining marks
    "café naïve Zürich façade résumé",
    "Ångström, Øresund, São Paulo, Kraków, İstanbul",
    "e\u0301 combining acute and n\u0303",
    "\u0301leading combining mark",
    # long words
    "a" * 200,
    "Supercalifragilisticexpialidocious" * 4,
    "",
]

# Texts with the vocabulary's own control / user-defined tokens written in them.
SPECIAL = {
    "llama-bpe": [
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|eot_id|",
        "x<|reserved_special_token_0|>y <|end_of_text|>",
    ],
    "qwen2": [
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "<|endoftext|>",
        "[PAD151646]x [PAD151700]",
    ],
    "gpt-2": [
        "<|endoftext|>hello<|endoftext|>",
        "Hello world <|endoftext|> I'M",
        "<|endoftext|",
    ],
}


def vocab_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("TANDEM_VOCAB_DIR") or os.path.join(REPO, ".build-vocab")


def read_llamacpp_tests(path):
    """(inputs, outputs) the way test-tokenizer-0.cpp reads <vocab>.gguf.inp / .out."""
    inp, out = path + ".inp", path + ".out"
    if not (os.path.exists(inp) and os.path.exists(out)):
        return [], []
    with open(inp, encoding="utf-8", newline="") as f:
        raw = f.read()
    texts = []
    pos = 0
    while pos < len(raw):
        nxt = raw.find(SEPARATOR, pos)
        if nxt < 0:
            texts.append(raw[pos:])
            break
        texts.append(raw[pos:nxt])
        pos = nxt + len(SEPARATOR)
    with open(out, encoding="utf-8", newline="") as f:
        outs = [[int(t) for t in line.strip().split()] for line in f.read().split("\n")]
    outs = outs[: len(texts)]
    if len(outs) != len(texts):
        raise SystemExit(f"{inp}: {len(texts)} inputs but {len(outs)} outputs")
    return texts, outs


def with_ignore_merges(tok):
    """The same tokenizer with BPE ignore_merges=true (as the original Llama 3 tokenizer.json)."""
    from tokenizers import Tokenizer
    spec = json.loads(tok.backend_tokenizer.to_str())
    spec["model"]["ignore_merges"] = True
    return Tokenizer.from_str(json.dumps(spec))


def encode(tok, text, split_special):
    """Ids without BOS/EOS; split_special: control tokens written in the text are not parsed."""
    from tokenizers import Tokenizer
    if isinstance(tok, Tokenizer):
        tok.encode_special_tokens = split_special
        try:
            return tok.encode(text, add_special_tokens=False).ids
        finally:
            tok.encode_special_tokens = False
    return tok(text, add_special_tokens=False, split_special_tokens=split_special)["input_ids"]


def gguf_facts(path):
    import gguf
    r = gguf.GGUFReader(path)

    def scalar(key):
        f = r.fields.get(key)
        return None if f is None else f.contents()

    return {
        "model": scalar("tokenizer.ggml.model"),
        "pre": scalar("tokenizer.ggml.pre"),
        "bos_id": scalar("tokenizer.ggml.bos_token_id"),
        "eos_id": scalar("tokenizer.ggml.eos_token_id"),
        "add_bos_token": scalar("tokenizer.ggml.add_bos_token"),
        "vocab_size": len(r.fields["tokenizer.ggml.tokens"].data),
    }


def build_vocab(directory, name):
    from transformers import AutoTokenizer
    file = f"ggml-vocab-{name}.gguf"
    path = os.path.join(directory, file)
    tok = AutoTokenizer.from_pretrained(directory, gguf_file=file)
    whole_words = with_ignore_merges(tok) if name == "llama-bpe" else None
    llama_texts, llama_outs = read_llamacpp_tests(path)

    cases, disagreements = [], []
    sources = [(t, "llama.cpp", o) for t, o in zip(llama_texts, llama_outs)]
    sources += [(t, "hostile", None) for t in HOSTILE + SPECIAL[name]]
    seen = set()
    for text, source, llama_ids in sources:
        if text in seen:
            continue
        seen.add(text)
        hf_ids = encode(tok, text, split_special=False)
        ids = encode(whole_words, text, split_special=False) if whole_words else hf_ids
        case = {"text": text, "source": source, "ids": ids}
        if ids != hf_ids:
            case["transformers_gguf_ids"] = hf_ids
        no_special = encode(whole_words or tok, text, split_special=True)
        if no_special != ids:
            case["ids_no_special"] = no_special
        case["decoded"] = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if llama_ids is not None:
            case["llamacpp_ids"] = llama_ids
            if llama_ids != ids:
                disagreements.append(len(cases))
                print(f"note [{name}]: llama.cpp .out differs for {text!r}:\n  reference {ids}\n"
                      f"  llama.cpp {llama_ids}", file=sys.stderr)
        if "transformers_gguf_ids" in case:
            print(f"note [{name}]: ignore_merges changes {text!r}: {hf_ids} -> {ids}", file=sys.stderr)
        cases.append(case)

    facts = gguf_facts(path)
    return {"file": file, **facts, "llamacpp_cases": len(llama_texts),
            "llamacpp_disagreements": disagreements, "cases": cases}


def dump(doc):
    """Indented JSON with one line per case, so a change shows as a one-line diff."""
    def one_line(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    vocabs = []
    for name, v in doc["vocabs"].items():
        head = ",\n".join(f"   {one_line(k)}: {one_line(x)}" for k, x in v.items() if k != "cases")
        cases = ",\n".join(f"    {one_line(c)}" for c in v["cases"])
        vocabs.append(f"  {one_line(name)}: {{\n{head},\n   \"cases\": [\n{cases}\n   ]\n  }}")
    head = ",\n".join(f" {one_line(k)}: {one_line(x)}" for k, x in doc.items() if k != "vocabs")
    text = f"{{\n{head},\n \"vocabs\": {{\n" + ",\n".join(vocabs) + "\n }\n}\n"
    json.loads(text)
    return text


def main():
    import transformers
    directory = vocab_dir()
    missing = [v for v in VOCABS if not os.path.exists(os.path.join(directory, f"ggml-vocab-{v}.gguf"))]
    if missing:
        raise SystemExit(f"{directory}: missing ggml-vocab-{{{','.join(missing)}}}.gguf "
                         "(run scripts/fetch_vocab_ggufs.sh)")
    vocabs = {name: build_vocab(directory, name) for name in VOCABS}
    doc = {
        "generator": "Tests/TokenizerTests/Fixtures/make_bpe_fixtures.py",
        "reference": "transformers AutoTokenizer from the GGUF (gguf_file=ggml-vocab-<name>.gguf); "
                     "llama-bpe with BPE ignore_merges=true as in the original Llama 3 tokenizer.json",
        "transformers_version": transformers.__version__,
        "tokenizers_version": importlib.metadata.version("tokenizers"),
        "gguf_version": importlib.metadata.version("gguf"),
        "llama_cpp_source": "llama-cpp-python 0.3.36 sdist, vendor/llama.cpp/models",
        "notes": "ids: encode(text, add_special_tokens=False), special tokens in the text parsed; "
                 "ids_no_special (only when different): the same with split_special_tokens=True; "
                 "decoded: decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False); "
                 "llamacpp_ids: llama.cpp's <vocab>.gguf.out for that .inp text; "
                 "llamacpp_disagreements: indexes of cases whose llamacpp_ids differ from ids; "
                 "transformers_gguf_ids (llama-bpe only, only when different): transformers' GGUF "
                 "tokenizer without ignore_merges.",
        "vocabs": vocabs,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(dump(doc))
    total = sum(len(v["cases"]) for v in vocabs.values())
    bad = {k: len(v["llamacpp_disagreements"]) for k, v in vocabs.items()}
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes), {total} cases, llama.cpp disagreements {bad}")


if __name__ == "__main__":
    main()

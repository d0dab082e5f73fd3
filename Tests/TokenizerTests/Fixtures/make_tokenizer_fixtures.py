#!/usr/bin/env python3
"""Generate golden tokenizer fixtures for the Gemma 3 vocabulary of the default model.

What it does
  Loads the tokenizer that Hugging Face transformers builds from the GGUF vocab
  of models/gemma-3-270m-q4_k_m.gguf (transformers converts the GGUF
  tokenizer.ggml.* arrays itself; no hub access) and records, for ~40 texts,
  the ids it produces WITHOUT adding BOS (special-token parsing ON, the
  default, so "<start_of_turn>" in the text becomes id 105) and the decoding
  of those ids with skip_special_tokens=False. It also records a handful of
  id -> piece mappings.

  Cross-check (informational): a second, independent reference is built from
  the same GGUF vocab with the `sentencepiece` library (a BPE ModelProto with
  the GGUF pieces/scores/types, byte_fallback on, identity normalizer, no
  dummy prefix). Control tokens that literally appear in the text are split
  out first (sentencepiece itself never parses them). Each case gets
  "sentencepiece_ids" and the script prints any disagreement; the "ids" field
  is always the transformers result.

  Before writing, it checks the two anchor encodings
    "Hello world!"  -> [9259, 1902, 236888]
    "Hello  world"  -> [9259, 138, 12392]
  and stops with an error (writing nothing) if transformers disagrees.

Reference: transformers.AutoTokenizer.from_pretrained("<repo>/models",
  gguf_file="gemma-3-270m-q4_k_m.gguf"); cross-check: sentencepiece.
Requirements: pip install torch transformers gguf sentencepiece protobuf numpy
Run (from the repo root):
  HF_HUB_OFFLINE=1 python3 Tests/TokenizerTests/Fixtures/make_tokenizer_fixtures.py
Output: Tests/TokenizerTests/Fixtures/tokenizer_golden.json (deterministic).
"""

import importlib.metadata
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL_DIR = os.path.join(REPO, "models")
GGUF_FILE = "gemma-3-270m-q4_k_m.gguf"
OUT = os.path.join(HERE, "tokenizer_golden.json")

CHAT = "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"

TEXTS = [
    # plain English
    "Hello world!",
    "Hello  world",
    "The quick brown fox jumps over the lazy dog.",
    "It's a beautiful day; isn't it? Yes -- it is!",
    # leading / trailing spaces
    " Hello",
    "Hello ",
    "   leading and trailing   ",
    " ",
    # runs of spaces (2..40)
    "a  b",
    "a   b",
    "a" + " " * 7 + "b",
    "x" + " " * 16 + "y",
    "x" + " " * 31 + "y",
    "x" + " " * 32 + "y",
    "x" + " " * 40 + "y",
    " " * 40,
    # tabs, newlines, blank lines
    "col1\tcol2\t\tcol3",
    "\tindented with a tab",
    "line one\nline two\n\nline four after a blank line\n",
    "\n\n\n",
    "trailing newline then spaces\n    next",
    "windows\r\nline endings\r\n",
    # digits and long numbers
    "In 1999 there were 12345 apples and 3.14159 pies.",
    "123456789012345678901234567890",
    "Phone: +1 (555) 010-9999, price $1,234.56, 50%",
    # accents
    "café naïve Zürich façade résumé",
    "Ångström, Øresund, São Paulo, Kraków, İstanbul",
    # CJK
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。",
    "안녕하세요 세계",
    # emoji
    "I love pizza 🍕 and cats 🐈!",
    "Family: 👨\u200d👩\u200d👧\u200d👦 and flags 🇫🇷🇯🇵🏳️\u200d🌈",
    "Thumbs 👍🏽 skin tone",
    # code
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    '{\n  "name": "Tandem",\n  "version": 1,\n  "tags": ["llm", "swift"],\n  "nested": {\n    "ok": true\n  }\n}',
    "for (int i = 0; i < 10; ++i) { sum += a[i]; }",
    # URL
    "See https://example.com/path/to/page?query=1&lang=en#section for details.",
    # mixed scripts
    "English, русский, العربية, עברית, हिन्दी, ελληνικά, ไทย mixed.",
    # empty
    "",
    # chat markers (special-token parsing ON)
    CHAT,
    # rare Unicode
    "private use \ue000 and test tube \U0001F9EA",
    "byte fallback: \U00010000 \U00013000 \U000F0000 \U0002A6D6 \u16a0 \U0001F0A1",
    # HTML-ish user-defined pieces
    "<table><tr><td>cell</td></tr></table>",
]

PIECE_IDS = [0, 1, 2, 3, 105, 106, 107, 108, 138, 139, 168, 236888, 9259, 1902, 12392]


def load_transformers_tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=GGUF_FILE)


def read_gguf_vocab():
    import gguf
    r = gguf.GGUFReader(os.path.join(MODEL_DIR, GGUF_FILE))
    f = r.fields["tokenizer.ggml.tokens"]
    toks = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    f = r.fields["tokenizer.ggml.scores"]
    scores = [float(f.parts[i][0]) for i in f.data]
    f = r.fields["tokenizer.ggml.token_type"]
    types = [int(f.parts[i][0]) for i in f.data]
    return toks, scores, types


def build_sentencepiece(toks, scores, types):
    """A sentencepiece BPE model from the GGUF vocab (independent cross-check)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    m.trainer_spec.model_type = pb.TrainerSpec.BPE
    m.trainer_spec.vocab_size = len(toks)
    m.trainer_spec.byte_fallback = True
    m.trainer_spec.unk_id = 3
    m.trainer_spec.bos_id = 2
    m.trainer_spec.eos_id = 1
    m.trainer_spec.pad_id = 0
    m.trainer_spec.split_digits = True
    m.trainer_spec.allow_whitespace_only_pieces = True
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = False
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    type_map = {1: pb.ModelProto.SentencePiece.NORMAL, 2: pb.ModelProto.SentencePiece.UNKNOWN,
                3: pb.ModelProto.SentencePiece.CONTROL, 4: pb.ModelProto.SentencePiece.USER_DEFINED,
                5: pb.ModelProto.SentencePiece.UNUSED, 6: pb.ModelProto.SentencePiece.BYTE}
    for i, (t, s, ty) in enumerate(zip(toks, scores, types)):
        p = m.pieces.add()
        # GGUF stores a few whitespace pieces with a real space; sentencepiece
        # matches on the escaped form.
        p.piece = t.replace(" ", "\u2581")
        p.score = s
        p.type = type_map[ty]
        if i == 3:
            p.type = pb.ModelProto.SentencePiece.UNKNOWN
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(m.SerializeToString())
    return sp


def sp_encode(sp, text, control_pieces):
    """Split out literal control tokens, encode the rest with sentencepiece."""
    out = []
    i = 0
    buf = ""
    while i < len(text):
        hit = None
        if text[i] == "<":
            for piece, pid in control_pieces:
                if text.startswith(piece, i):
                    hit = (piece, pid)
                    break
        if hit:
            if buf:
                out += sp.encode(buf)
                buf = ""
            out.append(hit[1])
            i += len(hit[0])
        else:
            buf += text[i]
            i += 1
    if buf:
        out += sp.encode(buf)
    return out


def main():
    import transformers
    tok = load_transformers_tokenizer()

    anchors = {"Hello world!": [9259, 1902, 236888], "Hello  world": [9259, 138, 12392]}
    for text, want in anchors.items():
        got = tok.encode(text, add_special_tokens=False)
        if got != want:
            print(f"ANCHOR MISMATCH for {text!r}: transformers gives {got} "
                  f"{tok.convert_ids_to_tokens(got)}, expected {want}", file=sys.stderr)
            sys.exit(1)

    toks, scores, types = read_gguf_vocab()
    sp = build_sentencepiece(toks, scores, types)
    control = sorted(((t, i) for i, (t, ty) in enumerate(zip(toks, types))
                      if ty == 3 and t.startswith("<")), key=lambda x: -len(x[0]))

    cases = []
    disagreements = 0
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=False)
        decoded = tok.decode(ids, skip_special_tokens=False)
        sp_ids = sp_encode(sp, text, control)
        if sp_ids != ids:
            disagreements += 1
            print(f"note: sentencepiece differs for {text!r}:\n  transformers {ids}\n"
                  f"  sentencepiece {sp_ids}", file=sys.stderr)
        if decoded != text:
            print(f"note: decode(encode(x)) != x for {text!r}: {decoded!r}", file=sys.stderr)
        cases.append({
            "text": text,
            "ids": ids,
            "decoded": decoded,
            "sentencepiece_ids": sp_ids,
        })

    nl_byte = toks.index("<0x0A>")
    pieces = []
    for pid in PIECE_IDS + [nl_byte, toks.index("<0x00>"), toks.index("<0xFF>")]:
        pieces.append({
            "id": pid,
            "piece": tok.convert_ids_to_tokens(pid),
            "gguf_piece": toks[pid],
            "gguf_type": types[pid],
            "gguf_score": scores[pid],
        })

    doc = {
        "generator": "Tests/TokenizerTests/Fixtures/make_tokenizer_fixtures.py",
        "reference": "transformers AutoTokenizer from GGUF (gemma-3-270m-q4_k_m.gguf)",
        "transformers_version": transformers.__version__,
        "tokenizers_version": importlib.metadata.version("tokenizers"),
        "sentencepiece_version": importlib.metadata.version("sentencepiece"),
        "gguf_version": importlib.metadata.version("gguf"),
        "notes": "ids: encode(text, add_special_tokens=False) with special-token parsing on; "
                 "decoded: decode(ids, skip_special_tokens=False); sentencepiece_ids: independent "
                 "cross-check with the sentencepiece library built from the same GGUF vocab "
                 "(control tokens split out first). piece: transformers convert_ids_to_tokens; "
                 "gguf_piece: raw string stored in tokenizer.ggml.tokens.",
        "bos_id": 2, "eos_id": 1,
        "sentencepiece_disagreements": disagreements,
        "cases": cases,
        "pieces": pieces,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes), {len(cases)} cases, "
          f"{disagreements} sentencepiece disagreements")


if __name__ == "__main__":
    main()

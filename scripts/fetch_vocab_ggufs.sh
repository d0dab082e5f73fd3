#!/usr/bin/env bash
# Fetches llama.cpp's vocabulary-only test GGUFs (no weights) for the byte-level BPE tokenizer tests:
# ggml-vocab-{llama-bpe,qwen2,gpt-2,phi-3}.gguf with their .inp/.out expectation files, taken from
# the llama-cpp-python 0.3.36 source distribution on PyPI (vendor/llama.cpp/models/). Each GGUF's
# sha256 is checked. The files are never committed: DEST is ignored by git (the `.build*/` rule).
#   scripts/fetch_vocab_ggufs.sh [DEST]   (default: .build-vocab/ in the repository)
# Then the tests find them there, or wherever TANDEM_VOCAB_DIR points.
#
# Reuses what is already on the machine, in this order:
#   DEST already holds the four verified GGUFs      -> nothing to do
#   TANDEM_LLAMACPP_MODELS=DIR                      -> copied from DIR: an extracted sdist (its root)
#                                                      or its vendor/llama.cpp/models folder
#   TANDEM_LLAMACPP_SDIST=FILE                      -> extracted from that llama_cpp_python-0.3.36.tar.gz
#   otherwise                                       -> `pip download` of the sdist (76 MB)
# The download needs python3 with pip and cmake on PATH: pip prepares the sdist's metadata, and the
# package's build backend (scikit-build-core) wants cmake for that (`apt-get install cmake`).
# Nothing is compiled.
set -euo pipefail

VERSION=0.3.36
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST=${1:-"$ROOT/.build-vocab"}
LOG=${TANDEM_LOG_PREFIX:-fetch_vocab_ggufs}
NAMES=(llama-bpe qwen2 gpt-2 phi-3)
MEMBER_DIR="llama_cpp_python-$VERSION/vendor/llama.cpp/models"
SUMS="97272e430d53bc7688f52d5e0ad8ea8f163ede9f1bbd1694feaa504797d5d96e  ggml-vocab-llama-bpe.gguf
44c2f46b715f585c6ab513970e8a006bfa5badd6108560054921cf598d154d8c  ggml-vocab-qwen2.gguf
cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac  ggml-vocab-gpt-2.gguf
967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326  ggml-vocab-phi-3.gguf"

verified() { (cd "$1" 2>/dev/null && echo "$SUMS" | sha256sum -c --status 2>/dev/null); }

if verified "$DEST"; then
  echo "$LOG: $DEST holds the vocabulary GGUFs (verified)"
  exit 0
fi
mkdir -p "$DEST"

copy_from() {
  local dir=$1
  [ -d "$dir/vendor/llama.cpp/models" ] && dir="$dir/vendor/llama.cpp/models"
  for n in "${NAMES[@]}"; do
    cp -f "$dir/ggml-vocab-$n.gguf" "$DEST/"
    for ext in inp out; do
      [ -f "$dir/ggml-vocab-$n.gguf.$ext" ] && cp -f "$dir/ggml-vocab-$n.gguf.$ext" "$DEST/"
    done
  done
}

extract_from() {
  local members=()
  for n in "${NAMES[@]}"; do members+=("$MEMBER_DIR/ggml-vocab-$n.gguf*"); done
  tar -xzf "$1" -C "$DEST" --strip-components=4 --wildcards "${members[@]}"
}

if [ -n "${TANDEM_LLAMACPP_MODELS:-}" ]; then
  echo "$LOG: copying from $TANDEM_LLAMACPP_MODELS"
  copy_from "$TANDEM_LLAMACPP_MODELS"
elif [ -n "${TANDEM_LLAMACPP_SDIST:-}" ]; then
  echo "$LOG: extracting from $TANDEM_LLAMACPP_SDIST"
  extract_from "$TANDEM_LLAMACPP_SDIST"
else
  command -v cmake >/dev/null || echo "$LOG: warning: cmake is not on PATH; pip may fail to prepare" \
    "the sdist's metadata (apt-get install cmake)" >&2
  echo "$LOG: downloading the llama-cpp-python $VERSION sdist from PyPI"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  python3 -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$work"
  extract_from "$work/llama_cpp_python-$VERSION.tar.gz"
fi

if ! verified "$DEST"; then
  echo "$LOG: sha256 mismatch or missing file in $DEST:" >&2
  (cd "$DEST" && echo "$SUMS" | sha256sum -c 2>&1 | grep -v ': OK$' >&2) || true
  exit 1
fi
echo "$LOG: $DEST ready ($(ls "$DEST" | wc -l) files)"

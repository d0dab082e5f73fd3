#!/usr/bin/env bash
# Prints the engine benchmark table (and llama.cpp ratios when LLAMA_CPP_BIN is set).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/bench.py "$@"

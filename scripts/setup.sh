#!/usr/bin/env bash
# Installs the system libraries Tandem links against and fetches the default model.
# Idempotent: a second run checks and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=models/gemma-3-270m-q4_k_m.gguf
# The `all` lines of scripts/build-packages.txt (the static build's extras are chroot_check.sh's).
mapfile -t APT_PACKAGES < <(awk '$1 !~ /^#/ && $2 == "all" { print $1 }' scripts/build-packages.txt)
[ ${#APT_PACKAGES[@]} -gt 0 ] || { echo "setup: no packages in scripts/build-packages.txt" >&2; exit 1; }

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

# The model fetch is shared with the Dockerfile's model stage.
TANDEM_LOG_PREFIX=setup exec ./scripts/fetch_model.sh "$MODEL"

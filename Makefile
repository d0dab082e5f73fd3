# Tandem. The README's two commands: `make serve` and `make test`.
SWIFT ?= swift
PYTHON ?= python3
PORT ?= 8000
# OpenBLAS 0.3.21 picks Haswell kernels on AVX-512 CPUs; SkylakeX ones are 1.5–1.7× faster here.
# It reads this variable when the library loads; `tandem` sets it itself, tests get it from here.
export OPENBLAS_CORETYPE ?= $(shell grep -q avx512f /proc/cpuinfo 2>/dev/null && echo SKYLAKEX)

.PHONY: setup build serve test lint kernel-check unit-test e2e-test e2e-deps bench

setup:
	./scripts/setup.sh

# Tests are built with everything else: `swift build` without them and `swift test` would each
# invalidate the other's build and compile the whole package twice.
build: setup
	$(SWIFT) build -c release --build-tests

serve: build
	.build/release/tandem serve --model models/gemma-3-270m-q4_k_m.gguf --adapters adapters --port $(PORT)

# Cheap checks first, then unit, golden and in-process server tests, then the end-to-end suite
# against the real binary.
test: lint deploy-check build kernel-check unit-test e2e-test

# Cheap checks: no build, no network. The Dockerfile's build-stage packages = scripts/build-packages.txt.
lint:
	$(PYTHON) scripts/check_build_packages.py
	$(PYTHON) scripts/check_line_length.py

# AVX-512 instructions only in the kernel modules chosen at run time (objdump over the binary).
kernel-check: build
	$(PYTHON) scripts/check_kernel_isolation.py .build/release/tandem

unit-test: build vocab-ggufs
	$(SWIFT) test -c release --skip-build

# llama.cpp's vocabulary-only GGUFs (no weights) for the byte-level BPE golden tests, into .build-vocab/
# (scripts/fetch_vocab_ggufs.sh, from the llama-cpp-python sdist; pip needs cmake to read its metadata).
.PHONY: vocab-ggufs
vocab-ggufs:
	@command -v cmake >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq cmake >/dev/null; }
	./scripts/fetch_vocab_ggufs.sh

e2e-deps:
	@$(PYTHON) -c "import openai, pytest, prometheus_client, jsonschema, pydantic, langchain_openai, instructor" 2>/dev/null || $(PYTHON) -m pip install --quiet -r e2e/requirements.txt

e2e-test: build e2e-deps
	$(PYTHON) -m pytest e2e -q -p no:cacheprovider

# Cheap too: renders the Kubernetes manifests in deploy/ and validates them offline (deploy/README.md).
.PHONY: deploy-check
deploy-check:
	@$(PYTHON) -c "import kubernetes_validate, yaml" 2>/dev/null || \
		$(PYTHON) -m pip install --quiet -r deploy/requirements.txt
	$(PYTHON) deploy/validate.py

# The engine alone against llama.cpp (scripts/bench.py); extra flags: make bench BENCH_ARGS="--rounds 3"
bench: build
	./scripts/bench.sh $(BENCH_ARGS)

# Proves the Dockerfile's runtime stage without a Docker engine (debootstrap + chroot, needs root).
.PHONY: chroot-check
chroot-check:
	./scripts/chroot_check.sh

# The compare page (`/`) in headless Chromium against a live server (started here unless TANDEM_URL
# is set); saves docs/compare-page.png. BROWSER_TEST_ARGS=--via-proxy serves the page from
# Sources/Server/ComparePage.swift when the binary predates the `/` route.
.PHONY: browser-test
browser-test:
	@$(PYTHON) -c "import selenium" 2>/dev/null || $(PYTHON) -m pip install --quiet -r e2e/browser/requirements.txt
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
		echo "browser-test needs Debian's Chromium and its driver:"; \
		echo "  sudo apt-get update && sudo apt-get install -y chromium chromium-driver"; exit 1; }
	$(PYTHON) e2e/browser/compare_page_test.py $(BROWSER_TEST_ARGS)

# Concurrent streaming load on `tandem serve` (bench/load_bench.py, see bench/README.md). With
# LLAMA_SERVER=/path/to/llama-server the same load runs on llama-server too, with ratios.
# Extra flags: make load-bench LOAD_BENCH_ARGS="--concurrency 1,4 --json-out results.json"
.PHONY: load-bench
load-bench: build
	@$(PYTHON) -c "import numpy, gguf" 2>/dev/null || $(PYTHON) -m pip install --quiet numpy gguf
	$(PYTHON) bench/load_bench.py --tandem-bin .build/release/tandem $(LOAD_BENCH_ARGS)

# Fuzzes the HTTP API with Schemathesis against openapi.yaml (scripts/fuzz_api.sh, a few minutes):
# no 5xx, responses as the spec says, every error OpenAI-shaped. MAX_EXAMPLES=N per operation
# (default 50), SEED=S to replay a run.
.PHONY: fuzz
fuzz: build
	./scripts/fuzz_api.sh

# Three replicas sharing one adapters folder behind LiteLLM's proxy (scripts/replicas.py, about 2 minutes):
# an adapter dropped in is served by all, SIGKILL and SIGTERM under load, a report table. Not part of
# `make test`; it does not build (run `make build` first). Extra flags: REPLICAS_ARGS="--load-seconds 20"
.PHONY: replicas
replicas:
	@test -x .build/release/tandem || { echo "no .build/release/tandem: run make build first"; exit 1; }
	@$(PYTHON) -c "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in \
		('litellm', 'openai', 'fastapi', 'uvicorn', 'apscheduler', 'backoff')))" 2>/dev/null || \
		$(PYTHON) -m pip install --quiet 'litellm[proxy]' openai
	$(PYTHON) scripts/replicas.py $(REPLICAS_ARGS)

# 64 clients for 10 minutes with adapters added, changed and removed under load (scripts/soak.py);
# not part of `make test`. A short run: make soak SOAK_ARGS="--duration 30 --clients 8"
.PHONY: soak
soak: build
	$(PYTHON) scripts/soak.py $(SOAK_ARGS)

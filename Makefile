# Tandem — the two commands a user needs: `make serve` (later) and `make test`.
SWIFT ?= swift
# OpenBLAS 0.3.21 picks Haswell kernels on AVX-512 CPUs; SkylakeX ones are 1.5–1.7× faster here.
# It reads this variable when the library loads, so it must be in the environment, not set in main.
export OPENBLAS_CORETYPE ?= $(shell grep -q avx512f /proc/cpuinfo 2>/dev/null && echo SKYLAKEX)

.PHONY: setup build test generate bench

setup:
	./scripts/setup.sh

build: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) build -c release
	$(SWIFT) test -c release

bench: build
	./scripts/bench.sh

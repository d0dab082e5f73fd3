#!/usr/bin/env bash
# Proves the Dockerfile's runtime stage without a Docker engine: builds a Debian bookworm root with
# debootstrap (minbase, trimmed like debian:bookworm-slim), replays the runtime stage's instructions
# in it — its RUN lines verbatim (so exactly its RUNTIME_PACKAGES), its COPY lines (the
# --static-swift-stdlib binary, the health check, adapters/, the model), WORKDIR and USER — then in a
# chroot, as that user: `tandem --help`, the image's ENTRYPOINT + CMD in the background (on
# 127.0.0.1 and a free port, since a chroot shares the host's network), waits for /health, runs the
# image's HEALTHCHECK command, sends one /v1/chat/completions request (max_tokens 8) and checks the
# answer is a chat.completion. Cleans up (stops the server, unmounts, deletes the root) on exit.
#
# Needs root, a Swift 6.2+ toolchain (unless TANDEM_BIN is set) and a reachable Debian mirror. Installs with
# apt what is missing on the host, and says so: debootstrap, curl, binutils (strip), python3, and (unless
# TANDEM_BIN names a ready binary) the build's libraries, every line of scripts/build-packages.txt.
# Environment:
#   TANDEM_BIN          a release binary built with --static-swift-stdlib (default: build one with `swift
#                       build -c release --static-swift-stdlib -Xlinker -lcurl --scratch-path .build-static`,
#                       under nice -n 19; the kernels are chosen at run time, so no CPU is named)
#   TANDEM_MODEL        the GGUF to serve (default: models/gemma-3-270m-q4_k_m.gguf, fetched with
#                       scripts/fetch_model.sh when missing — the Dockerfile's model stage)
#   CHECK_PORT          port for the server (default: a free one)
#   CHECK_MODEL         `model` of the chat request (default: ticket-triage, a bundled adapter)
#   DEBIAN_MIRROR       mirror for debootstrap and the root's apt sources (default: debootstrap's own)
#   DEBIAN_SECURITY_MIRROR  the root's bookworm-security source (default: the mirror debootstrap used
#                       with -security appended, as Debian's own mirrors lay it out)
#   CHROOT_CHECK_KEEP=1 keep the root folder (unmounted) and print where it is
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCKERFILE=$ROOT/Dockerfile
CHECK_MODEL=${CHECK_MODEL:-ticket-triage}
START=$SECONDS

say() { printf '\n== [%3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { echo "chroot-check: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, mount and chroot need it)"
for tool in mount chroot; do command -v "$tool" >/dev/null || die "$tool is missing"; done
CHROOT=$(command -v chroot)

# ---- what the host needs, installed with apt when missing ---------------------------------------
MISSING=()
for tool_package in debootstrap:debootstrap curl:curl strip:binutils python3:python3; do
  command -v "${tool_package%%:*}" >/dev/null || MISSING+=("${tool_package#*:}")
done
if [ -z "${TANDEM_BIN:-}" ]; then
  command -v swift >/dev/null || die "swift is missing: install a Swift 6.2+ toolchain, or set TANDEM_BIN"
  # Every line of the list: this is the static build, which also needs the `static` ones.
  mapfile -t BUILD_PACKAGES < <(awk '$1 !~ /^#/ && NF { print $1 }' "$ROOT/scripts/build-packages.txt")
  [ ${#BUILD_PACKAGES[@]} -gt 0 ] || die "no packages in $ROOT/scripts/build-packages.txt"
  for p in "${BUILD_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || MISSING+=("$p"); done
fi
HOST_INSTALLED=none
if [ ${#MISSING[@]} -gt 0 ]; then
  say "installing on the host: ${MISSING[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null \
    || die "apt-get install ${MISSING[*]} failed"
  HOST_INSTALLED=${MISSING[*]}
  echo "installed: $HOST_INSTALLED"
fi

# ---- the runtime stage, read from the Dockerfile ------------------------------------------------
# Each instruction of the last stage becomes one shell call (df_run, df_copy, ...) below.
PLAN=$(python3 - "$DOCKERFILE" <<'PY'
import json, re, shlex, sys

text = open(sys.argv[1]).read()
# Join continuation lines; drop comment lines (Docker drops them inside continuations too).
lines, cur = [], ""
for raw in text.splitlines():
    s = raw.strip()
    if not cur and (not s or s.startswith("#")):
        continue
    if cur and s.startswith("#"):
        continue
    if raw.rstrip().endswith("\\"):
        cur += raw.rstrip()[:-1] + " "
        continue
    lines.append(cur + raw)
    cur = ""
stages = []
for line in lines:
    word, _, rest = line.strip().partition(" ")
    word = word.upper()
    if word == "FROM":
        stages.append([])
    if stages:
        stages[-1].append((word, rest.strip()))
stage = stages[-1]

def exec_form(rest):
    rest = rest.strip()
    return json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]

q = lambda *a: " ".join(shlex.quote(x) for x in a)
for word, rest in stage:
    if word == "FROM":
        print("df_from", q(rest.split()[0]))
    elif word == "ARG":
        name, eq, value = shlex.split(rest)[0].partition("=")
        print("df_arg", q(name, value))
    elif word == "ENV":
        name, eq, value = shlex.split(rest)[0].partition("=")
        print("df_env", q(name, value))
    elif word == "RUN":
        print("df_run", q(rest))
    elif word == "COPY":
        args = shlex.split(rest)
        flags = [a for a in args if a.startswith("--")]
        paths = [a for a in args if not a.startswith("--")]
        source = ""
        for f in flags:
            if f.startswith("--from="):
                source = f[len("--from="):]
            else:
                sys.exit(f"chroot-check: COPY flag {f} is not handled here; teach scripts/chroot_check.sh")
        for p in paths[:-1]:
            print("df_copy", q(source, p, paths[-1]))
    elif word in ("WORKDIR", "USER", "EXPOSE"):
        print("df_" + word.lower(), q(rest))
    elif word == "HEALTHCHECK":
        print("df_healthcheck", q(*exec_form(rest.split(" CMD ", 1)[1])))
    elif word in ("ENTRYPOINT", "CMD"):
        print("df_" + word.lower(), q(*exec_form(rest)))
    else:
        sys.exit(f"chroot-check: Dockerfile instruction {word} is not handled here; teach scripts/chroot_check.sh")
PY
) || die "could not read the runtime stage of $DOCKERFILE"

# ---- the binary and the model -------------------------------------------------------------------
if [ -n "${TANDEM_BIN:-}" ]; then
  BIN=$TANDEM_BIN
  say "binary: $BIN (from TANDEM_BIN)"
else
  say "building tandem: swift build -c release --static-swift-stdlib"
  STATIC_BUILD=(swift build -c release --static-swift-stdlib -Xlinker -lcurl --scratch-path .build-static)
  (cd "$ROOT" && nice -n 19 "${STATIC_BUILD[@]}" --product tandem)
  BIN=$(cd "$ROOT" && "${STATIC_BUILD[@]}" --show-bin-path)/tandem
fi
[ -x "$BIN" ] || die "no executable at $BIN"
if ldd "$BIN" | grep -Eq 'libswift|libFoundation|libdispatch|libBlocksRuntime'; then
  ldd "$BIN" >&2
  die "$BIN links the Swift runtime dynamically: build it with --static-swift-stdlib"
fi
MODEL=${TANDEM_MODEL:-$ROOT/models/gemma-3-270m-q4_k_m.gguf}
if [ ! -f "$MODEL" ]; then
  say "no model at $MODEL: fetching it like the Dockerfile's model stage"
  "$ROOT/scripts/fetch_model.sh" "$MODEL"
fi
PORT=${CHECK_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')}

# ---- cleanup ------------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-chroot.XXXXXX")
[ -n "$WORK" ] && [ -d "$WORK" ] && [ "$WORK" != / ] || die "mktemp failed"
DIR=$WORK/rootfs
SERVER_PID=""
cleanup() {
  local rc=$?
  set +e
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
  fi
  # Innermost first; then make sure nothing under the root is still mounted before deleting it.
  for m in $(awk -v d="$DIR" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  if awk -v d="$DIR" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "chroot-check: something is still mounted under $DIR; not deleting $WORK" >&2
  elif [ "${CHROOT_CHECK_KEEP:-0}" = 1 ]; then
    echo "chroot-check: kept $DIR (unmounted)"
  else
    rm -rf --one-file-system "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the base image -----------------------------------------------------------------------------
df_from() {
  case "$1" in
    debian:bookworm-slim*) ;;
    *) die "the runtime stage starts FROM $1; this check only knows debian:bookworm-slim" ;;
  esac
  say "debootstrap --variant=minbase bookworm (stands in for $1)"
  mkdir -p "$DIR/etc/dpkg/dpkg.cfg.d"
  # What makes the official image "slim": no docs, man pages or translations.
  cat > "$DIR/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  debootstrap --variant=minbase bookworm "$DIR" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} > "$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  [ -x "$DIR/bin/sh" ] || die "debootstrap left no /bin/sh in $DIR"
  # The mirror debootstrap used (DEBIAN_MIRROR or its default), from the sources.list it wrote.
  local mirror security
  mirror=$(awk '$1 == "deb" { print $2; exit }' "$DIR/etc/apt/sources.list" 2>/dev/null)
  mirror=${mirror:-${DEBIAN_MIRROR:-}}
  [ -n "$mirror" ] || die "debootstrap wrote no mirror to $DIR/etc/apt/sources.list; set DEBIAN_MIRROR"
  security=${DEBIAN_SECURITY_MIRROR:-${mirror%/}-security}
  echo "mirror: $mirror (security: $security)"
  # The rest of the official image's trimming: the excluded paths removed from the base packages
  # too, no .deb cache or package lists, and its apt settings (no translations, clean after use).
  find "$DIR/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$DIR/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$DIR"/usr/share/{man,groff,info,lintian,linda,locale}/* "$DIR"/var/cache/apt/*.bin \
    "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/lib/apt/lists/*
  local clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
  clean+=' /var/cache/apt/*.bin || true";'
  printf '%s\n' "DPkg::Post-Invoke { $clean };" "APT::Update::Post-Invoke { $clean };" \
    'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' > "$DIR/etc/apt/apt.conf.d/docker-clean"
  echo 'Acquire::Languages "none";' > "$DIR/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' > "$DIR/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$DIR/etc/apt/apt.conf.d/docker-autoremove-suggests"
  # The image's apt sources: bookworm, bookworm-updates, bookworm-security.
  rm -f "$DIR/etc/apt/sources.list"
  cat > "$DIR/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cp /etc/resolv.conf "$DIR/etc/resolv.conf"
  # What a container gets: /proc, /sys, and a small /dev on tmpfs (never the host's /dev).
  mount -t proc proc "$DIR/proc"
  mount -t sysfs -o ro sysfs "$DIR/sys"
  mount -t tmpfs -o mode=755,nosuid tmpfs "$DIR/dev"
  mknod -m 666 "$DIR/dev/null" c 1 3; mknod -m 666 "$DIR/dev/zero" c 1 5
  mknod -m 666 "$DIR/dev/full" c 1 7; mknod -m 666 "$DIR/dev/random" c 1 8
  mknod -m 666 "$DIR/dev/urandom" c 1 9; mknod -m 666 "$DIR/dev/tty" c 5 0
  mkdir -p "$DIR/dev/shm" "$DIR/dev/pts"; chmod 1777 "$DIR/dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$DIR/dev/pts"
  ln -s pts/ptmx "$DIR/dev/ptmx"
  ln -s /proc/self/fd "$DIR/dev/fd"
  ln -s /proc/self/fd/0 "$DIR/dev/stdin"; ln -s /proc/self/fd/1 "$DIR/dev/stdout"
  ln -s /proc/self/fd/2 "$DIR/dev/stderr"
  BASE_SIZE=$(du -sxh "$DIR" | cut -f1)
  dpkg-query --admindir="$DIR/var/lib/dpkg" -W -f='${Package}\n' | sort > "$WORK/packages.base"
  echo "minbase root: $BASE_SIZE, $(wc -l < "$WORK/packages.base") packages"
}

# ---- the other instructions ---------------------------------------------------------------------
ARGS=()          # ARG/ENV values, given to RUN as environment like Docker does
WORKDIR=/
RUN_USER=root
HEALTHCHECK=()
ENTRYPOINT=()
CMD=()
df_arg() { ARGS+=("$1=$2"); say "ARG $1=$2"; }
df_env() { ARGS+=("$1=$2"); RUNTIME_ENV+=("$1=$2"); say "ENV $1=$2"; }
RUNTIME_ENV=()
df_run() {
  say "RUN $1"
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "${ARGS[@]}" \
    "$CHROOT" "$DIR" /bin/sh -c "cd '$WORKDIR' && $1" || die "RUN failed"
}
df_workdir() { WORKDIR=$1; mkdir -p "$DIR$1"; say "WORKDIR $1"; }
df_copy() {
  local from=$1 src=$2 dest=$3
  case "$from" in
    build) [ "$src" = /out/tandem ] || die "unknown file $src of the build stage"
           say "COPY $BIN -> $dest (the build stage's $src: strip --strip-debug like the Dockerfile)"
           mkdir -p "$(dirname "$DIR$dest")"
           strip --strip-debug -o "$DIR$dest" "$BIN"; chmod 0755 "$DIR$dest" ;;
    model) say "COPY --from=model $src -> $dest: the model is bind-mounted read-only below"
           mkdir -p "$DIR$dest" ;;
    "")    say "COPY $src -> $dest"
           if [ -d "$ROOT/$src" ]; then
             mkdir -p "$DIR$dest"; cp -a "$ROOT/$src/." "$DIR$dest/"
           else
             case "$dest" in */) dest=$dest$(basename "$src") ;; esac
             mkdir -p "$(dirname "$DIR$dest")"; cp -a "$ROOT/$src" "$DIR$dest"
           fi
           chown -R 0:0 "$DIR$dest" ;;
    *)     die "COPY --from=$from is not handled here" ;;
  esac
}
df_user() { RUN_USER=$1; say "USER $1"; }
df_expose() { EXPOSE=$1; }
df_healthcheck() { HEALTHCHECK=("$@"); }
df_entrypoint() { ENTRYPOINT=("$@"); }
df_cmd() { CMD=("$@"); }

eval "$PLAN"

# ---- run as the container would -----------------------------------------------------------------
ROOTFS_SIZE=$(du -sxh "$DIR" | cut -f1)
dpkg-query --admindir="$DIR/var/lib/dpkg" -W -f='${Package}\n' | sort > "$WORK/packages.all"
ADDED=$(comm -13 "$WORK/packages.base" "$WORK/packages.all" | tr '\n' ' ')

# The image's command, listening on 127.0.0.1:$PORT instead of 0.0.0.0:$EXPOSE.
SERVE=("${ENTRYPOINT[@]}" "${CMD[@]}")
MODEL_IN_ROOT=""
for i in "${!SERVE[@]}"; do
  case "${SERVE[$i]}" in
    --host) SERVE[$((i + 1))]=127.0.0.1 ;;
    --port) SERVE[$((i + 1))]=$PORT ;;
    --model) MODEL_IN_ROOT=${SERVE[$((i + 1))]} ;;
  esac
done
[ -n "$MODEL_IN_ROOT" ] || die "the image's command names no --model"
mkdir -p "$DIR$(dirname "$MODEL_IN_ROOT")"; touch "$DIR$MODEL_IN_ROOT"
mount --bind "$MODEL" "$DIR$MODEL_IN_ROOT"
mount -o remount,bind,ro "$DIR$MODEL_IN_ROOT"

uid=$(awk -F: -v u="$RUN_USER" '$1 == u || $3 == u { print $3; exit }' "$DIR/etc/passwd")
gid=$(awk -F: -v u="$RUN_USER" '$1 == u || $3 == u { print $4; exit }' "$DIR/etc/passwd")
[ -n "$uid" ] || die "user $RUN_USER does not exist in the root"
# A process "in the container": chroot, the image's user, WORKDIR, a clean environment. A plain
# command (no function, no subshell), so that `&` gives the server's own pid.
IN_CONTAINER=(env -i "$CHROOT" --userspec="$uid:$gid" "$DIR" /usr/bin/env -i -C "$WORKDIR"
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORKDIR" HOSTNAME=tandem-check
  "${RUNTIME_ENV[@]}")

say "shared libraries of ${ENTRYPOINT[0]} inside the root"
env -i "$CHROOT" "$DIR" /usr/bin/ldd "${ENTRYPOINT[0]}" | tee "$WORK/ldd.txt"
! grep -q "not found" "$WORK/ldd.txt" || die "a shared library is missing from the runtime packages"

say "as $RUN_USER ($uid:$gid) in $WORKDIR: ${ENTRYPOINT[*]} --help"
"${IN_CONTAINER[@]}" "${ENTRYPOINT[@]}" --help

say "as $RUN_USER: ${SERVE[*]}"
"${IN_CONTAINER[@]}" "${SERVE[@]}" > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; die "the server exited"; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/serve.log" >&2; die "/health never answered 200"; }
HEALTH=$(curl -sS "http://127.0.0.1:$PORT/health")
echo "/health: $HEALTH"
KERNEL_PATH=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("kernel_path", "?"))' "$HEALTH")

HC=("${HEALTHCHECK[@]}")
for i in "${!HC[@]}"; do [ "${HC[$i]}" = "${EXPOSE:-8000}" ] && HC[$i]=$PORT; done
say "HEALTHCHECK as $RUN_USER: ${HC[*]}"
"${IN_CONTAINER[@]}" "${HC[@]}" || die "the image's HEALTHCHECK command failed"
echo "healthy (exit 0)"

echo "/v1/models: $(curl -sS "http://127.0.0.1:$PORT/v1/models" \
  | python3 -c 'import json, sys; print(" ".join(m["id"] for m in json.load(sys.stdin)["data"]))')"

say "POST /v1/chat/completions (model $CHECK_MODEL, max_tokens 8)"
REQUEST=$(python3 -c 'import json, sys; print(json.dumps({"model": sys.argv[1], "max_tokens": 8, "temperature": 0,
  "messages": [{"role": "user", "content": "I was charged twice for my subscription this month."}]}))' "$CHECK_MODEL")
ANSWER=$(curl -sS --max-time 120 "http://127.0.0.1:$PORT/v1/chat/completions" \
  -H 'Content-Type: application/json' -d "$REQUEST")
echo "$ANSWER"
python3 - "$ANSWER" <<'PY' || die "the answer is not a chat.completion"
import json, sys
a = json.loads(sys.argv[1])
assert a["object"] == "chat.completion", a
m = a["choices"][0]["message"]
assert m["role"] == "assistant" and isinstance(m["content"], str), m
assert 0 < a["usage"]["completion_tokens"] <= 8, a["usage"]
print(f"ok: chat.completion from {a['model']!r}, {a['usage']['prompt_tokens']} prompt + "
      f"{a['usage']['completion_tokens']} completion tokens, "
      f"finish_reason {a['choices'][0]['finish_reason']!r}: {m['content']!r}")
PY

say "stopping the server (SIGTERM)"
kill -TERM "$SERVER_PID"
for _ in $(seq 1 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$SERVER_PID" 2>/dev/null; then echo "still running after 10 s: SIGKILL"; kill -KILL "$SERVER_PID"; fi
wait "$SERVER_PID" 2>/dev/null && code=0 || code=$?
SERVER_PID=""
echo "server exited with status $code; its log:"
sed 's/^/  | /' "$WORK/serve.log" | tail -15

say "summary"
echo "host packages installed by this run: $HOST_INSTALLED"
echo "runtime packages (Dockerfile RUNTIME_PACKAGES): $(printf '%s\n' "${ARGS[@]}" | sed -n 's/^RUNTIME_PACKAGES=//p')"
echo "installed on top of minbase ($(wc -w <<< "$ADDED")): $ADDED"
echo "root: minbase $BASE_SIZE -> $ROOTFS_SIZE with packages, binary ($(du -h "$DIR${ENTRYPOINT[0]}" | cut -f1))" \
  "and adapters; model $(du -h "$MODEL" | cut -f1) bind-mounted"
echo "kernel path the binary chose on this host: $KERNEL_PATH (CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))"
echo "chroot-check passed in $((SECONDS - START)) s"

#!/bin/bash
# Container health check: exit 0 when GET /health on 127.0.0.1 answers 200 (it answers 503 while the
# model loads). Plain bash over /dev/tcp, so debian:bookworm-slim needs no curl (and curl's dozen
# libraries) just for this. Installed in the image as /usr/local/bin/tandem-healthcheck.
#   tandem-healthcheck [PORT]   (default 8000)
port=${1:-8000}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 4 status <&3 || exit 1
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) echo "tandem-healthcheck: ${status%$'\r'}" >&2; exit 1 ;;
esac

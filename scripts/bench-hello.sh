#!/usr/bin/env bash
# Throughput of `GET /api/v1/hello` on the hello example (full default stack) beside the
# same route on bare axum, measured in the same run with wrk on loopback.
#
#   scripts/bench-hello.sh [seconds=10] [connections=64] [threads=2]
#
# Needs wrk (apt-get install wrk). The global rate limit is turned off for the run (a
# load test from one IP is exactly what it exists to stop); everything else stays on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-64}
threads=${3:-2}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cargo build --release -p hello --bin hello --example plain >/dev/null 2>&1
target=${CARGO_TARGET_DIR:-target}/release

run() { # name port
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$2/api/v1/hello?name=Ada" \
    | awk -v name="$1" '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /^ +50%/ {p50=$2}
        END {printf "| %s | %s | %s | %s |\n", name, rps, p50, p99}'
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

PORT=3101 "$target/examples/plain" >/dev/null &
plain=$!
FLAGSTONE_PROFILE=production FLAGSTONE_AUTH__SECRET=bench-secret-bench-secret-bench-secret \
FLAGSTONE_DATABASE__URL=memory:// FLAGSTONE_SERVER__HOST=127.0.0.1 FLAGSTONE_SERVER__PORT=3102 \
FLAGSTONE_RATE_LIMIT__ENABLED=false FLAGSTONE_LOGGING__LEVEL=warn "$target/hello" >/dev/null &
hello=$!
trap 'kill $plain $hello 2>/dev/null || true' EXIT
sleep 1
echo "idle RSS: hello $(rss_kib $hello) KiB, plain axum $(rss_kib $plain) KiB"
echo "binary size: hello $(du -k "$target/hello" | cut -f1) KiB"
echo
echo "| target | req/s | p50 | p99 |"
echo "| --- | --- | --- | --- |"
run "plain axum" 3101
run "hello (full stack)" 3102
run "plain axum (again)" 3101
run "hello (full stack, again)" 3102
echo
echo "RSS after load: hello $(rss_kib $hello) KiB, plain axum $(rss_kib $plain) KiB"

#!/usr/bin/env bash
# RealWorld ("Conduit") benchmark: Flagstone's realworld example beside a hand-written
# axum + MongoDB driver backend (benches/realworld-twin), same scenarios, same run, same
# database server, with wrk on loopback. Writes a Markdown report to bench-results/.
#
#   scripts/bench-realworld.sh [driver options]
#
#   scripts/bench-realworld.sh                                  twin and realworld, 10 s each
#   scripts/bench-realworld.sh --targets twin --duration 5      the twin alone
#   scripts/bench-realworld.sh --targets twin,realworld,embedded
#   scripts/bench-realworld.sh --targets twin --custom 'other=/path/to/server --port {port} --db {mongodb_url}'
#
# Options are those of scripts/bench_realworld.py (`--help` lists them): --targets,
# --custom, --scenarios, --duration, --warmup, --connections, --threads, --articles,
# --comments, --port-base (default 3400), --out, --no-build.
#
# Needs wrk (apt-get install wrk) and python3. The MongoDB-compatible server is the one of
# scripts/test-mongo.sh (FerretDB): reused if it is running, else started here and
# stopped at the end; each target gets a fresh database on it. A real MongoDB works too:
# export FLAGSTONE_TEST_MONGODB_URI=mongodb://127.0.0.1:27017/ first.
#
# Environment (defaults keep clear of other test servers):
#   FLAGSTONE_TEST_MONGO_STATE_DIR   default /tmp/bench-mongo
#   FLAGSTONE_TEST_MONGODB_PORT      default 27034
#   FLAGSTONE_TEST_MONGODB_URI       use this server instead (its CPU time is then not measured)
#   CARGO_TARGET_DIR                 where the release binaries are built (default target/)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
export FLAGSTONE_TEST_MONGO_STATE_DIR=${FLAGSTONE_TEST_MONGO_STATE_DIR:-/tmp/bench-mongo}
export FLAGSTONE_TEST_MONGODB_PORT=${FLAGSTONE_TEST_MONGODB_PORT:-27034}

db_args=()
if [[ -z ${FLAGSTONE_TEST_MONGODB_URI:-} ]]; then
  if ! scripts/test-mongo.sh uri >/dev/null 2>&1; then
    trap 'scripts/test-mongo.sh stop' EXIT
  fi
  export "$(scripts/test-mongo.sh start)"
  db_args=(--db-pid "$(cat "$FLAGSTONE_TEST_MONGO_STATE_DIR/pid")")
fi

python3 scripts/bench_realworld.py --mongodb-uri "$FLAGSTONE_TEST_MONGODB_URI" "${db_args[@]}" "$@"

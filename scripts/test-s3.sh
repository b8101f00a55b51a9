#!/usr/bin/env bash
# A local S3-compatible server for Flagstone's file-storage tests: moto in server mode
# (`moto_server`, from PyPI), on loopback only, with one empty bucket `flagstone-test`. It
# speaks the real S3 REST protocol (SigV4 requests, multipart uploads, presigned URLs); it
# keeps everything in memory and sends no telemetry (moto has none; pip is run with
# --disable-pip-version-check).
#
#   scripts/test-s3.sh start     start a server and create the bucket; prints one line on
#                                stdout (everything else goes to stderr):
#                                  FLAGSTONE_TEST_S3_URL=http://127.0.0.1:<port>/flagstone-test
#   scripts/test-s3.sh stop      stop it (idempotent)
#   scripts/test-s3.sh status    say whether a server is running (exit 0) or not (exit 1)
#   scripts/test-s3.sh url       print the URL of the running server's bucket
#
# In CI:   export "$(scripts/test-s3.sh start)"; ...; scripts/test-s3.sh stop
# Then `cargo test -p flagstone --features files-s3 --test files` stores real objects in it;
# without FLAGSTONE_TEST_S3_URL those tests say they are skipped and pass.
#
# Environment:
#   FLAGSTONE_TEST_S3_URL         if set, `start` starts nothing and echoes it back
#   FLAGSTONE_TEST_S3_PORT        port to use (must be free); default 27042, or the next free
#                                 port above it when 27042 is taken
#   FLAGSTONE_CACHE_DIR           cache dir; default ~/.cache/flagstone. The server runs in the
#                                 Python venv $FLAGSTONE_CACHE_DIR/venv (created if missing;
#                                 moto[server] is installed into it with pip)
#   FLAGSTONE_TEST_S3_STATE_DIR   where pid, port and the server log are kept;
#                                 default ${TMPDIR:-/tmp}/flagstone-test-s3
set -euo pipefail

VENV="${FLAGSTONE_CACHE_DIR:-${HOME:-${TMPDIR:-/tmp}}/.cache/flagstone}/venv"
PYTHON="$VENV/bin/python3"
STATE_DIR="${FLAGSTONE_TEST_S3_STATE_DIR:-${TMPDIR:-/tmp}/flagstone-test-s3}"
LOG="$STATE_DIR/server.log"
BUCKET=flagstone-test
DEFAULT_PORT=27042
READY_TIMEOUT=30 # seconds

say() { echo "test-s3: $*" >&2; }
die() { say "$*"; exit 1; }

state_get() { # name -> value, or empty
  local f="$STATE_DIR/$1"
  if [[ -f $f ]]; then cat "$f"; fi
}

state_set() { # name value
  mkdir -p "$STATE_DIR"
  printf '%s\n' "$2" >"$STATE_DIR/$1.tmp"
  mv "$STATE_DIR/$1.tmp" "$STATE_DIR/$1"
}

state_clear() { rm -f "$STATE_DIR/pid" "$STATE_DIR/port"; }

url_for() { echo "http://127.0.0.1:$1/$BUCKET"; }

alive() { # the process exists and is not a zombie
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() { # the pid of the recorded server, if it is running
  local pid port cmdline
  pid=$(state_get pid)
  port=$(state_get port)
  [[ -n $pid && -n $port ]] && alive "$pid" || return 0
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  if [[ $cmdline == *moto*"-p $port"* ]]; then echo "$pid"; fi
}

ensure_venv() {
  if [[ ! -x $PYTHON ]]; then
    say "creating the Python venv $VENV"
    python3 -m venv "$VENV" >&2
  fi
  if ! "$PYTHON" -c 'import moto.server, flask, werkzeug' 2>/dev/null; then
    say "installing moto[server] into $VENV"
    "$PYTHON" -m pip install -q --disable-pip-version-check 'moto[server]' >&2
  fi
}

pick_port() {
  local port
  if [[ -n ${FLAGSTONE_TEST_S3_PORT:-} ]]; then
    port=$FLAGSTONE_TEST_S3_PORT
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      die "FLAGSTONE_TEST_S3_PORT=$port is not a port number"
    fi
    ! port_in_use "$port" || die "port $port (FLAGSTONE_TEST_S3_PORT) is already in use on 127.0.0.1"
    echo "$port"
    return
  fi
  for ((port = DEFAULT_PORT; port < DEFAULT_PORT + 100; port++)); do
    if ! port_in_use "$port"; then
      ((port == DEFAULT_PORT)) || say "port $DEFAULT_PORT is in use; using $port"
      echo "$port"
      return
    fi
  done
  die "no free port in $DEFAULT_PORT-$((DEFAULT_PORT + 99)) on 127.0.0.1"
}

kill_server() { # pid
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do # up to 5 s
    alive "$pid" || return 0
    sleep 0.1
  done
  say "the server (pid $pid) did not exit after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# Creates the bucket with a plain PUT (moto does not check signatures on it) and reports
# whether the server answered 200.
create_bucket() { # port
  "$PYTHON" - "$1" "$BUCKET" <<'PY'
import sys, urllib.request
port, bucket = sys.argv[1], sys.argv[2]
request = urllib.request.Request(f"http://127.0.0.1:{port}/{bucket}", method="PUT")
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

cmd_start() {
  if [[ -n ${FLAGSTONE_TEST_S3_URL:-} ]]; then
    say "FLAGSTONE_TEST_S3_URL is already set; not starting a server"
    echo "FLAGSTONE_TEST_S3_URL=$FLAGSTONE_TEST_S3_URL"
    return
  fi
  if [[ -n $(running_pid) ]]; then
    say "the server is already running (pid $(state_get pid)); reusing it"
    echo "FLAGSTONE_TEST_S3_URL=$(url_for "$(state_get port)")"
    return
  fi
  cmd_stop 2>/dev/null # a stale record: drop it
  ensure_venv
  local port pid deadline
  port=$(pick_port)
  mkdir -p "$STATE_DIR"
  : >"$LOG"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >>"$LOG" 2>&1 &
  pid=$!
  state_set pid "$pid"
  state_set port "$port"
  deadline=$((SECONDS + READY_TIMEOUT))
  until port_in_use "$port" && create_bucket "$port"; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      say "the server did not start on 127.0.0.1:$port; its log ($LOG):"
      tail -n 30 "$LOG" >&2 || true
      kill_server "$pid"
      state_clear
      exit 1
    fi
    sleep 0.2
  done
  say "S3 server (moto) ready on 127.0.0.1:$port (pid $pid), bucket $BUCKET, log $LOG"
  echo "FLAGSTONE_TEST_S3_URL=$(url_for "$port")"
}

cmd_stop() {
  local pid
  pid=$(running_pid)
  if [[ -z $pid ]]; then
    say "no server recorded in $STATE_DIR; nothing to stop"
    state_clear
    return
  fi
  kill_server "$pid"
  say "stopped the server (pid $pid)"
  state_clear
}

cmd_status() {
  if [[ -n $(running_pid) ]]; then
    say "running: pid $(state_get pid), $(url_for "$(state_get port)")"
  else
    say "no server running"
    exit 1
  fi
}

cmd_url() {
  [[ -n $(running_pid) ]] || die "no server running"
  url_for "$(state_get port)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) cmd_url ;;
  *)
    echo "usage: $0 start|stop|status|url" >&2
    exit 2
    ;;
esac

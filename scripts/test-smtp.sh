#!/usr/bin/env bash
# A local SMTP sink for Flagstone's mail tests: scripts/smtp-sink.py (Python's aiosmtpd),
# plaintext on loopback only, writing every message it receives (envelope + raw data) as a
# JSON file into a fresh directory. It offers AUTH without TLS and accepts the test user
# `flagstone` / `flagstone-test`; recipients `tempfail*@...` get 451 and `reject*@...` 550.
#
#   scripts/test-smtp.sh start     start a sink with a fresh, empty message dir; prints two
#                                  lines on stdout (everything else goes to stderr):
#                                    FLAGSTONE_TEST_SMTP_URL=smtp://127.0.0.1:<port>?tls=none
#                                    FLAGSTONE_TEST_SMTP_DIR=<message dir>
#   scripts/test-smtp.sh stop      stop it and delete its message dir (idempotent)
#   scripts/test-smtp.sh status    say whether a sink is running (exit 0) or not (exit 1)
#   scripts/test-smtp.sh url       print the URL of the running sink
#   scripts/test-smtp.sh dir       print its message dir
#
# In CI:   while IFS= read -r line; do export "$line"; done <<<"$(scripts/test-smtp.sh start)"
#          ...; scripts/test-smtp.sh stop
# Then `cargo test -p flagstone --test mail` sends real mails through it; without
# FLAGSTONE_TEST_SMTP_URL those tests say they are skipped and pass.
#
# Environment:
#   FLAGSTONE_TEST_SMTP_URL         if set, `start` starts nothing and echoes it back (with
#                                   FLAGSTONE_TEST_SMTP_DIR if that is set too): another server
#   FLAGSTONE_TEST_SMTP_PORT        port to use (must be free); default 2525, or the next free
#                                   port above it when 2525 is taken
#   FLAGSTONE_CACHE_DIR             cache dir; default ~/.cache/flagstone. The sink runs in the
#                                   Python venv $FLAGSTONE_CACHE_DIR/venv (created if missing;
#                                   aiosmtpd is installed into it with pip)
#   FLAGSTONE_TEST_SMTP_STATE_DIR   where pid, port, dir and the server log are kept;
#                                   default ${TMPDIR:-/tmp}/flagstone-test-smtp
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SINK="$ROOT/scripts/smtp-sink.py"
VENV="${FLAGSTONE_CACHE_DIR:-${HOME:-${TMPDIR:-/tmp}}/.cache/flagstone}/venv"
PYTHON="$VENV/bin/python3"
STATE_DIR="${FLAGSTONE_TEST_SMTP_STATE_DIR:-${TMPDIR:-/tmp}/flagstone-test-smtp}"
LOG="$STATE_DIR/server.log"
DEFAULT_PORT=2525
READY_TIMEOUT=20 # seconds

say() { echo "test-smtp: $*" >&2; }
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

state_clear() { rm -f "$STATE_DIR/pid" "$STATE_DIR/port" "$STATE_DIR/dir"; }

url_for() { echo "smtp://127.0.0.1:$1?tls=none"; }

alive() { # the process exists and is not a zombie
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() { # the pid of the recorded sink, if it is running
  local pid port cmdline
  pid=$(state_get pid)
  port=$(state_get port)
  [[ -n $pid && -n $port ]] && alive "$pid" || return 0
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  if [[ $cmdline == *smtp-sink.py*"--port $port "* ]]; then echo "$pid"; fi
}

ensure_venv() {
  if [[ ! -x $PYTHON ]]; then
    say "creating the Python venv $VENV"
    python3 -m venv "$VENV" >&2
  fi
  if ! "$PYTHON" -c 'import aiosmtpd' 2>/dev/null; then
    say "installing aiosmtpd into $VENV"
    "$PYTHON" -m pip install -q aiosmtpd >&2
  fi
}

pick_port() {
  local port
  if [[ -n ${FLAGSTONE_TEST_SMTP_PORT:-} ]]; then
    port=$FLAGSTONE_TEST_SMTP_PORT
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      die "FLAGSTONE_TEST_SMTP_PORT=$port is not a port number"
    fi
    ! port_in_use "$port" || die "port $port (FLAGSTONE_TEST_SMTP_PORT) is already in use on 127.0.0.1"
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

kill_sink() { # pid
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do # up to 5 s
    alive "$pid" || return 0
    sleep 0.1
  done
  say "the sink (pid $pid) did not exit after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

print_env() { # url dir
  echo "FLAGSTONE_TEST_SMTP_URL=$1"
  if [[ -n $2 ]]; then echo "FLAGSTONE_TEST_SMTP_DIR=$2"; fi
}

cmd_start() {
  if [[ -n ${FLAGSTONE_TEST_SMTP_URL:-} ]]; then
    say "FLAGSTONE_TEST_SMTP_URL is already set; not starting the sink"
    print_env "$FLAGSTONE_TEST_SMTP_URL" "${FLAGSTONE_TEST_SMTP_DIR:-}"
    return
  fi
  if [[ -n $(running_pid) ]]; then
    say "the sink is already running (pid $(state_get pid)); reusing it"
    print_env "$(url_for "$(state_get port)")" "$(state_get dir)"
    return
  fi
  cmd_stop 2>/dev/null # a stale record: drop it and its dir
  ensure_venv
  local port dir pid deadline
  port=$(pick_port)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/flagstone-smtp.XXXXXX")
  mkdir -p "$STATE_DIR"
  : >"$LOG"
  "$PYTHON" "$SINK" --port "$port" --dir "$dir" </dev/null >>"$LOG" 2>&1 &
  pid=$!
  state_set pid "$pid"
  state_set port "$port"
  state_set dir "$dir"
  deadline=$((SECONDS + READY_TIMEOUT))
  until grep -qx ready "$LOG" && port_in_use "$port"; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      say "the sink did not start on 127.0.0.1:$port; its log ($LOG):"
      tail -n 30 "$LOG" >&2 || true
      kill_sink "$pid"
      rm -rf -- "$dir"
      state_clear
      exit 1
    fi
    sleep 0.1
  done
  say "SMTP sink ready on 127.0.0.1:$port (pid $pid), messages in $dir, log $LOG"
  print_env "$(url_for "$port")" "$dir"
}

cmd_stop() {
  local pid dir
  pid=$(running_pid)
  dir=$(state_get dir)
  if [[ -z $pid && -z $dir ]]; then
    say "no sink recorded in $STATE_DIR; nothing to stop"
    return
  fi
  if [[ -n $pid ]]; then
    kill_sink "$pid"
    say "stopped the sink (pid $pid)"
  fi
  if [[ -n $dir && -d $dir ]]; then rm -rf -- "$dir"; fi
  state_clear
}

cmd_status() {
  if [[ -n $(running_pid) ]]; then
    say "running: pid $(state_get pid), $(url_for "$(state_get port)"), messages in $(state_get dir)"
  else
    say "no sink running"
    exit 1
  fi
}

cmd_url() {
  [[ -n $(running_pid) ]] || die "no sink running"
  url_for "$(state_get port)"
}

cmd_dir() {
  [[ -n $(running_pid) ]] || die "no sink running"
  state_get dir
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) cmd_url ;;
  dir) cmd_dir ;;
  *)
    echo "usage: $0 start|stop|status|url|dir" >&2
    exit 2
    ;;
esac

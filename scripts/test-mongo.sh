#!/usr/bin/env bash
# A local MongoDB-compatible server for Flagstone's tests: FerretDB 1.24.2 with its SQLite
# backend, listening on loopback only, with no telemetry and no debug HTTP listener.
#
#   scripts/test-mongo.sh start        start a server with a fresh, empty data dir; prints
#                                      one line `FLAGSTONE_TEST_MONGODB_URI=mongodb://127.0.0.1:<port>/`
#                                      on stdout (everything else goes to stderr)
#   scripts/test-mongo.sh stop         stop it and delete its data dir (idempotent)
#   scripts/test-mongo.sh uri          print the URI of the recorded server (exit 0 if it is
#                                      running, 3 if it is paused, 1 if there is none)
#   scripts/test-mongo.sh status       say whether a server is running, paused or absent
#   scripts/test-mongo.sh restart      stop the process and start it again on the same port
#                                      with the same data dir (data kept); prints the URI line
#   scripts/test-mongo.sh pause [--hard]
#                                      stop the process (SIGTERM, or SIGKILL with --hard) but keep
#                                      its port and data dir recorded, to test outage recovery
#   scripts/test-mongo.sh resume       start a paused server again (same port, same data), wait
#                                      until it accepts connections; prints the URI line
#
# In CI:           export "$(scripts/test-mongo.sh start)"; ...; scripts/test-mongo.sh stop
# With a real MongoDB (e.g. `docker run -p 27017:27017 mongo:8`), export
# FLAGSTONE_TEST_MONGODB_URI=mongodb://127.0.0.1:27017/ first: `start` then leaves it alone.
#
# Environment:
#   FLAGSTONE_TEST_MONGODB_URI        if set, `start` does nothing but echo it back
#   FLAGSTONE_TEST_MONGODB_PORT       port to use (must be free); default 27018, or the next
#                                     free port above it when 27018 is taken
#   FLAGSTONE_CACHE_DIR               build cache; default ~/.cache/flagstone
#                                     (binary: $FLAGSTONE_CACHE_DIR/ferretdb/bin/ferretdb)
#   FLAGSTONE_TEST_MONGO_STATE_DIR    where pid, port, URI and the server log are kept;
#                                     default ${TMPDIR:-/tmp}/flagstone-test-mongo
#   FLAGSTONE_TEST_MONGO_LOG_LEVEL    server log level (debug, info, warn, error); default warn,
#                                     which logs every error response the server sends
#
# The first `start` builds the server with Go (>= 1.24, from the Go module proxy), which
# takes a few minutes; later runs reuse the cached binary. The binary is a small wrapper
# (scripts/ferretdb/) around FerretDB's embeddable `ferretdb` package, because the
# `cmd/ferretdb` binary built by `go install ...@v1.24.2` panics at start-up (it lacks a
# generated version file).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC_DIR="$ROOT/scripts/ferretdb"
FERRETDB_VERSION=v1.24.2
CACHE_DIR="${FLAGSTONE_CACHE_DIR:-${HOME:-${TMPDIR:-/tmp}}/.cache/flagstone}/ferretdb"
BIN_DIR="$CACHE_DIR/bin"
BIN="$BIN_DIR/ferretdb"
STAMP="$BIN_DIR/ferretdb.stamp"
STATE_DIR="${FLAGSTONE_TEST_MONGO_STATE_DIR:-${TMPDIR:-/tmp}/flagstone-test-mongo}"
LOG="$STATE_DIR/server.log"
DEFAULT_PORT=27018
READY_TIMEOUT=30 # seconds
LAUNCH_MODE=

say() { echo "test-mongo: $*" >&2; }
die() { say "$*"; exit 1; }

# --- state -------------------------------------------------------------------------------

state_get() { # name -> value, or empty
  local f="$STATE_DIR/$1"
  if [[ -f $f ]]; then cat "$f"; fi
}

state_set() { # name value
  mkdir -p "$STATE_DIR"
  printf '%s\n' "$2" >"$STATE_DIR/$1.tmp"
  mv "$STATE_DIR/$1.tmp" "$STATE_DIR/$1"
}

state_clear() {
  rm -f "$STATE_DIR/pid" "$STATE_DIR/port" "$STATE_DIR/uri" "$STATE_DIR/datadir"
}

uri_for() { echo "mongodb://127.0.0.1:$1/"; }

# Is $1 the pid of our server listening on port $2?
is_our_server() {
  local pid=$1 port=$2 cmdline
  [[ -n $pid ]] && alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *ferretdb*"--listen-addr=127.0.0.1:$port "* ]]
}

running_pid() { # prints the pid of the recorded server if it is running
  local pid port
  pid=$(state_get pid)
  port=$(state_get port)
  if [[ -n $pid && -n $port ]] && is_our_server "$pid" "$port"; then
    echo "$pid"
  fi
}

alive() { # the process exists and is not a zombie
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

port_in_use() { # a TCP connect to 127.0.0.1:$1 succeeds
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# --- build -------------------------------------------------------------------------------

source_hash() {
  cat "$SRC_DIR/go.mod" "$SRC_DIR/go.sum" "$SRC_DIR/main.go" | sha256sum | cut -d' ' -f1
}

ensure_binary() {
  local want
  want="$FERRETDB_VERSION $(source_hash)"
  if [[ -x $BIN && -f $STAMP && "$(cat "$STAMP")" == "$want" ]]; then
    return
  fi
  command -v go >/dev/null || die "Go (>= 1.24) is needed to build FerretDB, and 'go' is not on PATH"
  if [[ -x $BIN ]]; then
    say "rebuilding FerretDB ${FERRETDB_VERSION#v} (scripts/ferretdb changed)..."
  else
    say "building FerretDB ${FERRETDB_VERSION#v} (first run only)..."
  fi
  mkdir -p "$BIN_DIR"
  local tmp_bin build_log start
  tmp_bin=$(mktemp -d "$BIN_DIR/.build.XXXXXX")
  build_log="$tmp_bin/build.log"
  start=$SECONDS
  # go.mod and go.sum pin every module; -mod=mod lets go fetch them into the module cache.
  if ! (cd "$SRC_DIR" &&
    GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" GOBIN="$tmp_bin" \
      go install . >"$build_log" 2>&1); then
    grep -v '^go: downloading ' "$build_log" >&2 || true
    rm -rf "$tmp_bin"
    die "building FerretDB failed"
  fi
  mv -f "$tmp_bin/ferretdb" "$BIN"
  rm -rf "$tmp_bin"
  echo "$want" >"$STAMP"
  say "built $BIN in $((SECONDS - start)) s"
}

# --- process -----------------------------------------------------------------------------

launch() { # port datadir
  local port=$1 datadir=$2 pid
  mkdir -p "$STATE_DIR" "$datadir/data"
  echo "--- $(date -u +%FT%TZ) starting FerretDB on 127.0.0.1:$port, data $datadir/data" >>"$LOG"
  "$BIN" \
    --listen-addr="127.0.0.1:$port" \
    --sqlite-url="file:$datadir/data/" \
    --telemetry=disable \
    --log-level="${FLAGSTONE_TEST_MONGO_LOG_LEVEL:-warn}" \
    </dev/null >>"$LOG" 2>&1 &
  pid=$!
  state_set pid "$pid"
  state_set port "$port"
  state_set uri "$(uri_for "$port")"
  state_set datadir "$datadir"
  wait_ready "$pid" "$port"
}

wait_ready() { # pid port
  local pid=$1 port=$2 deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      say "FerretDB exited during start-up; server log ($LOG):"
      tail -n 50 "$LOG" >&2 || true
      launch_failed
    fi
    if port_in_use "$port"; then
      sleep 0.3 # grace: make sure it is still alive (another process may hold the port)
      if alive "$pid"; then
        return
      fi
    else
      sleep 0.2
    fi
  done
  say "FerretDB did not accept connections on 127.0.0.1:$port within ${READY_TIMEOUT} s; server log ($LOG):"
  tail -n 50 "$LOG" >&2 || true
  kill_server "$pid" TERM
  launch_failed
}

# A failed `start` leaves nothing behind; a failed `resume` keeps the data dir recorded.
launch_failed() {
  rm -f "$STATE_DIR/pid"
  if [[ $LAUNCH_MODE == start ]]; then
    local datadir
    datadir=$(state_get datadir)
    [[ -z $datadir ]] || rm -rf -- "$datadir"
    state_clear
  fi
  exit 1
}

kill_server() { # pid signal
  local pid=$1 sig=$2 i
  kill -"$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do # up to 10 s
    alive "$pid" || return 0
    sleep 0.1
  done
  say "FerretDB (pid $pid) did not exit after SIG$sig; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  die "could not stop FerretDB (pid $pid)"
}

pick_port() {
  local port
  if [[ -n ${FLAGSTONE_TEST_MONGODB_PORT:-} ]]; then
    port=$FLAGSTONE_TEST_MONGODB_PORT
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      die "FLAGSTONE_TEST_MONGODB_PORT=$port is not a port number"
    fi
    ! port_in_use "$port" || die "port $port (FLAGSTONE_TEST_MONGODB_PORT) is already in use on 127.0.0.1"
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

print_uri_line() { echo "FLAGSTONE_TEST_MONGODB_URI=$1"; }

# --- commands ----------------------------------------------------------------------------

cmd_start() {
  if [[ -n ${FLAGSTONE_TEST_MONGODB_URI:-} ]]; then
    say "FLAGSTONE_TEST_MONGODB_URI is already set ($FLAGSTONE_TEST_MONGODB_URI); not starting FerretDB"
    print_uri_line "$FLAGSTONE_TEST_MONGODB_URI"
    return
  fi
  if [[ -n $(running_pid) ]]; then
    say "FerretDB is already running (pid $(state_get pid)); reusing it"
    print_uri_line "$(state_get uri)"
    return
  fi
  if [[ -n $(state_get datadir) ]]; then
    say "discarding a stopped or paused server's data ($(state_get datadir))"
    cmd_stop 2>/dev/null
  fi
  ensure_binary
  local port datadir
  port=$(pick_port)
  datadir=$(mktemp -d "${TMPDIR:-/tmp}/flagstone-ferretdb.XXXXXX")
  mkdir -p "$STATE_DIR"
  : >"$LOG"
  LAUNCH_MODE=start
  launch "$port" "$datadir"
  say "FerretDB ${FERRETDB_VERSION#v} is ready on 127.0.0.1:$port (pid $(state_get pid), log $LOG)"
  print_uri_line "$(uri_for "$port")"
}

cmd_stop() {
  local pid port datadir
  pid=$(state_get pid)
  port=$(state_get port)
  datadir=$(state_get datadir)
  if [[ -z $pid && -z $datadir ]]; then
    say "no FerretDB server recorded in $STATE_DIR; nothing to stop"
    return
  fi
  if [[ -n $pid && -n $port ]] && is_our_server "$pid" "$port"; then
    kill_server "$pid" TERM
    say "stopped FerretDB (pid $pid)"
  fi
  if [[ -n $datadir && -d $datadir ]]; then
    rm -rf -- "$datadir"
  fi
  state_clear
}

cmd_uri() {
  local uri
  uri=$(state_get uri)
  [[ -n $uri ]] || { say "no FerretDB server recorded in $STATE_DIR"; exit 1; }
  echo "$uri"
  if [[ -z $(running_pid) ]]; then
    say "the server is not running (paused)"
    exit 3
  fi
}

cmd_status() {
  if [[ -n $(running_pid) ]]; then
    say "running: pid $(state_get pid), $(state_get uri), data $(state_get datadir)"
  elif [[ -n $(state_get datadir) ]]; then
    say "paused: $(state_get uri), data $(state_get datadir)"
    exit 3
  else
    say "no server"
    exit 1
  fi
}

cmd_pause() {
  local sig=TERM pid
  case "${1:-}" in
    "") ;;
    --hard) sig=KILL ;;
    *) die "usage: $0 pause [--hard]" ;;
  esac
  [[ -n $(state_get datadir) ]] || die "no FerretDB server recorded in $STATE_DIR"
  pid=$(running_pid)
  if [[ -z $pid ]]; then
    say "FerretDB is not running (already paused)"
    return
  fi
  kill_server "$pid" "$sig"
  rm -f "$STATE_DIR/pid"
  say "paused FerretDB (pid $pid, SIG$sig); port $(state_get port) and data kept"
}

cmd_resume() {
  local port datadir
  port=$(state_get port)
  datadir=$(state_get datadir)
  [[ -n $port && -n $datadir ]] || die "no paused FerretDB server recorded in $STATE_DIR (use start)"
  if [[ -n $(running_pid) ]]; then
    say "FerretDB is already running (pid $(state_get pid))"
    print_uri_line "$(state_get uri)"
    return
  fi
  [[ -d $datadir ]] || die "data dir $datadir is gone"
  ! port_in_use "$port" || die "port $port is now taken by another process; cannot resume"
  ensure_binary
  LAUNCH_MODE=resume
  launch "$port" "$datadir"
  say "resumed FerretDB on 127.0.0.1:$port (pid $(state_get pid))"
  print_uri_line "$(uri_for "$port")"
}

cmd_restart() {
  if [[ -z $(state_get datadir) ]]; then
    say "no FerretDB server recorded; starting a new one"
    cmd_start
    return
  fi
  cmd_pause
  cmd_resume
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  uri) cmd_uri ;;
  status) cmd_status ;;
  restart) cmd_restart ;;
  pause) cmd_pause "${2:-}" ;;
  resume) cmd_resume ;;
  *)
    echo "usage: $0 start|stop|uri|status|restart|pause [--hard]|resume" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Graceful shutdown under load: SIGTERM while --connections connections are busy.
#
#   scripts/reliability/shutdown.sh [--connections N] [--warmup S] [TARGET]   (default: 64, 5, todo)
#
# Sends writes and reads from N connections (a new connection per request, so a refused
# request shows as a refused connection), sends SIGTERM after the warm-up, keeps the load
# running 3 s more, then reports: the exit status, requests in flight at SIGTERM and how
# each ended, the answers after SIGTERM, refused connections, 5xx and timeouts. Passes
# when the exit status is 0, there is no 5xx and no timeout, and every request in flight
# at SIGTERM got an answer. See lib.sh for REL_BIN, REL_PORT, REL_PROFILE.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CONNECTIONS=64
WARMUP=5
NAME=todo
while (($#)); do
    case $1 in
    --connections) CONNECTIONS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) NAME=$1; shift ;;
    esac
done

rel_target "$NAME"
rel_build
trap 'if [[ -n ${TARGET_PID:-} ]]; then rel_stop KILL; fi' EXIT
rel_start "file://$REL_WORK/data.redb" FLAGSTONE_SERVER__SHUTDOWN_GRACE=30s \
    FLAGSTONE_SERVER__MAX_CONCURRENCY=0
TOKEN=$(rel_load token)
PHASES="$REL_WORK/phases"
echo "load $(date +%s.%N)" >"$PHASES"
rel_load_bg "$REL_WORK/load.json" run --token "$TOKEN" --connections "$CONNECTIONS" --close \
    --read-ratio 0.5 --duration $((WARMUP + 3)) --timeout 35 --backoff 0.02 --phases "$PHASES" \
    --acks "$REL_WORK/acks.tsv"
load_pid=$LOAD_PID
sleep "$WARMUP"
echo "sigterm $(date +%s.%N)" >>"$PHASES"
term_at=$(date +%s.%N)
rel_stop TERM
exit_after=$(python3 -c "import time; print(round(time.time() - $term_at, 2))")
wait "$load_pid"

python3 - "$REL_WORK/load.json" "$TARGET_EXIT" "$exit_after" "$CONNECTIONS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exit_status, exit_after, connections = int(sys.argv[2]), sys.argv[3], sys.argv[4]
term = d["phases"]["sigterm"]
in_flight = term["in_flight_at_start"]
unanswered = {k: v for k, v in in_flight.items() if not k.isdigit()}
after = term["outcomes"]
fivexx = d["server_errors_5xx"]
timeouts = d["transport_failures"].get("timeout", 0)
print(f"shutdown ({d['target']}, {connections} connections): requests {d['requests']}, "
      f"before SIGTERM {d['phases']['load']['requests']} {d['phases']['load']['outcomes']}")
print(f"  in flight at SIGTERM: {sum(in_flight.values())} -> {in_flight}")
print(f"  started after SIGTERM: {term['requests']} -> {after}")
print(f"  process exit status {exit_status}, {exit_after} s after SIGTERM; 5xx {fivexx}; timeouts {timeouts}")
ok = exit_status == 0 and fivexx == 0 and timeouts == 0 and not unanswered
print("PASSED" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY

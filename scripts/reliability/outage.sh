#!/usr/bin/env bash
# Database outage under steady load: the target on the live MongoDB-compatible server
# (scripts/test-mongo.sh: FerretDB), the server stopped for --outage seconds and started
# again.
#
#   scripts/reliability/outage.sh [--outage S] [--before S] [--after S] [--connections N] [TARGET]
#                                 (defaults: 10, 10, 20, 8, todo)
#
# Uses the server recorded by scripts/test-mongo.sh (starts one when there is none, and
# stops it at the end). Set FLAGSTONE_TEST_MONGO_STATE_DIR / FLAGSTONE_TEST_MONGODB_PORT as
# for that script. During the outage it polls /health/ready. Reports per phase (before,
# outage, after) the answers by status, latencies and transport failures; 503s without
# Retry-After; answers slower than the store's server selection timeout + 2 s; readiness
# answers during the outage; whether the target recovered; and acknowledged writes
# against those read back at the end. Passes when there is no 5xx but 503, every 503 has
# Retry-After, nothing hangs, readiness said 503 during the outage, writes succeed again
# after it, and every acknowledged write is present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

OUTAGE=10
BEFORE=10
AFTER=20
CONNECTIONS=8
SELECTION=2s
NAME=todo
while (($#)); do
    case $1 in
    --outage) OUTAGE=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    --after) AFTER=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) NAME=$1; shift ;;
    esac
done
MONGO="$REPO_ROOT/scripts/test-mongo.sh"

rel_target "$NAME"
rel_build
STOP_MONGO=
cleanup() {
    if [[ -n ${TARGET_PID:-} ]]; then rel_stop KILL; fi
    if [[ -n ${LOAD_PID:-} ]]; then kill "$LOAD_PID" 2>/dev/null || true; fi
    if [[ -n $STOP_MONGO ]]; then "$MONGO" stop || true; elif [[ $("$MONGO" status 2>&1) == *paused* ]]; then "$MONGO" resume >/dev/null; fi
}
trap cleanup EXIT
if ! URI_LINE=$("$MONGO" uri 2>/dev/null); then
    URI_LINE=$("$MONGO" start)
    STOP_MONGO=1
fi
URI=${URI_LINE#*=}
URI="${URI%/}/rel_outage_$$"
rel_start "$URI" FLAGSTONE_DATABASE__SERVER_SELECTION_TIMEOUT=$SELECTION \
    FLAGSTONE_DATABASE__CONNECT_TIMEOUT=$SELECTION
TOKEN=$(rel_load token)
PHASES="$REL_WORK/phases"
SLOW=$(( ${SELECTION%s} + 2 ))
echo "before $(date +%s.%N)" >"$PHASES"
rel_load_bg "$REL_WORK/load.json" run --token "$TOKEN" --connections "$CONNECTIONS" \
    --read-ratio 0.3 --duration $((BEFORE + OUTAGE + AFTER)) --timeout 60 --slow "$SLOW" \
    --backoff 0.05 --phases "$PHASES" --acks "$REL_WORK/acks.tsv"
sleep "$BEFORE"
"$MONGO" pause
echo "outage $(date +%s.%N)" >>"$PHASES"
ready=()
end=$((SECONDS + OUTAGE))
while ((SECONDS < end)); do
    ready+=("$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$(rel_base)$TARGET_HEALTH")")
    sleep 1
done
echo "after $(date +%s.%N)" >>"$PHASES"
"$MONGO" resume >/dev/null
recovered_in=
start=$(date +%s.%N)
if rel_wait_ready 60; then
    recovered_in=$(python3 -c "import time; print(round(time.time() - $start, 1))")
fi
wait "$LOAD_PID"
LOAD_PID=
verify=$(rel_load verify --token "$TOKEN" --acks "$REL_WORK/acks.tsv") || true
rel_stop TERM

python3 - "$REL_WORK/load.json" "$verify" "${ready[*]}" "${recovered_in:-never}" "$SLOW" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
verify = json.loads(sys.argv[2])
ready, recovered, slow = sys.argv[3].split(), sys.argv[4], sys.argv[5]
p = d["phases"]
print(f"outage ({d['target']}, {d['connections']} connections): requests {d['requests']}, 5xx {d['server_errors_5xx']}")
for name in ("before", "outage", "after"):
    ph = p.get(name, {})
    print(f"  {name}: requests {ph.get('requests')}, {ph.get('outcomes')}, latency {ph.get('latency')}")
print(f"  503 without Retry-After: {d['503_without_retry_after']}; slower than {slow}s: {d[f'slower_than_{float(slow)}s']}")
print(f"  /health/ready during the outage: {' '.join(ready)}")
print(f"  ready again {recovered} s after the server came back")
print(f"  writes acknowledged {verify['writes_acked']}, present at the end {verify['present']}, missing {verify['missing']}")
only_503 = all(k in ("503",) for k in d["by_status"] if k.startswith("5"))
after_ok = any(k.startswith("2") for k in p.get("after", {}).get("outcomes", {}))
ok = (only_503 and d["503_without_retry_after"] == 0 and d[f"slower_than_{float(slow)}s"] == 0
      and "503" in ready and recovered != "never" and after_ok
      and verify["writes_acked"] == verify["present"] and verify["writes_acked"] > 0)
print("PASSED" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY

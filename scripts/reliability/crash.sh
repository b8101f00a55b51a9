#!/usr/bin/env bash
# Crash test: SIGKILL the target on the embedded file store in the middle of a write
# burst, restart it, and check that the store opens and every acknowledged write is there.
#
#   scripts/reliability/crash.sh [--rounds N] [--connections N] [TARGET]   (default: 20, 16, todo)
#
# Each round starts the target on the same file, sends writes from --connections
# connections, kills the process with SIGKILL after a random 0.5-2.5 s, restarts it and
# reads back every write acknowledged (2xx) in that round; the last step reads back every
# write of every round. Prints one line per round and a summary; exits 1 if a write is
# missing or the store does not open. See lib.sh for REL_BIN, REL_PORT, REL_PROFILE.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROUNDS=20
CONNECTIONS=16
NAME=todo
while (($#)); do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) NAME=$1; shift ;;
    esac
done

rel_target "$NAME"
rel_build
DB="file://$REL_WORK/data.redb"
trap 'if [[ -n ${TARGET_PID:-} ]]; then rel_stop KILL; fi' EXIT

rel_start "$DB"
TOKEN=$(rel_load token)
total_acked=0
total_sent=0
failed=0
: >"$REL_WORK/acks-all.tsv"
for ((round = 1; round <= ROUNDS; round++)); do
    acks="$REL_WORK/acks-$round.tsv"
    rel_load_bg "$REL_WORK/load-$round.json" run --token "$TOKEN" --connections "$CONNECTIONS" \
        --duration 0 --timeout 10 --backoff 0.05 --acks "$acks" --run-id "r$round" --seed "$round"
    load_pid=$LOAD_PID
    sleep "$(python3 -c "import random; random.seed($round); print(round(random.uniform(0.5, 2.5), 2))")"
    kill -KILL "$TARGET_PID"
    wait "$TARGET_PID" 2>/dev/null || true
    TARGET_PID=
    kill -TERM "$load_pid"
    wait "$load_pid" || true
    started=$(date +%s.%N)
    if ! rel_start "$DB"; then
        echo "round $round: the store did not open" >&2
        failed=1
        break
    fi
    open_ms=$(python3 -c "import time; print(int((time.time() - $started) * 1000))")
    acked=$(wc -l <"$acks")
    sent=$(rel_json "$REL_WORK/load-$round.json" 'd["requests"]')
    verify=$(rel_load verify --token "$TOKEN" --acks "$acks") || failed=1
    present=$(echo "$verify" | python3 -c 'import json,sys; print(json.load(sys.stdin)["present"])')
    cat "$acks" >>"$REL_WORK/acks-all.tsv"
    total_acked=$((total_acked + acked))
    total_sent=$((total_sent + sent))
    echo "round $round: requests $sent, writes acknowledged $acked, present after restart $present, ready again in ${open_ms} ms"
done
final=$(rel_load verify --token "$TOKEN" --acks "$REL_WORK/acks-all.tsv") || failed=1
rel_stop TERM
echo "crash summary ($TARGET_NAME, $ROUNDS rounds of SIGKILL): requests $total_sent, writes acknowledged $total_acked; final read-back: $final; clean exit after the last round: $TARGET_EXIT"
if grep -q panicked "$REL_WORK/server.log"; then
    echo "the server log has a panic: $REL_WORK/server.log" >&2
    failed=1
fi
((failed == 0 && TARGET_EXIT == 0)) || { echo "FAILED (work dir $REL_WORK)" >&2; exit 1; }
echo "PASSED"

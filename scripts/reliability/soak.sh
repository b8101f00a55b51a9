#!/usr/bin/env bash
# Soak: measure capacity, then hold about half of it for a long time and watch memory,
# errors and latency.
#
#   scripts/reliability/soak.sh [--duration S] [--window S] [--connections N] [TARGET]
#                               (defaults: 600, 60, 16, todo)
#
# The load is create → read back → delete cycles (the data set stays small, so memory
# should not grow with it) on the embedded file store. Capacity is what --connections
# unthrottled connections reach in 20 s; the soak runs at half of it. One line per window:
# requests, errors (5xx and transport failures), p50/p99/max latency, RSS of the target.
# Passes when the last window's RSS is within 10% of the first's and there are no errors.
# The load driver shares the machine with the target: capacity is of the pair.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DURATION=600
WINDOW=60
CONNECTIONS=16
NAME=todo
while (($#)); do
    case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) NAME=$1; shift ;;
    esac
done

rel_target "$NAME"
rel_build
trap 'if [[ -n ${TARGET_PID:-} ]]; then rel_stop KILL; fi' EXIT
rel_start "file://$REL_WORK/data.redb"
TOKEN=$(rel_load token)
rel_say "capacity: $CONNECTIONS connections, unthrottled, 20 s"
rel_load run --token "$TOKEN" --cycle --connections "$CONNECTIONS" --duration 20 >"$REL_WORK/capacity.json"
CAPACITY=$(rel_json "$REL_WORK/capacity.json" 'd["per_second"]')
RATE=$(python3 -c "print(round($CAPACITY / 2, 1))")
rel_say "capacity $CAPACITY requests/s; soaking at $RATE requests/s for $DURATION s (windows of $WINDOW s)"
rel_load run --token "$TOKEN" --cycle --connections "$CONNECTIONS" --rate "$RATE" \
    --duration "$DURATION" --window "$WINDOW" --rss-pid "$TARGET_PID" >"$REL_WORK/soak.json"
rel_stop TERM

python3 - "$REL_WORK/soak.json" "$CAPACITY" "$TARGET_EXIT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
capacity, exit_status = sys.argv[2], int(sys.argv[3])
w = d["windows"]
print(f"soak ({d['target']}): capacity {capacity} req/s, soak {d['per_second']} req/s for {d['seconds']} s, "
      f"requests {d['requests']}, by status {d['by_status']}, transport failures {d['transport_failures']}")
print("  window   requests  errors  p50      p99      max      rss_kib")
for x in w:
    print(f"  {x['t']:>6}s  {x['requests']:>8}  {x['errors']:>6}  {x['p50']!s:<7}  {x['p99']!s:<7}  {x['max']!s:<7}  {x['rss_kib']}")
first, last = w[0]["rss_kib"], w[-1]["rss_kib"]
drift = (last - first) / first * 100
p99s = [x["p99"] for x in w if x["p99"] is not None]
errors = sum(x["errors"] for x in w) + d["server_errors_5xx"]
print(f"  RSS first window {first} KiB, last {last} KiB ({drift:+.1f}%), min {min(x['rss_kib'] for x in w)}, max {max(x['rss_kib'] for x in w)}")
print(f"  p99 first window {p99s[0]} s, last {p99s[-1]} s, max {max(p99s)} s; errors {errors}; exit status {exit_status}")
ok = abs(drift) <= 10 and errors == 0 and exit_status == 0
print("PASSED" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY

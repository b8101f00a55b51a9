#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a bounded time each (not part of every CI run).
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]   default: 60 s each; list_query cursor store_eval
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Builds into
# fuzz/target. Each target starts from the seeds in fuzz/seeds/<target> (in the
# repository) and its working corpus fuzz/corpus/<target> (not in the repository; new
# finds go there). Crashing inputs kept in fuzz/regressions/<target>/ are replayed first
# and must not crash. A crash leaves its input in fuzz/artifacts/<target>/ and fails the
# script: fix it, then move the input to fuzz/regressions/<target>/, where
# fuzz/tests/regressions.rs replays it with the seeds (`cargo test` in fuzz/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(list_query cursor store_eval)
export CARGO_TARGET_DIR="$PWD/target"

failed=()
for target in "${TARGETS[@]}"; do
    echo "== $target: regressions, then ${SECONDS_EACH}s of fuzzing"
    mkdir -p "corpus/$target" "artifacts/$target"
    regressions=()
    if [[ -d regressions/$target ]] && compgen -G "regressions/$target/*" >/dev/null; then
        regressions=(regressions/"$target"/*)
        cargo +nightly fuzz run -O "$target" "${regressions[@]}" -- -runs=0 >/dev/null 2>&1 ||
            { echo "$target: a kept regression input crashes again" >&2; failed+=("$target"); continue; }
    fi
    if ! cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 2>"artifacts/$target.log"; then
        failed+=("$target")
        grep -E "panicked|ERROR|SUMMARY" "artifacts/$target.log" | head -5 >&2
    fi
    grep -E "stat::number_of_executed_units|stat::new_units_added" "artifacts/$target.log" || true
done
if ((${#failed[@]})); then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: no crashes in ${TARGETS[*]}"

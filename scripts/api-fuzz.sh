#!/usr/bin/env bash
# API fuzzing with schemathesis against the OpenAPI document of example apps.
#
#   scripts/api-fuzz.sh [options] [TARGET ...]     default targets: todo blog
#
# Each target (scripts/reliability/targets/<name>.json) is built, started on an embedded
# file store in a scratch directory, given its set-up run (blog: `seed`), logged in as the
# target file's `auth` says, and fuzzed with the checks of issue 11: no 5xx, documented
# status codes, content types and response schemas, and invalid data refused. Any
# failure fails the script.
#
# Options:
#   --seed N          schemathesis seed (default 1: the same cases every run, for CI)
#   --examples N      cases per operation and phase (default 25)
#   --random          no fixed seed and 200 cases per operation (the longer run)
#   --max-time S      stop fuzzing a target after S seconds
#
# Needs schemathesis in the venv at ~/.cache/flagstone/venv (installed when missing) or
# SCHEMATHESIS=path. Schemathesis 4 sends no telemetry (the 3.x upload service is gone).
set -euo pipefail
source "$(dirname "$0")/reliability/lib.sh"

SEED=1
EXAMPLES=25
MAX_TIME=
TARGETS=()
while (($#)); do
    case $1 in
    --seed) SEED=$2; shift 2 ;;
    --examples) EXAMPLES=$2; shift 2 ;;
    --random) SEED=; EXAMPLES=200; shift ;;
    --max-time) MAX_TIME=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) rel_die "unknown option $1" ;;
    *) TARGETS+=("$1"); shift ;;
    esac
done
((${#TARGETS[@]})) || TARGETS=(todo blog)

VENV="${HOME}/.cache/flagstone/venv"
SCHEMATHESIS=${SCHEMATHESIS:-$VENV/bin/schemathesis}
if [[ ! -x $SCHEMATHESIS ]]; then
    [[ -x $VENV/bin/python3 ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q schemathesis
fi
export SCHEMATHESIS_TELEMETRY=false # harmless; 4.x has no telemetry to turn off

failed=()
cleanup() { if [[ -n ${TARGET_PID:-} ]]; then rel_stop TERM; fi; }
trap cleanup EXIT
for name in "${TARGETS[@]}"; do
    rel_target "$name"
    REL_WORK=$(mktemp -d "${TMPDIR:-/tmp}/flagstone-fuzz-$TARGET_NAME.XXXXXX")
    REL_SETUP_DONE=
    rel_build
    rel_start "file://$REL_WORK/data.redb"
    auth=$(rel_load token)
    args=(run "$(rel_base)$TARGET_OPENAPI"
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection
        --phases examples,coverage,fuzzing
        --max-examples "$EXAMPLES" --workers 1 --no-color
        --report junit --report-junit-path "$REL_WORK/junit.xml")
    [[ -n $auth ]] && args+=(-H "Authorization: $auth")
    if [[ -n $SEED ]]; then
        args+=(--seed "$SEED" --generation-deterministic)
    else
        args+=(--generation-database none)
    fi
    [[ -n $MAX_TIME ]] && args+=(--max-time "$MAX_TIME")
    rel_say "schemathesis against $TARGET_NAME (seed ${SEED:-random}, $EXAMPLES examples; log $REL_WORK/server.log)"
    # From the scratch directory: schemathesis keeps its example database in the cwd.
    if (cd "$REL_WORK" && "$SCHEMATHESIS" "${args[@]}"); then
        rel_say "$TARGET_NAME: no failures"
    else
        failed+=("$TARGET_NAME")
    fi
    rel_stop TERM
    if ((TARGET_EXIT != 0)); then
        failed+=("$TARGET_NAME (exit $TARGET_EXIT)")
    fi
    # 5xx answers are logged at warn (`status=5..`, or `"status":5..` in JSON logs).
    if grep -Eq 'status=5[0-9]{2}|"status":5[0-9]{2}|panicked' "$REL_WORK/server.log"; then
        rel_say "$TARGET_NAME logged a panic or a 5xx:"
        grep -Em5 'status=5[0-9]{2}|"status":5[0-9]{2}|panicked' "$REL_WORK/server.log" >&2
        failed+=("$TARGET_NAME (server log)")
    fi
done
if ((${#failed[@]})); then
    rel_die "schemathesis found problems in: ${failed[*]}"
fi
rel_say "api-fuzz: no failures in ${TARGETS[*]}"

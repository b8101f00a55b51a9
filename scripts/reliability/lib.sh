# Shared by the scripts in scripts/reliability/ and scripts/api-fuzz.sh: read a target
# file, build its binary, start and stop it. Source it; it defines functions only.
#
# A target is scripts/reliability/targets/<name>.json (see README.md there). Environment:
#   REL_BIN        use this binary instead of building the target's package
#   REL_PROFILE    cargo profile to build with: dev (default) or release
#   REL_WORK       scratch directory (default: a new one under ${TMPDIR:-/tmp})
#   REL_PORT       port the target listens on (default 3300)
#   REL_PYTHON     python3 to run load.py with (default python3)

REL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$REL_DIR/../.." && pwd)
REL_PYTHON=${REL_PYTHON:-python3}
REL_PORT=${REL_PORT:-3300}
# A fixed secret, so tokens stay valid when the target restarts (development profile
# otherwise makes a new one per start). Test use only.
REL_SECRET=${REL_SECRET:-reliability-tests-only-0123456789abcdef}

rel_say() { echo "== $*" >&2; }
rel_die() { echo "error: $*" >&2; exit 1; }

# rel_target NAME_OR_FILE: sets TARGET_FILE, TARGET_NAME, TARGET_PACKAGE, TARGET_BIN,
# TARGET_HEALTH, TARGET_OPENAPI, TARGET_SETUP (args of a set-up run, may be empty).
rel_target() {
    local spec=$1
    if [[ -f $spec ]]; then TARGET_FILE=$spec; else TARGET_FILE="$REL_DIR/targets/$spec.json"; fi
    [[ -f $TARGET_FILE ]] || rel_die "no target file $TARGET_FILE"
    eval "$("$REL_PYTHON" - "$TARGET_FILE" <<'EOF'
import json, shlex, sys
t = json.load(open(sys.argv[1]))
for key, value in [("NAME", t["name"]), ("PACKAGE", t.get("package", t["name"])),
                   ("BIN", t.get("bin", t["name"])), ("HEALTH", t.get("health", "/health/ready")),
                   ("OPENAPI", t.get("openapi", "/openapi.json")),
                   ("SETUP", " ".join(t.get("setup_args", [])))]:
    print(f"TARGET_{key}={shlex.quote(value)}")
EOF
)"
}

# rel_workdir: sets REL_WORK (created).
rel_workdir() {
    REL_WORK=${REL_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/flagstone-rel.XXXXXX")}
    mkdir -p "$REL_WORK"
}

# rel_build: sets TARGET_EXE to a private copy of the target's binary (a shared target
# directory may be rebuilt by someone else while the test runs).
rel_build() {
    rel_workdir
    if [[ -n ${REL_BIN:-} ]]; then
        cp "$REL_BIN" "$REL_WORK/$TARGET_BIN"
    else
        local profile=${REL_PROFILE:-dev} dir target_dir
        rel_say "cargo build -p $TARGET_PACKAGE --bin $TARGET_BIN --profile $profile"
        (cd "$REPO_ROOT" && cargo build -q -p "$TARGET_PACKAGE" --bin "$TARGET_BIN" --profile "$profile") >&2
        target_dir=$(cd "$REPO_ROOT" && cargo metadata -q --format-version 1 --no-deps |
            "$REL_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
        dir=$profile
        [[ $profile == dev ]] && dir=debug
        cp "$target_dir/$dir/$TARGET_BIN" "$REL_WORK/$TARGET_BIN"
    fi
    TARGET_EXE="$REL_WORK/$TARGET_BIN"
}

# rel_env DATABASE_URL: the environment the target runs with (one VAR=value a line).
rel_env() {
    cat <<EOF
FLAGSTONE_PROFILE=${REL_APP_PROFILE:-development}
FLAGSTONE_SERVER__HOST=127.0.0.1
FLAGSTONE_SERVER__PORT=$REL_PORT
FLAGSTONE_DATABASE__URL=$1
FLAGSTONE_AUTH__SECRET=$REL_SECRET
FLAGSTONE_RATE_LIMIT__ENABLED=false
FLAGSTONE_LOGGING__LEVEL=${REL_LOG_LEVEL:-warn}
EOF
}

# rel_start DATABASE_URL [extra VAR=value ...]: starts the target in $REL_WORK (runs the
# target's set-up command first, if any), waits until it is ready; sets TARGET_PID.
# Output goes to $REL_WORK/server.log (appended).
rel_start() {
    local url=$1
    shift
    local -a env_args
    mapfile -t env_args < <(rel_env "$url")
    env_args+=("$@")
    if [[ -n $TARGET_SETUP && -z ${REL_SETUP_DONE:-} ]]; then
        (cd "$REL_WORK" && env "${env_args[@]}" "$TARGET_EXE" $TARGET_SETUP) >>"$REL_WORK/server.log" 2>&1 ||
            rel_die "set-up ($TARGET_SETUP) failed; see $REL_WORK/server.log"
        REL_SETUP_DONE=1
    fi
    (cd "$REL_WORK" && exec env "${env_args[@]}" "$TARGET_EXE") >>"$REL_WORK/server.log" 2>&1 &
    TARGET_PID=$!
    rel_wait_ready 60 || { tail -20 "$REL_WORK/server.log" >&2; rel_die "$TARGET_NAME did not get ready"; }
}

# rel_wait_ready SECONDS: until the health endpoint answers 200.
rel_wait_ready() {
    local deadline=$((SECONDS + $1))
    while ((SECONDS < deadline)); do
        if [[ -n ${TARGET_PID:-} ]] && ! kill -0 "$TARGET_PID" 2>/dev/null; then return 1; fi
        if curl -fsS -o /dev/null --max-time 2 "$(rel_base)$TARGET_HEALTH" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    return 1
}

rel_base() { echo "http://127.0.0.1:$REL_PORT"; }

# rel_stop [SIGNAL]: stops the target (TERM by default) and waits; sets TARGET_EXIT to its
# exit status (128+n when killed by signal n). Not in a subshell: it must wait for its child.
rel_stop() {
    local signal=${1:-TERM}
    TARGET_EXIT=0
    if [[ -n ${TARGET_PID:-} ]] && kill -0 "$TARGET_PID" 2>/dev/null; then
        kill "-$signal" "$TARGET_PID"
        wait "$TARGET_PID" || TARGET_EXIT=$?
    fi
    TARGET_PID=
}

# rel_load ARGS...: runs load.py against the target.
rel_load() {
    "$REL_PYTHON" "$REL_DIR/load.py" "$1" --target "$TARGET_FILE" --base "$(rel_base)" "${@:2}"
}

# rel_load_bg OUT ARGS...: runs load.py in the background, stdout to OUT; sets LOAD_PID
# (the Python process itself, so a signal reaches it).
rel_load_bg() {
    local out=$1
    shift
    (exec "$REL_PYTHON" "$REL_DIR/load.py" "$1" --target "$TARGET_FILE" --base "$(rel_base)" "${@:2}" >"$out") &
    LOAD_PID=$!
}

# rel_json FILE EXPR: a value out of a JSON file (EXPR in Python, the document is `d`).
rel_json() {
    "$REL_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

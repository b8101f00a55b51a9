#!/usr/bin/env bash
# The generated project, end to end: `flagstone new` into a temporary folder (depending on
# this checkout), two resources (one referencing the other), a service and a middleware,
# then build, clippy, test and the app's own inspection commands there.
#
# Fast when warm: the workspace's Cargo.lock is copied in, so the project resolves the
# same versions and reuses the compiled dependencies in CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKSPACE=$(pwd)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME}/.cache/flagstone-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

WORK=$(mktemp -d)
trap 'rm -rf "${WORK}"' EXIT

# Where cargo put the binary (it reports the path), copied so that no other build sharing
# the target folder can swap it mid-run.
BUILT=$(cargo build -p flagstone-cli --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
cp "${BUILT}" "${WORK}/flagstone"
FLAGSTONE="${WORK}/flagstone"
APP="${WORK}/shelf"

echo "== flagstone new shelf"
"${FLAGSTONE}" new shelf --path "${APP}" --flagstone-path "${WORKSPACE}"
cp Cargo.lock "${APP}/Cargo.lock"

echo "== flagstone generate"
cd "${APP}"
"${FLAGSTONE}" generate resource author name:string:unique:filter:sort bio:text? \
    born:datetime?:sort email:string:write_only
"${FLAGSTONE}" generate resource book title:string:filter:sort:select 'author:ref(Author):filter' \
    'genres:[enum(fiction|science|poetry)]' pages:int? price:float:sort published:bool:filter \
    released_at:datetime?:sort 'status:enum(draft|live):filter' internal_note:string?:hidden \
    isbn:string:unique 'related:[ref(Book)]?' 'editor:ref(User)?' tags:[string]:filter \
    rating:float?:read_only
"${FLAGSTONE}" generate service publishing
"${FLAGSTONE}" generate middleware audit

echo "== generating again refuses to overwrite, and changes nothing"
before=$(find src tests -type f -exec md5sum {} + | sort)
if "${FLAGSTONE}" generate resource book title:string 2>"${WORK}/err"; then
    echo "generate over existing files succeeded" >&2
    exit 1
fi
grep -q -- "--force" "${WORK}/err"
after=$(find src tests -type f -exec md5sum {} + | sort)
[[ "${before}" == "${after}" ]]
"${FLAGSTONE}" generate service publishing --force >"${WORK}/out"
grep -q "unchanged  src/services/publishing.rs" "${WORK}/out"

echo "== cargo build, clippy, test (in ${APP})"
time cargo build --quiet --all-targets
cargo clippy --quiet --all-targets -- -D warnings
cargo fmt --check
time cargo test --quiet

echo "== the app's inspection commands"
cargo run --quiet -- routes | tee "${WORK}/routes"
grep -Eq '^POST +/api/v1/books +bearer\|cookie +create_book' "${WORK}/routes"
grep -Eq '^GET +/api/v1/books +public +list_books' "${WORK}/routes"
cargo run --quiet -- openapi --out "${WORK}/openapi.json"
grep -q '"/api/v1/authors/{id}"' "${WORK}/openapi.json"
cargo run --quiet -- config check >/dev/null
cargo run --quiet -- config schema --out "${WORK}/schema.json"
grep -q '"properties"' "${WORK}/schema.json"
FLAGSTONE_PROFILE=production FLAGSTONE_AUTH__SECRET=a-ci-only-secret-of-at-least-32-bytes \
    FLAGSTONE_DATABASE__URL=memory:// cargo run --quiet -- config check >/dev/null
if FLAGSTONE_SERVER__PORT=abc cargo run --quiet -- config check 2>"${WORK}/err"; then
    echo "an invalid configuration passed the check" >&2
    exit 1
fi
grep -q "server.port" "${WORK}/err"
if cargo run --quiet -- nonsense 2>/dev/null; then
    echo "a bad command succeeded" >&2
    exit 1
fi
echo "scaffold OK"

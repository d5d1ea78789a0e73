#!/usr/bin/env bash
# The whole test suite, container-builder tests included, on a fresh machine or a used one:
#   1. installs the container builders and makes the local base images (idempotent),
#   2. starts dockerd (BuildKit) for the tests that build with Docker,
#   3. checks formatting and lints, then runs every test,
#   4. fuzzes the recipe reader and the skeleton layout for 60 seconds with a fixed seed,
#   5. stops the dockerd it started.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "container builders and base images (scripts/engines.sh setup)"
scripts/engines.sh setup
step "dockerd with BuildKit (scripts/engines.sh dockerd)"
# A dockerd started here is stopped when the suite ends, however it ends.
trap 'scripts/engines.sh dockerd-stop' EXIT
scripts/engines.sh dockerd
eval "$(scripts/engines.sh env)"

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings
step "shellcheck (every script)"
shellcheck scripts/*.sh .ci/run

step "cargo test (unit, recipe/cook end-to-end, verify, images, containers)"
# CI=true makes insta fail on a snapshot mismatch instead of writing a new one.
export CI="${CI:-true}"
# The fuzz target runs for 3 seconds here, and for a minute below.
cargo test --locked --no-fail-fast -- --test-threads "${PREWARM_TEST_THREADS:-2}"

step "fuzz the recipe reader and the skeleton layout (60 s, fixed seed)"
PREWARM_FUZZ_SECS="${PREWARM_FUZZ_SECS:-60}" PREWARM_FUZZ_SEED="${PREWARM_FUZZ_SEED:-0x7072657761726d31}" \
  cargo test --locked --test fuzz

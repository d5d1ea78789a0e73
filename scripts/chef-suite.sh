#!/usr/bin/env bash
# Runs cargo-chef's own end-to-end caching suite (tests/caching in its repository) against
# prewarm, through scripts/chef-wrapper.sh. A measurement, not part of prewarm's CI: the suite
# is not in the crates.io package of cargo-chef, so it needs a checkout of its repository.
#
#   scripts/chef-suite.sh CARGO_CHEF_CHECKOUT [extra arguments for the test binary...]
#
# Builds prewarm (this checkout) and the suite's test binary (`cargo test --no-run`, in a
# target directory of its own: $CHEF_SUITE_TARGET_DIR, default
# <checkout>/target/prewarm-chef-suite), then puts the wrapper where the suite looks for the
# `cargo-chef` binary. The suite finds it through CARGO_BIN_EXE_cargo-chef, a path compiled
# into the test binary that `cargo test` would re-link to the real cargo-chef: so the test
# binary is run directly. Threads: $CHEF_SUITE_THREADS (default 2).
set -euo pipefail

[[ $# -ge 1 ]] || {
	echo "usage: $0 CARGO_CHEF_CHECKOUT [test binary arguments...]" >&2
	exit 2
}
chef="$(cd "$1" && pwd)"
shift
here="$(cd "$(dirname "$0")/.." && pwd)"
[[ -f "$chef/tests/caching/main.rs" ]] || {
	echo "error: \`$chef\` has no tests/caching/main.rs: pass a checkout of cargo-chef's repository" >&2
	exit 2
}
target_dir="${CHEF_SUITE_TARGET_DIR:-$chef/target/prewarm-chef-suite}"

# The `executable` of each artifact cargo reports (one per line).
executables() { sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'; }

echo "==> building prewarm ($here)" >&2
prewarm="$(cd "$here" && cargo build --locked --bin prewarm --message-format=json-render-diagnostics | executables | tail -n 1)"
[[ -x "$prewarm" ]] || {
	echo "error: no prewarm binary built" >&2
	exit 1
}

echo "==> building cargo-chef's caching suite ($chef)" >&2
suite="$(cd "$chef" && cargo test --locked --test caching --no-run --target-dir "$target_dir" \
	--message-format=json-render-diagnostics | executables | grep '/caching-' | tail -n 1)"
[[ -x "$suite" ]] || {
	echo "error: no caching test binary built" >&2
	exit 1
}

# Where CARGO_BIN_EXE_cargo-chef points: replace the hard link with the wrapper.
bin="$target_dir/debug/cargo-chef"
rm -f "$bin"
cp "$here/scripts/chef-wrapper.sh" "$bin"
chmod +x "$bin"

echo "==> running $suite with $bin -> $prewarm" >&2
cd "$chef"
env PREWARM="$prewarm" "CARGO_BIN_EXE_cargo-chef=$bin" \
	"$suite" --test-threads "${CHEF_SUITE_THREADS:-2}" "$@"

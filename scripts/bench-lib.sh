#!/usr/bin/env bash
# bench-lib.sh - what scripts/bench-image.sh and scripts/bench-fleet.sh share; sourced, not run.
# Timing and medians, the copies of examples/hello-service with its source edit, the plain
# Dockerfile they compare with, and the floor (cargo compiling the workspace's own crates
# alone, dependencies fresh, on the host). The caller sets REPO (this repository), WORK (its
# work directory), REPS (rebuilds per figure) and BIN (the example's binary).

now() { date +%s.%N; }
# elapsed T0: seconds since T0 (a `now`), one decimal.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# ratio A FLOOR: A as a multiple of FLOOR.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
# cargo_time LOG: cargo's own time in a build log, its "Finished" lines summed (a cached step
# prints nothing; each tier of a tiered build is a cargo build of its own).
cargo_time() {
	# shellcheck disable=SC2016 # the backquotes are cargo's, not a command substitution
	# (cargo writes "in 57.22s", or "in 1m 03s" from a minute on)
	sed -n 's/.*Finished `release` profile.* in \(\([0-9]*\)m \)\{0,1\}\([0-9.]*\)s$/\2 \3/p' "$1" |
		awk '{ t += (NF == 2 ? $1 * 60 + $2 : $1) } END { printf "%.1f\n", t }'
}
# want VARIANT: BENCH_ONLY is empty or names VARIANT.
want() { [[ -z ${BENCH_ONLY:-} || " $BENCH_ONLY " == *" $1 "* ]]; }

# copy_example NAME: examples/hello-service, without its target directory, in $WORK/NAME.
copy_example() {
	mkdir -p "$WORK/$1"
	(cd "$REPO/examples/hello-service" && tar --exclude=target -cf - .) | tar -xf - -C "$WORK/$1"
}

# source_edit DIR TEXT: the greeting of the copy in DIR becomes "Hello TEXT, {name}!".
source_edit() {
	sed -i "s/format!(\"Hello[^,]*, {name}!\")/format!(\"Hello $2, {name}!\")/" "$1/crates/greeting/src/lib.rs"
	grep -qF "format!(\"Hello $2, {name}!\")" "$1/crates/greeting/src/lib.rs" || {
		printf 'ERROR: the source edit did not apply to %s\n' "$1" >&2
		exit 1
	}
}

# plain_dockerfile DIR: a two-stage Dockerfile without prewarm in DIR, as most projects start
# (COPY . . then cargo build, the registry in a cache mount).
plain_dockerfile() {
	cat >"$1/Dockerfile" <<PLAIN
FROM rust:1.95-bookworm AS build
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,id=bench-plain-registry,sharing=locked \\
    cargo build --release --locked --bin $BIN && cp target/release/$BIN /usr/local/bin/
FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/$BIN /usr/local/bin/
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/$BIN"]
PLAIN
}

# host_floor TIMES: REPS times the example's two crates compiled alone after a source edit, on
# the host, each time in seconds appended to TIMES; the median on stdout.
host_floor() {
	local out=$1 i t0 dir=$WORK/floor
	copy_example floor
	(cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build -q --release --locked --bin "$BIN")
	: >"$out"
	for ((i = 1; i <= REPS; i++)); do
		source_edit "$dir" "f$i"
		(cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo clean -q --release -p greeting -p "$BIN")
		t0=$(now)
		(cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build -q --release --locked --bin "$BIN")
		elapsed "$t0" >>"$out"
	done
	median <"$out"
}

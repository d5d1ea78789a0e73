#!/usr/bin/env bash
# bench-tiers.sh - the figures of `prewarm image`'s tiers on a real multi-crate workspace,
# ripgrep 15.1.0 (the `rg` binary, its root crate ripgrep and 9 member crates), built with
# buildah on this machine (issue 11, section 4): the container rebuild after an edit in the
# leaf crate (crates/core, the `rg` binary) and after an edit in a low-level crate
# (crates/matcher, which 5 crates of the build depend on), for
#   tiers   `prewarm image --release --bin rg` (tiers on: the default for a workspace)
#   flat    the same with `--tiers off` (the build stage compiles every local crate)
#   chef    cargo-chef's documented Dockerfile (planner, `cargo chef cook`, `cargo build`),
#           cargo-chef installed from crates.io in a stage of its own
# next to the floor: `cargo build --release --bin rg` of the same edit on the host, in a copy
# with a warm target directory.
#
#   flock -o /tmp/prewarm-engine.lock scripts/bench-tiers.sh RIPGREP
#                                 (after scripts/engines.sh setup; `just bench-tiers` runs it)
#
# RIPGREP (or RIPGREP_SRC) is a git repository of ripgrep, bare or not (a clone or a mirror):
# the pinned commit is taken from it with `git archive`; a plain directory is copied when its
# Cargo.toml is ripgrep 15.1.0. The original is never edited: every variant builds its own
# copy in a temporary directory. The builds need crates.io (the cook steps, cargo-chef's
# install).
#
# BENCH_REPS (default 3) rounds, each a leaf edit then a low-level edit; in every round the
# same edit is applied to all copies, then each variant is rebuilt (layer cache warm) in an
# order that rotates from round to round, and the median is shown. "Cold" means no layer
# cache (--no-cache) and empty cache mounts of the project: tiers and cargo-chef are built
# cold once, untimed in the medians; flat shares the tiers' cook layer (the same base,
# planner and cook stages), so its first build is not cold. BENCH_COLD=no builds the first
# time with the layer cache (quicker when tried again; the cold column then says "cached").
# BENCH_ONLY="tiers flat chef" picks variants (default: all; the floor always runs).
# BENCH_KEEP=yes keeps the work directory (copies, Dockerfiles, one log per build).
# Prints a Markdown table on stdout; progress goes to stderr.
set -euo pipefail

export BUILDAH_ISOLATION=chroot
REPS=${BENCH_REPS:-3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' "$REPO/Cargo.toml")
PREWARM_REF=ghcr.io/prewarm-rs/prewarm:$VERSION
RUST_IMAGE=docker.io/library/rust:1.95-bookworm
# ripgrep 15.1.0 (2025-10-22): 10 crates, a Cargo.lock, rust-version 1.85. Later commits
# need Rust 1.96 (rust-version) and add an eleventh crate.
RIPGREP_COMMIT=af60c2de9d85e7f3d81c78601669468cf02dabab
RIPGREP_VERSION=15.1.0
CHEF_VERSION=${BENCH_CHEF_VERSION:-0.1.78}
BIN=rg
CACHE_ROOT=/var/tmp/buildah-cache # where buildah keeps cache mounts, by id
SRC=${1:-${RIPGREP_SRC:-}}

log() { printf '[bench-tiers] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
want() { [[ -z ${BENCH_ONLY:-} || " $BENCH_ONLY " == *" $1 "* ]]; }

[[ -n $SRC ]] || die "pass a git repository of ripgrep (or set RIPGREP_SRC)"
[[ -e $SRC ]] || die "$SRC does not exist"
command -v buildah >/dev/null || die "buildah is missing: run scripts/engines.sh setup"
buildah inspect --type image "$RUST_IMAGE" >/dev/null 2>&1 ||
	die "base images are missing: run scripts/engines.sh setup"

WORK=$(mktemp -d /var/tmp/prewarm-bench-tiers.XXXXXX)
if [[ ${BENCH_KEEP:-no} == yes ]]; then
	log "work directory (kept): $WORK"
else
	trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK/logs" "$WORK/t"

# ---------------------------------------------------------------- ripgrep and the toolchains

log "ripgrep $RIPGREP_VERSION ($RIPGREP_COMMIT) from $SRC"
mkdir -p "$WORK/src"
if git -C "$SRC" rev-parse -q --verify "$RIPGREP_COMMIT^{commit}" >/dev/null 2>&1; then
	git -C "$SRC" archive "$RIPGREP_COMMIT" | tar -xf - -C "$WORK/src"
elif [[ -f $SRC/Cargo.toml ]] && grep -q "^version = \"$RIPGREP_VERSION\"" "$SRC/Cargo.toml"; then
	log "$SRC is no git repository holding $RIPGREP_COMMIT: copying it as ripgrep $RIPGREP_VERSION"
	(cd "$SRC" && tar --exclude=./target --exclude=./.git -cf - .) | tar -xf - -C "$WORK/src"
else
	die "$SRC holds neither commit $RIPGREP_COMMIT nor a ripgrep $RIPGREP_VERSION checkout"
fi
[[ -f $WORK/src/Cargo.lock ]] || die "ripgrep's Cargo.lock is missing"

c=$(buildah from --pull=never "$RUST_IMAGE")
RUSTC_IMAGE=$(buildah run --isolation chroot "$c" -- rustc --version)
buildah rm "$c" >/dev/null
RUSTC_HOST=$(rustc --version)
MSRV=$(awk -F'"' '/^rust-version = / { print $2; exit }' "$WORK/src/Cargo.toml")
image_minor=$(awk '{ split($2, v, "."); print v[1] "." v[2] }' <<<"$RUSTC_IMAGE")
[[ $(printf '%s\n%s\n' "$MSRV" "$image_minor" | sort -V | tail -n 1) == "$image_minor" ]] ||
	die "ripgrep needs Rust $MSRV, the image has $RUSTC_IMAGE"
log "rustc: host $RUSTC_HOST, image $RUSTC_IMAGE; ripgrep's rust-version $MSRV"

# ---------------------------------------------------------------- the Dockerfiles

log "building prewarm and the prewarm image ($PREWARM_REF)"
cargo build -q --manifest-path "$REPO/Cargo.toml" --bin prewarm
PREWARM=$(cargo metadata -q --format-version 1 --no-deps --manifest-path "$REPO/Cargo.toml" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/prewarm
buildah build --pull=never --layers --force-rm -q -f "$REPO/images/prewarm/Dockerfile" -t "$PREWARM_REF" "$REPO" >/dev/null

copy_src() { mkdir -p "$WORK/$1" && (cd "$WORK/src" && tar -cf - .) | tar -xf - -C "$WORK/$1"; }

# Both prewarm copies get the file name `Dockerfile`, which prewarm's .dockerignore leaves out
# of the context: the two contexts are the same, and so are their base, planner and cook steps.
copy_src tiers
(cd "$WORK/tiers" && "$PREWARM" image --release --bin "$BIN" 2>"$WORK/logs/prewarm-image-tiers.log") ||
	{ cat "$WORK/logs/prewarm-image-tiers.log" >&2; die "prewarm image failed"; }
copy_src flat
(cd "$WORK/flat" && "$PREWARM" image --release --bin "$BIN" --tiers off 2>"$WORK/logs/prewarm-image-flat.log") ||
	{ cat "$WORK/logs/prewarm-image-flat.log" >&2; die "prewarm image --tiers off failed"; }
TIERS_PLAN=$(sed -n 's/^#            \(tier-[0-9]*: .*\)/\1/p' "$WORK/tiers/Dockerfile" | paste -sd ';' - | sed 's/;/; /g')
log "tiers: $TIERS_PLAN"

# cargo-chef's README pattern, written for ripgrep: a stage with cargo-chef, the planner
# (`cargo chef prepare`), the cook (`cargo chef cook --release`) and the real build in one
# builder stage, then the runtime image. No cache mounts, as documented.
copy_src chef
cat >"$WORK/chef/Dockerfile" <<EOF
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version $CHEF_VERSION
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --bin $BIN

FROM debian:bookworm-slim AS runtime
WORKDIR /app
COPY --from=builder /app/target/release/$BIN /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/$BIN"]
EOF
printf '%s\n' '**/target' '**/.git' Dockerfile .dockerignore >"$WORK/chef/.dockerignore"

copy_src floor

# ---------------------------------------------------------------- builds

# build VARIANT LOG [OPTION...]: one timed build of VARIANT's copy, seconds on stdout; the
# output goes to LOG (its tail to stderr when the build fails).
build() {
	local name=$1 out=$2 t0 t1
	shift 2
	t0=$(now)
	if [[ $name == floor ]]; then
		(cd "$WORK/floor" && CARGO_TARGET_DIR="$WORK/floor/target" cargo build --release --locked --bin "$BIN") >"$out" 2>&1
	else
		buildah build --pull=never --layers --force-rm --isolation chroot "$@" \
			-t "localhost/prewarm-bench-tiers/$name" "$WORK/$name" >"$out" 2>&1
	fi || {
		tail -n 40 "$out" >&2
		return 1
	}
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }'
}

# ran LOG: the stages of a buildah log whose RUN steps ran (buildah prints "--> Using cache"
# right after the step line of a cached step; the stages' output interleaves otherwise).
ran() {
	awk '
		pending != "" { if ($0 !~ /^--> Using cache /) out = out " " pending; pending = "" }
		/^\[[0-9]+\/[0-9]+\] STEP [0-9]+\/[0-9]+: / {
			if ($0 ~ /: FROM .* AS [^ ]+$/) stage[$1] = $NF
			else if ($0 ~ /: RUN /) pending = stage[$1]
		}
		END { if (pending != "") out = out " " pending; print substr(out, 2) }
	' "$1"
}

# cargo_time LOG: cargo's own time in a build, its "Finished" lines summed (a tier step is a
# cargo build of its own).
cargo_time() {
	# shellcheck disable=SC2016 # the backquotes are cargo's, not a command substitution
	sed -n 's/.*Finished `release` profile.* in \([0-9.]*\)s$/\1/p' "$1" |
		awk '{ t += $1 } END { printf "%.1f\n", t }'
}

# compiled LOG: the local crates cargo compiled, in the order it did (a tier step compiles
# later tiers' crates as dummies too: those are counted).
compiled() {
	sed -n "s/^ *Compiling \([^ ]*\) v[^ ]* (\/.*/\1/p" "$1" | paste -sd ' ' -
}

# The edits: each round gets a new value, distinct from every earlier run's too, so that no
# layer is taken from the cache by accident.
leaf_edit() {
	sed -i "s/No files were searched[^,]*,/No files were searched (bench $2),/" "$1/crates/core/main.rs"
	grep -q "No files were searched (bench $2)," "$1/crates/core/main.rs" || die "the leaf edit did not apply"
}
matcher_edit() {
	local f=$1/crates/matcher/src/lib.rs
	if grep -q '^pub const BENCH_N: u64 = ' "$f"; then
		sed -i "s/^pub const BENCH_N: u64 = .*/pub const BENCH_N: u64 = $2;/" "$f"
	else
		printf '\n/// Changed by scripts/bench-tiers.sh for every low-level edit.\npub const BENCH_N: u64 = %s;\n' "$2" >>"$f"
	fi
}

VARIANTS=()
for v in tiers flat chef; do
	want "$v" && VARIANTS+=("$v")
done
VARIANTS+=(floor)
declare -A COLD FAILED

# The cold builds (the floor's: a cold target directory; flat after tiers: the shared cook).
cold_build() {
	[[ $1 != floor && ${BENCH_COLD:-yes} != no ]] || return 1
	[[ $1 != flat ]] || ! want tiers
}
rm -rf "${CACHE_ROOT:?}/$BIN-cargo-registry" "${CACHE_ROOT:?}/$BIN-cargo-git"
for v in "${VARIANTS[@]}"; do
	opts=()
	if cold_build "$v"; then
		buildah rmi -f "localhost/prewarm-bench-tiers/$v" >/dev/null 2>&1 || true
		opts=(--no-cache)
	fi
	log "$v: first build ${opts[*]}"
	if t=$(build "$v" "$WORK/logs/$v-cold.log" "${opts[@]}"); then
		if [[ $v == floor || ${#opts[@]} -gt 0 ]]; then
			COLD[$v]="$t s"
		elif [[ $v == flat && ${BENCH_COLD:-yes} != no ]]; then
			COLD[$v]="(its cook is the tiers')"
		else
			COLD[$v]="($t s: cached layers)"
		fi
		log "$v: ${t}s"
	else
		FAILED[$v]=$WORK/logs/$v-cold.log
		log "$v: the first build failed (log: ${FAILED[$v]}): left out"
	fi
done

RUN_ID=$(date +%s)
round=0
for ((i = 1; i <= REPS; i++)); do
	for kind in leaf matcher; do
		for v in "${VARIANTS[@]}"; do
			"${kind}_edit" "$WORK/$v" "$RUN_ID$i"
		done
		n=${#VARIANTS[@]}
		for ((k = 0; k < n; k++)); do
			v=${VARIANTS[$(((round + k) % n))]}
			[[ -n ${COLD[$v]:-} ]] || continue # its first build failed
			out=$WORK/logs/$v-$kind-$i.log
			log "$v: $kind edit $i/$REPS"
			if t=$(build "$v" "$out"); then
				echo "$t" >>"$WORK/t/$v-$kind"
				cargo_time "$out" >>"$WORK/t/$v-$kind.cargo"
				if [[ $v == floor ]]; then
					log "$v: ${t}s, compiled: $(compiled "$out")"
				else
					log "$v: ${t}s (cargo $(cargo_time "$out")s), steps run: $(ran "$out"); compiled: $(compiled "$out")"
				fi
				[[ $v != tiers ]] || ran "$out" >"$WORK/t/tiers-$kind-ran"
			else
				FAILED[$v]="${FAILED[$v]:+${FAILED[$v]} }$out"
				log "$v: the $kind edit's build failed (log: $out): no time this round"
			fi
		done
		round=$((round + 1))
	done
done

# ---------------------------------------------------------------- the table

cell() { if [[ -s $WORK/t/$1-$2 ]]; then median <"$WORK/t/$1-$2"; else echo -; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'; }
FLOOR_LEAF=$(cell floor leaf)
FLOOR_MATCHER=$(cell floor matcher)
# entry VARIANT KIND: "seconds (multiple of the floor; cargo's own time)"
entry() {
	local t floor n
	t=$(cell "$1" "$2")
	[[ $t != - ]] || { echo "-"; return; }
	if [[ $2 == leaf ]]; then floor=$FLOOR_LEAF; else floor=$FLOOR_MATCHER; fi
	n=$(wc -l <"$WORK/t/$1-$2")
	[[ $n -eq $REPS ]] && n= || n="; $n of $REPS builds"
	echo "$t s ($(ratio "$t" "$floor"); cargo $(median <"$WORK/t/$1-$2.cargo") s$n)"
}
declare -A LABEL=(
	[tiers]="tiers: \`prewarm image --release --bin rg\`"
	[flat]="no tiers: \`prewarm image --release --bin rg --tiers off\`"
	[chef]="cargo-chef $CHEF_VERSION, its README's Dockerfile"
)
echo
echo "ripgrep $RIPGREP_VERSION (${RIPGREP_COMMIT:0:8}), release, --bin rg, buildah $(buildah --version | awk '{ print $3 }') (chroot), $(nproc) cores; median of $REPS rebuilds; (x) = multiple of the floor; cargo = cargo's own time in the build (its \"Finished\" lines, summed over the tiers)"
if [[ $RUSTC_HOST == "$RUSTC_IMAGE" ]]; then
	echo "rustc: $RUSTC_HOST on the host and in $RUST_IMAGE (the same toolchain)"
else
	echo "rustc differs: host $RUSTC_HOST, $RUST_IMAGE $RUSTC_IMAGE"
fi
echo
echo "| Dockerfile | cold | leaf edit (crates/core) | low-level edit (crates/matcher) |"
echo "|---|---|---|---|"
for v in "${VARIANTS[@]}"; do
	[[ $v != floor ]] || continue
	failed=
	[[ -z ${FAILED[$v]:-} ]] || failed=" (failed builds: ${FAILED[$v]})"
	printf '| %s%s | %s | %s | %s |\n' "${LABEL[$v]}" "$failed" "${COLD[$v]:--}" "$(entry "$v" leaf)" "$(entry "$v" matcher)"
done
echo "| floor: \`cargo build --release --bin rg\` on the host, warm target directory | ${COLD[floor]:--} | $FLOOR_LEAF s | $FLOOR_MATCHER s |"
echo
echo "Tiers: $TIERS_PLAN; ripgrep (crates/core) is left to the build stage."
if want tiers && [[ -n ${COLD[tiers]:-} ]]; then
	echo "Steps run by the tiers variant (the last round): leaf edit: $(cat "$WORK/t/tiers-leaf-ran" 2>/dev/null); low-level edit: $(cat "$WORK/t/tiers-matcher-ran" 2>/dev/null)."
	l=$(cell tiers leaf)
	if [[ $l == - || $FLOOR_LEAF == - ]]; then
		echo "Target (a leaf edit within 1.5x the floor): not measured."
	elif awk -v a="$l" -v b="$FLOOR_LEAF" 'BEGIN { exit !(a <= 1.5 * b) }'; then
		echo "Target (a leaf edit within 1.5x the floor): met, $(ratio "$l" "$FLOOR_LEAF")."
	else
		echo "Target (a leaf edit within 1.5x the floor): missed, $(ratio "$l" "$FLOOR_LEAF")."
	fi
fi

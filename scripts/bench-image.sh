#!/usr/bin/env bash
# bench-image.sh - the figures of `prewarm image` for examples/hello-service, built with buildah
# on this machine: a cold build, a rebuild after a source edit, after a metadata edit, and with
# no change, for
#   prewarm       the checked-in examples/hello-service/Dockerfile (`prewarm image --release`)
#   incremental   the same with `--incremental` (the workspace crates' incremental state in a
#                 cache mount)
#   plain         a two-stage Dockerfile without prewarm (COPY . . then cargo build, registry in
#                 a cache mount), as most projects start
# next to the floor: cargo compiling the workspace's own crates alone, dependencies fresh, on
# the host with the same toolchain.
#
#   scripts/bench-image.sh            (after scripts/engines.sh setup; `just bench` runs it)
#
# BENCH_REPS (default 3) rebuilds are timed per kind and the median is shown; the last column
# is cargo's own time in the build step (its "Finished ... in" line). "Cold" means no layer
# cache and empty cache mounts of the project (downloads included), as on a fresh CI runner.
# BENCH_ONLY="prewarm incremental plain buildkit" picks variants (default: all; buildkit, the
# checked-in Dockerfile built by Docker's BuildKit, only when dockerd answers: see
# scripts/engines.sh dockerd). Prints a Markdown table on stdout; progress goes to stderr.
set -euo pipefail

export BUILDAH_ISOLATION=chroot
REPS=${BENCH_REPS:-3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' "$REPO/Cargo.toml")
PREWARM_REF=ghcr.io/prewarm-rs/prewarm:$VERSION
BIN=hello-service
CACHE_ROOT=/var/tmp/buildah-cache # where buildah keeps cache mounts, by id

log() { printf '[bench] %s\n' "$*" >&2; }
# shellcheck source=scripts/bench-lib.sh disable=SC1091 # (shellcheck is run without -x)
. "$REPO/scripts/bench-lib.sh"

command -v buildah >/dev/null || { log "buildah is missing: run scripts/engines.sh setup"; exit 1; }
buildah inspect --type image docker.io/library/rust:1.95-bookworm >/dev/null 2>&1 ||
	{ log "base images are missing: run scripts/engines.sh setup"; exit 1; }

log "building prewarm and the prewarm image ($PREWARM_REF)"
cargo build -q --manifest-path "$REPO/Cargo.toml" --bin prewarm
PREWARM=$(cargo metadata -q --format-version 1 --no-deps --manifest-path "$REPO/Cargo.toml" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/prewarm
buildah build --pull=never --layers --force-rm -q -f "$REPO/images/prewarm/Dockerfile" -t "$PREWARM_REF" "$REPO" >/dev/null

WORK=$(mktemp -d /var/tmp/prewarm-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# build ENGINE DIR TAG [OPTION...]: one timed build, seconds on stdout.
build() {
	local engine=$1 dir=$2 tag=$3 t0
	shift 3
	t0=$(now)
	if [[ $engine == docker ]]; then
		DOCKER_BUILDKIT=1 /usr/bin/docker build --progress=plain "$@" -t "$tag" "$dir" >"$WORK/last.log" 2>&1
	else
		buildah build --pull=never --layers --force-rm --isolation chroot "$@" -t "$tag" "$dir" >"$WORK/last.log" 2>&1
	fi || {
		tail -n 40 "$WORK/last.log" >&2
		return 1
	}
	elapsed "$t0"
}

# forget VARIANT: drop the layers and the project's cache mounts (buildah's), for a cold build.
forget() {
	buildah rmi -f "localhost/prewarm-bench/$1" >/dev/null 2>&1 || true
	/usr/bin/docker rmi -f "localhost/prewarm-bench/$1" >/dev/null 2>&1 || true
	rm -rf "${CACHE_ROOT:?}/$BIN-cargo-registry" "${CACHE_ROOT:?}/$BIN-cargo-git" \
		"${CACHE_ROOT:?}/$BIN-incremental-release" "${CACHE_ROOT:?}/bench-plain-registry"
}

# The edits: each rebuild gets a new one, so nothing is cached by accident.
metadata_edit() { sed -i "s/^description = .*/description = \"A small HTTP service that greets people, revision $2\"/" "$1/crates/server/Cargo.toml"; }

# variant NAME [ENGINE]: writes "cold source metadata nochange cargo" seconds to $WORK/NAME.times
variant() {
	local name=$1 engine=${2:-buildah} dir=$WORK/$1 tag=localhost/prewarm-bench/$1 i cold s m n
	forget "$name"
	log "$name: cold build ($engine)"
	# --no-cache as well: the layer cache is keyed on content, which an earlier run may hold.
	cold=$(build "$engine" "$dir" "$tag" --no-cache)
	: >"$WORK/s" && : >"$WORK/m" && : >"$WORK/n" && : >"$WORK/c"
	for ((i = 1; i <= REPS; i++)); do
		log "$name: source edit $i/$REPS"
		source_edit "$dir" "s$i-$RANDOM"
		build "$engine" "$dir" "$tag" >>"$WORK/s"
		# cargo's own time in the build step (the cook came from the cache and printed nothing).
		cargo_time "$WORK/last.log" >>"$WORK/c"
		log "$name: metadata edit $i/$REPS"
		metadata_edit "$dir" "m$i-$RANDOM"
		build "$engine" "$dir" "$tag" >>"$WORK/m"
		log "$name: no change $i/$REPS"
		build "$engine" "$dir" "$tag" >>"$WORK/n"
	done
	s=$(median <"$WORK/s")
	m=$(median <"$WORK/m")
	n=$(median <"$WORK/n")
	c=$(median <"$WORK/c")
	echo "$cold $s $m $n ${c:--}" >"$WORK/$name.times"
	log "$name: cold ${cold}s, source edit ${s}s (cargo in the build step ${c:--}s), metadata edit ${m}s, no change ${n}s"
}

copy_example prewarm
copy_example incremental
(cd "$WORK/incremental" && "$PREWARM" image --release --incremental --force 2>/dev/null)
copy_example plain
plain_dockerfile "$WORK/plain"

# The floor: the workspace's own crates compiled alone, with every dependency fresh.
log "floor: compiling greeting and hello-service alone on the host"
FLOOR=$(host_floor "$WORK/f")
log "floor: ${FLOOR}s"

ROWS=()
want prewarm && variant prewarm && ROWS+=("prewarm|prewarm image --release")
want incremental && variant incremental && ROWS+=("incremental|prewarm image --release --incremental")
want plain && variant plain && ROWS+=("plain|plain (no prewarm)")
# The same Dockerfile with Docker's BuildKit, when dockerd answers (scripts/engines.sh dockerd;
# the prewarm image must be in the daemon). Its cache mounts are not emptied: cold means no layers.
if want buildkit && [[ ${BENCH_DOCKER:-auto} != no ]] && timeout 10 /usr/bin/docker info >/dev/null 2>&1; then
	buildah push -q "$PREWARM_REF" "docker-daemon:$PREWARM_REF" >/dev/null
	copy_example buildkit
	(cd "$WORK/buildkit" && "$PREWARM" image --release --no-syntax --force 2>/dev/null)
	variant buildkit docker
	ROWS+=("buildkit|prewarm image --release, Docker BuildKit (cold: downloads cached)")
fi

row() {
	local c s m n cargo
	read -r c s m n cargo <"$WORK/$1.times"
	printf '| %s | %s s | %s s (%s) | %s s (%s) | %s s | %s s |\n' "$2" "$c" "$s" "$(ratio "$s" "$FLOOR")" "$m" "$(ratio "$m" "$FLOOR")" "$n" "$cargo"
}
echo
echo "examples/hello-service, release, buildah $(buildah --version | awk '{ print $3 }') (chroot), $(nproc) cores; median of $REPS rebuilds; (x) = multiple of the floor"
echo
echo "| Dockerfile | cold | source edit | metadata edit | no change | cargo in the build step after a source edit |"
echo "|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do
	row "${r%%|*}" "${r#*|}"
done
echo "| floor: cargo compiling the workspace's 2 crates alone, on the host | | $FLOOR s | | | |"

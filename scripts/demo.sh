#!/usr/bin/env bash
# The main job, on the example service shipped in examples/hello-service:
#   1. build prewarm;
#   2. write the example's recipe and show its digest;
#   3. `prewarm verify --release --locked`: cook, lay the real sources over, build, and prove that
#      every external unit was reused (exit status 0 only at 100%);
#   4. `prewarm verify --edits`: which dependency-neutral edits keep the cooked layer;
#   5. build the example's generated Dockerfile for real with buildah (after installing the
#      builders and local base images with scripts/engines.sh), run the image, then make a
#      source-only edit in a scratch copy and rebuild: the cook step comes from the cache.
# Set PREWARM_DEMO_NO_CONTAINER=1 to stop after step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
EXAMPLE=$REPO/examples/hello-service
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)

step() { printf '\n==> %s\n' "$*"; }

step "build prewarm"
cargo build --release --locked --bin prewarm
PREWARM=$REPO/target/release/prewarm

step "prewarm recipe (examples/hello-service)"
"$PREWARM" recipe --manifest-path "$EXAMPLE/Cargo.toml" --output "$REPO/target/hello-service.recipe.json"
"$PREWARM" recipe --manifest-path "$EXAMPLE/Cargo.toml" --digest

step "prewarm verify --release --locked"
"$PREWARM" verify --manifest-path "$EXAMPLE/Cargo.toml" --release --locked

step "prewarm verify --edits"
"$PREWARM" verify --manifest-path "$EXAMPLE/Cargo.toml" --edits

if [ -n "${PREWARM_DEMO_NO_CONTAINER:-}" ]; then
	exit 0
fi

step "container builders and base images"
scripts/engines.sh setup
eval "$(scripts/engines.sh env)"
BUILD=(buildah build --pull=never --layers --force-rm --isolation chroot)

step "the prewarm image (images/prewarm/Dockerfile), which generated Dockerfiles copy prewarm from"
"${BUILD[@]}" -f images/prewarm/Dockerfile -t "ghcr.io/prewarm-rs/prewarm:$VERSION" .

step "the example's Dockerfile is what prewarm generates today"
"$PREWARM" image --manifest-path "$EXAMPLE/Cargo.toml" --release --output - | diff -u "$EXAMPLE/Dockerfile" - &&
	echo "examples/hello-service/Dockerfile is current"

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
cp -a "$EXAMPLE/." "$SCRATCH/"
rm -rf "$SCRATCH/target"

step "build the example image with buildah (cold or from cache)"
time "${BUILD[@]}" -t hello-service:demo "$SCRATCH"

step "run it"
container=$(buildah from --pull=never -q hello-service:demo)
buildah run --isolation chroot "$container" -- /usr/local/bin/hello-service --once world
buildah rm "$container" >/dev/null

step "source-only edit, rebuild: the cook step is a cache hit, only the workspace compiles"
printf '\n// edited by scripts/demo.sh at %s\n' "$(date +%s)" >>"$SCRATCH/crates/server/src/main.rs"
log=$SCRATCH/rebuild.log
time "${BUILD[@]}" -t hello-service:demo "$SCRATCH" 2>&1 | tee "$log" | grep -E 'STEP|Using cache|Compiling' || true
if grep -A1 'prewarm cook' "$log" | grep -q 'Using cache'; then
	echo "cook step: cache hit"
else
	echo "cook step: REBUILT" >&2
	exit 1
fi

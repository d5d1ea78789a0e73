#!/usr/bin/env bash
# cargo-chef's command line on top of prewarm, for running cargo-chef's own end-to-end suite
# (tests/caching in its repository) against prewarm: scripts/chef-suite.sh installs this file
# where that suite looks for the `cargo-chef` binary. Only the options the suite uses are
# mapped; anything else is refused, so a gap in the mapping cannot pass unnoticed.
#
#   cargo-chef chef prepare --recipe-path P [--bin B]...  ->  prewarm recipe --output P [--bin B]...
#   cargo-chef chef cook --recipe-path P [flags]          ->  prewarm cook --recipe P [flags]
#     flags: --release, --profile X, --package/-p X, --target T, --target-dir D, --bin B
#
# The prewarm binary is $PREWARM (default: `prewarm` on PATH).
set -euo pipefail

prewarm="${PREWARM:-prewarm}"
die() {
	printf 'chef-wrapper: %s\n' "$*" >&2
	exit 2
}

# `cargo chef ...` passes the subcommand name first, as cargo does for any cargo-<name>.
[[ "${1:-}" == "chef" ]] && shift
verb="${1:-}"
[[ -n "$verb" ]] || die "missing verb (prepare or cook)"
shift

args=()
recipe=""
while (($#)); do
	opt="$1"
	case "$opt" in
	--recipe-path | --bin | --profile | --package | -p | --target | --target-dir)
		(($# >= 2)) || die "\`$opt\` needs a value"
		value="$2"
		shift 2
		;;
	--recipe-path=* | --bin=* | --profile=* | --package=* | --target=* | --target-dir=*)
		value="${opt#*=}"
		opt="${opt%%=*}"
		shift
		;;
	--release)
		value=""
		shift
		;;
	*) die "\`$opt\` is not mapped onto prewarm (verb \`$verb\`)" ;;
	esac
	case "$verb:$opt" in
	*:--recipe-path) recipe="$value" ;;
	prepare:--bin | cook:--bin | cook:--profile | cook:--target | cook:--target-dir)
		args+=("$opt" "$value")
		;;
	cook:--package | cook:-p) args+=(-p "$value") ;;
	cook:--release) args+=(--release) ;;
	*) die "\`$opt\` is not mapped onto prewarm for \`$verb\`" ;;
	esac
done

case "$verb" in
prepare) exec "$prewarm" recipe --output "${recipe:-recipe.json}" "${args[@]}" ;;
cook) exec "$prewarm" cook --recipe "${recipe:-recipe.json}" "${args[@]}" ;;
*) die "unknown verb \`$verb\` (prepare or cook)" ;;
esac

# Everyday commands for prewarm. `just --list` shows them all.

# Runs the main job on the example service (recipe, cook, verify, container image).
demo:
    scripts/demo.sh

# The whole test suite, container builders included (installs what it needs).
test:
    scripts/test.sh

# Unit, recipe and cook tests only: no container builders needed.
test-fast:
    cargo test --locked --lib --test recipe --test cook

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --locked --all-targets -- -D warnings

# End-to-end reuse scenarios (cargo really runs on every fixture).
e2e:
    cargo test --locked --test cook --test verify

# Fuzzes the recipe reader and the skeleton layout for SECS seconds (SEED picks the cases; a
# failure prints the case seed to replay with PREWARM_FUZZ_CASE=<seed> cargo test --test fuzz).
fuzz SECS="600" SEED="":
    PREWARM_FUZZ_SECS={{SECS}} PREWARM_FUZZ_SEED={{SEED}} cargo test --locked --test fuzz

# Regenerates the checked-in Dockerfiles (images/, examples/) from the current code.
images:
    PREWARM_BLESS=1 cargo test --locked --test image --test builder -- checked_in

# Sets up buildah, dockerd and the local base images.
engines:
    scripts/engines.sh setup
    scripts/engines.sh dockerd

# The README's figures: recipe and cook overheads, container rebuilds, tiers (with RIPGREP_SRC).
bench:
    cargo bench --locked --bench figures
    scripts/bench-image.sh
    if [ -n "${RIPGREP_SRC:-}" ]; then flock -o /tmp/prewarm-engine.lock scripts/bench-tiers.sh; else echo "bench-tiers left out: set RIPGREP_SRC to a git repository of ripgrep" >&2; fi

# Under the engine lock: runner 2's rebuild after a source edit on a CI fleet (registry cache,
# + sccache on redis, a long-lived builder, a plain Dockerfile) next to the floor.
bench-fleet:
    flock -o /tmp/prewarm-engine.lock scripts/bench-fleet.sh

# Under the engine lock; RIPGREP: a git repository of ripgrep (a clone or a mirror).
# Tiers on ripgrep: rebuilds after a leaf and a low-level edit, next to --tiers off and cargo-chef.
bench-tiers RIPGREP=env_var_or_default("RIPGREP_SRC", ""):
    flock -o /tmp/prewarm-engine.lock scripts/bench-tiers.sh "{{RIPGREP}}"

# Accepts reviewed snapshot changes (needs cargo-insta).
review:
    cargo insta review

# The container-builder tests alone (real buildah and BuildKit builds).
test-containers:
    scripts/engines.sh setup
    scripts/engines.sh dockerd
    cargo test --locked --test containers --test builder -- --test-threads 2

# Builds images/prewarm and tags it as the default `--prewarm-image`.
prewarm-image:
    buildah build --pull=never --layers --isolation chroot -f images/prewarm/Dockerfile -t ghcr.io/prewarm-rs/prewarm:$(cargo pkgid | sed 's/.*[#@]//') .

# Builds the shared rust-builder image (web preset) with buildah.
rust-builder:
    buildah build --pull=never --layers --isolation chroot -t rust-builder -f images/rust-builder/Dockerfile .

# cargo-chef's own caching suite against prewarm (a measurement; pass a checkout of its repository).
chef-suite checkout:
    scripts/chef-suite.sh {{checkout}}

//! The `test` job of `prewarm ci github --jobs test` (issue 10, 4): clippy, the tests and a
//! release build run *inside* the rust-builder image the workflow just built, so that they
//! start from its toolchain, tools and prewarmed units, with sccache as the compiler cache.
//!
//! Two kinds of runner:
//! - hosted (the default): `container:` the builder image, by the digest the `rust-builder`
//!   job pushed (the default branch's tag on pull requests, which push nothing). Nothing on
//!   the runner survives the job, so sccache's directory is saved with `actions/cache`, keyed
//!   on the lockfile with restore-keys. `CARGO_HOME` stays the image's: cargo fingerprints a
//!   registry crate's unit by the absolute path of its sources, so a `CARGO_HOME` elsewhere
//!   would make every prewarmed unit stale.
//! - self-hosted (`--test-runs-on LABEL`, e.g. the scale set `prewarm ci runners` writes, with
//!   the builder as its runner image): the job runs in the runner itself, whose caches are
//!   persistent volumes at `/cache/cargo`, `/cache/sccache` and `/cache/rustup`, with
//!   `CARGO_HOME`, `SCCACHE_DIR`, `RUSTUP_HOME` and `RUSTC_WRAPPER` pointing there, as the
//!   source document lays them out.

use std::fmt::Write as _;

/// Where sccache keeps its cache in the job (a hosted runner's, saved with `actions/cache`).
pub const SCCACHE_DIR: &str = "/cache/sccache";

/// The commands the job runs, in order: (step name, shell command). The tests run these very
/// commands in the builder image.
pub const COMMANDS: [(&str, &str); 4] = [
    ("Clippy", "cargo clippy --locked --all-targets -- -D warnings"),
    (
        "Tests",
        "if cargo nextest --version >/dev/null 2>&1; then cargo nextest run --locked; else cargo test --locked; fi",
    ),
    ("Release build", "cargo build --release --locked"),
    ("sccache statistics", "sccache --show-stats"),
];

/// Appends the `test` job. `runs_on`: a self-hosted runner's label, else a hosted runner with
/// the builder image as its container.
pub fn render(w: &mut String, runs_on: Option<&str>, ghcr: bool) {
    w.push_str(
        "\n  test:\n    name: clippy, tests and a release build in the rust-builder image\n",
    );
    w.push_str("    needs: rust-builder\n");
    if let Some(label) = runs_on {
        let _ = writeln!(
            w,
            "    # A self-hosted runner (`prewarm ci runners`, with the rust-builder image as its"
        );
        let _ = writeln!(
            w,
            "    # runner image): its caches are persistent volumes, as these variables say."
        );
        let _ = writeln!(w, "    runs-on: {}", super::q(label));
        w.push_str("    timeout-minutes: 60\n");
        w.push_str("    env:\n");
        w.push_str("      CARGO_HOME: /cache/cargo\n");
        w.push_str("      SCCACHE_DIR: /cache/sccache\n");
        w.push_str("      RUSTUP_HOME: /cache/rustup\n");
        w.push_str("      RUSTC_WRAPPER: sccache\n");
        w.push_str("    steps:\n");
        w.push_str("      - uses: actions/checkout@v6\n");
    } else {
        w.push_str("    runs-on: ubuntu-latest\n    timeout-minutes: 60\n");
        w.push_str("    # The builder image the job before pushed (by digest), or on a pull request, which\n");
        w.push_str("    # pushes nothing, the one the default branch pushed.\n");
        w.push_str("    container:\n      image: ${{ needs.rust-builder.outputs.image }}\n");
        if ghcr {
            w.push_str("      credentials:\n        username: ${{ github.actor }}\n        password: ${{ secrets.GITHUB_TOKEN }}\n");
        } else {
            w.push_str("      credentials:\n        username: ${{ secrets.REGISTRY_USERNAME }}\n        password: ${{ secrets.REGISTRY_PASSWORD }}\n");
        }
        w.push_str("    # CARGO_HOME stays the image's: cargo fingerprints a registry crate's unit by the\n");
        w.push_str("    # absolute path of its sources, so another CARGO_HOME would make every prewarmed\n");
        w.push_str("    # unit stale. Nothing on a hosted runner survives the job: sccache's directory is\n");
        w.push_str("    # saved with actions/cache below (or give it a remote backend's SCCACHE_* variables).\n");
        w.push_str("    env:\n");
        let _ = writeln!(w, "      SCCACHE_DIR: {SCCACHE_DIR}");
        w.push_str("      RUSTC_WRAPPER: sccache\n");
        w.push_str("    steps:\n");
        w.push_str("      - uses: actions/checkout@v6\n");
        w.push_str("      - name: sccache's cache\n");
        w.push_str("        uses: actions/cache@v5\n");
        w.push_str("        with:\n");
        let _ = writeln!(w, "          path: {SCCACHE_DIR}");
        w.push_str("          key: sccache-${{ runner.os }}-${{ hashFiles('**/Cargo.lock') }}\n");
        w.push_str("          restore-keys: |\n            sccache-${{ runner.os }}-\n");
    }
    for (name, command) in COMMANDS {
        let _ = writeln!(w, "      - name: {name}");
        let _ = writeln!(w, "        run: {}", super::q(command));
    }
}

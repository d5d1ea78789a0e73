//! The shared rust-builder image: presets of commonly used crates, and the Dockerfile that
//! installs the tools a Rust CI job needs and prewarms those crates at fixed paths.
//!
//! How the prewarmed units get reused: the image builds a generated workspace at [`WARM_DIR`]
//! with `CARGO_TARGET_DIR` fixed at [`TARGET_DIR`], and keeps that variable set for every build
//! that runs FROM the image. Cargo names a dependency's unit by the crate's version, source,
//! features, profile, flags and the units it depends on, never by the workspace that asked for
//! it, so a project whose lockfile and feature sets match reuses the unit as it is, and
//! compiles the rest.
//!
//! Each preset has one or more *variants*, one package of the warm workspace each. A variant is
//! built on its own (`cargo build -p`), so its feature sets are not unified with another
//! variant's: `web` prewarms both tokio's `full` feature set and the lean one a small axum
//! service declares, and a project matching either finds its units.

//!
//! [`presets`] holds the crate sets; this file the options and the rendering; [`args`] the
//! command-line options of `prewarm image --builder` and writing the file.

pub mod args;
pub mod presets;

use std::fmt::Write as _;

use crate::dockerfile::{check, quote};
use crate::error::{Error, Result};

use presets::spec_arg;
pub use presets::{parse_crates, CrateSpec, Preset, Variant};

/// Where the generated warm workspace lives in the image.
pub const WARM_DIR: &str = "/opt/prewarm/warm";
/// The target directory that holds the prewarmed units; set as `CARGO_TARGET_DIR` in the image.
pub const TARGET_DIR: &str = "/opt/prewarm/target";
/// sccache's local cache directory in the image (`SCCACHE_DIR`).
pub const SCCACHE_DIR: &str = "/var/cache/sccache";
/// The base image when none is given.
pub use crate::defaults::RUST_IMAGE as DEFAULT_BASE_IMAGE;
/// The cargo-nextest release installed by default (`cargo install --locked`).
pub const DEFAULT_NEXTEST_VERSION: &str = "0.9.151";
/// The words in a builder Dockerfile's first lines that mark it as written by prewarm.
pub use crate::defaults::BUILDER_MARKER as MARKER;
/// Where the checked-in builder Dockerfile of this repository lives.
pub const CHECKED_IN_PATH: &str = "images/rust-builder/Dockerfile";

/// Which kinds of units the image prewarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Warm {
    /// `cargo build` in the dev profile (also what `cargo test` and `cargo nextest` reuse).
    Dev,
    /// `cargo build --release`.
    Release,
    /// `cargo check` (also what `cargo clippy` reuses for dependencies).
    Check,
}

impl Warm {
    fn name(self) -> &'static str {
        match self {
            Warm::Dev => "dev",
            Warm::Release => "release",
            Warm::Check => "check",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Warm::Dev => "cargo build",
            Warm::Release => "cargo build --release",
            Warm::Check => "cargo check",
        }
    }
}

/// Where the prewarmed set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A preset.
    Preset(Preset),
    /// A `--crates` list, one variant.
    Crates(Vec<CrateSpec>),
}

/// Everything that decides a builder Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where the crates come from.
    pub source: Source,
    /// The image to build FROM (a rust image with rustup, cargo and a C compiler).
    pub base_image: String,
    /// Which kinds of units to prewarm, sorted, no duplicates.
    pub warm: Vec<Warm>,
    /// The cargo-nextest version to install, or none.
    pub nextest: Option<String>,
    /// A Cargo.lock in the build context that pins the prewarmed versions (copied into the warm
    /// workspace; cargo keeps every version it lists that is still in the graph). Without it the
    /// image resolves the newest compatible versions when it is built.
    pub lockfile: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            source: Source::Preset(Preset::Web),
            base_image: DEFAULT_BASE_IMAGE.to_string(),
            warm: vec![Warm::Dev, Warm::Release, Warm::Check],
            nextest: Some(DEFAULT_NEXTEST_VERSION.to_string()),
            lockfile: None,
        }
    }
}

impl Options {
    /// The warm workspace's packages.
    pub fn variants(&self) -> Vec<Variant> {
        match &self.source {
            Source::Preset(p) => p.variants(),
            Source::Crates(c) => vec![Variant::new(
                "crates",
                "the crates given with --crates",
                c.clone(),
            )],
        }
    }

    /// Checks every value that the Dockerfile carries, naming the flag it comes from: the
    /// base image, the nextest version, the lockfile's path and the crates.
    pub fn check(&self) -> Result<()> {
        check::image_ref(&self.base_image, "`--base-image`")?;
        if let Some(v) = &self.nextest {
            check::version(v, "`--nextest-version`")?;
        }
        if let Some(lock) = &self.lockfile {
            let plain = !lock.is_empty()
                && !lock.starts_with('/')
                && lock
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
                && !lock.split('/').any(|p| p == "..");
            if !plain {
                return Err(Error::input(format!(
                    "`--lockfile {}` is not a plain path inside the build context",
                    check::shown(lock)
                ))
                .with_hint(
                    "give the lockfile's path relative to the build context, e.g. Cargo.lock",
                ));
            }
        }
        if let Source::Crates(crates) = &self.source {
            for c in crates {
                c.check(&spec_arg(c))?;
            }
        }
        Ok(())
    }

    /// The prewarm command line that generates this Dockerfile (written into its header).
    pub fn command_line(&self) -> String {
        let mut cmd = String::from("prewarm image --builder");
        match &self.source {
            Source::Preset(p) => {
                let _ = write!(cmd, " --preset {}", p.name());
            }
            Source::Crates(c) => {
                let list: Vec<String> = c.iter().map(spec_arg).collect();
                let _ = write!(cmd, " --crates {}", quote::shell_word(&list.join(",")));
            }
        }
        if self.base_image != DEFAULT_BASE_IMAGE {
            let _ = write!(cmd, " --base-image {}", self.base_image);
        }
        if self.warm != Options::default().warm {
            let list: Vec<&str> = self.warm.iter().map(|w| w.name()).collect();
            let _ = write!(cmd, " --warm {}", list.join(","));
        }
        match &self.nextest {
            None => cmd.push_str(" --no-nextest"),
            Some(v) if v != DEFAULT_NEXTEST_VERSION => {
                let _ = write!(cmd, " --nextest-version {v}");
            }
            Some(_) => {}
        }
        if let Some(lock) = &self.lockfile {
            let _ = write!(cmd, " --lockfile {lock}");
        }
        cmd
    }
}

/// Renders the builder Dockerfile, once [`Options::check`] has found every value fit for it.
#[allow(clippy::too_many_lines)] // reason: one straight template, read top to bottom like the file it writes
pub fn render(opts: &Options) -> Result<String> {
    opts.check()?;
    let variants = opts.variants();
    let mut d = String::new();
    let mut w = |s: &str| {
        d.push_str(s);
        d.push('\n');
    };

    w("# rust-builder: a shared image for building and testing Rust projects, with commonly used");
    w(&format!(
        "# dependencies compiled ahead of time. {MARKER}; do not edit by hand. Regenerate with:"
    ));
    w(&format!("#   {}", opts.command_line()));
    w("#");
    w("# Projects built FROM this image keep CARGO_TARGET_DIR (set below) and so reuse every prewarmed");
    w("# unit whose crate version, features, profile and flags match their own; the rest compile as");
    w("# usual. To see how many units a project reuses:");
    w("#   prewarm builder-report --image IMAGE --manifest-path path/to/Cargo.toml [cargo flags]");
    w("#");
    w("# Portable: no heredocs, no COPY --link, no RUN --network, so BuildKit, Podman and Buildah all");
    w("# build it. Cache mounts (apt, the cargo registry for tool installs) never enter a layer.");
    w("");
    w(&format!("FROM {}", opts.base_image));
    w("");
    w("# The toolchain's locations, as in the official rust image, stated so that tools and later");
    w("# stages can rely on them. CARGO_INCREMENTAL=0: sccache cannot cache incremental builds, and");
    w("# CI builds start from a clean workspace anyway.");
    w("ENV CARGO_HOME=/usr/local/cargo \\");
    w("    RUSTUP_HOME=/usr/local/rustup \\");
    w("    CARGO_INCREMENTAL=0");
    w("");
    w("# Linkers and the compiler cache from Debian: clang and mold (`-C link-arg=-fuse-ld=mold`),");
    w("# sccache. apt's caches are cache mounts shared by concurrent builds (sharing=locked); the");
    w("# image's docker-clean hook would empty them after every install, so it goes (builds FROM");
    w("# this image should keep apt's caches in cache mounts too, or clean up after apt-get).");
    w("# DL3008 (pin apt versions): the versions are those of the base image's Debian release;");
    w("# pinning would break the build at each Debian point release.");
    w("# hadolint ignore=DL3008");
    w("RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\");
    w("    --mount=type=cache,target=/var/lib/apt,sharing=locked \\");
    w("    rm -f /etc/apt/apt.conf.d/docker-clean \\");
    w("    && echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > /etc/apt/apt.conf.d/keep-cache \\");
    w("    && apt-get update \\");
    w("    && apt-get install -y --no-install-recommends clang mold sccache \\");
    w("    && mold --version && sccache --version");
    w("");
    w("# clippy and rustfmt: most rust images have them; add whichever is missing.");
    w("RUN (cargo clippy --version || rustup component add clippy) \\");
    w("    && (cargo fmt --version || rustup component add rustfmt) \\");
    w("    && cargo clippy --version && cargo fmt --version");
    w("");
    if let Some(v) = &opts.nextest {
        w("# cargo-nextest, built with its own lockfile (--locked). Its downloads stay in a cache mount");
        w("# and its build directory is temporary: only the binary enters the layer. The mount is");
        w("# shared, not locked: cargo locks the registry itself, and a locked mount would make this");
        w("# step wait for every other build that holds the same registry cache.");
        w("RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=shared \\");
        w(&format!("    cargo install --locked cargo-nextest@{v} \\"));
        w("    && cargo nextest --version");
        w("");
    }
    w("# The prewarmed units live in a target directory at a fixed path. The variable stays set for");
    w("# every build FROM this image: that is what makes those builds find the units.");
    w(&format!("ENV CARGO_TARGET_DIR={TARGET_DIR}"));
    w("");
    w("# The warm workspace: one package per feature set, built one at a time (-p), so that the");
    w("# feature sets are not unified with each other:");
    for v in &variants {
        let mut line = format!("# - {}:", v.package());
        for word in v.about.split_whitespace() {
            if line.len() + word.len() + 1 > 96 {
                w(&line);
                line = "#  ".to_string();
            }
            line.push(' ');
            line.push_str(word);
        }
        w(&line);
    }
    w(&format!("WORKDIR {WARM_DIR}"));
    let members: Vec<String> = variants.iter().map(|v| format!("\"{}\"", v.name)).collect();
    let mut run = String::from("RUN mkdir -p");
    for v in &variants {
        let _ = write!(run, " {}/src", v.name);
    }
    run.push_str(" \\\n");
    let printf = |file: &str, lines: &[String], run: &mut String| {
        run.push_str("    && printf '%s\\n' \\\n");
        for l in lines {
            let _ = writeln!(run, "        {} \\", quote::single_quoted(l));
        }
        let _ = writeln!(run, "        > {file} \\");
    };
    printf(
        "Cargo.toml",
        &[
            "[workspace]".to_string(),
            "resolver = \"2\"".to_string(),
            format!("members = [{}]", members.join(", ")),
        ],
        &mut run,
    );
    for v in &variants {
        printf(&format!("{}/Cargo.toml", v.name), &v.manifest(), &mut run);
    }
    run.push_str("    && touch");
    for v in &variants {
        let _ = write!(run, " {}/src/lib.rs", v.name);
    }
    w(&run);
    w("");
    if let Some(lock) = &opts.lockfile {
        w("# Versions pinned by a lockfile from the build context: cargo keeps every version it");
        w("# lists that the warm packages still use, and resolves only what it lacks.");
        w(&format!("COPY {lock} Cargo.lock"));
        w("RUN cargo fetch");
    } else {
        w("# Versions: the newest compatible ones when the image is built. Rebuild the image on a");
        w("# schedule (as projects run `cargo update`), or pin them with --lockfile.");
        w("RUN cargo generate-lockfile && cargo fetch");
    }
    w("");
    let kinds: Vec<&str> = opts.warm.iter().map(|k| k.name()).collect();
    w(&format!(
        "# Compile every variant's dependencies for: {}. No RUSTC_WRAPPER yet: the units",
        kinds.join(", ")
    ));
    w("# themselves are what the image keeps, and a wrapper is no part of their fingerprints.");
    w("# The warm packages' own (empty) units go; the cargo registry (sources) stays, so builds FROM");
    w("# the image need not download these crates again.");
    let mut run = String::from("RUN");
    let mut first = true;
    for v in &variants {
        for k in &opts.warm {
            let sep = if first { " " } else { "    && " };
            first = false;
            let _ = writeln!(run, "{sep}{} --locked -p {} \\", k.command(), v.package());
        }
    }
    let _ = writeln!(
        run,
        "    && rm -rf {TARGET_DIR}/*/.fingerprint/warm-* {TARGET_DIR}/*/deps/*warm_* {TARGET_DIR}/*/libwarm_* \\"
    );
    run.push_str("    && du -sh ");
    run.push_str(TARGET_DIR);
    w(&run);
    w("");
    w("# The compiler cache for the builds that run FROM this image (mount SCCACHE_DIR, or point");
    w("# sccache at a remote backend with its SCCACHE_* variables).");
    w(&format!("ENV SCCACHE_DIR={SCCACHE_DIR} \\"));
    w("    RUSTC_WRAPPER=sccache");
    w("");
    w("WORKDIR /src");
    w(&format!(
        "LABEL org.opencontainers.image.title=\"rust-builder\" \\\n      org.opencontainers.image.description=\"Rust toolchain, {}mold, clang, sccache; prewarmed: {}\"",
        if opts.nextest.is_some() { "cargo-nextest, " } else { "" },
        summary(&variants)
    ));
    Ok(d)
}

/// `tokio serde ...` of all variants, deduplicated, for the image's label.
fn summary(variants: &[Variant]) -> String {
    let mut names: Vec<&str> = variants
        .iter()
        .flat_map(|v| v.crates.iter().map(|c| c.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_entries() {
        let c = CrateSpec::parse("axum@0.8+-default+json+http1").unwrap();
        assert_eq!(
            c.toml_line(),
            r#"axum = { version = "0.8", default-features = false, features = ["http1", "json"] }"#
        );
        assert_eq!(
            CrateSpec::parse("itoa").unwrap().toml_line(),
            r#"itoa = "*""#
        );
        assert_eq!(
            CrateSpec::parse("serde@1+derive").unwrap().toml_line(),
            r#"serde = { version = "1", features = ["derive"] }"#
        );
        assert!(CrateSpec::parse("bad name").is_err());
        assert!(CrateSpec::parse("x@1+f'oo").is_err());
        assert!(parse_crates("a,a").is_err());
        assert!(parse_crates(" , ").is_err());
    }

    #[test]
    fn command_line_round_trips_crates() {
        let opts = Options {
            source: Source::Crates(
                parse_crates("serde@1+derive,itoa@1,axum@0.8+-default+json").unwrap(),
            ),
            nextest: None,
            warm: vec![Warm::Release],
            ..Options::default()
        };
        assert_eq!(
            opts.command_line(),
            "prewarm image --builder --crates axum@0.8+-default+json,itoa@1,serde@1+derive --warm release --no-nextest"
        );
    }
}

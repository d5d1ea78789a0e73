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
//! [`presets`] holds the crate sets; this file the options; [`image`] the Dockerfile, described
//! with the same Dockerfile model as the project image; [`args`] the command-line options of
//! `prewarm image --builder` and writing the file.

pub mod args;
pub mod image;
pub mod presets;

use std::fmt::Write as _;

use crate::dockerfile::{check, quote};
use crate::error::{Error, Result};

pub use image::render;
use presets::spec_arg;
pub use presets::{parse_crates, CrateSpec, Preset, Variant};

/// Where the generated warm workspace lives in the image.
pub const WARM_DIR: &str = "/opt/prewarm/warm";
/// The target directory that holds the prewarmed units; set as `CARGO_TARGET_DIR` in the image.
pub const TARGET_DIR: &str = "/opt/prewarm/target";
/// The label that tells `prewarm image --builder-image` (and anyone) where the image keeps its
/// prewarmed units: [`TARGET_DIR`].
pub const TARGET_DIR_LABEL: &str = "io.prewarm.target-dir";
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

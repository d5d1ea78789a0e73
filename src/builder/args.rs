//! The options of `prewarm image --builder`, and writing the shared rust-builder image's
//! Dockerfile.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::builder::{self, Options, Preset, Source, Warm};
use crate::error::Result;

/// The options of `prewarm image` that only `--builder` reads.
#[derive(Debug, Clone, Default, Args)]
pub struct BuilderArgs {
    /// Write the shared rust-builder image instead of a project's: the Rust toolchain with
    /// clippy and rustfmt, cargo-nextest, mold, clang, sccache, and a set of dependencies
    /// compiled ahead of time at fixed paths, which projects built FROM the image reuse
    /// [default output: images/rust-builder/Dockerfile].
    #[arg(long, help_heading = "Builder image")]
    pub builder: bool,
    /// The prewarmed crates: a preset [default: web].
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        requires = "builder",
        conflicts_with = "crates",
        help_heading = "Builder image"
    )]
    pub preset: Option<Preset>,
    /// The prewarmed crates, listed: NAME[@VERSION][+FEATURE...], comma-separated; the feature
    /// `-default` turns default features off (e.g. `tokio@1+full,serde@1+derive,itoa`).
    #[arg(
        long,
        value_name = "LIST",
        requires = "builder",
        help_heading = "Builder image"
    )]
    pub crates: Option<String>,
    /// Which units to prewarm: dev (cargo build, test, nextest), release (cargo build
    /// --release), check (cargo check, clippy); comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "KINDS",
        requires = "builder",
        help_heading = "Builder image"
    )]
    pub warm: Vec<Warm>,
    /// Leave cargo-nextest out (its install compiles for several minutes).
    #[arg(long, requires = "builder", help_heading = "Builder image")]
    pub no_nextest: bool,
    /// The cargo-nextest version to install.
    #[arg(
        long,
        value_name = "VERSION",
        requires = "builder",
        conflicts_with = "no_nextest",
        help_heading = "Builder image"
    )]
    pub nextest_version: Option<String>,
    /// Pin the prewarmed versions with this Cargo.lock (a path in the build context), e.g. a
    /// project's own; without it the image takes the newest compatible versions when built.
    #[arg(
        long,
        value_name = "PATH",
        requires = "builder",
        help_heading = "Builder image"
    )]
    pub lockfile: Option<String>,
}

impl BuilderArgs {
    /// The builder's options, with the base image resolved by `prewarm image`.
    pub fn options(&self, base_image: String) -> Result<Options> {
        let source = match (&self.crates, self.preset) {
            (Some(list), _) => Source::Crates(builder::parse_crates(list)?),
            (None, preset) => Source::Preset(preset.unwrap_or(Preset::Web)),
        };
        let mut warm = if self.warm.is_empty() {
            Options::default().warm
        } else {
            self.warm.clone()
        };
        warm.sort();
        warm.dedup();
        let nextest = if self.no_nextest {
            None
        } else {
            Some(
                self.nextest_version
                    .clone()
                    .unwrap_or_else(|| builder::DEFAULT_NEXTEST_VERSION.to_string()),
            )
        };
        Ok(Options {
            source,
            base_image,
            warm,
            nextest,
            lockfile: self.lockfile.clone(),
        })
    }
}

/// Runs `prewarm image --builder`: `output` is `--output` (`-` for standard output).
pub fn run(
    args: &BuilderArgs,
    base_image: Option<&str>,
    rust_version: Option<&str>,
    output: Option<&Path>,
    force: bool,
) -> Result<()> {
    let base_image = match (base_image, rust_version) {
        (Some(image), _) => image.to_string(),
        (None, Some(v)) => {
            crate::dockerfile::check::rust_release(v, "`--rust-version`")?;
            crate::defaults::rust_image(v)
        }
        (None, None) => builder::DEFAULT_BASE_IMAGE.to_string(),
    };
    // The values are checked, naming their flags, as the Dockerfile is rendered.
    let opts = args.options(base_image)?;
    let text = builder::render(&opts)?;
    let path = output.map_or_else(
        || PathBuf::from(builder::CHECKED_IN_PATH),
        Path::to_path_buf,
    );
    if path.as_os_str() == "-" {
        return crate::output::write(&text);
    }
    crate::fs::write_output(
        &path,
        &text,
        |old| {
            String::from_utf8_lossy(old)
                .lines()
                .take(3)
                .any(|l| l.contains(builder::MARKER))
        },
        "a builder Dockerfile written by prewarm",
        force,
    )?;
    crate::status!(
        "wrote `{}`; build it with\n    docker build -t rust-builder -f {} .",
        path.display(),
        path.display()
    );
    Ok(())
}

//! The options of `prewarm image` (clap's derive), and the canonical command line that writes
//! the same file, for the Dockerfile's header.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::runtime::RuntimeArgs;
use crate::dockerfile::{self, Linker};
use crate::error::Result;
use crate::flags::BuildFlags;

/// The layout root inside the image when `--workdir` is not given.
pub const DEFAULT_WORKDIR: &str = "/app";

/// The image prewarm itself is copied from, unless `--prewarm-image` says otherwise: the one
/// published for this very version.
pub fn default_prewarm_image() -> String {
    format!("ghcr.io/prewarm-rs/prewarm:{}", env!("CARGO_PKG_VERSION"))
}

/// Write a project's multi-stage Dockerfile (planner, cook, build and runtime stages).
///
/// The planner stage writes the recipe, the cook stage builds only the dependencies into a
/// layer of their own, which stays cached for as long as the recipe does, the build stage
/// compiles the workspace's crates with the very same cargo flags, and a slim runtime stage
/// runs the binary as an unprivileged user. Downloads, and the incremental state of debug
/// builds, live in `BuildKit` cache mounts; credentials come in as secrets, never in a layer.
///
/// The Rust version comes from the workspace's rust-toolchain file, else `--rust-version`. A
/// `.dockerignore` is written next to the build context when there is none, leaving out build
/// output, version control data and secrets (cargo credentials, .env files, keys); prewarm
/// warns when an existing one lets cargo credentials into the context. When path
/// dependencies live outside the workspace root, the build context is the directory that holds
/// them all; prewarm prints the exact build command. The file uses no heredoc, no `COPY --link`
/// and no `RUN --network`, so Docker, Podman and Buildah all build it.
///
/// Example, in the workspace root:
///
///     prewarm image --release --bin my-service
///     docker build -t my-service .
#[derive(Debug, Clone, Args)]
#[command(verbatim_doc_comment)]
#[allow(clippy::struct_excessive_bools)] // reason: one switch per user-facing option
pub struct ImageArgs {
    /// Path to Cargo.toml (of the workspace or any member).
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// Where to write the Dockerfile (`-` for standard output) [default: `Dockerfile` in the
    /// workspace root].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing Dockerfile that prewarm did not write.
    #[arg(long)]
    pub force: bool,
    /// How to report what was written: lines on stderr (human), or a JSON summary on stdout
    /// with the stages and the build commands (schema: docs/image-summary-schema.json).
    #[arg(long, value_enum, default_value = "human", value_name = "FORMAT")]
    pub format: crate::output::Format,
    /// Rust version of the base image (the help, in `help`, names the default).
    #[arg(
        long,
        value_name = "X.Y[.Z]",
        help_heading = "Image",
        help = concat!(
            "Rust version of the base image, when the workspace has no rust-toolchain file naming one [default: ",
            crate::defaults::rust_version!(),
            "]"
        )
    )]
    pub rust_version: Option<String>,
    /// The Rust image of the build stages (the help, in `help`, names the default).
    #[arg(
        help = concat!(
            "The Rust image of the build stages [default: rust:<version>-",
            crate::defaults::debian_release!(),
            "]"
        ),
        long,
        value_name = "IMAGE",
        conflicts_with = "rust_version",
        help_heading = "Image"
    )]
    pub base_image: Option<String>,
    /// Build FROM a rust-builder image (`prewarm image --builder`) and into the target
    /// directory that holds its prewarmed units: its `io.prewarm.target-dir` label, read
    /// from a local engine, else the builder's own /opt/prewarm/target. The Dockerfile names
    /// it in `ARG BUILDER_IMAGE`, so CI can pass the digest it just built.
    #[arg(
        long,
        value_name = "IMAGE",
        conflicts_with_all = ["rust_version", "base_image"],
        help_heading = "Image"
    )]
    pub builder_image: Option<String>,
    /// Debian packages the build stages install (repeatable; e.g. libssl-dev).
    #[arg(long, value_name = "PACKAGE", help_heading = "Image")]
    pub apt: Vec<String>,
    /// The linker: the toolchain's default, mold or LLVM's lld (installed from Debian).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "LINKER",
        help_heading = "Image"
    )]
    pub linker: Linker,
    /// An environment variable of every build stage (repeatable), set once in the base stage
    /// so that the cook and the build see the same value, e.g. `SQLX_OFFLINE=true`.
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Image")]
    pub env: Vec<String>,
    /// A build argument of the cook and build stages (repeatable), given to the build with
    /// `--build-arg NAME=VALUE`; DEFAULT when it is not.
    #[arg(long, value_name = "NAME[=DEFAULT]", help_heading = "Image")]
    pub build_arg: Vec<String>,
    /// For a `--target` of another architecture, install Debian's cross C toolchain for it and
    /// link with it (e.g. gcc-aarch64-linux-gnu).
    #[arg(long, help_heading = "Image")]
    pub cross: bool,
    /// Compile through sccache: its cache in a cache mount of the builder (`local`, the
    /// default), or shared by every runner in a remote backend whose endpoint and credentials
    /// come in as the `BuildKit` secret `sccache-env` (an environment file).
    #[arg(
        long,
        value_enum,
        value_name = "BACKEND",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "local",
        help_heading = "Image"
    )]
    pub sccache: Option<crate::dockerfile::sccache::Backend>,
    /// For ephemeral CI runners that share only a registry cache: keep the crate sources in
    /// the cook layer rather than in cache mounts, so that a runner that gets the cooked layer
    /// from the registry downloads no crate again (see the README's "CI fleets").
    #[arg(long, help_heading = "Image")]
    pub ci: bool,
    /// Keep the workspace crates' incremental state in a cache mount, and turn incremental
    /// compilation on for release-like profiles (faster rebuilds after an edit; the binary may
    /// run a little slower). Debug builds always keep it.
    #[arg(long, help_heading = "Image")]
    pub incremental: bool,
    /// The directory the sources go to inside the image.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_WORKDIR, help_heading = "Image")]
    pub workdir: String,
    /// Where the Dockerfile gets prewarm itself: its published image (`COPY --from`), crates.io
    /// (`cargo install` in the base stage, a cached layer), or the build context (a prewarm
    /// binary or a prewarm source checkout given by `--prewarm-path`; for air-gapped builds).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "WHERE",
        help_heading = "Image"
    )]
    pub prewarm_from: PrewarmFrom,
    /// The image prewarm itself is copied from [default: ghcr.io/prewarm-rs/prewarm:<version>].
    #[arg(long, value_name = "IMAGE", help_heading = "Image")]
    pub prewarm_image: Option<String>,
    /// With `--prewarm-from context`: a prewarm binary (linked for the base image's Debian, or
    /// static), or a prewarm source checkout, relative to the workspace root.
    #[arg(long, value_name = "PATH", help_heading = "Image")]
    pub prewarm_path: Option<String>,
    /// Give cargo a private registry's credentials through the `BuildKit` secret
    /// `cargo-credentials` (a credentials.toml), never through a layer or a build argument.
    #[arg(long, help_heading = "Image")]
    pub cargo_credentials: bool,
    /// Give git dependencies credentials through the `BuildKit` secret `git-credentials` (a
    /// git-credential-store file); cargo then fetches with the git command line.
    #[arg(long, help_heading = "Image")]
    pub git_credentials: bool,
    /// Leave out the `# syntax=docker/dockerfile:1` line (for builders that cannot pull it).
    #[arg(long, help_heading = "Image")]
    pub no_syntax: bool,
    /// The runtime stage and what goes into it.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// The cargo flags of the cook and the build (always with `--locked`).
    #[command(flatten)]
    pub flags: BuildFlags,
    /// The shared rust-builder image (`--builder`) and its options.
    #[command(flatten)]
    pub builder: crate::builder::args::BuilderArgs,
    /// tiers (issue 11): the tier stages' options.
    #[command(flatten)]
    pub tiers: TierArgs,
    /// Cook the recipe of the external dependencies alone (`prewarm deps`, in a stage of its
    /// own), so that an edit of the workspace's own wiring (a path dependency between members,
    /// a new member on crates already built, a renamed crate) keeps the cooked layer (off: cook
    /// the full recipe).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "WHEN",
        help_heading = "Image"
    )]
    pub deps_stage: DepsStage,
}

/// Whether `prewarm image` writes the deps stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DepsStage {
    /// A deps stage; it falls back to the full recipe by itself where the dependencies cannot
    /// be separated.
    #[default]
    On,
    /// The cook reads the full recipe.
    Off,
}

/// Where the generated Dockerfile gets prewarm itself (`--prewarm-from`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PrewarmFrom {
    /// The published prewarm image, its tag this prewarm's version (or `--prewarm-image`).
    #[default]
    Image,
    /// `cargo install prewarm --locked --version =<this version>` in the base stage.
    Crates,
    /// A prewarm binary or source checkout in the build context (`--prewarm-path`).
    Context,
}

/// tiers (issue 11): `--tiers` and `--max-tiers`.
#[derive(Debug, Clone, Args)]
pub struct TierArgs {
    /// Build the workspace's own crates in tiers, one layer each in the order of their local
    /// dependencies, so that an edit recompiles only its crate's tier and the later ones (auto:
    /// when the build compiles at least two local crates).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "WHEN",
        help_heading = "Image"
    )]
    pub tiers: crate::tiers::TiersMode,
    /// At most this many tier stages (the smallest adjacent tiers are merged).
    #[arg(long, value_name = "N", default_value_t = crate::tiers::DEFAULT_MAX_TIERS, help_heading = "Image")]
    pub max_tiers: usize,
}

impl TierArgs {
    /// The tier stages for a build with `flags` (`target_dir` as cargo config or `--target-dir`
    /// set it, relative to the workspace, whose directory in the image is `workspace_in_image`).
    pub(super) fn stages(
        &self,
        input: crate::tiers::Input<'_>,
        flags: &BuildFlags,
        target_dir: &str,
        workspace_in_image: &str,
    ) -> Result<Option<dockerfile::tiers::TierStages>> {
        let target_in_image = if Path::new(target_dir).is_absolute() {
            target_dir.to_string()
        } else {
            format!("{workspace_in_image}/{target_dir}")
        };
        crate::tiers::image_stages(input, flags, self.tiers, self.max_tiers, &target_in_image)
    }
}

/// The canonical command line that writes the same file (for the header).
pub fn invocation(args: &ImageArgs) -> String {
    let mut w: Vec<String> = vec!["prewarm".into(), "image".into()];
    w.extend(args.flags.to_args());
    for (name, v) in [
        ("rust-version", &args.rust_version),
        ("base-image", &args.base_image),
        ("builder-image", &args.builder_image),
    ] {
        if let Some(v) = v {
            w.push(format!("--{name}={v}"));
        }
    }
    for (name, values) in [("env", &args.env), ("build-arg", &args.build_arg)] {
        w.extend(values.iter().map(|v| format!("--{name}={v}")));
    }
    w.extend(args.runtime.invocation());
    let mut apt = args.apt.clone();
    apt.sort();
    for p in &apt {
        w.push(format!("--apt={p}"));
    }
    if args.linker != Linker::Default {
        if let Some(v) = args.linker.to_possible_value() {
            w.push(format!("--linker={}", v.get_name()));
        }
    }
    match args.sccache {
        Some(crate::dockerfile::sccache::Backend::Local) => w.push("--sccache".into()),
        Some(backend) => w.push(format!("--sccache={}", backend.name())),
        None => {}
    }
    for (on, name) in [
        (args.cross, "--cross"),
        (args.ci, "--ci"),
        (args.incremental, "--incremental"),
        (args.cargo_credentials, "--cargo-credentials"),
        (args.git_credentials, "--git-credentials"),
        (args.no_syntax, "--no-syntax"),
    ] {
        if on {
            w.push(name.into());
        }
    }
    // tiers (issue 11)
    if args.tiers.tiers == crate::tiers::TiersMode::Off {
        w.push("--tiers=off".into());
    } else if args.tiers.max_tiers != crate::tiers::DEFAULT_MAX_TIERS {
        w.push(format!("--max-tiers={}", args.tiers.max_tiers));
    }
    if args.deps_stage == DepsStage::Off {
        w.push("--deps-stage=off".into());
    }
    if args.workdir.trim_end_matches('/') != DEFAULT_WORKDIR {
        w.push(format!("--workdir={}", args.workdir));
    }
    if args.prewarm_from != PrewarmFrom::Image {
        if let Some(v) = args.prewarm_from.to_possible_value() {
            w.push(format!("--prewarm-from={}", v.get_name()));
        }
    }
    if let Some(p) = &args.prewarm_path {
        w.push(format!("--prewarm-path={p}"));
    }
    let default_prewarm = default_prewarm_image();
    if let Some(p) = args
        .prewarm_image
        .as_ref()
        .filter(|p| **p != default_prewarm)
    {
        w.push(format!("--prewarm-image={p}"));
    }
    dockerfile::shell_line(&w)
}

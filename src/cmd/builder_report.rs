//! `prewarm builder-report`: how many of a project's external units a builder image holds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::error::{Error, ErrorKind, Result};
use crate::flags::BuildFlags;
use crate::process::Process;

/// Count the external units of a project that a builder image already holds.
///
/// Builds the project in a container of the builder image (one written by `prewarm image
/// --builder`) and counts how many of its external units (crates.io and git dependencies) were
/// fresh. The project is copied into the container (without `target/` and `.git`); nothing is
/// written to it, and the container is removed afterwards.
///
/// It is a real build, so the count is exact: a unit is reused only when its version, features,
/// profile, flags and dependencies all match the prewarmed one. Pass the cargo flags of your
/// real build.
///
/// Example:
///
///     prewarm builder-report --image ghcr.io/acme/rust-builder:main --release --locked
#[derive(Debug, Args)]
pub struct BuilderReportArgs {
    /// The builder image (built from `prewarm image --builder`).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Path to Cargo.toml (of the workspace or any member).
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// The container engine that runs the build.
    #[arg(long, value_enum, default_value_t, value_name = "ENGINE")]
    pub engine: Engine,
    /// Fail (exit code 10) when fewer than this share of the external units is reused, in
    /// percent.
    #[arg(long, value_name = "PERCENT")]
    pub min_reused: Option<u8>,
    /// Report format (json: docs/builder-report-schema.json).
    #[arg(long, value_enum, default_value = "human", value_name = "FORMAT")]
    pub format: crate::output::Format,
    /// The cargo flags of the real build.
    #[command(flatten)]
    pub flags: BuildFlags,
}

/// A container engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// buildah (chroot isolation; the image must be in buildah's local storage).
    #[default]
    Buildah,
    /// docker (the image must be known to the daemon).
    Docker,
}

/// Where the project is mounted (read-only) and where it is copied to inside the container.
const MOUNT: &str = "/prewarm-src";
const COPY: &str = "/tmp/prewarm-project";

/// The shell script that copies the project and builds it with `cargo_args`.
///
/// With chroot isolation (buildah here) a container shares the host's network, so an sccache
/// server left by one container would answer the next one's compiler calls from a file system
/// that is gone: the build gets a port of its own and stops its server when done.
fn script(cargo_args: &[String]) -> String {
    let mut cargo = String::from("cargo build --message-format=json-render-diagnostics");
    for a in cargo_args {
        cargo.push(' ');
        cargo.push_str(&crate::dockerfile::shell_word(a));
    }
    let port = 20_000 + std::process::id() % 20_000;
    format!(
        "set -e; export SCCACHE_SERVER_PORT={port}; mkdir -p {COPY}; \
         tar -C {MOUNT} --exclude=./target --exclude=./.git -cf - . | tar -C {COPY} -xpf -; cd {COPY}; \
         set +e; {cargo}; rc=$?; \
         if command -v sccache >/dev/null; then sccache --stop-server >/dev/null 2>&1; fi; exit $rc"
    )
}

/// What to do when the engine cannot be started.
const ENGINE_HINT: &str =
    "install the engine (on these machines: scripts/engines.sh setup), or pick another with --engine";

/// Runs `cmd`, handing its stdout lines to `on_line`; its stderr goes to ours.
fn run_engine(cmd: &Process, on_line: &mut dyn FnMut(&str)) -> Result<()> {
    let status = cmd
        .stream(on_line, |line| eprintln!("{line}"))
        .map_err(|e| e.with_hint(ENGINE_HINT))?;
    if status.success() {
        Ok(())
    } else {
        Err(cmd.failure(status, ""))
    }
}

/// Builds the workspace at `root` in a container of `image` with `cargo_args` and counts the
/// reused external units.
pub fn measure(engine: Engine, image: &str, root: &Path, cargo_args: &[String]) -> Result<Reuse> {
    let script = script(cargo_args);
    let volume = format!("{}:{MOUNT}:ro", root.display());
    let mut reuse = Reuse::default();
    let mut on_line = |line: &str| {
        if let Some(a) = crate::messages::parse_artifact(line) {
            reuse.add(&a);
        }
    };
    match engine {
        Engine::Buildah => {
            let container = Process::new("buildah")
                .args(["from", "--pull=never", "-q", image])
                .output_checked()
                .map_err(|e| e.with_hint(format!("is `{image}` in buildah's storage (`buildah images`)? Build it with `buildah build -t {image} ...`")))?
                .stdout
                .trim()
                .to_string();
            let result = run_engine(
                &Process::new("buildah").args([
                    "run",
                    "--isolation",
                    "chroot",
                    "-v",
                    &volume,
                    &container,
                    "--",
                    "sh",
                    "-c",
                    &script,
                ]),
                &mut on_line,
            );
            // Best effort: a container left behind is only disk space, and the build's own
            // result is what the user asked for.
            let _ = Process::new("buildah").args(["rm", &container]).output();
            result?;
        }
        Engine::Docker => {
            run_engine(
                &Process::new("docker")
                    .args(["run", "--rm", "-v", &volume, image, "sh", "-c", &script]),
                &mut on_line,
            )?;
        }
    }
    Ok(reuse)
}

/// Runs `prewarm builder-report`.
pub fn run(args: &BuilderReportArgs) -> Result<()> {
    let manifest = crate::metadata::locate_manifest(&args.manifest_path)?;
    let ws = crate::metadata::workspace(&manifest)?;
    let root = crate::fs::canonicalize(&ws.root)?;
    let reuse = measure(args.engine, &args.image, &root, &args.flags.to_args())?;
    match args.format {
        crate::output::Format::Human => crate::outln!("{}", reuse.summary(&args.image))?,
        crate::output::Format::Json => crate::output::json(&reuse.report(&args.image))?,
    }
    if let Some(min) = args.min_reused {
        if reuse.percent() < u32::from(min) {
            return Err(Error::new(
                ErrorKind::ReuseShort,
                format!("the image holds {}% of the external units, less than --min-reused {min}", reuse.percent()),
            )
            .with_hint("rebuild the builder image (newer versions), or add the project's crates and features with --crates or --lockfile"));
        }
    }
    Ok(())
}

/// How many of a build's external units (crates.io and git dependencies) were already built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reuse {
    /// `name target` of each external unit that was fresh.
    pub fresh: Vec<String>,
    /// `name target` of each external unit that was compiled.
    pub compiled: Vec<String>,
}

impl Reuse {
    /// Counts one `compiler-artifact` message; local units are not counted.
    pub fn add(&mut self, artifact: &crate::messages::Artifact) {
        if artifact.local {
            return;
        }
        let name = if artifact.kinds.iter().any(|k| k == "custom-build") {
            format!("{} (build script)", artifact.package)
        } else {
            artifact.package.clone()
        };
        if artifact.fresh {
            self.fresh.push(name);
        } else {
            self.compiled.push(name);
        }
    }

    /// External units in all.
    pub fn total(&self) -> usize {
        self.fresh.len() + self.compiled.len()
    }

    /// The reused share, in whole percent (100 when there is nothing to build).
    pub fn percent(&self) -> u32 {
        if self.total() == 0 {
            return 100;
        }
        u32::try_from(self.fresh.len() * 100 / self.total()).unwrap_or(100)
    }

    /// The JSON report (`--format json`), units sorted.
    pub fn report<'a>(&'a self, image: &'a str) -> ReuseReport<'a> {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        ReuseReport {
            schema: "prewarm-builder-report/1",
            image,
            external_units: self.total(),
            reused: self.fresh.len(),
            percent: self.percent(),
            fresh: sorted(&self.fresh),
            compiled: sorted(&self.compiled),
        }
    }

    /// A report for a person.
    pub fn summary(&self, image: &str) -> String {
        let mut s = format!(
            "prewarm: `{image}` already held {} of the project's {} external units ({}%)",
            self.fresh.len(),
            self.total(),
            self.percent()
        );
        if !self.compiled.is_empty() {
            let mut compiled = self.compiled.clone();
            compiled.sort();
            let _ = write!(s, "\ncompiled: {}", compiled.join(", "));
        }
        s
    }
}

/// `prewarm builder-report --format json`.
#[derive(Debug, serde::Serialize)]
pub struct ReuseReport<'a> {
    /// `prewarm-builder-report/1`.
    pub schema: &'static str,
    /// The builder image measured.
    pub image: &'a str,
    /// The project's external units.
    pub external_units: usize,
    /// How many of them the image held.
    pub reused: usize,
    /// The reused share, in whole percent.
    pub percent: u32,
    /// The units the image held (`name`, or `name (build script)`).
    pub fresh: Vec<String>,
    /// The units that compiled.
    pub compiled: Vec<String>,
}

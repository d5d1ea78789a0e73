//! `prewarm check`: compare a planned build with what the cook recorded, without compiling.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::cmd::verify::Format;
use crate::error::{Error, ErrorKind, Result};
use crate::flags::{BuildFlags, ModeFlags};
use crate::record::{self, Difference};

/// `prewarm check --help`: what it does, and an example.
pub const LONG_ABOUT: &str = "\
Compare a planned build with the cook's recorded settings, without compiling.

`prewarm cook` records the settings it built with in the target directory (profile, features, \
targets, RUSTFLAGS and linker from the environment and cargo config, the environment variables \
the dependencies' build scripts track, rustc, the working directory). `check` computes the same \
settings for the cargo flags you give it, in the current environment, and names each difference \
before cargo spends minutes recompiling. Exits 0 when nothing that costs reuse differs, 11 when \
something does. The record holds no environment value (it lies in the cooked image layer): each \
one, and each `[env]` value of cargo config, is kept and compared as its sha256, and shown as \
`sha256:` and the digest's first 12 digits.

Example, in a Dockerfile build stage right before the real build:

    prewarm check --release --locked && cargo build --release --locked";

/// The arguments of `prewarm check` (see [`LONG_ABOUT`]).
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Path to Cargo.toml (of the workspace or any member).
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Which cargo command the build will run.
    #[command(flatten)]
    pub mode: ModeFlags,
    /// The cargo flags of the planned build.
    #[command(flatten)]
    pub flags: BuildFlags,
    /// Extra arguments the build passes to cargo.
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub extra: Vec<String>,
}

/// The JSON result of `prewarm check`.
#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    schema: &'static str,
    record: String,
    recipe_digest: &'a str,
    cooked_at: u64,
    differences: &'a [Difference],
    drift: bool,
}

/// Runs `prewarm check`.
pub fn run(args: &CheckArgs) -> Result<()> {
    let manifest = if args.manifest_path.is_dir() {
        args.manifest_path.join("Cargo.toml")
    } else {
        args.manifest_path.clone()
    };
    if !manifest.is_file() {
        return Err(
            Error::input(format!("no manifest at `{}`", manifest.display()))
                .with_hint("run prewarm in a directory with a Cargo.toml, or pass --manifest-path"),
        );
    }
    let ws = crate::metadata::workspace(&manifest)?;
    let target_dirs = crate::cook::target_dirs(&ws.root, &args.flags)?;
    let mut found = None;
    for dir in &target_dirs {
        if let Some(records) = record::load(dir)? {
            found = Some((dir.clone(), records));
            break;
        }
    }
    let Some((dir, records)) = found else {
        let where_ = target_dirs
            .first()
            .map_or_else(|| ws.root.join("target"), Clone::clone);
        return Err(Error::input(format!(
            "no cook record at `{}`",
            record::path_in(&where_).display()
        ))
        .with_hint("run `prewarm cook` with this target directory first (check compares a build against what the cook recorded)"));
    };
    let env = record::process_env();
    let planned = record::capture(&ws.root, args.mode.mode(), &args.flags, &args.extra, &env)?;
    let (rec, diffs) = record::nearest(&records, &planned, &env).ok_or_else(|| {
        Error::input(format!(
            "`{}` holds no records",
            record::path_in(&dir).display()
        ))
        .with_hint("run `prewarm cook` again")
    })?;
    let costly: Vec<&Difference> = diffs.iter().filter(|d| !d.harmless).collect();
    match args.format {
        Format::Json => {
            let report = CheckReport {
                schema: "prewarm-check/1",
                record: record::path_in(&dir).display().to_string(),
                recipe_digest: &rec.recipe_digest,
                cooked_at: rec.cooked_at,
                differences: &diffs,
                drift: !costly.is_empty(),
            };
            crate::outln!("{}", crate::verify::to_json(&report)?)?;
        }
        Format::Human => {
            if costly.is_empty() {
                crate::outln!(
                    "prewarm check: the planned build matches the cook recorded in `{}`",
                    record::path_in(&dir).display()
                )?;
            } else {
                crate::outln!(
                    "prewarm check: {} setting(s) differ from the cook recorded in `{}`:",
                    costly.len(),
                    record::path_in(&dir).display()
                )?;
                for d in &costly {
                    crate::outln!("  {d}")?;
                }
            }
            for d in diffs.iter().filter(|d| d.harmless) {
                crate::outln!(
                    "  note: {} differs (cook `{}`, build `{}`); it does not cost reuse",
                    d.setting,
                    d.cook,
                    d.build
                )?;
            }
        }
    }
    if costly.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = costly.iter().map(|d| d.setting.as_str()).collect();
    Err(Error::new(
        ErrorKind::Drift,
        format!(
            "the planned build differs from the cook in: {}",
            names.join(", ")
        ),
    )
    .with_hint(format!(
        "{}; otherwise cargo recompiles the dependencies",
        costly[0].category.hint()
    )))
}

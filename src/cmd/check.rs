//! `prewarm check`: compare a planned build with what the cook recorded, without compiling.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::flags::{BuildFlags, CargoArgs};
use crate::output::Format;
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
    /// The cargo command, its flags and pass-through arguments.
    #[command(flatten)]
    pub cargo: CargoArgs,
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
    let manifest = crate::metadata::locate_manifest(&args.manifest_path)?;
    let ws = crate::metadata::workspace(&manifest)?;
    let (dir, records) = find_records(&ws.root, &args.cargo.flags)?;
    let env = record::process_env();
    let planned = record::capture(
        &ws.root,
        args.cargo.mode.mode(),
        &args.cargo.flags,
        &args.cargo.extra,
        &env,
    )?;
    let (rec, diffs) = record::nearest(&records, &planned, &env).ok_or_else(|| {
        Error::input(format!(
            "`{}` holds no records",
            record::path_in(&dir).display()
        ))
        .with_hint("run `prewarm cook` again")
    })?;
    let costly: Vec<&Difference> = diffs.iter().filter(|d| !d.harmless).collect();
    let shown = record::path_in(&dir).display().to_string();
    match args.format {
        Format::Json => {
            let report = CheckReport {
                schema: "prewarm-check/1",
                record: shown,
                recipe_digest: &rec.recipe_digest,
                cooked_at: rec.cooked_at,
                differences: &diffs,
                drift: !costly.is_empty(),
            };
            crate::output::json(&report)?;
        }
        Format::Human => print_human(&shown, &diffs)?,
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

/// The first target directory of a build with `flags` that holds cook records, and its records.
fn find_records(ws_root: &Path, flags: &BuildFlags) -> Result<(PathBuf, record::Records)> {
    let target_dirs = crate::cook::target_dirs(ws_root, flags)?;
    for dir in &target_dirs {
        if let Some(records) = record::load(dir)? {
            return Ok((dir.clone(), records));
        }
    }
    let where_ = target_dirs
        .first()
        .map_or_else(|| ws_root.join("target"), Clone::clone);
    Err(Error::input(format!(
        "no cook record at `{}`",
        record::path_in(&where_).display()
    ))
    .with_hint("run `prewarm cook` with this target directory first (check compares a build against what the cook recorded)"))
}

/// The human report: each costly difference, then the harmless ones as notes.
fn print_human(record: &str, diffs: &[Difference]) -> Result<()> {
    let costly: Vec<&Difference> = diffs.iter().filter(|d| !d.harmless).collect();
    if costly.is_empty() {
        crate::outln!("prewarm check: the planned build matches the cook recorded in `{record}`")?;
    } else {
        crate::outln!(
            "prewarm check: {} setting(s) differ from the cook recorded in `{record}`:",
            costly.len()
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
    Ok(())
}

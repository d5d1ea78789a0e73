//! `prewarm recipe`: write the recipe of a workspace.

use std::path::PathBuf;

use clap::Args;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::output::Format;
use crate::recipe::Recipe;
use crate::secrets::{Kind, Stripped};

/// Write the recipe of a workspace (Docker planner stage)
///
/// The recipe holds the workspace's manifests, lockfile, cargo config and toolchain file,
/// normalised so that edits which cannot change the dependency build (source code, version
/// bumps, metadata fields, new examples and tests, new dependency-free members) leave it
/// byte-identical; Docker then keeps the cooked layer. Path dependencies outside the workspace
/// root are included, laid out relative to the directory that holds them all. Registry tokens,
/// credential settings, the userinfo of URLs and secret-looking `[env]` values never enter it
/// (each one left out is named on stderr). It carries a format version and a sha256 digest.
///
/// Example, in a Docker planner stage:
///
///     prewarm recipe --output recipe.json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RecipeArgs {
    /// Path to Cargo.toml (of the workspace or any member).
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// Where to write the recipe (`-` for standard output).
    #[arg(long, short = 'o', value_name = "FILE", default_value = "recipe.json")]
    pub output: PathBuf,
    /// How to report what was written: a line on stderr (human), or a JSON summary on stdout
    /// (schema: docs/recipe-summary-schema.json).
    #[arg(long, value_enum, default_value = "human", value_name = "FORMAT")]
    pub format: Format,
    /// Print only the recipe's digest (`sha256:...`); write nothing.
    #[arg(long)]
    pub digest: bool,
    /// Overwrite the output file even if it is not a prewarm recipe.
    #[arg(long)]
    pub force: bool,
}

/// The JSON summary of `prewarm recipe --format json`.
#[derive(Serialize)]
struct Summary<'a> {
    schema: &'static str,
    /// The file written.
    output: String,
    digest: &'a str,
    packages: usize,
    files: usize,
    /// Each credential left out (file and key, never the value).
    stripped: &'a [Stripped],
}

/// Runs `prewarm recipe`.
pub fn run(args: &RecipeArgs) -> Result<()> {
    let json = args.format == Format::Json;
    if json && (args.digest || args.output.as_os_str() == "-") {
        return Err(Error::input(
            "--format json prints a summary of the recipe written to a file; it cannot go with --digest or --output -",
        )
        .with_hint("drop --format json, or name an output file"));
    }
    let planned = crate::plan::plan(&args.manifest_path)?;
    if !json {
        report_stripped(&planned.stripped);
    }
    let recipe = &planned.recipe;
    if args.digest {
        crate::outln!("{}", recipe.digest)?;
        return Ok(());
    }
    let text = recipe.to_json();
    if args.output.as_os_str() == "-" {
        return crate::output::write(&text);
    }
    crate::fs::write_output(
        &args.output,
        text,
        Recipe::looks_like,
        "a prewarm recipe",
        args.force,
    )?;
    if json {
        return crate::output::json(&Summary {
            schema: "prewarm-recipe-summary/1",
            output: args.output.display().to_string(),
            digest: &recipe.digest,
            packages: recipe.packages.len(),
            files: recipe.files.len(),
            stripped: &planned.stripped,
        });
    }
    crate::status!(
        "wrote `{}` ({}, {} packages, {} files)",
        args.output.display(),
        recipe.digest,
        recipe.packages.len(),
        recipe.files.len()
    );
    Ok(())
}

/// One line on stderr for each credential left out of the recipe (file and key, never the
/// value), and what it means for reuse when a source URL lost its userinfo.
fn report_stripped(stripped: &[Stripped]) {
    for s in stripped {
        crate::status!("{s}");
    }
    if stripped.iter().any(|s| s.kind == Kind::SourceUserinfo) {
        crate::status!(
            "note: cargo identifies a source by its whole URL, userinfo included: packages the real build fetches from a URL that keeps its userinfo are another source than the cooked ones, and compile again; write such URLs without userinfo and give the credentials to cargo or git another way (`prewarm image --cargo-credentials`, `--git-credentials`)"
        );
    }
}

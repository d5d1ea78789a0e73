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
/// With `--bin`, it holds only what those binaries need: members they do not depend on (even
/// through dev-dependencies) leave it, and so do the lockfile entries only those reach.
///
/// Example, in a Docker planner stage:
///
///     prewarm recipe --output recipe.json
///     prewarm recipe --bin api --output recipe.json
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
    /// Only what this binary needs (repeatable): the members outside the local dependency
    /// closure of the binaries' packages are left out, and Cargo.lock is narrowed to what the
    /// rest reaches (cargo resolves it), so editing an unrelated member keeps the recipe. Cook
    /// and build with `-p PACKAGE --bin NAME` (the line it prints says which).
    #[arg(long, value_name = "NAME")]
    pub bin: Vec<String>,
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
    let planned = crate::plan::plan_for(&args.manifest_path, &args.bin)?;
    if !json {
        report_stripped(&planned.stripped);
        report_narrowed(&planned.recipe, &args.bin);
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

/// How to cook and build a recipe narrowed to binaries: with their packages selected, because
/// `cargo build --bin NAME` alone unifies features across every member of the real workspace,
/// the ones the recipe left out included.
fn report_narrowed(recipe: &Recipe, bins: &[String]) {
    if bins.is_empty() {
        return;
    }
    let mut flags: Vec<String> = Vec::new();
    for bin in bins {
        for pkg in recipe.packages.values().filter(|p| {
            p.member
                && p.targets
                    .iter()
                    .any(|t| t.kind == crate::recipe::DummyKind::Bin && &t.name == bin)
        }) {
            let p = format!("-p {}", pkg.name);
            if !flags.contains(&p) {
                flags.push(p);
            }
        }
    }
    flags.extend(bins.iter().map(|b| format!("--bin {b}")));
    crate::status!(
        "narrowed to what {} need{}: cook and build with `{}` (without `-p`, cargo unifies features across every member, the ones left out included)",
        bins.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join(", "),
        if bins.len() == 1 { "s" } else { "" },
        flags.join(" ")
    );
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

//! `prewarm deps`: write the recipe of a build's external dependencies alone.

use std::path::PathBuf;

use clap::Args;

use crate::error::Result;
use crate::flags::CargoArgs;
use crate::recipe::Recipe;

/// Write the recipe of a build's external dependencies alone, for `prewarm cook`
///
/// Reads the recipe written by `prewarm recipe` and asks cargo which external units the build
/// with these flags compiles (its unit graph; nothing is compiled, crates are downloaded as
/// for any build). Writes a dependency recipe: one synthetic package that depends on each of
/// them with exactly its resolved features, the workspace's profiles, cargo config and
/// toolchain file, and the lockfile's external entries. `prewarm cook` cooks it like a recipe.
/// Edits of the workspace's own wiring that leave the external units as they were (a path
/// dependency between members, a new member using crates already built with the same
/// features, a renamed crate) leave it byte-identical, so the cooked layer stays cached. It is
/// checked: the synthetic workspace must plan the very same external units as the build. When
/// the dependencies cannot be separated (a `[patch]`, a git dependency, arguments after `--`,
/// a check that fails), the full recipe is written instead and the reason is printed.
///
/// Example, between the planner and the cook (the same flags as the cook and the build):
///
///     prewarm deps --recipe /recipe.json --output /deps.json --release --locked --bin app
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DepsArgs {
    /// The recipe written by `prewarm recipe`.
    #[arg(long, value_name = "FILE", default_value = "recipe.json")]
    pub recipe: PathBuf,
    /// Where to write the dependency recipe (`-` for standard output).
    #[arg(long, short = 'o', value_name = "FILE", default_value = "deps.json")]
    pub output: PathBuf,
    /// Overwrite the output file even if it is not a prewarm recipe.
    #[arg(long)]
    pub force: bool,
    /// The cargo command, its flags and pass-through arguments (the build's).
    #[command(flatten)]
    pub cargo: CargoArgs,
}

/// Runs `prewarm deps`.
pub fn run(args: &DepsArgs) -> Result<()> {
    let text = crate::fs::read_to_string(&args.recipe)
        .map_err(|e| e.with_hint("pass the recipe written by `prewarm recipe` with --recipe"))?;
    let recipe = Recipe::from_json(&text, &args.recipe)?;
    let cargo = &args.cargo;
    let separated = crate::deps::separate(&recipe, cargo.mode.mode(), &cargo.flags, &cargo.extra)?;
    let out = &separated.recipe;
    let json = out.to_json();
    if args.output.as_os_str() == "-" {
        crate::output::write(&json)?;
    } else {
        crate::fs::write_output(
            &args.output,
            json,
            Recipe::looks_like,
            "a prewarm recipe",
            args.force,
        )?;
    }
    match &separated.whole {
        Some(why) => crate::status!(
            "wrote `{}` ({}): the full recipe, because {why}; the cook layer follows every change of it",
            args.output.display(),
            out.digest
        ),
        None => crate::status!(
            "wrote `{}` ({}): {} external units, apart from the workspace's own crates",
            args.output.display(),
            out.digest,
            separated.units
        ),
    }
    Ok(())
}

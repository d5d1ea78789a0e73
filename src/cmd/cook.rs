//! `prewarm cook`: build a recipe's dependencies.

use std::path::PathBuf;

use clap::Args;

use crate::error::Result;
use crate::flags::CargoArgs;
use crate::recipe::Recipe;

/// Build a recipe's dependencies only (Docker cook stage)
///
/// Lays out the skeleton of a recipe with dummy sources in the current directory (or --dir),
/// builds only the dependencies with the cargo flags the real build will use, then removes
/// every artifact and fingerprint of the workspace's own crates and the dummy sources, so the
/// real build always compiles the real code. Copy the real sources over the directory and run
/// the real build, with the same flags, where cook says.
///
/// Example, in a Docker cook stage (then `COPY . .` and `cargo build --release --locked`):
///
///     prewarm cook --recipe recipe.json --release --locked
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CookArgs {
    /// The recipe written by `prewarm recipe`.
    #[arg(long, value_name = "FILE", default_value = "recipe.json")]
    pub recipe: PathBuf,
    /// Directory to lay the skeleton out in.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Cook even if the directory holds files that are not part of a skeleton (files at
    /// skeleton paths are overwritten).
    #[arg(long)]
    pub force: bool,
    /// The cargo command, its flags and pass-through arguments.
    #[command(flatten)]
    pub cargo: CargoArgs,
}

/// Runs `prewarm cook`.
pub fn run(args: &CookArgs) -> Result<()> {
    let text = crate::fs::read_to_string(&args.recipe).map_err(|e| {
        e.with_hint(
            "write one with `prewarm recipe` (in a Docker planner stage) and pass it with --recipe",
        )
    })?;
    let recipe = Recipe::from_json(&text, &args.recipe)?;
    let opts = crate::cook::Options {
        dir: args.dir.clone(),
        recipe_path: Some(args.recipe.clone()),
        force: args.force,
        mode: args.cargo.mode.mode(),
        flags: args.cargo.flags.clone(),
        extra: args.cargo.extra.clone(),
        quiet: crate::output::quiet(),
    };
    crate::cook::cook(&recipe, &opts)?;
    Ok(())
}

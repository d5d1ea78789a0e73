//! `prewarm tier`: build one tier of a tiered Dockerfile.

use std::path::PathBuf;

use clap::Args;

use crate::error::Result;
use crate::flags::CargoArgs;
use crate::recipe::Recipe;

/// Build one tier of local crates (a tier stage of `prewarm image`)
///
/// Runs in a tier stage, after the cook, once the real sources of the kept crates (this tier's
/// and every earlier tier's) and every real manifest and the lockfile are in place. Every other
/// local crate of the recipe becomes a dummy for the length of one cargo build with the final
/// build's very flags (so every kept crate gets the features the final build resolves); then
/// the dummies' artifacts and fingerprints are removed, as the cook removes local ones, and
/// their real manifests put back. A kept crate that reads a file outside the kept crates'
/// directories is refused: that file may be a dummy's.
///
/// Example, in a tier stage of a Dockerfile (the same flags as the final build):
///
///     prewarm tier --recipe /recipe.json --keep core --keep codec --release --locked --bin app
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct TierArgs {
    /// The recipe written by `prewarm recipe` (the one the cook cooked).
    #[arg(long, value_name = "FILE", default_value = "recipe.json")]
    pub recipe: PathBuf,
    /// The layout root the recipe's paths start from.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// A local package whose real sources are in place (repeatable): this tier's and every
    /// earlier tier's.
    #[arg(long, value_name = "PACKAGE", required = true)]
    pub keep: Vec<String>,
    /// The cargo command, its flags and pass-through arguments.
    #[command(flatten)]
    pub cargo: CargoArgs,
}

/// Runs `prewarm tier`.
pub fn run(args: &TierArgs) -> Result<()> {
    let text = crate::fs::read_to_string(&args.recipe).map_err(|e| {
        e.with_hint("the tier stages read the recipe the cook stage copied from the planner; pass it with --recipe")
    })?;
    let recipe = Recipe::from_json(&text, &args.recipe)?;
    let opts = crate::tier_build::Options {
        dir: args.dir.clone(),
        keep: args.keep.clone(),
        mode: args.cargo.mode.mode(),
        flags: args.cargo.flags.clone(),
        extra: args.cargo.extra.clone(),
        quiet: crate::output::quiet(),
    };
    crate::tier_build::build(&recipe, &opts)?;
    Ok(())
}

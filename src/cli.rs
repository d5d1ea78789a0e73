//! The command line: one subcommand per verb.

use clap::{Parser, Subcommand};

use crate::cmd;

/// Build a Rust project's dependencies once, in their own cached container layer, and prove
/// that the real build reuses them.
#[derive(Debug, Parser)]
#[command(
    name = "prewarm",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Docker: `prewarm image` writes the planner/cook/build Dockerfile.\nLocally: `prewarm verify --release` proves the cooked dependencies are reused.\nSee `prewarm help <command>` for each verb."
)]
pub struct Cli {
    /// The verb to run.
    #[command(subcommand)]
    pub command: Command,
}

/// prewarm's verbs.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // reason: parsed once per process; boxing buys nothing
pub enum Command {
    #[allow(missing_docs)] // reason: `RecipeArgs` carries the help (summary, paragraph, example)
    Recipe(cmd::recipe::RecipeArgs),
    #[allow(missing_docs)] // reason: `CookArgs` carries the help (summary, paragraph, example)
    Cook(cmd::cook::CookArgs),
    /// Prove that the real build reuses the cooked dependencies, and say why any rebuilt.
    #[command(long_about = cmd::verify::LONG_ABOUT)]
    Verify(cmd::verify::VerifyArgs),
    /// Compare a planned build with the cook's recorded settings, without compiling.
    #[command(long_about = cmd::check::LONG_ABOUT)]
    Check(cmd::check::CheckArgs),
    #[allow(missing_docs)] // reason: the help of `ImageArgs` is used (summary, example)
    Image(cmd::image::ImageArgs),
    #[allow(missing_docs)] // reason: `BuilderReportArgs` carries the help (summary, example)
    BuilderReport(cmd::builder_report::BuilderReportArgs),
    /// Write CI workflows that build the images with a layered cache, and clean the cache.
    #[command(subcommand)]
    Ci(cmd::ci::CiCommand),
}

/// Runs the parsed command line.
pub fn run(cli: &Cli) -> crate::Result<()> {
    match &cli.command {
        Command::Recipe(args) => cmd::recipe::run(args),
        Command::Cook(args) => cmd::cook::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Image(args) => cmd::image::run(args),
        Command::BuilderReport(args) => cmd::builder_report::run(args),
        Command::Ci(command) => cmd::ci::run(command),
    }
}

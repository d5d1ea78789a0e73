//! The command line: one subcommand per verb.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Flags every verb takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The verb to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The flags every verb takes, before or after its name.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GlobalArgs {
    /// Print errors only: no progress, notes or cargo output.
    #[arg(
        long,
        short = 'q',
        global = true,
        conflicts_with = "verbose",
        display_order = 900
    )]
    pub quiet: bool,
    /// Print more: the commands prewarm runs, and the details a report keeps for -v.
    #[arg(long, short = 'v', global = true, display_order = 901)]
    pub verbose: bool,
    /// Colour on standard error.
    #[arg(
        long,
        value_enum,
        global = true,
        display_order = 902,
        value_name = "WHEN",
        default_value_t,
        help = "Colour on standard error (auto: on a terminal, unless NO_COLOR or CARGO_TERM_COLOR say otherwise)",
        hide_possible_values = true
    )]
    pub color: crate::output::ColorChoice,
}

impl GlobalArgs {
    /// The UI these flags ask for in this process's environment.
    pub fn ui(&self) -> crate::output::Ui {
        use std::io::IsTerminal;
        let env = |k: &str| std::env::var(k).ok();
        crate::output::Ui {
            verbosity: if self.quiet {
                crate::output::Verbosity::Quiet
            } else if self.verbose {
                crate::output::Verbosity::Verbose
            } else {
                crate::output::Verbosity::Normal
            },
            color: self.color.resolve(
                env("NO_COLOR").as_deref(),
                env("CARGO_TERM_COLOR").as_deref(),
                std::io::stderr().is_terminal(),
            ),
        }
    }
}

/// prewarm's verbs.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // reason: parsed once per process; boxing buys nothing
pub enum Command {
    #[allow(missing_docs)] // reason: `RecipeArgs` carries the help (summary, paragraph, example)
    Recipe(cmd::recipe::RecipeArgs),
    #[allow(missing_docs)] // reason: `CookArgs` carries the help (summary, paragraph, example)
    Cook(cmd::cook::CookArgs),
    #[allow(missing_docs)] // reason: `DepsArgs` carries the help (summary, paragraph, example)
    Deps(cmd::deps::DepsArgs),
    /// Prove that the real build reuses the cooked dependencies, and say why any rebuilt.
    #[command(long_about = cmd::verify::LONG_ABOUT)]
    Verify(cmd::verify::VerifyArgs),
    /// Compare a planned build with the cook's recorded settings, without compiling.
    #[command(long_about = cmd::check::LONG_ABOUT)]
    Check(cmd::check::CheckArgs),
    // tiers (issue 11): the verb of a tier stage.
    #[allow(missing_docs)] // reason: `TierArgs` carries the help (summary, paragraph, example)
    Tier(cmd::tier::TierArgs),
    #[allow(missing_docs)] // reason: the help of `ImageArgs` is used (summary, example)
    Image(cmd::image::ImageArgs),
    #[allow(missing_docs)] // reason: `BuilderReportArgs` carries the help (summary, example)
    BuilderReport(cmd::builder_report::BuilderReportArgs),
    #[allow(missing_docs)] // reason: `ReportArgs` carries the help (summary, paragraph, example)
    Report(cmd::report::ReportArgs),
    /// Write CI workflows with a layered cache, and self-hosted runners on Kubernetes.
    #[command(subcommand)]
    Ci(cmd::ci::CiCommand),
}

/// The whole program, for both binaries: parses the command line (`prewarm VERB ...`, or
/// `cargo prewarm VERB ...`, which cargo runs as `cargo-prewarm prewarm VERB ...`), runs the
/// verb, prints an error as a person reads it and exits with the error's code.
pub fn main() -> ! {
    let cli = parse(std::env::args_os());
    crate::output::init(cli.global.ui());
    match run(&cli) {
        Ok(()) => std::process::exit(0),
        Err(err) => {
            eprintln!("{} {err}", crate::output::paint("error:", "31"));
            std::process::exit(err.kind().exit_code());
        }
    }
}

/// Parses `args` (the program name first); exits with clap's message on a usage error.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Cli {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let as_cargo_subcommand = args.first().is_some_and(|a| {
        std::path::Path::new(a)
            .file_stem()
            .is_some_and(|n| n == "cargo-prewarm")
    }) && args.get(1).is_some_and(|a| a == "prewarm");
    if !as_cargo_subcommand {
        return Cli::parse_from(args);
    }
    args.remove(1);
    let matches = Cli::command()
        .bin_name("cargo prewarm")
        .get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Runs the parsed command line.
pub fn run(cli: &Cli) -> crate::Result<()> {
    match &cli.command {
        Command::Recipe(args) => cmd::recipe::run(args),
        Command::Cook(args) => cmd::cook::run(args),
        Command::Deps(args) => cmd::deps::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Tier(args) => cmd::tier::run(args),
        Command::Image(args) => cmd::image::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::BuilderReport(args) => cmd::builder_report::run(args),
        Command::Ci(command) => cmd::ci::run(command),
    }
}

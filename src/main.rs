//! The `prewarm` binary: parse the command line, run, print the error and set the exit code.

use clap::Parser;

fn main() {
    let cli = prewarm::Cli::parse();
    if let Err(err) = prewarm::run(&cli) {
        eprintln!("error: {err}");
        std::process::exit(err.kind().exit_code());
    }
}

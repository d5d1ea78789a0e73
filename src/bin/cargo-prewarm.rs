//! `cargo prewarm ...`: cargo runs this binary as `cargo-prewarm prewarm ...`; it is the
//! `prewarm` binary under cargo's name for a subcommand.

fn main() {
    prewarm::cli::main();
}

//! The `prewarm` binary: everything happens in [`prewarm::cli::main`].

fn main() {
    prewarm::cli::main();
}

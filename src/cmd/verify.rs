//! `prewarm verify`: prove that the real build reuses the cooked dependencies, and say why
//! each one that rebuilt did.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Parser};

use crate::error::{Error, Result};
use crate::flags::CargoArgs;
use crate::output::Format;
use crate::verify::{self, Options, Progress, Side};

/// `prewarm verify --help`: what it does, and examples.
pub const LONG_ABOUT: &str = "\
Prove that the real build reuses the cooked dependencies, and say why any rebuilt.

Computes the recipe, cooks it in a scratch directory, lays the real sources over the skeleton \
(as `COPY . .` does in a Dockerfile), runs the real build, and reports how many external units \
were reused, how many workspace units compiled, and the time of each phase. Every external unit \
that rebuilt is named with its reason (features, profile, RUSTFLAGS, linker, target, environment \
variable, toolchain, path, modification time), taken from cargo's own fingerprint diagnostics. \
Exits 0 when at least --min-reuse percent were reused, 10 when fewer were, another non-zero code \
on errors.

Examples:

    prewarm verify --release
    prewarm verify --release --build-flags \"--release --features metrics\" --format json
    prewarm verify --build-env RUSTFLAGS=\"-C target-cpu=native\"
    prewarm verify --edits";

/// The arguments of `prewarm verify` (see [`LONG_ABOUT`]).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Path to Cargo.toml (of the workspace or any member).
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// Cook and build in this directory (kept afterwards) instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Cargo flags of the real build, when they differ from the cook's (for example the pair of
    /// commands in your Dockerfile); the report names the difference.
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub build_flags: Option<String>,
    /// An environment variable set for the real build only (KEY=VALUE, repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_env)]
    pub build_env: Vec<(String, String)>,
    /// The share of external units (percent) that must be reused for success.
    #[arg(long, value_name = "PCT", default_value = "100", value_parser = parse_percent)]
    pub min_reuse: f64,
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Probe the recipe instead: apply each dependency-neutral edit (source edit, version bump,
    /// metadata edit, new example, new test, new member) in a scratch copy and report whether
    /// the recipe digest changed. Nothing is built.
    #[arg(long)]
    pub edits: bool,
    /// The cargo command, its flags and pass-through arguments.
    #[command(flatten)]
    pub cargo: CargoArgs,
}

fn parse_env(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn parse_percent(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is not between 0 and 100"))
    }
}

/// The flags of the real build, parsed by the same parser as the cook's.
#[derive(Debug, Parser)]
#[command(
    name = "--build-flags",
    no_binary_name = true,
    disable_help_flag = true
)]
struct BuildSide {
    #[command(flatten)]
    cargo: CargoArgs,
}

/// Splits a flag string like a shell would for simple cases: whitespace separates words,
/// single and double quotes group.
fn split_words(s: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(
            Error::input(format!("--build-flags `{s}` has an unclosed quote"))
                .with_hint("close the quote, or quote the whole value once for your shell"),
        );
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn parse_build_flags(s: &str) -> Result<CargoArgs> {
    let words = split_words(s)?;
    let side = BuildSide::try_parse_from(&words).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
        Error::input(format!("--build-flags `{s}`: {first}"))
            .with_hint("--build-flags takes the cargo flags prewarm cook takes (for example \"--release --features x\")")
    })?;
    Ok(side.cargo)
}

/// Runs `prewarm verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let progress = Progress::detect(crate::output::quiet());
    if args.edits {
        let report = crate::probe::probe_edits(&args.manifest_path, progress)?;
        match args.format {
            Format::Human => crate::output::write(&crate::probe::render_edits(&report))?,
            Format::Json => crate::output::json(&report)?,
        }
        return if report.stable {
            Ok(())
        } else {
            Err(crate::probe::unstable_error(&report))
        };
    }
    let side = |c: &CargoArgs| Side {
        mode: c.mode.mode(),
        flags: c.flags.clone(),
        extra: c.extra.clone(),
        env: BTreeMap::new(),
    };
    let cook = side(&args.cargo);
    let mut build = match &args.build_flags {
        Some(s) => side(&parse_build_flags(s)?),
        None => cook.clone(),
    };
    build.env = args.build_env.iter().cloned().collect();
    let opts = Options {
        manifest_path: args.manifest_path.clone(),
        work_dir: args.work_dir.clone(),
        cook,
        build,
        min_reuse: args.min_reuse,
        progress,
    };
    let report = verify::verify(&opts)?;
    match args.format {
        Format::Human => {
            crate::output::write(&verify::render_human(&report, crate::output::verbose()))?;
        }
        Format::Json => crate::output::json(&report)?,
    }
    if report.passed {
        Ok(())
    } else {
        Err(verify::short_error(&report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_flags_parse_like_cook_flags() {
        let CargoArgs { mode, flags, extra } =
            parse_build_flags("--release --features 'a b' -p x --check -- -Zfoo").unwrap();
        assert!(flags.release && mode.check);
        assert_eq!(flags.features, ["a b"]);
        assert_eq!(flags.package, ["x"]);
        assert_eq!(extra, ["-Zfoo"]);
        let err = parse_build_flags("--relase").unwrap_err();
        assert!(err.message().contains("--relase"), "{}", err.message());
        assert!(parse_build_flags("--features \"x").is_err());
    }
}

//! [`BuildFlags`]: the cargo flags shared by the cook and the real build. One type renders them
//! for cook, verify, check and the generated Dockerfiles, so the pair can never drift apart.

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

/// Cargo flags that decide which units a build compiles and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args, Serialize, Deserialize)]
#[allow(clippy::struct_excessive_bools)] // reason: mirrors cargo's own boolean flags one for one
pub struct BuildFlags {
    /// Build with the release profile.
    #[arg(long, short = 'r', help_heading = "Cargo build flags")]
    pub release: bool,
    /// Build with the named profile.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "release",
        help_heading = "Cargo build flags"
    )]
    pub profile: Option<String>,
    /// Features to activate (space or comma separated, repeatable).
    #[arg(
        long,
        short = 'F',
        value_name = "FEATURES",
        help_heading = "Cargo build flags"
    )]
    pub features: Vec<String>,
    /// Activate all features.
    #[arg(long, help_heading = "Cargo build flags")]
    pub all_features: bool,
    /// Do not activate the `default` feature.
    #[arg(long, help_heading = "Cargo build flags")]
    pub no_default_features: bool,
    /// Build for the target triple (repeatable).
    #[arg(long, value_name = "TRIPLE", help_heading = "Cargo build flags")]
    pub target: Vec<String>,
    /// Package to build (repeatable).
    #[arg(
        long,
        short = 'p',
        value_name = "SPEC",
        help_heading = "Cargo build flags"
    )]
    pub package: Vec<String>,
    /// Build every workspace member.
    #[arg(long, help_heading = "Cargo build flags")]
    pub workspace: bool,
    /// Exclude a package (with --workspace; repeatable).
    #[arg(long, value_name = "SPEC", help_heading = "Cargo build flags")]
    pub exclude: Vec<String>,
    /// Build only the named binary (repeatable).
    #[arg(long, value_name = "NAME", help_heading = "Cargo target selection")]
    pub bin: Vec<String>,
    /// Build all binaries.
    #[arg(long, help_heading = "Cargo target selection")]
    pub bins: bool,
    /// Build only the library.
    #[arg(long, help_heading = "Cargo target selection")]
    pub lib: bool,
    /// Build the named example (repeatable).
    #[arg(long, value_name = "NAME", help_heading = "Cargo target selection")]
    pub example: Vec<String>,
    /// Build all examples.
    #[arg(long, help_heading = "Cargo target selection")]
    pub examples: bool,
    /// Build the named integration test (repeatable).
    #[arg(
        long = "test",
        value_name = "NAME",
        help_heading = "Cargo target selection"
    )]
    pub test: Vec<String>,
    /// Build all tests.
    #[arg(long, help_heading = "Cargo target selection")]
    pub tests: bool,
    /// Build the named benchmark (repeatable).
    #[arg(long, value_name = "NAME", help_heading = "Cargo target selection")]
    pub bench: Vec<String>,
    /// Build all benchmarks.
    #[arg(long, help_heading = "Cargo target selection")]
    pub benches: bool,
    /// Build all targets.
    #[arg(long, help_heading = "Cargo target selection")]
    pub all_targets: bool,
    /// Require Cargo.lock to be up to date.
    #[arg(long, help_heading = "Cargo build flags")]
    pub locked: bool,
    /// Require Cargo.lock and the cache to be up to date (no network).
    #[arg(long, help_heading = "Cargo build flags")]
    pub frozen: bool,
    /// Run without accessing the network.
    #[arg(long, help_heading = "Cargo build flags")]
    pub offline: bool,
    /// Number of parallel jobs.
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        help_heading = "Cargo build flags"
    )]
    pub jobs: Option<String>,
    /// Directory for all generated artifacts.
    #[arg(long, value_name = "DIR", help_heading = "Cargo build flags")]
    pub target_dir: Option<String>,
    /// Unstable (nightly-only) cargo flags (repeatable).
    #[arg(short = 'Z', value_name = "FLAG", help_heading = "Cargo build flags")]
    pub unstable: Vec<String>,
}

/// Which cargo command builds the units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `cargo build`
    #[default]
    Build,
    /// `cargo check`
    Check,
    /// `cargo clippy`
    Clippy,
    /// `cargo test --no-run`
    TestsNoRun,
    /// `cargo doc`
    Doc,
}

impl Mode {
    /// The cargo subcommand and its fixed arguments.
    pub fn subcommand(self) -> &'static [&'static str] {
        match self {
            Mode::Build => &["build"],
            Mode::Check => &["check"],
            Mode::Clippy => &["clippy"],
            Mode::TestsNoRun => &["test", "--no-run"],
            Mode::Doc => &["doc"],
        }
    }
}

/// The cargo side of `cook`, `verify` and `check`: which cargo command, the build flags, and
/// the arguments passed to cargo unchanged.
#[derive(Debug, Clone, Default, Args)]
pub struct CargoArgs {
    /// Which cargo command runs.
    #[command(flatten)]
    pub mode: ModeFlags,
    /// The cargo flags of the real build.
    #[command(flatten)]
    pub flags: BuildFlags,
    /// Extra arguments, passed to cargo unchanged.
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub extra: Vec<String>,
}

/// The mode flags of `cook` and `verify` (`--check`, `--clippy`, `--tests-no-run`, `--doc`).
#[derive(Debug, Clone, Default, Args)]
#[allow(clippy::struct_excessive_bools)] // reason: one switch per cargo command, mutually exclusive
pub struct ModeFlags {
    /// Run `cargo check` instead of `cargo build`.
    #[arg(long, group = "mode", help_heading = "Mode")]
    pub check: bool,
    /// Run `cargo clippy` instead of `cargo build`.
    #[arg(long, group = "mode", help_heading = "Mode")]
    pub clippy: bool,
    /// Build what `cargo test --no-run` builds.
    #[arg(long, group = "mode", help_heading = "Mode")]
    pub tests_no_run: bool,
    /// Run `cargo doc`.
    #[arg(long, group = "mode", help_heading = "Mode")]
    pub doc: bool,
}

impl ModeFlags {
    /// The selected mode.
    pub fn mode(&self) -> Mode {
        if self.check {
            Mode::Check
        } else if self.clippy {
            Mode::Clippy
        } else if self.tests_no_run {
            Mode::TestsNoRun
        } else if self.doc {
            Mode::Doc
        } else {
            Mode::Build
        }
    }
}

impl BuildFlags {
    /// The flags as cargo arguments, in a fixed order.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                a.push(name.to_string());
            }
        };
        flag(self.release, "--release");
        flag(self.all_features, "--all-features");
        flag(self.no_default_features, "--no-default-features");
        flag(self.workspace, "--workspace");
        flag(self.bins, "--bins");
        flag(self.lib, "--lib");
        flag(self.examples, "--examples");
        flag(self.tests, "--tests");
        flag(self.benches, "--benches");
        flag(self.all_targets, "--all-targets");
        flag(self.locked, "--locked");
        flag(self.frozen, "--frozen");
        flag(self.offline, "--offline");
        let mut opt = |name: &str, values: &[String]| {
            for v in values {
                a.push(format!("{name}={v}"));
            }
        };
        opt("--profile", self.profile.as_slice());
        opt("--features", &self.features);
        opt("--target", &self.target);
        opt("--package", &self.package);
        opt("--exclude", &self.exclude);
        opt("--bin", &self.bin);
        opt("--example", &self.example);
        opt("--test", &self.test);
        opt("--bench", &self.bench);
        opt("--jobs", self.jobs.as_slice());
        opt("--target-dir", self.target_dir.as_slice());
        for z in &self.unstable {
            a.push("-Z".into());
            a.push(z.clone());
        }
        a
    }

    /// The profile directory name these flags build into (`debug`, `release` or the profile).
    pub fn profile_dir(&self) -> String {
        match (&self.profile, self.release) {
            (Some(p), _) if p == "dev" || p == "test" => "debug".into(),
            (Some(p), _) if p == "bench" => "release".into(),
            (Some(p), _) => p.clone(),
            (None, true) => "release".into(),
            (None, false) => "debug".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        flags: BuildFlags,
        #[command(flatten)]
        mode: ModeFlags,
    }

    #[test]
    fn every_flag_reaches_cargo() {
        let cli = Cli::parse_from([
            "x",
            "--release",
            "-F",
            "a,b",
            "--features",
            "c",
            "--all-features",
            "--no-default-features",
            "--target",
            "t1",
            "--target",
            "t2",
            "-p",
            "p1",
            "--workspace",
            "--exclude",
            "e",
            "--bin",
            "b",
            "--bins",
            "--lib",
            "--example",
            "ex",
            "--examples",
            "--test",
            "te",
            "--tests",
            "--bench",
            "be",
            "--benches",
            "--all-targets",
            "--locked",
            "--frozen",
            "--offline",
            "-j",
            "3",
            "--target-dir",
            "out",
            "-Z",
            "unstable-options",
            "--clippy",
        ]);
        assert_eq!(cli.mode.mode(), Mode::Clippy);
        assert_eq!(
            cli.flags.to_args().join(" "),
            "--release --all-features --no-default-features --workspace --bins --lib --examples \
             --tests --benches --all-targets --locked --frozen --offline --features=a,b --features=c \
             --target=t1 --target=t2 --package=p1 --exclude=e --bin=b --example=ex --test=te \
             --bench=be --jobs=3 --target-dir=out -Z unstable-options"
        );
    }

    #[test]
    fn modes_and_profile_dirs() {
        let cli = Cli::parse_from(["x", "--profile", "ci", "--tests-no-run"]);
        assert_eq!(cli.mode.mode().subcommand(), ["test", "--no-run"]);
        assert_eq!(cli.flags.profile_dir(), "ci");
        assert_eq!(
            Cli::parse_from(["x", "--release"]).flags.profile_dir(),
            "release"
        );
        assert_eq!(Cli::parse_from(["x", "--doc"]).mode.mode(), Mode::Doc);
        assert_eq!(Cli::parse_from(["x"]).flags.profile_dir(), "debug");
        assert!(
            Cli::try_parse_from(["x", "--check", "--doc"]).is_err(),
            "modes exclude each other"
        );
        assert!(Cli::try_parse_from(["x", "--release", "--profile", "p"]).is_err());
    }
}

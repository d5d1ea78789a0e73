//! Capturing a build's settings: its flags, the environment variables and cargo config values
//! that change how units compile, the variables the dependencies' build scripts track, and
//! rustc.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Value;

use super::{as_digest, is_env_key};
use crate::error::Result;
use crate::flags::{BuildFlags, Mode};
use crate::process::Process;

/// The settings of one build, as far as they decide which dependency units cargo can reuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The cargo command.
    pub mode: Mode,
    /// The profile name (`dev`, `release`, a custom one).
    pub profile: String,
    /// Features asked for, one per entry, sorted.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--target` triples, sorted (empty: the host, or `build.target` from config).
    pub targets: Vec<String>,
    /// Package and target selection flags (`--package=x`, `--bin=y`, `--workspace`, ...).
    pub selection: Vec<String>,
    /// Extra arguments given to cargo.
    pub extra: Vec<String>,
    /// Environment variables that change how units compile (in a record: their digests, see
    /// [`Settings::digested`]).
    pub env: BTreeMap<String, String>,
    /// Cargo config values that change how units compile (`build.rustflags`,
    /// `target.<triple>.linker`, `profile.*`, `env.*`, ...), merged as cargo merges them (in a
    /// record, the `env.*` values are digests).
    pub config: BTreeMap<String, String>,
    /// Environment variables the dependencies' build scripts declared with
    /// `rerun-if-env-changed`, with their values (`None`: unset; in a record: digests).
    pub build_script_env: BTreeMap<String, Option<String>>,
    /// `rustc -vV` (release, commit, host).
    pub rustc: String,
    /// The workspace directory the build runs in.
    pub workspace_dir: String,
}

impl Settings {
    /// The settings as a record keeps them: every environment value (the tracked variables,
    /// the build scripts' variables, the `env.*` values of cargo config) replaced by its
    /// [`digest`]; the rest as it is.
    #[must_use]
    pub fn digested(&self) -> Settings {
        let mut out = self.clone();
        for v in out.env.values_mut() {
            *v = as_digest(v);
        }
        for (k, v) in &mut out.config {
            if is_env_key(k) {
                *v = as_digest(v);
            }
        }
        for v in out.build_script_env.values_mut().flatten() {
            *v = as_digest(v);
        }
        out
    }
}

/// Environment variables recorded verbatim.
const ENV_EXACT: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_BOOTSTRAP",
    "RUSTUP_TOOLCHAIN",
    "CARGO_INCREMENTAL",
    "CC",
    "CXX",
    "AR",
    "CFLAGS",
    "CXXFLAGS",
];

/// Environment variable prefixes recorded (cargo's own config-by-environment).
const ENV_PREFIXES: &[&str] = &[
    "CARGO_BUILD_",
    "CARGO_TARGET_",
    "CARGO_PROFILE_",
    "CARGO_UNSTABLE_",
];

/// Variables under those prefixes that only move output around or set parallelism.
const ENV_IGNORED: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "CARGO_BUILD_JOBS",
];

/// Config keys (top-level tables or `build.*` keys) that cannot change a compiled unit.
const CONFIG_IGNORED: &[&str] = &[
    "build.target-dir",
    "build.build-dir",
    "build.jobs",
    "build.dep-info-basedir",
];

fn env_relevant(key: &str) -> bool {
    if ENV_IGNORED.contains(&key) {
        return false;
    }
    ENV_EXACT.contains(&key) || ENV_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The current process environment, as a map.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The profile name the flags select.
pub fn profile_name(flags: &BuildFlags) -> String {
    match (&flags.profile, flags.release) {
        (Some(p), _) => p.clone(),
        (None, true) => "release".into(),
        (None, false) => "dev".into(),
    }
}

pub(super) fn split_features(features: &[String]) -> Vec<String> {
    let mut out: Vec<String> = features
        .iter()
        .flat_map(|f| f.split([',', ' ']))
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The selection part of the flags, as cargo arguments in a fixed order.
pub fn selection_args(flags: &BuildFlags) -> Vec<String> {
    let only = BuildFlags {
        package: flags.package.clone(),
        workspace: flags.workspace,
        exclude: flags.exclude.clone(),
        bin: flags.bin.clone(),
        bins: flags.bins,
        lib: flags.lib,
        example: flags.example.clone(),
        examples: flags.examples,
        test: flags.test.clone(),
        tests: flags.tests,
        bench: flags.bench.clone(),
        benches: flags.benches,
        all_targets: flags.all_targets,
        ..BuildFlags::default()
    };
    let mut args = only.to_args();
    args.sort();
    args
}

/// Captures the settings of a build of `workspace_dir` with `mode`, `flags` and `extra`, in the
/// environment `env`.
pub fn capture(
    workspace_dir: &Path,
    mode: Mode,
    flags: &BuildFlags,
    extra: &[String],
    env: &BTreeMap<String, String>,
) -> Result<Settings> {
    let mut targets = flags.target.clone();
    targets.sort();
    Ok(Settings {
        mode,
        profile: profile_name(flags),
        features: split_features(&flags.features),
        all_features: flags.all_features,
        no_default_features: flags.no_default_features,
        targets,
        selection: selection_args(flags),
        extra: extra.to_vec(),
        env: env
            .iter()
            .filter(|(k, _)| env_relevant(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        config: config_values(workspace_dir, env)?,
        build_script_env: BTreeMap::new(),
        rustc: rustc_version(workspace_dir, env)?,
        workspace_dir: workspace_dir.display().to_string(),
    })
}

/// `rustc -vV` as run from `dir` (so a toolchain file there applies), minus the noise.
fn rustc_version(dir: &Path, env: &BTreeMap<String, String>) -> Result<String> {
    let rustc = env.get("RUSTC").map_or("rustc", String::as_str);
    let mut cmd = Process::new(rustc).arg("-vV").current_dir(dir).env_clear();
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output_checked().map_err(|e| {
        e.with_hint(
            "check that rustc is installed (or $RUSTC set) and the workspace's toolchain file",
        )
    })?;
    Ok(out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("binary:"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The relevant config values, flattened to dotted keys and merged as cargo merges them
/// (scalars: the nearest file wins; arrays: joined, nearest last).
fn config_values(dir: &Path, env: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut merged: BTreeMap<String, Value> = BTreeMap::new();
    for path in crate::config::cargo_reads(dir, env) {
        let table = crate::config::read_table(&path)?;
        for key in ["build", "target", "profile", "env", "unstable"] {
            if let Some(v) = table.get(key) {
                flatten(key, v, &mut merged);
            }
        }
    }
    Ok(merged
        .into_iter()
        .filter(|(k, _)| !CONFIG_IGNORED.contains(&k.as_str()))
        .map(|(k, v)| (k, render_value(&v)))
        .collect())
}

pub(super) fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Table(t) if !(prefix.starts_with("env.") && t.contains_key("value")) => {
            for (k, v) in t {
                let key = if k.contains('.') {
                    format!("{prefix}.\"{k}\"")
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(new) => match out.get_mut(prefix) {
            Some(Value::Array(old)) => old.extend(new.iter().cloned()),
            _ => {
                out.insert(prefix.to_string(), value.clone());
            }
        },
        _ => {
            out.insert(prefix.to_string(), value.clone());
        }
    }
}

pub(super) fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Environment variable names that the build scripts under `target_dirs` declared with
/// `cargo:rerun-if-env-changed` (read from each `build/<pkg>-<hash>/output`).
pub fn build_script_env_names(target_dirs: &[PathBuf]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for root in target_dirs {
        for entry in walkdir::WalkDir::new(root)
            .max_depth(5)
            .follow_links(false)
            .into_iter()
            .filter_map(Result::ok)
        {
            if entry.file_name() != "output" || !entry.file_type().is_file() {
                continue;
            }
            let in_build = entry
                .path()
                .parent()
                .and_then(Path::parent)
                .and_then(Path::file_name)
                .is_some_and(|n| n == "build");
            if !in_build {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            for line in text.lines() {
                let rest = line
                    .strip_prefix("cargo::rerun-if-env-changed=")
                    .or_else(|| line.strip_prefix("cargo:rerun-if-env-changed="));
                if let Some(name) = rest {
                    let name = name.trim();
                    if !name.is_empty() {
                        names.insert(name.to_string());
                    }
                }
            }
        }
    }
    names
}

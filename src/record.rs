//! The drift record: the settings a cook built with (profile, features, targets, selection,
//! RUSTFLAGS and linker from the environment and cargo config, the environment variables the
//! dependencies' build scripts track, rustc, the working directory), kept in the target
//! directory so `prewarm check` and `prewarm verify` can name every difference between the
//! cook and a planned build before cargo spends minutes on it.
//!
//! The record lies in the cooked layer, so it holds no environment value: each one (the
//! tracked variables, the build scripts' variables, every `[env]` value of every cargo config
//! file, `$CARGO_HOME/config.toml`'s included) is kept as its sha256, and compared as one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::{Table, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::flags::{BuildFlags, Mode};
use crate::reasons::Category;

/// Where the records live, relative to the target directory.
pub const RECORD_FILE: &str = ".prewarm/cook-records.json";

/// The record format.
pub const SCHEMA: &str = "prewarm-cook-record/2";

/// How many cooks one target directory remembers (a Dockerfile may cook dev and release).
const KEEP: usize = 16;

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

/// `sha256:<hex>` of a value.
pub fn digest(value: &str) -> String {
    let hash = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn is_digest(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A value's digest, or the value if it is one already (a recorded value).
fn as_digest(value: &str) -> String {
    if is_digest(value) {
        value.to_string()
    } else {
        digest(value)
    }
}

/// Whether a flattened config key is an `[env]` value.
fn is_env_key(key: &str) -> bool {
    key.starts_with("env.")
}

/// One cook, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The prewarm version that cooked.
    pub prewarm_version: String,
    /// The digest of the recipe cooked.
    pub recipe_digest: String,
    /// Seconds since the Unix epoch.
    pub cooked_at: u64,
    /// External units the cook built or found fresh.
    pub external_units: usize,
    /// The settings.
    pub settings: Settings,
}

/// The file in the target directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Records {
    /// [`SCHEMA`].
    pub schema: String,
    /// Oldest first.
    pub records: Vec<Record>,
}

/// One setting that differs between the cook and a planned build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The setting (`profile`, `env RUSTFLAGS`, `config build.rustflags`, ...).
    pub setting: String,
    /// Its value in the cook.
    pub cook: String,
    /// Its value in the planned build.
    pub build: String,
    /// The reason category a rebuild caused by it falls in.
    pub category: Category,
    /// True when the difference is worth knowing but does not cost reuse of dependencies.
    pub harmless: bool,
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

fn split_features(features: &[String]) -> Vec<String> {
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
    let rustc = env.get("RUSTC").cloned().unwrap_or_else(|| "rustc".into());
    let mut cmd = std::process::Command::new(&rustc);
    cmd.arg("-vV")
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| {
        Error::new(
            ErrorKind::Tool,
            format!("failed to run `{rustc} -vV` in `{}`: {e}", dir.display()),
        )
        .with_hint("is rustc installed and on PATH (or $RUSTC set)?")
    })?;
    if !out.status.success() {
        return Err(Error::new(
            ErrorKind::Tool,
            format!("`{rustc} -vV` failed in `{}`", dir.display()),
        )
        .with_detail(String::from_utf8_lossy(&out.stderr))
        .with_hint(
            "check the toolchain file of the workspace and that the toolchain is installed",
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with("binary:"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Cargo config files that apply to a build run in `dir`: `$CARGO_HOME/config(.toml)` first, then
/// each `.cargo/config(.toml)` from `/` down to `dir` (later files take precedence).
pub fn config_files(dir: &Path, env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let home = env
        .get("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".cargo")));
    let mut seen = BTreeSet::new();
    let mut push = |base: &Path, files: &mut Vec<PathBuf>| {
        for name in ["config.toml", "config"] {
            let p = base.join(name);
            if p.is_file() {
                let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
                if seen.insert(key) {
                    files.push(p);
                }
                break;
            }
        }
    };
    if let Some(home) = &home {
        push(home, &mut files);
    }
    let ancestors: Vec<&Path> = dir.ancestors().collect();
    let mut from_dirs = Vec::new();
    for a in ancestors.iter().rev() {
        push(&a.join(".cargo"), &mut from_dirs);
    }
    // `$CARGO_HOME` has the lowest precedence, unless it is also one of the ancestors.
    files.extend(from_dirs);
    files
}

/// The relevant config values, flattened to dotted keys and merged as cargo merges them
/// (scalars: the nearest file wins; arrays: joined, nearest last).
fn config_values(dir: &Path, env: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut merged: BTreeMap<String, Value> = BTreeMap::new();
    for path in config_files(dir, env) {
        let text = crate::fs::read_to_string(&path)?;
        let table: Table = toml::from_str(&text).map_err(|e| {
            Error::input(format!("`{}` is not valid TOML: {e}", path.display()))
                .with_hint("fix the cargo config file; cargo rejects it too")
        })?;
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

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
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

fn render_value(v: &Value) -> String {
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

/// The path of the records file in `target_dir`.
pub fn path_in(target_dir: &Path) -> PathBuf {
    target_dir.join(RECORD_FILE)
}

/// Reads the records in `target_dir`, if there are any.
pub fn load(target_dir: &Path) -> Result<Option<Records>> {
    let path = path_in(target_dir);
    if !path.is_file() {
        return Ok(None);
    }
    let text = crate::fs::read_to_string(&path)?;
    let records: Records = serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "`{}` is not a prewarm cook record: {e}",
            path.display()
        ))
        .with_hint("cook again with this prewarm version to write a new record")
    })?;
    if records.schema != SCHEMA {
        return Err(Error::input(format!(
            "`{}` has format `{}`, but this prewarm reads `{SCHEMA}`",
            path.display(),
            records.schema
        ))
        .with_hint("cook again with this prewarm version to write a new record"));
    }
    Ok(Some(records))
}

/// Adds `record` to the records in `target_dir` (replacing a record of the same settings).
pub fn append(target_dir: &Path, record: Record) -> Result<PathBuf> {
    let path = path_in(target_dir);
    let mut records = load(target_dir).ok().flatten().unwrap_or(Records {
        schema: SCHEMA.to_string(),
        records: Vec::new(),
    });
    records.records.retain(|r| r.settings != record.settings);
    records.records.push(record);
    let excess = records.records.len().saturating_sub(KEEP);
    records.records.drain(..excess);
    let mut text = serde_json::to_string_pretty(&records).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot serialise the cook record: {e}"),
        )
    })?;
    text.push('\n');
    crate::fs::write_under(target_dir, Path::new(RECORD_FILE), text)?;
    Ok(path)
}

/// What a cook knows when it writes its record.
#[derive(Debug)]
pub struct CookFacts<'a> {
    /// The recipe's digest.
    pub recipe_digest: &'a str,
    /// Where the build ran.
    pub workspace_dir: &'a Path,
    /// The target (and build) directories.
    pub target_dirs: &'a [PathBuf],
    /// The cargo command.
    pub mode: Mode,
    /// The flags as the user gave them.
    pub flags: &'a BuildFlags,
    /// Extra cargo arguments.
    pub extra: &'a [String],
    /// External units built or fresh.
    pub external_units: usize,
}

/// Writes the record of a finished cook into the first target directory; `None` when cargo
/// made no target directory (nothing was built), so that no stray file appears in the skeleton.
pub fn write_after_cook(facts: &CookFacts<'_>) -> Result<Option<PathBuf>> {
    let Some(dir) = facts.target_dirs.first() else {
        return Ok(None);
    };
    if !dir.join("CACHEDIR.TAG").is_file() {
        return Ok(None);
    }
    let env = process_env();
    let mut settings = capture(
        facts.workspace_dir,
        facts.mode,
        facts.flags,
        facts.extra,
        &env,
    )?;
    settings.build_script_env = build_script_env_names(facts.target_dirs)
        .into_iter()
        .map(|n| {
            let v = env.get(&n).cloned();
            (n, v)
        })
        .collect();
    let record = Record {
        prewarm_version: env!("CARGO_PKG_VERSION").to_string(),
        recipe_digest: facts.recipe_digest.to_string(),
        cooked_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        external_units: facts.external_units,
        settings: settings.digested(),
    };
    append(dir, record).map(Some)
}

fn show(v: Option<&String>) -> String {
    v.map_or_else(|| "(unset)".to_string(), Clone::clone)
}

/// How an environment value named `name` is shown: `(unset)`, its digest's first 12 hex digits
/// when it is recorded as a digest or its name looks secret, else the value itself (only a
/// planned build's own, current values are ever shown).
fn show_env(name: &str, v: Option<&String>) -> String {
    match v {
        None => "(unset)".into(),
        Some(v) if is_digest(v) || crate::secrets::looks_secret(name) => {
            as_digest(v)[..7 + 12].to_string()
        }
        Some(v) => v.clone(),
    }
}

/// Whether two environment values (recorded digests or plain values) differ.
fn env_differs(a: Option<&String>, b: Option<&String>) -> bool {
    a.map(|v| as_digest(v)) != b.map(|v| as_digest(v))
}

fn show_list(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(" ")
    }
}

#[allow(clippy::too_many_lines)] // reason: one flat list of settings, each compared the same way
/// Every difference between the cook's settings and the planned build's. `planned`'s
/// `build_script_env` is ignored: the values of the cook's variable names are taken from
/// `planned_env` instead.
pub fn diff(
    cook: &Settings,
    planned: &Settings,
    planned_env: &BTreeMap<String, String>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut push = |setting: String, a: String, b: String, category: Category, harmless: bool| {
        if a != b {
            out.push(Difference {
                setting,
                cook: a,
                build: b,
                category,
                harmless,
            });
        }
    };
    // Environment values are compared as digests: a record holds nothing else.
    let env_diff = |setting: String, name: &str, a: Option<&String>, b: Option<&String>| {
        env_differs(a, b).then(|| {
            (
                setting,
                show_env(name, a),
                show_env(name, b),
                setting_category(name),
            )
        })
    };
    push(
        "mode".into(),
        format!("{:?}", cook.mode).to_lowercase(),
        format!("{:?}", planned.mode).to_lowercase(),
        Category::Mode,
        false,
    );
    push(
        "profile".into(),
        cook.profile.clone(),
        planned.profile.clone(),
        Category::Profile,
        false,
    );
    push(
        "features".into(),
        show_list(&cook.features),
        show_list(&planned.features),
        Category::Features,
        false,
    );
    push(
        "--all-features".into(),
        cook.all_features.to_string(),
        planned.all_features.to_string(),
        Category::Features,
        false,
    );
    push(
        "--no-default-features".into(),
        cook.no_default_features.to_string(),
        planned.no_default_features.to_string(),
        Category::Features,
        false,
    );
    push(
        "target".into(),
        show_list(&cook.targets),
        show_list(&planned.targets),
        Category::Target,
        false,
    );
    push(
        "selection".into(),
        show_list(&cook.selection),
        show_list(&planned.selection),
        Category::Selection,
        false,
    );
    push(
        "extra cargo arguments".into(),
        show_list(&cook.extra),
        show_list(&planned.extra),
        Category::Other,
        false,
    );
    let keys: BTreeSet<&String> = cook.env.keys().chain(planned.env.keys()).collect();
    for k in keys {
        if let Some((setting, a, b, category)) =
            env_diff(format!("env {k}"), k, cook.env.get(k), planned.env.get(k))
        {
            push(setting, a, b, category, false);
        }
    }
    let keys: BTreeSet<&String> = cook.config.keys().chain(planned.config.keys()).collect();
    for k in keys {
        let (a, b) = (cook.config.get(k), planned.config.get(k));
        if is_env_key(k) {
            if let Some((setting, a, b, category)) = env_diff(format!("config {k}"), k, a, b) {
                push(setting, a, b, category, false);
            }
        } else {
            push(
                format!("config {k}"),
                show(a),
                show(b),
                setting_category(k),
                false,
            );
        }
    }
    for (name, value) in &cook.build_script_env {
        if let Some((setting, a, b, _)) = env_diff(
            format!("build-script env {name}"),
            name,
            value.as_ref(),
            planned_env.get(name),
        ) {
            push(setting, a, b, Category::Env, false);
        }
    }
    push(
        "rustc".into(),
        cook.rustc.clone(),
        planned.rustc.clone(),
        Category::Toolchain,
        false,
    );
    push(
        "workspace directory".into(),
        cook.workspace_dir.clone(),
        planned.workspace_dir.clone(),
        Category::Path,
        true,
    );
    out
}

/// The category of an environment variable or config key.
fn setting_category(key: &str) -> Category {
    let k = key.to_ascii_lowercase();
    if k.contains("rustflags") || k.contains("rustdocflags") {
        Category::Rustflags
    } else if k.contains("linker") || k.rsplit(['.', '_']).next() == Some("ar") {
        Category::Linker
    } else if k.contains("profile") || k == "cargo_incremental" {
        Category::Profile
    } else if k.starts_with("rustc")
        || k.contains("rustup_toolchain")
        || k.contains(".rustc")
        || k.contains("wrapper")
    {
        Category::Toolchain
    } else if k == "build.target" || k == "cargo_build_target" {
        Category::Target
    } else {
        Category::Env
    }
}

/// The record nearest to `planned` (fewest costly differences, newest on ties), with the
/// differences.
pub fn nearest<'a>(
    records: &'a Records,
    planned: &Settings,
    planned_env: &BTreeMap<String, String>,
) -> Option<(&'a Record, Vec<Difference>)> {
    records
        .records
        .iter()
        .rev()
        .map(|r| (r, diff(&r.settings, planned, planned_env)))
        .min_by_key(|(_, d)| d.iter().filter(|x| !x.harmless).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            mode: Mode::Build,
            profile: "dev".into(),
            features: vec![],
            all_features: false,
            no_default_features: false,
            targets: vec![],
            selection: vec![],
            extra: vec![],
            env: BTreeMap::new(),
            config: BTreeMap::new(),
            build_script_env: BTreeMap::new(),
            rustc: "rustc 1.95.0".into(),
            workspace_dir: "/app".into(),
        }
    }

    #[test]
    fn differences_are_named_and_categorised() {
        let cook = settings();
        let mut planned = settings();
        planned.profile = "release".into();
        planned.env.insert(
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER".into(),
            "gcc".into(),
        );
        planned
            .config
            .insert("build.rustflags".into(), "[\"-D\", \"warnings\"]".into());
        planned.workspace_dir = "/elsewhere".into();
        let d = diff(&cook, &planned, &BTreeMap::new());
        let got: Vec<(&str, Category, bool)> = d
            .iter()
            .map(|d| (d.setting.as_str(), d.category, d.harmless))
            .collect();
        assert_eq!(
            got,
            [
                ("profile", Category::Profile, false),
                (
                    "env CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
                    Category::Linker,
                    false
                ),
                ("config build.rustflags", Category::Rustflags, false),
                ("workspace directory", Category::Path, true),
            ]
        );
    }

    #[test]
    fn build_script_variables_compare_with_the_planned_environment() {
        let mut cook = settings();
        cook.build_script_env
            .insert("LIBC_BUILD_VERBOSE".into(), None);
        let env: BTreeMap<String, String> =
            [("LIBC_BUILD_VERBOSE".to_string(), "1".to_string())].into();
        let d = diff(&cook, &settings(), &env);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].cook.as_str(), d[0].build.as_str(), d[0].category),
            ("(unset)", "1", Category::Env)
        );
    }

    #[test]
    fn a_record_holds_digests_of_environment_values_and_compares_them() {
        let mut planned = settings();
        planned.env.insert("RUSTFLAGS".into(), "-Cfoo".into());
        planned
            .config
            .insert("env.API_TOKEN".into(), "tok-123".into());
        planned
            .config
            .insert("build.rustflags".into(), "[\"-Cbar\"]".into());
        let mut cook = planned.clone();
        cook.build_script_env
            .insert("TRACKED".into(), Some("value-9".into()));
        let recorded = cook.digested();
        let text = serde_json::to_string(&recorded).unwrap();
        for value in ["-Cfoo", "tok-123", "value-9"] {
            assert!(!text.contains(value), "{text}");
        }
        assert!(text.contains(&digest("value-9")), "{text}");
        assert!(
            text.contains("-Cbar"),
            "config other than [env] stays: {text}"
        );
        assert_eq!(
            recorded.digested(),
            recorded,
            "digesting twice changes nothing"
        );

        let env: BTreeMap<String, String> = [("TRACKED".to_string(), "value-9".to_string())].into();
        assert_eq!(diff(&recorded, &planned, &env), []);

        planned.env.insert("RUSTFLAGS".into(), "-Cother".into());
        planned
            .config
            .insert("env.API_TOKEN".into(), "tok-456".into());
        let d = diff(&recorded, &planned, &BTreeMap::new());
        let got: Vec<(&str, &str, &str)> = d
            .iter()
            .map(|d| (d.setting.as_str(), d.cook.as_str(), d.build.as_str()))
            .collect();
        let short = |v: &str| digest(v)[..19].to_string();
        assert_eq!(
            got,
            [
                ("env RUSTFLAGS", short("-Cfoo").as_str(), "-Cother"),
                (
                    "config env.API_TOKEN",
                    short("tok-123").as_str(),
                    short("tok-456").as_str()
                ),
                (
                    "build-script env TRACKED",
                    short("value-9").as_str(),
                    "(unset)"
                ),
            ]
        );
    }

    #[test]
    fn config_arrays_join_and_scalars_override() {
        let mut out = BTreeMap::new();
        let a: Table = toml::from_str("[build]\nrustflags = [\"-C\", \"a\"]\n[target.x86_64-unknown-linux-gnu]\nlinker = \"cc\"").unwrap();
        let b: Table = toml::from_str("[build]\nrustflags = [\"-C\", \"b\"]\n[target.x86_64-unknown-linux-gnu]\nlinker = \"gcc\"").unwrap();
        for t in [&a, &b] {
            for key in ["build", "target"] {
                flatten(key, &t[key], &mut out);
            }
        }
        assert_eq!(
            render_value(&out["build.rustflags"]),
            r#"["-C", "a", "-C", "b"]"#
        );
        assert_eq!(
            render_value(&out["target.x86_64-unknown-linux-gnu.linker"]),
            "gcc"
        );
    }

    #[test]
    fn features_are_normalised() {
        let f = split_features(&["b,a".into(), "c a".into()]);
        assert_eq!(f, ["a", "b", "c"]);
    }
}

//! The prewarmed crate sets: presets, `--crates` lists, and the warm packages they become.

use std::fmt::Write as _;

use crate::dockerfile::check;
use crate::error::{Error, Result};

/// One crate of a prewarmed set: a dependency line of a warm package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateSpec {
    /// Crate name on crates.io.
    pub name: String,
    /// Version requirement (`1`, `0.8`, `=1.0.100`).
    pub version: String,
    /// Whether the crate's default features are on.
    pub default_features: bool,
    /// Features turned on, sorted.
    pub features: Vec<String>,
}

impl CrateSpec {
    fn new(name: &str, version: &str, default_features: bool, features: &[&str]) -> Self {
        let mut features: Vec<String> = features.iter().map(ToString::to_string).collect();
        features.sort();
        features.dedup();
        CrateSpec {
            name: name.to_string(),
            version: version.to_string(),
            default_features,
            features,
        }
    }

    /// Parses one `--crates` entry: `NAME[@VERSION][+FEATURE...]`, where the feature
    /// `-default` turns the default features off. `tokio@1+full`, `serde+derive`,
    /// `axum@0.8+-default+http1+json`, `itoa`.
    pub fn parse(entry: &str) -> Result<Self> {
        let entry = entry.trim();
        let mut parts = entry.split('+');
        let head = parts.next().unwrap_or_default();
        let (name, version) = match head.split_once('@') {
            Some((n, v)) => (n, v),
            None => (head, "*"),
        };
        let mut default_features = true;
        let mut features = Vec::new();
        for f in parts {
            if f == "-default" {
                default_features = false;
            } else {
                features.push(f);
            }
        }
        let spec = CrateSpec::new(name, version, default_features, &features);
        spec.check(entry)?;
        Ok(spec)
    }

    /// Checks what goes into the warm package's manifest (a TOML bare key and strings, in a
    /// single-quoted `printf` argument of a `RUN`) and the Dockerfile's header: the name is
    /// ASCII letters, digits, `-` and `_`, the version a requirement, the features names.
    /// `entry` is how the crate was written, for the error.
    pub(super) fn check(&self, entry: &str) -> Result<()> {
        let name = &self.name;
        let valid_name = name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let valid_version = !self.version.is_empty()
            && self
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "=^~<>.*,- ".contains(c));
        if !valid_name || !valid_version {
            return Err(Error::input(format!(
                "invalid crate `{}` in --crates",
                check::shown(entry)
            ))
            .with_hint(CRATES_HINT));
        }
        for f in &self.features {
            let valid = !f.is_empty()
                && f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_/".contains(c));
            if !valid {
                return Err(Error::input(format!(
                    "invalid feature `{}` of crate `{name}` in --crates",
                    check::shown(f)
                ))
                .with_hint(CRATES_HINT));
            }
        }
        Ok(())
    }

    /// The dependency line of a Cargo.toml.
    pub fn toml_line(&self) -> String {
        if self.default_features && self.features.is_empty() {
            return format!("{} = \"{}\"", self.name, self.version);
        }
        let mut line = format!("{} = {{ version = \"{}\"", self.name, self.version);
        if !self.default_features {
            line.push_str(", default-features = false");
        }
        if !self.features.is_empty() {
            let list: Vec<String> = self.features.iter().map(|f| format!("\"{f}\"")).collect();
            let _ = write!(line, ", features = [{}]", list.join(", "));
        }
        line.push_str(" }");
        line
    }
}

/// One package of the warm workspace: a set of crates whose features are resolved together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Package directory and name suffix (`full`, `lean`, `crates`).
    pub name: String,
    /// What the variant is meant to match, for the Dockerfile's comments.
    pub about: String,
    /// Its dependencies, sorted by name.
    pub crates: Vec<CrateSpec>,
}

impl Variant {
    pub(super) fn new(name: &str, about: &str, mut crates: Vec<CrateSpec>) -> Self {
        crates.sort_by(|a, b| a.name.cmp(&b.name));
        Variant {
            name: name.to_string(),
            about: about.to_string(),
            crates,
        }
    }

    /// The warm package's name.
    pub fn package(&self) -> String {
        format!("warm-{}", self.name)
    }

    /// The package's Cargo.toml.
    pub fn manifest(&self) -> Vec<String> {
        let mut lines = vec![
            "[package]".to_string(),
            format!("name = \"{}\"", self.package()),
            "version = \"0.0.0\"".to_string(),
            "edition = \"2021\"".to_string(),
            "publish = false".to_string(),
            String::new(),
            "[dependencies]".to_string(),
        ];
        lines.extend(self.crates.iter().map(CrateSpec::toml_line));
        lines
    }
}

/// A named set of crates to prewarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// `serde` (derive), `serde_json` and `itoa`: small, for tests and as a template.
    Minimal,
    /// An HTTP service: `tokio`, `axum`, `serde`, `serde_json`, `anyhow`, `thiserror`, `tracing`,
    /// `tracing-subscriber`, in two feature sets (`full` and `lean`).
    Web,
}

impl Preset {
    /// The preset's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Minimal => "minimal",
            Preset::Web => "web",
        }
    }

    /// The preset's variants.
    pub fn variants(self) -> Vec<Variant> {
        match self {
            Preset::Minimal => vec![Variant::new(
                "minimal",
                "serde with derive, serde_json",
                vec![
                    CrateSpec::new("itoa", "1", true, &[]),
                    CrateSpec::new("serde", "1", true, &["derive"]),
                    CrateSpec::new("serde_json", "1", true, &[]),
                ],
            )],
            Preset::Web => {
                let common = |tokio: CrateSpec, axum: CrateSpec, subscriber: CrateSpec| {
                    vec![
                        CrateSpec::new("anyhow", "1", true, &[]),
                        axum,
                        CrateSpec::new("serde", "1", true, &["derive"]),
                        CrateSpec::new("serde_json", "1", true, &[]),
                        CrateSpec::new("thiserror", "2", true, &[]),
                        tokio,
                        CrateSpec::new("tracing", "0.1", true, &[]),
                        subscriber,
                    ]
                };
                vec![
                    Variant::new(
                        "full",
                        "the features most services turn on: tokio `full`, axum's defaults, \
                         tracing-subscriber's defaults with `env-filter`",
                        common(
                            CrateSpec::new("tokio", "1", true, &["full"]),
                            CrateSpec::new("axum", "0.8", true, &[]),
                            CrateSpec::new("tracing-subscriber", "0.3", true, &["env-filter"]),
                        ),
                    ),
                    Variant::new(
                        "lean",
                        "a lean axum service (HTTP/1, JSON, tracing) on a multi-threaded tokio \
                         runtime, default features off where they are big",
                        common(
                            CrateSpec::new(
                                "tokio",
                                "1",
                                true,
                                &["macros", "net", "rt-multi-thread", "signal"],
                            ),
                            CrateSpec::new(
                                "axum",
                                "0.8",
                                false,
                                &["http1", "json", "tokio", "tracing"],
                            ),
                            CrateSpec::new(
                                "tracing-subscriber",
                                "0.3",
                                false,
                                &["env-filter", "fmt"],
                            ),
                        ),
                    ),
                ]
            }
        }
    }
}

pub(super) fn spec_arg(c: &CrateSpec) -> String {
    let mut s = c.name.clone();
    if c.version != "*" {
        let _ = write!(s, "@{}", c.version);
    }
    if !c.default_features {
        s.push_str("+-default");
    }
    for f in &c.features {
        let _ = write!(s, "+{f}");
    }
    s
}

/// Parses a `--crates` list (comma-separated [`CrateSpec::parse`] entries).
pub fn parse_crates(list: &str) -> Result<Vec<CrateSpec>> {
    let mut crates: Vec<CrateSpec> = Vec::new();
    for entry in list.split(',').filter(|e| !e.trim().is_empty()) {
        let spec = CrateSpec::parse(entry)?;
        if crates.iter().any(|c| c.name == spec.name) {
            return Err(Error::input(format!(
                "crate `{}` is named twice in --crates",
                spec.name
            )));
        }
        crates.push(spec);
    }
    if crates.is_empty() {
        return Err(Error::input("--crates names no crate").with_hint(CRATES_HINT));
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

const CRATES_HINT: &str =
    "write NAME[@VERSION][+FEATURE...], e.g. `tokio@1+full,serde@1+derive,itoa`";

//! What differs between a cook's recorded settings and a planned build's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::capture::Settings;
use super::{as_digest, is_digest, is_env_key, Record, Records};
use crate::reasons::Category;

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

impl fmt::Display for Difference {
    /// The drift line, as `check` and `verify` print it:
    /// ``profile: cook `release`, build `dev` (profile)``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cook `{}`, build `{}` ({})",
            self.setting,
            self.cook,
            self.build,
            self.category.label()
        )
    }
}

/// Collects the differences of one comparison.
struct Differences(Vec<Difference>);

impl Differences {
    /// Records `setting` when its two shown values differ.
    fn shown(
        &mut self,
        setting: impl Into<String>,
        cook: String,
        build: String,
        category: Category,
    ) {
        if cook != build {
            self.0.push(Difference {
                setting: setting.into(),
                cook,
                build,
                category,
                harmless: false,
            });
        }
    }

    /// Records an environment value named `name` when the digests differ (a record holds
    /// nothing else), showing each side as [`show_env`] does.
    fn env(
        &mut self,
        setting: String,
        name: &str,
        cook: Option<&String>,
        build: Option<&String>,
        category: Category,
    ) {
        if env_differs(cook, build) {
            self.shown(
                setting,
                show_env(name, cook),
                show_env(name, build),
                category,
            );
        }
    }
}

/// Every difference between the cook's settings and the planned build's. `planned`'s
/// `build_script_env` is ignored: the values of the cook's variable names are taken from
/// `planned_env` instead.
pub fn diff(
    cook: &Settings,
    planned: &Settings,
    planned_env: &BTreeMap<String, String>,
) -> Vec<Difference> {
    let mut d = Differences(Vec::new());
    d.flags(cook, planned);
    d.environment(cook, planned, planned_env);
    d.shown(
        "rustc",
        cook.rustc.clone(),
        planned.rustc.clone(),
        Category::Toolchain,
    );
    if cook.workspace_dir != planned.workspace_dir {
        d.0.push(Difference {
            setting: "workspace directory".into(),
            cook: cook.workspace_dir.clone(),
            build: planned.workspace_dir.clone(),
            category: Category::Path,
            harmless: true,
        });
    }
    d.0
}

impl Differences {
    /// The cargo flags: mode, profile, features, targets, selection, extra arguments.
    fn flags(&mut self, cook: &Settings, planned: &Settings) {
        let d = self;
        let mode = |s: &Settings| format!("{:?}", s.mode).to_lowercase();
        d.shown("mode", mode(cook), mode(planned), Category::Mode);
        d.shown(
            "profile",
            cook.profile.clone(),
            planned.profile.clone(),
            Category::Profile,
        );
        d.shown(
            "features",
            show_list(&cook.features),
            show_list(&planned.features),
            Category::Features,
        );
        let flag = |b: bool| b.to_string();
        d.shown(
            "--all-features",
            flag(cook.all_features),
            flag(planned.all_features),
            Category::Features,
        );
        d.shown(
            "--no-default-features",
            flag(cook.no_default_features),
            flag(planned.no_default_features),
            Category::Features,
        );
        let lists = [
            ("target", &cook.targets, &planned.targets, Category::Target),
            (
                "selection",
                &cook.selection,
                &planned.selection,
                Category::Selection,
            ),
            (
                "extra cargo arguments",
                &cook.extra,
                &planned.extra,
                Category::Other,
            ),
        ];
        for (setting, a, b, category) in lists {
            d.shown(setting, show_list(a), show_list(b), category);
        }
    }

    /// The environment variables, cargo config values and build-script variables.
    fn environment(
        &mut self,
        cook: &Settings,
        planned: &Settings,
        planned_env: &BTreeMap<String, String>,
    ) {
        let d = self;
        let keys: BTreeSet<&String> = cook.env.keys().chain(planned.env.keys()).collect();
        for k in keys {
            let category = setting_category(k);
            d.env(
                format!("env {k}"),
                k,
                cook.env.get(k),
                planned.env.get(k),
                category,
            );
        }
        let keys: BTreeSet<&String> = cook.config.keys().chain(planned.config.keys()).collect();
        for k in keys {
            let (a, b) = (cook.config.get(k), planned.config.get(k));
            if is_env_key(k) {
                d.env(format!("config {k}"), k, a, b, setting_category(k));
            } else {
                d.shown(format!("config {k}"), show(a), show(b), setting_category(k));
            }
        }
        for (name, value) in &cook.build_script_env {
            let setting = format!("build-script env {name}");
            d.env(
                setting,
                name,
                value.as_ref(),
                planned_env.get(name),
                Category::Env,
            );
        }
    }
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

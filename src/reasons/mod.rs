//! Why a unit rebuilt. Two sources, both cargo's own:
//!
//! - the fingerprint log (`CARGO_LOG=cargo::core::compiler::fingerprint=info`): for a unit whose
//!   fingerprint exists but no longer matches, cargo writes `fingerprint dirty for <unit>`
//!   followed by `dirty: <Reason>` (`RustflagsChanged { .. }`, `EnvVarChanged { .. }`, ...);
//!   for a unit with no fingerprint at all it writes `fingerprint error for <unit>` and
//!   `err: failed to read` with the path of the fingerprint file;
//! - the fingerprint files (`.fingerprint/<pkg>-<hash>/<kind>-<target>.json`): a unit whose
//!   settings change its metadata hash (features, profile, flags, target) lands in a new
//!   directory, so the log only says "missing". Comparing its new fingerprint file with the one
//!   the cook left for the same package and target names the fields that differ.
//!
//! Both are reduced to a [`Category`] a person can act on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

pub mod explain;

pub use crate::category::Category;

/// The environment variable and value that make cargo log fingerprint decisions.
pub const LOG_ENV: (&str, &str) = ("CARGO_LOG", "cargo::core::compiler::fingerprint=info");

/// What a fingerprint log record says about a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `fingerprint dirty for ...`: the fingerprint exists and differs.
    Dirty,
    /// `fingerprint error for ...`: no fingerprint (a unit new to this target directory).
    Missing,
}

/// One unit that cargo's fingerprint log talks about.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Package name.
    pub package: String,
    /// Package version (without `v`).
    pub version: String,
    /// Target name (`build-script-build` for build scripts).
    pub target: String,
    /// Cargo's compile mode (`Build`, `RunCustomBuild`, `Check { test: false }`, ...).
    pub mode: String,
    /// Dirty or missing.
    pub status: Status,
    /// The `dirty:` reasons (cargo's own words).
    pub details: Vec<String>,
    /// For a missing fingerprint: the file cargo failed to read.
    pub fingerprint: Option<PathBuf>,
    /// The raw log lines (without timestamps and span).
    pub raw: Vec<String>,
}

impl Entry {
    /// Whether this entry is about a build-script run (which has no `compiler-artifact`).
    pub fn is_build_run(&self) -> bool {
        self.mode == "RunCustomBuild"
    }
}

/// Removes ANSI escape sequences.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A log record line: `<uptime>s  <LEVEL> <span>: <target>: <message>`; returns (span, message)
/// for records of cargo's fingerprint module.
fn split_record(line: &str) -> Option<(&str, &str)> {
    const MODULE: &str = "cargo::core::compiler::fingerprint: ";
    let t = line.trim_start();
    let (stamp, rest) = t.split_once(char::is_whitespace)?;
    let stamp = stamp.strip_suffix('s')?;
    if stamp.is_empty() || !stamp.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let rest = rest.trim_start();
    let (level, rest) = rest.split_once(' ')?;
    if !matches!(level, "INFO" | "WARN" | "DEBUG" | "TRACE" | "ERROR") {
        return None;
    }
    let at = rest.find(MODULE)?;
    let span = rest[..at].trim_end().trim_end_matches(':');
    Some((span, &rest[at + MODULE.len()..]))
}

/// Package name, version and target from a `prepare_target{... package_id=N vV ... target="T"}` span.
fn span_unit(span: &str) -> Option<(String, String, String)> {
    let id_at = span.find("package_id=")? + "package_id=".len();
    let target_at = span.find(" target=\"")?;
    if target_at < id_at {
        return None;
    }
    let id = &span[id_at..target_at];
    let mut words = id.split_whitespace();
    let name = words.next()?.to_string();
    let version = words
        .next()
        .unwrap_or("")
        .trim_start_matches('v')
        .to_string();
    let target = span[target_at + " target=\"".len()..]
        .split('"')
        .next()?
        .to_string();
    Some((name, version, target))
}

/// The unit text after `fingerprint dirty for `: `itoa v1.0.19/Build/TargetInner {...}`.
fn unit_mode(unit: &str) -> String {
    let Some(end) = unit.find("/TargetInner") else {
        return String::new();
    };
    let head = &unit[..end];
    head.rsplit_once('/').map_or("", |(_, m)| m).to_string()
}

/// Name and version from the unit text when there is no span (`itoa v1.0.19/...`).
fn unit_package(unit: &str) -> (String, String) {
    let mut words = unit.split_whitespace();
    let name = words.next().unwrap_or("").to_string();
    let version = words
        .next()
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("")
        .trim_start_matches('v')
        .to_string();
    (name, version)
}

/// Parses cargo's stderr (any mix of log records and ordinary output) into fingerprint entries.
pub fn parse_log<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for line in lines {
        let line = strip_ansi(line);
        let Some((span, message)) = split_record(&line) else {
            continue;
        };
        let msg = message.trim();
        let start = msg
            .strip_prefix("fingerprint dirty for ")
            .map(|u| (Status::Dirty, u))
            .or_else(|| {
                msg.strip_prefix("fingerprint error for ")
                    .map(|u| (Status::Missing, u))
            });
        if let Some((status, unit)) = start {
            let (package, version, target) = span_unit(span).unwrap_or_else(|| {
                let (n, v) = unit_package(unit);
                (n, v, String::new())
            });
            entries.push(Entry {
                package,
                version,
                target,
                mode: unit_mode(unit),
                status,
                details: Vec::new(),
                fingerprint: None,
                raw: vec![msg.to_string()],
            });
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            continue;
        };
        // Only lines of the same unit continue an entry.
        if let Some((p, v, t)) = span_unit(span) {
            if p != entry.package
                || v != entry.version
                || (!entry.target.is_empty() && t != entry.target)
            {
                continue;
            }
        }
        entry.raw.push(msg.to_string());
        if let Some(reason) = msg.strip_prefix("dirty:") {
            entry.details.push(reason.trim().to_string());
        } else if let Some(err) = msg.strip_prefix("err:") {
            let err = err.trim();
            if let Some(rest) = err.strip_prefix("failed to read `") {
                if let Some(path) = rest.split('`').next() {
                    entry.fingerprint = Some(PathBuf::from(path));
                }
            }
            entry.details.push(err.to_string());
        } else {
            entry.details.push(msg.to_string());
        }
    }
    entries
}

/// A reason classified: its category, and for a cascade the dependency it names (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The category.
    pub category: Category,
    /// For [`Category::Dependency`]: the dependency cargo names, when it names one.
    pub dependency: Option<String>,
}

/// Classifies one `dirty:` reason in cargo's words (`RustflagsChanged { old: [..], new: [..] }`).
pub fn classify_detail(detail: &str) -> Classified {
    let d = detail.trim();
    let plain = |category| Classified {
        category,
        dependency: None,
    };
    let word = d
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("");
    match word {
        "RustcChanged" => plain(Category::Toolchain),
        "FeaturesChanged" | "DeclaredFeaturesChanged" => plain(Category::Features),
        "ProfileConfigurationChanged" => plain(Category::Profile),
        "RustflagsChanged" => plain(Category::Rustflags),
        "ConfigSettingsChanged" => plain(Category::Linker),
        "CompileKindChanged" => plain(Category::Target),
        "PathToSourceChanged" | "DepInfoOutputChanged" => plain(Category::Path),
        "EnvVarChanged" | "EnvVarsChanged" => plain(Category::Env),
        "UnitDependencyInfoChanged"
        | "UnitDependencyNameChanged"
        | "NumberOfDependenciesChanged" => Classified {
            category: Category::Dependency,
            dependency: quoted_field(d, "name"),
        },
        "FsStatusOutdated" => {
            if d.contains("StaleDependency") || d.contains("StaleDepFingerprint") {
                Classified {
                    category: Category::Dependency,
                    dependency: quoted_field(d, "name"),
                }
            } else if d.contains("ChangedEnv") {
                plain(Category::Env)
            } else {
                plain(Category::Mtime)
            }
        }
        "RerunIfChangedOutputFileChanged"
        | "RerunIfChangedOutputPathsChanged"
        | "LocalLengthsChanged" => plain(Category::Mtime),
        _ if d.starts_with("failed to read") => plain(Category::NotCooked),
        _ => plain(Category::Other),
    }
}

/// The string value of `field: "value"` in cargo's debug output.
fn quoted_field(text: &str, field: &str) -> Option<String> {
    let key = format!("{field}: \"");
    let at = text.find(&key)? + key.len();
    text[at..].split('"').next().map(str::to_string)
}

/// One field that differs between two fingerprint files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    /// The category it falls in.
    pub category: Category,
    /// The fingerprint field (`features`, `rustflags`, `profile`, ...).
    pub field: String,
    /// What the cook's unit had (readable fields only; hashes are shown as `#<hash>`).
    pub cook: String,
    /// What the build's unit has.
    pub build: String,
}

/// Fingerprint fields compared, and the category each falls in. `local` (dep-info paths, which
/// name the unit's own hash) and `deps` (checked separately) are left out.
const FIELDS: [(&str, Category); 8] = [
    ("rustc", Category::Toolchain),
    ("features", Category::Features),
    ("declared_features", Category::Features),
    ("profile", Category::Profile),
    ("rustflags", Category::Rustflags),
    ("config", Category::Linker),
    ("compile_kind", Category::Target),
    ("path", Category::Path),
];

fn render(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => format!("#{n}"),
        Some(other) => other.to_string(),
    }
}

/// The fields that differ between the cook's fingerprint file and the build's.
pub fn compare_fingerprints(cook: &Value, build: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for (field, category) in FIELDS {
        let (a, b) = (cook.get(field), build.get(field));
        if a != b {
            out.push(FieldDiff {
                category,
                field: field.to_string(),
                cook: render(a),
                build: render(b),
            });
        }
    }
    if cook.get("target") != build.get("target") {
        out.push(FieldDiff {
            category: Category::Other,
            field: "target".into(),
            cook: render(cook.get("target")),
            build: render(build.get("target")),
        });
    }
    if out.is_empty() && cook.get("deps") != build.get("deps") {
        let names = |v: &Value| -> BTreeMap<String, String> {
            v.get("deps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| {
                    let d = d.as_array()?;
                    Some((d.get(1)?.as_str()?.to_string(), d.last()?.to_string()))
                })
                .collect()
        };
        let (a, b) = (names(cook), names(build));
        let changed: Vec<String> = b
            .iter()
            .filter(|(n, h)| a.get(*n) != Some(*h))
            .map(|(n, _)| n.clone())
            .collect();
        out.push(FieldDiff {
            category: Category::Dependency,
            field: "deps".into(),
            cook: String::new(),
            build: changed.join(", "),
        });
    }
    out
}

/// The fingerprint files (`<unit>/<kind>-<target>.json`) in the unit directories `dirs` (as
/// [`fingerprint_dirs`] finds them): cargo writes one when the unit is done.
pub fn fingerprint_files<'a>(dirs: impl IntoIterator<Item = &'a PathBuf>) -> Vec<PathBuf> {
    dirs.into_iter()
        .flat_map(|d| {
            std::fs::read_dir(d)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
        })
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

/// Fingerprint directories (`<profile>/.fingerprint/<pkg>-<hash>`) under the target directories
/// (or any directory holding target directories, up to a few levels down).
pub fn fingerprint_dirs(target_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in target_dirs {
        for entry in walkdir::WalkDir::new(root)
            .max_depth(6)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| {
                // Never descend into unit outputs: only profile directories hold `.fingerprint`.
                !(e.depth() > 0
                    && e.file_type().is_dir()
                    && matches!(
                        e.file_name().to_str(),
                        Some(
                            "deps" | "build" | "incremental" | "examples" | "doc" | ".git" | "src"
                        )
                    ))
            })
            .filter_map(Result::ok)
        {
            if entry.file_type().is_dir() && entry.file_name() == ".fingerprint" {
                if let Ok(rd) = std::fs::read_dir(entry.path()) {
                    out.extend(
                        rd.filter_map(Result::ok)
                            .map(|e| e.path())
                            .filter(|p| p.is_dir()),
                    );
                }
            }
        }
    }
    out.sort();
    out
}

/// The package name of a fingerprint directory (`itoa-93bee6d51e4296ed` → `itoa`).
pub fn dir_package(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let (pkg, hash) = name.rsplit_once('-')?;
    (hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit())).then(|| pkg.to_string())
}

/// Reads a fingerprint JSON file.
pub fn read_fingerprint(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The cook's fingerprint file closest to `build` among `candidates` (same package, same file
/// name): the one from the same source (`path`) with the fewest differing fields.
pub fn closest<'a>(
    build: &Value,
    candidates: &'a [(PathBuf, Value)],
) -> Option<(&'a Path, Vec<FieldDiff>)> {
    candidates
        .iter()
        .map(|(p, v)| (p.as_path(), compare_fingerprints(v, build)))
        .min_by_key(|(_, diffs)| {
            let other_source = diffs.iter().any(|d| d.field == "path");
            (other_source, diffs.len())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"   Compiling itoa v1.0.19
   0.022849988s  INFO prepare_target{force=false package_id=itoa v1.0.19 target="itoa"}: cargo::core::compiler::fingerprint: fingerprint dirty for itoa v1.0.19/Build/TargetInner { ..: lib_target("itoa", ["lib"], "/r/itoa-1.0.19/src/lib.rs", Edition2021) }
   0.022862146s  INFO prepare_target{force=false package_id=itoa v1.0.19 target="itoa"}: cargo::core::compiler::fingerprint:     dirty: ConfigSettingsChanged
   0.0698s  INFO prepare_target{force=false package_id=libc v0.2.191 target="build-script-build"}: cargo::core::compiler::fingerprint: fingerprint dirty for libc v0.2.191/RunCustomBuild/TargetInner { ..: custom_build_target("build-script-build", "/r/libc/build.rs", Edition2021) }
   0.0699s  INFO prepare_target{force=false package_id=libc v0.2.191 target="build-script-build"}: cargo::core::compiler::fingerprint:     dirty: EnvVarChanged { name: "LIBC_BUILD_VERBOSE", old_value: None, new_value: Some("1") }
   0.16s  INFO prepare_target{force=false package_id=ws-core v0.3.0 (/w/crates/core) target="ws_core"}: cargo::core::compiler::fingerprint: fingerprint error for ws-core v0.3.0 (/w/crates/core)/Check { test: false }/TargetInner { name_inferred: true, ..: lib_target("ws_core", ["lib"], "/w/crates/core/src/lib.rs", Edition2021) }
   0.16s  INFO prepare_target{force=false package_id=ws-core v0.3.0 (/w/crates/core) target="ws_core"}: cargo::core::compiler::fingerprint:     err: failed to read `/w/target/debug/.fingerprint/ws-core-819169e8b6bd8fd4/lib-ws_core`

Caused by:
    No such file or directory (os error 2)
    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.05s
"#;

    #[test]
    fn parses_dirty_and_missing_entries() {
        let entries = parse_log(LOG.lines());
        assert_eq!(entries.len(), 3, "{entries:#?}");
        let itoa = &entries[0];
        assert_eq!(
            (
                itoa.package.as_str(),
                itoa.version.as_str(),
                itoa.target.as_str()
            ),
            ("itoa", "1.0.19", "itoa")
        );
        assert_eq!(itoa.mode, "Build");
        assert_eq!(itoa.status, Status::Dirty);
        assert_eq!(itoa.details, ["ConfigSettingsChanged"]);
        let libc = &entries[1];
        assert!(libc.is_build_run());
        assert_eq!(classify_detail(&libc.details[0]).category, Category::Env);
        let core = &entries[2];
        assert_eq!(core.status, Status::Missing);
        assert_eq!(core.mode, "Check { test: false }");
        assert_eq!(
            core.fingerprint.as_deref(),
            Some(Path::new(
                "/w/target/debug/.fingerprint/ws-core-819169e8b6bd8fd4/lib-ws_core"
            ))
        );
    }

    #[test]
    fn classifies_cargo_reasons() {
        let cases = [
            ("RustcChanged", Category::Toolchain),
            ("FeaturesChanged { old: \"[]\", new: \"[\\\"std\\\"]\" }", Category::Features),
            ("ProfileConfigurationChanged", Category::Profile),
            ("RustflagsChanged { old: [], new: [\"-C\", \"debug-assertions\"] }", Category::Rustflags),
            ("ConfigSettingsChanged", Category::Linker),
            ("CompileKindChanged", Category::Target),
            ("PathToSourceChanged", Category::Path),
            ("EnvVarChanged { name: \"X\", old_value: None, new_value: Some(\"1\") }", Category::Env),
            ("FsStatusOutdated(StaleItem(ChangedFile { reference: \"a\", stale: \"b\" }))", Category::Mtime),
            ("FsStatusOutdated(StaleItem(ChangedEnv { var: \"X\", previous: None, current: None }))", Category::Env),
            ("UnitDependencyInfoChanged { unit: UnitIndex(5) }", Category::Dependency),
            ("TargetConfigurationChanged", Category::Other),
            ("SomethingNew", Category::Other),
        ];
        for (text, want) in cases {
            assert_eq!(classify_detail(text).category, want, "{text}");
        }
        let dep = classify_detail(
            "FsStatusOutdated(StaleDependency { name: \"libc\", dep_mtime: 1, max_mtime: 0 })",
        );
        assert_eq!(dep.dependency.as_deref(), Some("libc"));
    }

    #[test]
    fn fingerprint_fields_name_the_difference() {
        let cook: Value = serde_json::json!({"rustc":1,"features":"[]","declared_features":"[\"std\"]","target":2,"profile":3,"path":4,"deps":[],"local":[],"rustflags":[],"config":5,"compile_kind":0});
        let mut build = cook.clone();
        build["profile"] = 9.into();
        build["rustflags"] = serde_json::json!(["-C", "debug-assertions"]);
        build["local"] = serde_json::json!([{"x": 1}]);
        let diffs = compare_fingerprints(&cook, &build);
        let cats: Vec<Category> = diffs.iter().map(|d| d.category).collect();
        assert_eq!(cats, [Category::Profile, Category::Rustflags]);
        assert_eq!(diffs[1].build, r#"["-C","debug-assertions"]"#);
        let mut only_deps = cook.clone();
        only_deps["deps"] = serde_json::json!([[1, "itoa", false, 7]]);
        let diffs = compare_fingerprints(&cook, &only_deps);
        assert_eq!(diffs.len(), 1);
        assert_eq!(
            (diffs[0].category, diffs[0].build.as_str()),
            (Category::Dependency, "itoa")
        );
    }

    #[test]
    fn fingerprint_dir_names() {
        assert_eq!(
            dir_package(Path::new("/t/.fingerprint/unicode-ident-abcb9e0dc3c102f0")).as_deref(),
            Some("unicode-ident")
        );
        assert_eq!(dir_package(Path::new("/t/.fingerprint/weird")), None);
    }
}

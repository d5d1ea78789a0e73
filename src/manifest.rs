//! Normalising a Cargo.toml for the recipe: keep what can change how dependencies compile,
//! drop what cannot (metadata, lints, comments, key order, local versions, the number of
//! tests/examples/benches), and point every target at a dummy source. The userinfo of every
//! URL (`git = "https://user:token@host/x"`) is taken out.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::metadata;
use crate::recipe::{DummyKind, Target};
use crate::secrets::Removed;

/// The version every local package gets in the skeleton.
pub const MASKED_VERSION: &str = "0.0.0";

/// `[package]` keys that can matter to the dependency build; all others are dropped.
const PACKAGE_KEYS: &[&str] = &[
    "name",
    "edition",
    "links",
    "resolver",
    "workspace",
    "forced-target",
    "default-target",
];

/// Names of the representative targets written for kinds that have any plain target.
const REPRESENTATIVE: &str = "prewarm-dummy";

/// How the manifest is to be normalised.
pub struct Options<'a> {
    /// The package this manifest defines (`None` for a virtual workspace root).
    pub package: Option<&'a metadata::Package>,
    /// Whether to mask the package version (not for `[patch]` targets, whose version must
    /// still match the requirement they patch).
    pub mask_version: bool,
    /// For the workspace root manifest: the member directories to list, relative to it.
    pub members: Option<&'a [String]>,
    /// For the workspace root manifest: the `[workspace.dependencies]` keys some kept member
    /// inherits (`dep = { workspace = true }`); the others are left out.
    pub inherited: Option<&'a BTreeSet<String>>,
}

/// A normalised manifest and the skeleton targets of its package.
pub struct Normalized {
    /// The canonical TOML text.
    pub text: String,
    /// Skeleton targets (paths relative to the package directory).
    pub targets: Vec<Target>,
    /// The credentials taken out: the userinfo of every URL (git dependencies in any
    /// dependency table, `[patch."<url>"]` keys and entries, `[replace]`).
    pub removed: Vec<Removed>,
}

/// Normalises the manifest at `path` with content `text`.
pub fn normalize(text: &str, path: &Path, opts: &Options<'_>) -> Result<Normalized> {
    let doc: Table = toml::from_str(text).map_err(|e| {
        Error::input(format!("`{}` is not valid TOML: {e}", path.display()))
            .with_hint("fix the manifest; `cargo metadata` shows the same error")
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Table::new();
    let mut targets = Vec::new();

    for (key, value) in &doc {
        match key.as_str() {
            "cargo-features" | "features" | "profile" | "replace" => {
                out.insert(key.clone(), value.clone());
            }
            "package" | "project" => {
                if let Some(pkg) = opts.package {
                    let table = value.as_table().cloned().unwrap_or_default();
                    out.insert(
                        "package".into(),
                        Value::Table(package_table(&table, pkg, opts)),
                    );
                }
            }
            "dependencies" | "dev-dependencies" | "dev_dependencies" | "build-dependencies"
            | "build_dependencies" => {
                out.insert(key.clone(), Value::Table(deps_table(value, dir)));
            }
            "target" => {
                out.insert("target".into(), Value::Table(target_tables(value, dir)));
            }
            "patch" => {
                let mut t = Table::new();
                for (registry, deps) in value.as_table().into_iter().flatten() {
                    t.insert(
                        registry.clone(),
                        Value::Table(deps_table_keep_version(deps, dir)),
                    );
                }
                out.insert("patch".into(), Value::Table(t));
            }
            "workspace" => {
                let table = value.as_table().cloned().unwrap_or_default();
                out.insert(
                    "workspace".into(),
                    Value::Table(workspace_table(&table, dir, opts)),
                );
            }
            // [lib], [[bin]], [[example]], [[test]], [[bench]] are regenerated below from what
            // cargo discovered; [lints], [badges] and anything else cannot change dependencies.
            _ => {}
        }
    }

    if let Some(pkg) = opts.package {
        targets = skeleton_targets(pkg);
        add_target_tables(&mut out, &targets, pkg);
    }

    let mut removed = Vec::new();
    crate::secrets::strip_urls(&mut out, "", &mut removed);

    let text = toml::to_string(&out)
        .map_err(|e| Error::input(format!("cannot re-serialise `{}`: {e}", path.display())))?;
    Ok(Normalized {
        text,
        targets,
        removed,
    })
}

/// `[target.<cfg>.*dependencies]`, normalised as the top-level dependency tables are.
fn target_tables(value: &Value, dir: &Path) -> Table {
    let mut t = Table::new();
    for (cfg, tables) in value.as_table().into_iter().flatten() {
        let mut inner = Table::new();
        for (k, v) in tables.as_table().into_iter().flatten() {
            if k.contains("dependencies") {
                inner.insert(k.clone(), Value::Table(deps_table(v, dir)));
            } else {
                inner.insert(k.clone(), v.clone());
            }
        }
        t.insert(cfg.clone(), Value::Table(inner));
    }
    t
}

fn package_table(orig: &Table, pkg: &metadata::Package, opts: &Options<'_>) -> Table {
    let mut t = Table::new();
    for key in PACKAGE_KEYS {
        if let Some(v) = orig.get(*key) {
            t.insert((*key).to_string(), v.clone());
        }
    }
    let version = if opts.mask_version {
        Value::String(MASKED_VERSION.into())
    } else {
        orig.get("version")
            .cloned()
            .unwrap_or_else(|| Value::String(MASKED_VERSION.into()))
    };
    t.insert("version".into(), version);
    if pkg
        .targets
        .iter()
        .any(|t| t.kind == metadata::TargetKind::BuildScript)
    {
        t.insert("build".into(), Value::String("build.rs".into()));
    } else {
        t.insert("build".into(), Value::Boolean(false));
    }
    for auto in ["autobins", "autoexamples", "autotests", "autobenches"] {
        t.insert(auto.into(), Value::Boolean(false));
    }
    t
}

fn workspace_table(orig: &Table, dir: &Path, opts: &Options<'_>) -> Table {
    let mut t = Table::new();
    for (key, value) in orig {
        match key.as_str() {
            "resolver" | "exclude" => {
                t.insert(key.clone(), value.clone());
            }
            "dependencies" => {
                let mut deps = deps_table(value, dir);
                if let Some(used) = opts.inherited {
                    deps.retain(|name, _| used.contains(name));
                }
                t.insert(key.clone(), Value::Table(deps));
            }
            "package" => {
                // Only inheritable keys that the skeleton's members still inherit.
                if let Some(edition) = value.get("edition") {
                    let mut p = Table::new();
                    p.insert("edition".into(), edition.clone());
                    t.insert(key.clone(), Value::Table(p));
                }
            }
            "default-members" => {
                if let (Some(list), Some(members)) = (value.as_array(), opts.members) {
                    let kept: Vec<Value> = list
                        .iter()
                        .filter(|m| {
                            m.as_str().is_some_and(|m| {
                                let m = normalize_rel(m);
                                m == "." || members.contains(&m)
                            })
                        })
                        .cloned()
                        .collect();
                    if !kept.is_empty() {
                        t.insert(key.clone(), Value::Array(kept));
                    }
                }
            }
            // members are rewritten below; metadata and lints cannot change dependencies.
            _ => {}
        }
    }
    if let Some(members) = opts.members {
        t.insert(
            "members".into(),
            Value::Array(members.iter().cloned().map(Value::String).collect()),
        );
    }
    t
}

/// The dependency keys a member manifest inherits from `[workspace.dependencies]`
/// (`dep = { workspace = true }` in any dependency table, target-specific ones included).
/// A manifest that does not parse inherits nothing here; normalising it reports the error.
pub fn inherited_dependencies(text: &str) -> BTreeSet<String> {
    let Ok(doc) = toml::from_str::<Table>(text) else {
        return BTreeSet::new();
    };
    let tables = [
        "dependencies",
        "dev-dependencies",
        "dev_dependencies",
        "build-dependencies",
        "build_dependencies",
    ];
    let mut out = BTreeSet::new();
    let mut collect = |t: &Table| {
        for key in tables {
            for (name, dep) in t.get(key).and_then(Value::as_table).into_iter().flatten() {
                if dep.get("workspace").and_then(Value::as_bool) == Some(true) {
                    out.insert(name.clone());
                }
            }
        }
    };
    collect(&doc);
    for cfg in doc
        .get("target")
        .and_then(Value::as_table)
        .into_iter()
        .flatten()
    {
        if let Some(t) = cfg.1.as_table() {
            collect(t);
        }
    }
    out
}

/// Normalises a dependency table: path dependencies lose their version requirement (local
/// versions are masked), absolute paths become relative, and `dep = "1"` becomes
/// `dep = { version = "1" }`.
fn deps_table(value: &Value, dir: &Path) -> Table {
    normalize_deps(value, dir, true)
}

/// Like [`deps_table`] but keeps versions (for `[patch]`, whose targets keep theirs).
fn deps_table_keep_version(value: &Value, dir: &Path) -> Table {
    normalize_deps(value, dir, false)
}

fn normalize_deps(value: &Value, dir: &Path, strip_path_versions: bool) -> Table {
    let mut out = Table::new();
    for (name, dep) in value.as_table().into_iter().flatten() {
        let dep = match dep {
            Value::String(v) => {
                let mut t = Table::new();
                t.insert("version".into(), Value::String(v.clone()));
                Value::Table(t)
            }
            Value::Table(t) => {
                let mut t = t.clone();
                if let Some(Value::String(p)) = t.get("path") {
                    let p = Path::new(p);
                    if p.is_absolute() {
                        let rel = relative_to(p, dir);
                        t.insert("path".into(), Value::String(rel));
                    }
                    if strip_path_versions {
                        t.remove("version");
                    }
                }
                Value::Table(t)
            }
            other => other.clone(),
        };
        out.insert(name.clone(), dep);
    }
    out
}

/// The targets of a package's skeleton. Libraries, binaries and build scripts are kept one for
/// one. Examples, tests and benches are kept only where `required-features` make them matter;
/// every package gets one representative of each of these kinds, whether it has any or not, so
/// adding one (even the first) does not change the recipe.
///
/// A representative never changes what the real build reuses: whether dev-dependencies take
/// part in feature resolution depends on the cargo flags alone (`--examples`, `--tests`, ...),
/// not on which targets exist, so the cook resolves the same features; at most it compiles a
/// package's dev-dependencies that the real build would not need.
pub fn skeleton_targets(pkg: &metadata::Package) -> Vec<Target> {
    use metadata::TargetKind as M;
    let mut out = Vec::new();
    for t in &pkg.targets {
        let kind = match t.kind {
            M::Lib => {
                if t.crate_types
                    .iter()
                    .any(|c| matches!(c.as_str(), "cdylib" | "dylib" | "staticlib"))
                {
                    DummyKind::StdLib
                } else {
                    DummyKind::Lib
                }
            }
            M::ProcMacro => DummyKind::ProcMacro,
            M::Bin => DummyKind::Bin,
            M::Example => DummyKind::Example,
            M::Test => DummyKind::Test,
            M::Bench => DummyKind::Bench,
            M::BuildScript => DummyKind::BuildScript,
        };
        let path = match kind {
            DummyKind::Lib | DummyKind::StdLib | DummyKind::ProcMacro => "src/lib.rs".to_string(),
            DummyKind::BuildScript => "build.rs".to_string(),
            _ => {
                let plain = t.required_features.is_empty()
                    && (kind != DummyKind::Example || t.crate_types.iter().all(|c| c == "bin"));
                if kind != DummyKind::Bin && plain {
                    continue;
                }
                format!("{}/{}.rs", kind.dummy_dir(), t.name)
            }
        };
        out.push(Target {
            kind,
            name: t.name.clone(),
            path,
        });
    }
    for kind in [DummyKind::Example, DummyKind::Test, DummyKind::Bench] {
        out.push(Target {
            kind,
            name: REPRESENTATIVE.into(),
            path: format!("{}/{REPRESENTATIVE}.rs", kind.dummy_dir()),
        });
    }
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    out
}

fn add_target_tables(out: &mut Table, targets: &[Target], pkg: &metadata::Package) {
    for target in targets {
        let orig = pkg
            .targets
            .iter()
            .find(|t| t.name == target.name && kind_matches(t.kind, target.kind));
        match target.kind {
            DummyKind::Lib | DummyKind::StdLib | DummyKind::ProcMacro => {
                let mut lib = Table::new();
                lib.insert("name".into(), Value::String(target.name.clone()));
                lib.insert("path".into(), Value::String(target.path.clone()));
                if let Some(orig) = orig {
                    if target.kind == DummyKind::ProcMacro {
                        lib.insert("proc-macro".into(), Value::Boolean(true));
                    } else if orig.crate_types != ["lib"] {
                        lib.insert("crate-type".into(), strings(&orig.crate_types));
                    }
                    if !orig.test {
                        lib.insert("test".into(), Value::Boolean(false));
                    }
                    if !orig.doctest {
                        lib.insert("doctest".into(), Value::Boolean(false));
                    }
                }
                out.insert("lib".into(), Value::Table(lib));
            }
            DummyKind::BuildScript => {}
            kind => {
                let mut t = bin_like_table(kind, &target.name, &target.path);
                if let Some(orig) = orig {
                    if !orig.required_features.is_empty() {
                        t.insert("required-features".into(), strings(&orig.required_features));
                    }
                    if kind == DummyKind::Example && orig.crate_types.iter().any(|c| c != "bin") {
                        t.insert("crate-type".into(), strings(&orig.crate_types));
                    }
                }
                let table = kind.manifest_table().expect("bin-like kinds have a table");
                let list = out
                    .entry(table.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.push(Value::Table(t));
                }
            }
        }
    }
}

fn kind_matches(m: metadata::TargetKind, k: DummyKind) -> bool {
    use metadata::TargetKind as M;
    matches!(
        (m, k),
        (M::Lib, DummyKind::Lib | DummyKind::StdLib)
            | (M::ProcMacro, DummyKind::ProcMacro)
            | (M::Bin, DummyKind::Bin)
            | (M::Example, DummyKind::Example)
            | (M::Test, DummyKind::Test)
            | (M::Bench, DummyKind::Bench)
            | (M::BuildScript, DummyKind::BuildScript)
    )
}

/// The `[[bin]]`/`[[example]]`/`[[test]]`/`[[bench]]` entry of a dummy target. Tests and
/// benches are written without the libtest harness: their dummy is a plain `fn main`.
fn bin_like_table(kind: DummyKind, name: &str, path: &str) -> Table {
    let mut t = Table::new();
    t.insert("name".into(), Value::String(name.into()));
    t.insert("path".into(), Value::String(path.into()));
    if matches!(kind, DummyKind::Test | DummyKind::Bench) {
        t.insert("harness".into(), Value::Boolean(false));
    }
    t
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

/// Appends a dummy target named `name` of `kind` to a skeleton manifest (cook, on demand).
pub fn add_target(text: &str, kind: DummyKind, name: &str, path: &str) -> Result<String> {
    let mut doc: Table = toml::from_str(text)
        .map_err(|e| Error::input(format!("skeleton manifest is not valid TOML: {e}")))?;
    let t = bin_like_table(kind, name, path);
    let table = kind
        .manifest_table()
        .ok_or_else(|| Error::input("only bins, examples, tests and benches are made on demand"))?;
    if let Value::Array(list) = doc
        .entry(table.to_string())
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        list.push(Value::Table(t));
    }
    toml::to_string(&doc).map_err(|e| Error::input(format!("cannot write skeleton manifest: {e}")))
}

/// `path` relative to `base` (both absolute), with `/` separators.
pub fn relative_to(path: &Path, base: &Path) -> String {
    let path: Vec<Component<'_>> = path.components().collect();
    let base: Vec<Component<'_>> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..base.len() {
        rel.push("..");
    }
    for c in &path[common..] {
        rel.push(c.as_os_str());
    }
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// Normalises a relative path string: no `./`, no trailing `/`.
pub fn normalize_rel(s: &str) -> String {
    let p: PathBuf = Path::new(s)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let s = p.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

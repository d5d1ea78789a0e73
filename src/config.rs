//! Cargo configuration, the one module that finds and parses cargo's config files
//! (`.cargo/config.toml` and the legacy `.cargo/config`) and the toolchain file:
//!
//! - for a recipe and the project image, [`config_files`]: the files from the workspace root up
//!   to the layout root, with the files they include, stripped of secrets (tokens, credential
//!   settings, the userinfo of URLs and secret-looking `[env]` values never leave this module),
//!   parsed with [`Found::table`];
//! - for a cook record, [`cargo_reads`]: every file cargo itself reads for a build in a
//!   directory (`$CARGO_HOME`, then each ancestor), read with [`read_table`];
//! - [`toolchain_file`] and [`toolchain_channel`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::secrets::{self, Kind, Removed};

/// Top-level config tables that cannot change how anything compiles.
const DROPPED_TABLES: &[&str] = &[
    "alias",
    "term",
    "cargo-new",
    "doc",
    "future-incompat-report",
    "install",
    "credential-alias",
    "cache",
    "resolver",
];

/// The names of a config file in a `.cargo` directory, the one cargo prefers first.
const CONFIG_NAMES: [&str; 2] = ["config.toml", "config"];

/// A config or toolchain file found for the workspace.
#[derive(Debug)]
pub struct Found {
    /// Absolute path.
    pub path: PathBuf,
    /// The content for the recipe (normalised and stripped for config files).
    pub text: String,
    /// The credentials taken out of it.
    pub removed: Vec<Removed>,
}

impl Found {
    /// A config file's stripped content, parsed (it was rendered from a parsed table, so it
    /// parses; a toolchain file that is not TOML gives an empty table).
    pub fn table(&self) -> Table {
        toml::from_str(&self.text).unwrap_or_default()
    }
}

/// Config files in each directory from `start` up to and including `stop`, each followed by
/// the files it includes (`include = [...]`, cargo's config-include), nearest first: a file
/// comes before the files it includes, and a later include before an earlier one, which is
/// the order in which cargo lets their values win. Included files must lie inside `stop`.
pub fn config_files(start: &Path, stop: &Path) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for dir in dirs_up(start, stop) {
        for name in CONFIG_NAMES {
            let path = dir.join(".cargo").join(name);
            if path.is_file() {
                read_config(&path, stop, &mut Vec::new(), &mut found)?;
            }
        }
    }
    Ok(found)
}

/// One `include` entry of a config file.
struct Include {
    /// The path as written.
    written: String,
    /// Where it points (relative paths resolved against the including file's directory).
    path: PathBuf,
    optional: bool,
}

/// Reads, strips and records the config file at `path`, then the files it includes.
/// `chain` holds the files including this one (to refuse a cycle).
fn read_config(
    path: &Path,
    root: &Path,
    chain: &mut Vec<PathBuf>,
    found: &mut Vec<Found>,
) -> Result<()> {
    let text = crate::fs::read_to_string(path)?;
    let mut doc = parse(&text, path)?;
    let includes = includes(&doc, path)?;
    let removed = strip_table(&mut doc);
    found.push(Found {
        text: render(&doc, path)?,
        path: path.to_path_buf(),
        removed,
    });
    chain.push(path.to_path_buf());
    for inc in includes.iter().rev() {
        if !inc.path.is_file() {
            if inc.optional {
                continue;
            }
            return Err(Error::input(format!(
                "`{}` includes `{}`, which does not exist",
                path.display(),
                inc.written
            ))
            .with_hint(format!(
                "create `{}`, or mark the include optional (`{{ path = \"{}\", optional = true }}`); cargo refuses a missing include too",
                inc.path.display(),
                inc.written
            )));
        }
        if !inc.path.starts_with(root) {
            return Err(Error::input(format!(
                "`{}` includes `{}`, which is outside `{}`, the directory the recipe holds",
                path.display(),
                inc.written,
                root.display()
            ))
            .with_hint("move the included file next to the config file that includes it (the cook stage sees only the recipe), or set its values in the image"));
        }
        if chain.contains(&inc.path) {
            return Err(Error::input(format!(
                "`{}` includes `{}`, which includes it again",
                path.display(),
                inc.written
            ))
            .with_hint("remove one of the two includes; cargo refuses a cycle too"));
        }
        if found.iter().any(|f| f.path == inc.path) {
            continue;
        }
        read_config(&inc.path, root, chain, found)?;
    }
    chain.pop();
    Ok(())
}

/// The `include` entries of a config file: a path, a list of paths, or a list of
/// `{ path = "...", optional = true }` tables.
fn includes(doc: &Table, path: &Path) -> Result<Vec<Include>> {
    let Some(value) = doc.get("include") else {
        return Ok(Vec::new());
    };
    let bad = || {
        Error::input(format!(
            "`{}` has an `include` that is not a path, a list of paths or a list of `{{ path = \"...\" }}` tables",
            path.display()
        ))
        .with_hint("write `include = [\"other.toml\"]`; cargo refuses other forms too")
    };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let base = path.parent().unwrap_or(Path::new("/"));
    let mut out = Vec::new();
    for item in items {
        let (written, optional) = match item {
            Value::String(p) => (p.clone(), false),
            Value::Table(t) => match t.get("path") {
                Some(Value::String(p)) => (
                    p.clone(),
                    t.get("optional").and_then(Value::as_bool).unwrap_or(false),
                ),
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        };
        if Path::new(&written).is_absolute() {
            return Err(Error::input(format!(
                "`{}` includes `{written}` by an absolute path, which the cook's copy of the project cannot follow",
                path.display()
            ))
            .with_hint("write the include relative to the config file's directory"));
        }
        out.push(Include {
            path: lexical(&base.join(&written)),
            written,
            optional,
        });
    }
    Ok(out)
}

/// `path` with `.` and `..` resolved without looking at the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The toolchain file nearest to `start` (as rustup finds it), up to `stop`.
pub fn toolchain_file(start: &Path, stop: &Path) -> Result<Option<Found>> {
    for dir in dirs_up(start, stop) {
        for name in ["rust-toolchain.toml", "rust-toolchain"] {
            let path = dir.join(name);
            if path.is_file() {
                let text = crate::fs::read_to_string(&path)?;
                return Ok(Some(Found {
                    path,
                    text,
                    removed: Vec::new(),
                }));
            }
        }
    }
    Ok(None)
}

/// The toolchain channel named by a toolchain file's text, if any.
pub fn toolchain_channel(text: &str) -> Option<String> {
    if let Ok(t) = toml::from_str::<Table>(text) {
        return t
            .get("toolchain")
            .and_then(|t| t.get("channel"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.to_string())
}

fn dirs_up<'a>(start: &'a Path, stop: &'a Path) -> impl Iterator<Item = &'a Path> {
    let mut cur = Some(start);
    std::iter::from_fn(move || {
        let dir = cur?;
        cur = if dir == stop { None } else { dir.parent() };
        Some(dir)
    })
}

/// Cargo config files that apply to a build run in `dir`: `$CARGO_HOME/config(.toml)` first, then
/// each `.cargo/config(.toml)` from `/` down to `dir` (later files take precedence); in each
/// directory the first of `config.toml` and `config` that exists.
pub fn cargo_reads(dir: &Path, env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let home = env
        .get("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".cargo")));
    let mut seen = BTreeSet::new();
    let mut push = |base: &Path, files: &mut Vec<PathBuf>| {
        for name in CONFIG_NAMES {
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

/// A config file, read and parsed as it is (secrets and all: for values, never for a recipe).
pub fn read_table(path: &Path) -> Result<Table> {
    parse(&crate::fs::read_to_string(path)?, path)
}

/// Removes secrets and build-neutral tables from a config file, and renders it canonically;
/// also returns what it took out.
pub fn strip_config(text: &str, path: &Path) -> Result<(String, Vec<Removed>)> {
    let mut doc = parse(text, path)?;
    let removed = strip_table(&mut doc);
    Ok((render(&doc, path)?, removed))
}

fn parse(text: &str, path: &Path) -> Result<Table> {
    toml::from_str(text).map_err(|e| {
        Error::input(format!("`{}` is not valid TOML: {e}", path.display()))
            .with_hint("fix the cargo config file; cargo rejects it too")
    })
}

fn render(doc: &Table, path: &Path) -> Result<String> {
    toml::to_string(doc)
        .map_err(|e| Error::input(format!("cannot re-serialise `{}`: {e}", path.display())))
}

/// Drops the build-neutral tables and every credential: registry tokens and credential
/// settings, the userinfo of every URL (and of a scheme-less `http.proxy`), and the values
/// of `[env]` entries whose name looks secret (replaced by [`secrets::MARKER`]).
fn strip_table(doc: &mut Table) -> Vec<Removed> {
    let mut removed = Vec::new();
    for key in DROPPED_TABLES {
        doc.remove(*key);
    }
    if let Some(Value::Table(registry)) = doc.get_mut("registry") {
        strip_credentials(registry, "registry", &mut removed);
        if registry.remove("global-credential-providers").is_some() {
            removed.push(Removed {
                key: "registry.global-credential-providers".into(),
                kind: Kind::CredentialSetting,
            });
        }
    }
    if let Some(Value::Table(registries)) = doc.get_mut("registries") {
        for (name, reg) in registries.iter_mut() {
            if let Value::Table(reg) = reg {
                let prefix = secrets::join("registries", name);
                strip_credentials(reg, &prefix, &mut removed);
            }
        }
    }
    if let Some(Value::String(proxy)) = doc
        .get_mut("http")
        .and_then(Value::as_table_mut)
        .and_then(|h| h.get_mut("proxy"))
    {
        if let Some(stripped) = secrets::strip_bare_userinfo(proxy) {
            *proxy = stripped;
            removed.push(Removed {
                key: "http.proxy".into(),
                kind: Kind::Userinfo,
            });
        }
    }
    if let Some(Value::Table(env)) = doc.get_mut("env") {
        for (name, value) in env.iter_mut() {
            if !secrets::looks_secret(name) {
                continue;
            }
            let slot = match value {
                Value::Table(t) => t.get_mut("value"),
                other => Some(other),
            };
            if let Some(slot) = slot {
                if slot.as_str() != Some(secrets::MARKER) {
                    *slot = Value::String(secrets::MARKER.into());
                    removed.push(Removed {
                        key: secrets::join("env", name),
                        kind: Kind::SecretEnv,
                    });
                }
            }
        }
    }
    secrets::strip_urls(doc, "", &mut removed);
    removed
}

fn strip_credentials(t: &mut Table, prefix: &str, removed: &mut Vec<Removed>) {
    for (key, kind) in [
        ("token", Kind::Token),
        ("credential-provider", Kind::CredentialSetting),
        ("secret-key", Kind::Token),
        ("secret-key-subject", Kind::CredentialSetting),
    ] {
        if t.remove(key).is_some() {
            removed.push(Removed {
                key: secrets::join(prefix, key),
                kind,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_goes_and_is_named() {
        let text = r#"
[registry]
token = "T1"
global-credential-providers = ["cargo:token"]

[registries.corp]
index = "sparse+https://T2@corp.example/index/"
token = "T3"
credential-provider = "cargo:token-from-stdout get-T4"

[http]
proxy = "proxyuser:T5@proxy.example:3128"

[source.mirror]
registry = "sparse+https://u:T6@mirror.example/index/"
[source.gitmirror]
git = "https://u:T7@git.example/index"

[patch."https://u:T8@git.example/x"]
x = { git = "https://u:T9@git.example/y" }

[env]
SECRET_TOKEN = "T10"
api_key = { value = "T11", force = true }
DATABASE_URL = "postgres://app:T12@db.example/app"
GREETING = "hello"

[build]
rustflags = ["-D", "warnings"]
"#;
        let (out, removed) = strip_config(text, Path::new("config.toml")).unwrap();
        for t in 1..=12 {
            let token = format!("T{t}");
            assert!(
                !out.contains(&format!("{token}\"")) && !out.contains(&format!("{token}@")),
                "{token} left in:\n{out}"
            );
        }
        assert!(out.contains("proxy = \"proxy.example:3128\""), "{out}");
        assert!(out.contains("SECRET_TOKEN = \"prewarm-stripped\""), "{out}");
        assert!(out.contains("value = \"prewarm-stripped\""), "{out}");
        assert!(out.contains("force = true"), "{out}");
        assert!(out.contains("GREETING = \"hello\""), "{out}");
        assert!(out.contains("[patch.\"https://git.example/x\".x]"), "{out}");
        let mut got: Vec<(String, &str)> = removed
            .iter()
            .map(|r| (r.key.clone(), r.kind.label()))
            .collect();
        got.sort();
        let want: Vec<(String, &str)> = [
            ("env.DATABASE_URL", "userinfo"),
            ("env.SECRET_TOKEN", "secret-looking [env] name"),
            ("env.api_key", "secret-looking [env] name"),
            ("http.proxy", "userinfo"),
            ("patch.\"https://git.example/x\"", "userinfo"),
            ("patch.\"https://git.example/x\".x.git", "userinfo"),
            ("registries.corp.credential-provider", "credential setting"),
            ("registries.corp.index", "userinfo"),
            ("registries.corp.token", "token"),
            ("registry.global-credential-providers", "credential setting"),
            ("registry.token", "token"),
            ("source.gitmirror.git", "userinfo"),
            ("source.mirror.registry", "userinfo"),
        ]
        .iter()
        .map(|(k, l)| ((*k).to_string(), *l))
        .collect();
        assert_eq!(got, want);
    }
}

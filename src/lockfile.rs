//! Normalising Cargo.lock for the recipe: local packages' versions are masked (so a version
//! bump leaves the recipe alone) and packages left out of the skeleton are removed. The edit
//! is textual so the file stays in cargo's own format and `--locked` builds accept it. The
//! userinfo of every source URL (`git+https://user:token@host/x`) is taken out.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use toml::Table;

use crate::error::{Error, Result};
use crate::manifest::MASKED_VERSION;
use crate::secrets::{self, Kind, Removed};

/// A normalised lockfile.
pub struct Normalized {
    /// The text, in cargo's format.
    pub text: String,
    /// The credentials taken out (once per package and field).
    pub removed: Vec<Removed>,
}

/// Normalises the lockfile at `path` with content `text`.
///
/// `mask` names the local packages whose version is masked; `drop` names local packages to
/// remove (workspace members the skeleton leaves out).
pub fn normalize(
    text: &str,
    path: &Path,
    mask: &BTreeSet<String>,
    drop: &BTreeSet<String>,
) -> Result<Normalized> {
    let parsed: Table = toml::from_str(text).map_err(|e| {
        Error::input(format!("`{}` is not a valid lockfile: {e}", path.display()))
            .with_hint("regenerate it with `cargo generate-lockfile`")
    })?;
    // (name, version) of local packages (no `source`) whose version is masked
    let mut renames: BTreeSet<(String, String)> = BTreeSet::new();
    for pkg in parsed
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(version)) = (
            pkg.get("name").and_then(|v| v.as_str()),
            pkg.get("version").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        if pkg.get("source").is_none() && mask.contains(name) {
            renames.insert((name.to_string(), version.to_string()));
        }
    }

    let mut out = String::with_capacity(text.len());
    for block in split_blocks(text) {
        let header = block.lines().next().unwrap_or("");
        if header.trim() != "[[package]]" {
            out.push_str(block);
            continue;
        }
        let fields: Table = toml::from_str(&block[header.len()..]).unwrap_or_default();
        let name = fields.get("name").and_then(|v| v.as_str()).unwrap_or("");
        let local = fields.get("source").is_none();
        if local && drop.contains(name) {
            continue;
        }
        for line in block.split_inclusive('\n') {
            let trimmed = line.trim();
            if local && mask.contains(name) && trimmed.starts_with("version = ") {
                let _ = writeln!(out, "version = \"{MASKED_VERSION}\"");
            } else if let Some(entry) = quoted_entry(trimmed) {
                // dependency entries: "name", "name version" or "name version (source)"
                let mut parts = entry.split(' ');
                // (nothing depends on a dropped member, so only renames apply here)
                let dep = parts.next().unwrap_or("");
                let ver = parts.next();
                match ver {
                    Some(v)
                        if parts.next().is_none()
                            && renames.contains(&(dep.to_string(), v.to_string())) =>
                    {
                        let indent = &line[..line.len() - line.trim_start().len()];
                        let comma = if trimmed.ends_with(',') { "," } else { "" };
                        let _ = writeln!(out, "{indent}\"{dep} {MASKED_VERSION}\"{comma}");
                    }
                    _ => out.push_str(line),
                }
            } else {
                out.push_str(line);
            }
        }
    }
    Ok(strip_userinfo(&out))
}

/// Takes the userinfo out of every URL in the lockfile (`source` fields, dependency entries
/// that name their source, `[[patch.unused]]`, the `[metadata]` of old lockfiles).
fn strip_userinfo(text: &str) -> Normalized {
    let mut out = String::with_capacity(text.len());
    let mut removed: Vec<Removed> = Vec::new();
    for block in split_blocks(text) {
        let header = block.lines().next().unwrap_or("");
        let table = if header.starts_with('[') {
            header.trim().trim_matches(['[', ']'])
        } else {
            ""
        };
        let fields: Table =
            toml::from_str(block.get(header.len()..).unwrap_or("")).unwrap_or_default();
        let name = fields.get("name").and_then(|v| v.as_str());
        for line in block.split_inclusive('\n') {
            let Some(stripped) = secrets::strip_userinfo(line) else {
                out.push_str(line);
                continue;
            };
            out.push_str(&stripped);
            let field = line
                .split_once('=')
                .map(|(k, _)| k.trim())
                .filter(|k| !k.starts_with('"') && !k.is_empty() && !k.contains(' '))
                .unwrap_or("dependencies");
            let mut key = if table.is_empty() {
                String::new()
            } else {
                table.to_string()
            };
            if let Some(name) = name {
                key = secrets::join(&key, name);
            }
            let key = secrets::join(&key, field);
            if !removed.iter().any(|r| r.key == key) {
                removed.push(Removed {
                    key,
                    kind: Kind::SourceUserinfo,
                });
            }
        }
    }
    Normalized { text: out, removed }
}

/// Splits the lockfile before each `[[package]]` / `[metadata]` header.
pub(crate) fn split_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > start && line.starts_with('[') {
            blocks.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    blocks.push(&text[start..]);
    blocks
}

/// The string inside a dependency-array line such as ` "serde 1.0.0",`.
fn quoted_entry(line: &str) -> Option<&str> {
    let line = line.strip_suffix(',').unwrap_or(line);
    line.strip_prefix('"')?.strip_suffix('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "app"
version = "1.2.3"
dependencies = [
 "log 0.4.20",
 "log 9.9.9",
 "lonely",
]

[[package]]
name = "log"
version = "0.4.20"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"

[[package]]
name = "log"
version = "9.9.9"

[[package]]
name = "lonely"
version = "0.1.0"
"#;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn masks_local_versions_and_their_references_only() {
        let out = normalize(
            LOCK,
            Path::new("Cargo.lock"),
            &set(&["app", "log", "lonely"]),
            &set(&[]),
        )
        .unwrap()
        .text;
        assert!(out.contains("name = \"app\"\nversion = \"0.0.0\""));
        // the registry `log` keeps its version; the local one (same name) is masked
        assert!(out.contains("name = \"log\"\nversion = \"0.4.20\"\nsource"));
        assert!(out.contains("name = \"log\"\nversion = \"0.0.0\"\n"));
        assert!(out.contains(" \"log 0.4.20\",\n \"log 0.0.0\",\n"));
        toml::from_str::<Table>(&out).unwrap();
    }

    #[test]
    fn userinfo_leaves_every_source_url() {
        let lock = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"dep 0.1.0 (git+https://u:tok@host/x#abc)\",\n]\n\n[[package]]\nname = \"dep\"\nversion = \"0.1.0\"\nsource = \"git+https://u:tok@host/x#abc\"\n";
        let out = normalize(lock, Path::new("Cargo.lock"), &set(&[]), &set(&[])).unwrap();
        assert!(!out.text.contains("tok"), "{}", out.text);
        assert!(out.text.contains("source = \"git+https://host/x#abc\""));
        assert!(out
            .text
            .contains(" \"dep 0.1.0 (git+https://host/x#abc)\",\n"));
        let keys: Vec<&str> = out.removed.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["package.app.dependencies", "package.dep.source"]);
        toml::from_str::<Table>(&out.text).unwrap();
    }

    #[test]
    fn drops_left_out_members() {
        let out = normalize(
            LOCK,
            Path::new("Cargo.lock"),
            &set(&["app"]),
            &set(&["lonely"]),
        )
        .unwrap()
        .text;
        assert!(!out.contains("name = \"lonely\"\nversion"));
        assert!(
            out.contains("name = \"log\"\nversion = \"9.9.9\""),
            "unmasked local stays"
        );
    }
}

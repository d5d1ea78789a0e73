//! Normalising Cargo.lock for the recipe: local packages' versions are masked (so a version
//! bump leaves the recipe alone) and packages left out of the skeleton are removed. The edit
//! is textual so the file stays in cargo's own format and `--locked` builds accept it.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use toml::Table;

use crate::error::{Error, Result};
use crate::manifest::MASKED_VERSION;

/// Normalises the lockfile at `path` with content `text`.
///
/// `mask` names the local packages whose version is masked; `drop` names local packages to
/// remove (workspace members the skeleton leaves out).
pub fn normalize(
    text: &str,
    path: &Path,
    mask: &BTreeSet<String>,
    drop: &BTreeSet<String>,
) -> Result<String> {
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
    Ok(out)
}

/// Splits the lockfile before each `[[package]]` / `[metadata]` header.
fn split_blocks(text: &str) -> Vec<&str> {
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

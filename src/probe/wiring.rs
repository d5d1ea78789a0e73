//! The wiring edits of `prewarm verify --edits` (issue 11, 2): edits of how the workspace's
//! own crates are put together that leave the external units as they were: a path dependency
//! from one member to another, a new member on an external crate already used, declared the
//! same way, and a renamed crate. The full recipe changes under each (it names the local
//! packages); the recipe of the external dependencies alone (`prewarm deps`, what the cook of
//! a generated image reads) must not. They are probed for a plain `cargo build`.

use std::path::{Component, Path};

use toml::{Table, Value};

use super::{manifest_table, EditFn, Probe, Undo};
use crate::error::{Error, Result};
use crate::flags::{BuildFlags, Mode};
use crate::metadata::{Package, TargetKind};

/// The wiring edits, in the order they are probed (after the others).
pub(super) const EDITS: [(&str, EditFn); 3] = [
    ("path-dependency", edit_path_dependency),
    ("member-on-deps", edit_member_on_deps),
    ("rename", edit_rename),
];

/// Whether `edit` is a wiring edit (compared on the dependency recipe).
pub(super) fn is_wiring(edit: &str) -> bool {
    EDITS.iter().any(|(name, _)| *name == edit)
}

/// The dependency recipe's digest of the workspace at `manifest` for a plain build, or why the
/// external dependencies cannot be separated.
pub(super) fn deps_digest(manifest: &Path) -> Result<std::result::Result<String, String>> {
    let plan = crate::plan::plan(manifest)?;
    let separated = crate::deps::separate(&plan.recipe, Mode::Build, &BuildFlags::default(), &[])?;
    Ok(match separated.whole {
        Some(why) => Err(why),
        None => Ok(separated.recipe.digest),
    })
}

/// Why a wiring edit does not apply to the probed project, if it does not.
pub(super) fn not_applicable(edit: &str, p: &Probe<'_>) -> Result<Option<String>> {
    Ok(match edit {
        "path-dependency" => path_pair(p)?
            .is_none()
            .then(|| "no two members where one could depend on the other".to_string()),
        "member-on-deps" => {
            if !super::has_workspace(p)? {
                Some(
                    "a single-package project (no `[workspace]` table) has no members to add to"
                        .into(),
                )
            } else if external_dependency(p)?.is_none() {
                Some("no member has a plain crates.io dependency to share".into())
            } else {
                None
            }
        }
        "rename" => leaf(p)
            .is_none()
            .then(|| "every member is depended on by another".to_string()),
        _ => None,
    })
}

/// Members sorted by manifest path (the probe's order).
fn sorted(p: &Probe<'_>) -> Vec<Package> {
    let mut members = p.members.to_vec();
    members.sort_by(|a, b| a.manifest_path.cmp(&b.manifest_path));
    members
}

/// Whether member `from` depends on member `to`, directly or through other members.
fn reaches(members: &[Package], from: &str, to: &str) -> bool {
    let mut seen = vec![from.to_string()];
    let mut todo = vec![from.to_string()];
    while let Some(name) = todo.pop() {
        let Some(pkg) = members.iter().find(|m| m.name == name) else {
            continue;
        };
        for dep in pkg.dependencies.iter().filter(|d| d.path.is_some()) {
            if dep.name == to {
                return true;
            }
            if !seen.contains(&dep.name) {
                seen.push(dep.name.clone());
                todo.push(dep.name.clone());
            }
        }
    }
    false
}

/// A member and another it does not depend on, in either direction, and that has a library:
/// the path dependency to add.
fn path_pair(p: &Probe<'_>) -> Result<Option<(Package, Package)>> {
    let members = sorted(p);
    for a in &members {
        let keys = manifest_table(&a.manifest_path)?
            .get("dependencies")
            .and_then(Value::as_table)
            .map(|t| t.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        for b in &members {
            let has_lib = b
                .targets
                .iter()
                .any(|t| matches!(t.kind, TargetKind::Lib | TargetKind::ProcMacro));
            if a.name == b.name
                || !has_lib
                || keys.contains(&b.name)
                || a.dependencies.iter().any(|d| d.name == b.name)
                || reaches(&members, &b.name, &a.name)
            {
                continue;
            }
            return Ok(Some((a.clone(), b.clone())));
        }
    }
    Ok(None)
}

/// `to` relative to the directory `from` (both absolute), `/`-separated.
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn edit_path_dependency(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let (a, b) = path_pair(p)?.ok_or_else(|| Error::input("no member pair to wire"))?;
    let path = relative(a.dir(), b.dir());
    let line = format!("{} = {{ path = \"{path}\" }}", b.name);
    let text = crate::fs::read_to_string(&a.manifest_path)?;
    let lines: Vec<&str> = text.lines().collect();
    let edited = match lines.iter().position(|l| l.trim() == "[dependencies]") {
        Some(i) => {
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
            out.insert(i + 1, line);
            out.join("\n") + "\n"
        }
        None => format!("{}\n[dependencies]\n{line}\n", text.trim_end()),
    };
    undo.write(&a.manifest_path, &edited)?;
    Ok(format!(
        "made `{}` depend on `{}` (a path dependency in `{}`)",
        a.name,
        b.name,
        p.rel(&a.manifest_path)
    ))
}

/// A member's `[dependencies]` entry on a crates.io crate (no path, git or registry key, not
/// optional): the key and its value.
fn external_dependency(p: &Probe<'_>) -> Result<Option<(String, Value)>> {
    for m in sorted(p) {
        let doc = manifest_table(&m.manifest_path)?;
        let Some(deps) = doc.get("dependencies").and_then(Value::as_table) else {
            continue;
        };
        for (key, value) in deps {
            let plain = match value {
                Value::String(_) => true,
                Value::Table(t) => {
                    from_crates_io(t)
                        && t.get("optional").and_then(Value::as_bool) != Some(true)
                        && (!t.get("workspace").and_then(Value::as_bool).unwrap_or(false)
                            || workspace_dep_is_plain(p, key)?)
                }
                _ => false,
            };
            if plain {
                return Ok(Some((key.clone(), value.clone())));
            }
        }
    }
    Ok(None)
}

/// Whether a dependency table names no source other than crates.io.
fn from_crates_io(t: &Table) -> bool {
    !["path", "git", "registry", "registry-index"]
        .iter()
        .any(|k| t.contains_key(*k))
}

/// Whether `[workspace.dependencies]` declares `key` as a crates.io crate.
fn workspace_dep_is_plain(p: &Probe<'_>, key: &str) -> Result<bool> {
    let root = manifest_table(&p.root_manifest())?;
    Ok(
        match root
            .get("workspace")
            .and_then(|w| w.get("dependencies"))
            .and_then(|d| d.get(key))
        {
            Some(Value::String(_)) => true,
            Some(Value::Table(t)) => from_crates_io(t),
            _ => false,
        },
    )
}

fn edit_member_on_deps(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    const NAME: &str = "prewarm-probe-user";
    let (key, value) =
        external_dependency(p)?.ok_or_else(|| Error::input("no external dependency to share"))?;
    let mut package = Table::new();
    package.insert("name".into(), NAME.into());
    package.insert("version".into(), "0.1.0".into());
    package.insert("edition".into(), "2021".into());
    package.insert("publish".into(), false.into());
    let mut deps = Table::new();
    deps.insert(key.clone(), value);
    let mut doc = Table::new();
    doc.insert("package".into(), package.into());
    doc.insert("dependencies".into(), deps.into());
    let manifest = toml::to_string(&doc).map_err(|e| Error::input(format!("{e}")))?;
    let rel = super::add_member(p, undo, NAME, &manifest)?;
    Ok(format!(
        "added the member `{rel}` on `{key}`, declared as another member declares it"
    ))
}

/// A member no other member depends on (by manifest path order).
fn leaf(p: &Probe<'_>) -> Option<Package> {
    let members = sorted(p);
    members
        .iter()
        .find(|m| {
            !members.iter().any(|o| {
                o.dependencies
                    .iter()
                    .any(|d| d.name == m.name && d.path.is_some())
            })
        })
        .cloned()
}

fn edit_rename(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let m = leaf(p).ok_or_else(|| Error::input("no member to rename"))?;
    let new = format!("{}-renamed", m.name);
    let text = crate::fs::read_to_string(&m.manifest_path)?;
    let edited =
        super::set_key(&text, "package", "name", &format!("\"{new}\"")).ok_or_else(|| {
            Error::input(format!(
                "cannot set the name in `{}`",
                m.manifest_path.display()
            ))
        })?;
    undo.write(&m.manifest_path, &edited)?;
    Ok(format!(
        "renamed the package `{}` to `{new}` in `{}`",
        m.name,
        p.rel(&m.manifest_path)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn dir(p: &str) -> PathBuf {
        PathBuf::from(p)
    }

    #[test]
    fn relative_paths_between_members() {
        assert_eq!(relative(&dir("/w/crates/a"), &dir("/w/crates/b")), "../b");
        assert_eq!(relative(&dir("/w"), &dir("/w/crates/b")), "crates/b");
        assert_eq!(relative(&dir("/w/crates/a"), &dir("/w")), "../..");
        assert_eq!(relative(&dir("/w"), &dir("/w")), ".");
    }
}

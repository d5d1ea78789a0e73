//! The recipe stability probe (`prewarm verify --edits`): in a scratch copy of the project that
//! shares no file with it, apply each dependency-neutral edit on its own and report whether the
//! recipe digest changed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::recipe::Recipe;
use crate::verify::{copy_project, Links, Progress};

mod wiring;

/// The format of the `--edits` report.
pub const EDITS_SCHEMA: &str = "prewarm-verify-edits/1";

/// One dependency-neutral edit and what it did to the recipe.
#[derive(Debug, Clone, Serialize)]
pub struct EditResult {
    /// `source`, `version-bump`, `metadata`, `new-example`, `new-test`, `new-member`, or a
    /// wiring edit: `path-dependency`, `member-on-deps`, `rename`.
    pub edit: &'static str,
    /// What was changed, in words.
    pub description: String,
    /// The recipe digest after the edit.
    pub digest: Option<String>,
    /// Whether the digest changed (a Docker build would throw the cooked layer away).
    pub digest_changed: Option<bool>,
    /// Why the edit could not be probed, if it could not.
    pub error: Option<String>,
    /// Why the edit does not apply to this project (then it was not made), if it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    /// `dependencies` for a wiring edit: the digest is the dependency recipe's (`prewarm
    /// deps`, what the image's cook reads), not the full recipe's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipe: Option<&'static str>,
}

/// The result of `prewarm verify --edits`.
#[derive(Debug, Clone, Serialize)]
pub struct EditsReport {
    /// [`EDITS_SCHEMA`].
    pub schema: &'static str,
    /// prewarm's version.
    pub prewarm_version: &'static str,
    /// The manifest probed.
    pub manifest_path: String,
    /// The recipe digest before any edit.
    pub recipe_digest: String,
    /// The dependency recipe's digest before any edit (a plain `cargo build`), when the
    /// external dependencies can be separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deps_digest: Option<String>,
    /// Each edit.
    pub edits: Vec<EditResult>,
    /// True when no edit changed the digest.
    pub stable: bool,
    /// Wall time, in seconds.
    pub seconds: f64,
}

/// Files changed in the scratch copy, restorable.
#[derive(Default)]
struct Undo {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
    dirs: Vec<PathBuf>,
}

impl Undo {
    fn write(&mut self, path: &Path, content: &str) -> Result<()> {
        if !self.files.iter().any(|(p, _)| p == path) {
            self.files
                .push((path.to_path_buf(), std::fs::read(path).ok()));
        }
        crate::fs::write(path, content)
    }

    fn create_dir(&mut self, dir: &Path) -> Result<()> {
        if !dir.exists() {
            self.dirs.push(dir.to_path_buf());
        }
        crate::fs::create_dir_all(dir)
    }

    fn restore(self) -> Result<()> {
        for (path, content) in self.files.into_iter().rev() {
            match content {
                Some(c) => crate::fs::write(&path, c)?,
                None => crate::fs::remove_file(&path)?,
            }
        }
        for dir in self.dirs.into_iter().rev() {
            crate::fs::remove_dir_all(&dir)?;
        }
        Ok(())
    }
}

/// The line index range of `[section]` in a TOML text (header excluded).
fn section_lines(lines: &[&str], section: &str) -> Option<(usize, usize)> {
    let header = format!("[{section}]");
    let start = lines.iter().position(|l| l.trim() == header)? + 1;
    let end = lines[start..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| start + i);
    Some((start, end))
}

/// What a key looks like in a section.
enum Key {
    /// `key = <value>` at this line.
    Value(usize, String),
    /// `key.workspace = true`: inherited.
    Inherited,
    /// Not there.
    Missing,
}

fn find_key(lines: &[&str], section: &str, key: &str) -> Option<Key> {
    let (start, end) = section_lines(lines, section)?;
    for (i, line) in lines.iter().enumerate().take(end).skip(start) {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k == key {
            return Some(Key::Value(i, v.trim().to_string()));
        }
        if k == format!("{key}.workspace") || (k == key && v.contains("workspace")) {
            return Some(Key::Inherited);
        }
    }
    Some(Key::Missing)
}

/// Sets `key = value` (value as TOML) in `[section]`; `None` when the key is inherited or the
/// section is missing.
fn set_key(text: &str, section: &str, key: &str, value: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let new_line = format!("{key} = {value}");
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    match find_key(&lines, section, key)? {
        Key::Value(i, _) => out[i] = new_line,
        Key::Inherited => return None,
        Key::Missing => {
            let (start, _) = section_lines(&lines, section)?;
            out.insert(start, new_line);
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    Some(s)
}

fn bump_version(v: &str) -> String {
    let v = v.trim().trim_matches('"');
    let mut parts: Vec<String> = v.split('.').map(str::to_string).collect();
    if let Some(last) = parts.last_mut() {
        let digits: String = last.chars().take_while(char::is_ascii_digit).collect();
        *last = digits
            .parse::<u64>()
            .map_or_else(|_| "1".into(), |n| (n + 1).to_string());
    }
    parts.join(".")
}

/// The probe's target package: the first workspace member (by manifest path) that the recipe
/// keeps, or the first member.
fn probe_package(
    ws: &crate::metadata::Workspace,
    recipe: &Recipe,
) -> Result<crate::metadata::Package> {
    let mut members = ws.packages.clone();
    members.sort_by(|a, b| a.manifest_path.cmp(&b.manifest_path));
    members
        .iter()
        .find(|p| recipe.package_named(&p.name).is_some())
        .or_else(|| members.first())
        .cloned()
        .ok_or_else(|| {
            Error::input("the workspace has no member package to probe edits on")
                .with_hint("add a member package")
        })
}

type EditFn = fn(&Probe<'_>, &mut Undo) -> Result<String>;

struct Probe<'a> {
    ws_root: &'a Path,
    package: &'a crate::metadata::Package,
    members: &'a [crate::metadata::Package],
}

impl Probe<'_> {
    fn root_manifest(&self) -> PathBuf {
        self.ws_root.join("Cargo.toml")
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(self.ws_root)
            .unwrap_or(p)
            .display()
            .to_string()
    }
}

fn edit_source(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let target = p
        .package
        .targets
        .iter()
        .find(|t| t.kind == crate::metadata::TargetKind::Lib)
        .or_else(|| p.package.targets.first())
        .ok_or_else(|| {
            Error::input(format!(
                "package `{}` has no target to edit",
                p.package.name
            ))
        })?;
    let text = crate::fs::read_to_string(&target.src_path)?;
    undo.write(
        &target.src_path,
        &format!("{text}\n// edited by `prewarm verify --edits`\n"),
    )?;
    Ok(format!(
        "appended a comment to `{}`",
        p.rel(&target.src_path)
    ))
}

fn edit_version(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let manifest = &p.package.manifest_path;
    let text = crate::fs::read_to_string(manifest)?;
    let lines: Vec<&str> = text.lines().collect();
    let (file, section, old) = if let Some(Key::Value(_, v)) =
        find_key(&lines, "package", "version")
    {
        (manifest.clone(), "package", v)
    } else {
        let root = p.root_manifest();
        let root_text = crate::fs::read_to_string(&root)?;
        let root_lines: Vec<&str> = root_text.lines().collect();
        let Some(Key::Value(_, v)) = find_key(&root_lines, "workspace.package", "version") else {
            return Err(Error::input(format!(
                "cannot find the version of `{}`",
                p.package.name
            )));
        };
        (root, "workspace.package", v)
    };
    let new = bump_version(&old);
    let text = crate::fs::read_to_string(&file)?;
    let edited = set_key(&text, section, "version", &format!("\"{new}\""))
        .ok_or_else(|| Error::input(format!("cannot set the version in `{}`", file.display())))?;
    undo.write(&file, &edited)?;
    // The lockfile follows, as `cargo build` would update it.
    let old = old.trim_matches('"').to_string();
    let lock = p.ws_root.join("Cargo.lock");
    if let Ok(lock_text) = std::fs::read_to_string(&lock) {
        let mut out = lock_text.clone();
        for m in p.members {
            out = out.replace(
                &format!("name = \"{}\"\nversion = \"{old}\"", m.name),
                &format!("name = \"{}\"\nversion = \"{new}\"", m.name),
            );
        }
        if out != lock_text {
            undo.write(&lock, &out)?;
        }
    }
    Ok(format!(
        "bumped the version {old} -> {new} in `{}` ([{section}])",
        p.rel(&file)
    ))
}

fn edit_metadata(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let manifest = &p.package.manifest_path;
    let text = crate::fs::read_to_string(manifest)?;
    let value = "\"edited by prewarm verify --edits\"";
    if let Some(edited) = set_key(&text, "package", "description", value) {
        undo.write(manifest, &edited)?;
        return Ok(format!("set `description` in `{}`", p.rel(manifest)));
    }
    let root = p.root_manifest();
    let root_text = crate::fs::read_to_string(&root)?;
    let edited =
        set_key(&root_text, "workspace.package", "description", value).ok_or_else(|| {
            Error::input(format!(
                "cannot set the description of `{}`",
                p.package.name
            ))
        })?;
    undo.write(&root, &edited)?;
    Ok(format!(
        "set `description` in `{}` ([workspace.package])",
        p.rel(&root)
    ))
}

fn edit_example(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let path = p.package.dir().join("examples/prewarm_probe.rs");
    undo.create_dir(&p.package.dir().join("examples"))?;
    undo.write(
        &path,
        "//! Added by `prewarm verify --edits`.\nfn main() {}\n",
    )?;
    Ok(format!("added `{}`", p.rel(&path)))
}

fn edit_test(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let path = p.package.dir().join("tests/prewarm_probe.rs");
    undo.create_dir(&p.package.dir().join("tests"))?;
    undo.write(
        &path,
        "//! Added by `prewarm verify --edits`.\n#[test]\nfn probe() {}\n",
    )?;
    Ok(format!("added `{}`", p.rel(&path)))
}

fn edit_member(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    const NAME: &str = "prewarm-probe-member";
    let manifest = format!(
        "[package]\nname = \"{NAME}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n"
    );
    let rel = add_member(p, undo, NAME, &manifest)?;
    Ok(format!("added the dependency-free member `{rel}`"))
}

/// Adds the member `name` with `manifest` and an empty library: in the directory of the
/// first `dir/*` glob of `[workspace] members`, else at the root, listed. Returns its
/// directory relative to the workspace root.
fn add_member(p: &Probe<'_>, undo: &mut Undo, name: &str, manifest: &str) -> Result<String> {
    let root = p.root_manifest();
    let text = crate::fs::read_to_string(&root)?;
    let doc = toml_table(&text, &root)?;
    let globs: Vec<String> = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
        .filter_map(|m| m.strip_suffix("/*").map(str::to_string))
        .collect();
    let rel = if let Some(dir) = globs.first() {
        format!("{dir}/{name}")
    } else {
        let lines: Vec<&str> = text.lines().collect();
        let edited = match find_key(&lines, "workspace", "members") {
            Some(Key::Value(i, v)) if v.starts_with('[') => {
                let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
                out[i] = out[i]
                    .replacen('[', &format!("[\"{name}\", "), 1)
                    .replace(", ]", "]");
                Some(out.join("\n") + "\n")
            }
            Some(Key::Missing) => set_key(&text, "workspace", "members", &format!("[\"{name}\"]")),
            _ => None,
        }
        .ok_or_else(|| Error::input(format!("cannot add a member to `{}`", root.display())))?;
        undo.write(&root, &edited)?;
        name.to_string()
    };
    let dir = p.ws_root.join(&rel);
    undo.create_dir(&dir)?;
    undo.write(&dir.join("Cargo.toml"), manifest)?;
    undo.write(
        &dir.join("src/lib.rs"),
        "//! Added by `prewarm verify --edits`.\n",
    )?;
    Ok(rel)
}

/// Whether the root manifest has a `[workspace]` table.
fn has_workspace(p: &Probe<'_>) -> Result<bool> {
    Ok(manifest_table(&p.root_manifest())?.contains_key("workspace"))
}

/// A manifest's text as a TOML table; an error names `path`.
fn toml_table(text: &str, path: &Path) -> Result<toml::Table> {
    toml::from_str(text)
        .map_err(|e| Error::input(format!("`{}` is not valid TOML: {e}", path.display())))
}

/// The manifest at `path` as a TOML table.
fn manifest_table(path: &Path) -> Result<toml::Table> {
    toml_table(&crate::fs::read_to_string(path)?, path)
}

/// Why an edit does not apply to the probed project: a new member needs a workspace, and a
/// single-package project (a root manifest without `[workspace]`) has none.
fn not_applicable(edit: &str, p: &Probe<'_>) -> Result<Option<String>> {
    if wiring::is_wiring(edit) {
        return wiring::not_applicable(edit, p);
    }
    if edit != "new-member" || has_workspace(p)? {
        return Ok(None);
    }
    Ok(Some(
        "a single-package project (no `[workspace]` table) has no members to add to".to_string(),
    ))
}

/// The dependency-neutral edits, in the order they are probed.
const EDITS: [(&str, EditFn); 6] = [
    ("source", edit_source),
    ("version-bump", edit_version),
    ("metadata", edit_metadata),
    ("new-example", edit_example),
    ("new-test", edit_test),
    ("new-member", edit_member),
];

/// The digests an edit is compared with: the full recipe's, and the dependency recipe's (or
/// why there is none).
struct Baseline {
    recipe: String,
    deps: std::result::Result<String, String>,
}

/// Applies one edit in the scratch copy, plans the recipe again (for a wiring edit, the
/// dependency recipe), and undoes the edit (the lockfile too, should cargo have touched it).
fn probe_one(
    edit: &'static str,
    apply: EditFn,
    probe: &Probe<'_>,
    ws_manifest: &Path,
    baseline: &Baseline,
) -> Result<EditResult> {
    let wiring = wiring::is_wiring(edit);
    let mut result = EditResult {
        edit,
        description: String::new(),
        digest: None,
        digest_changed: None,
        error: None,
        not_applicable: None,
        recipe: wiring.then_some("dependencies"),
    };
    let deps_baseline = match &baseline.deps {
        Ok(d) => Some(d.as_str()),
        Err(why) if wiring => {
            result.not_applicable = Some(format!(
                "the image's cook reads the full recipe here, because {why}"
            ));
            return Ok(result);
        }
        Err(_) => None,
    };
    if let Some(why) = not_applicable(edit, probe)? {
        result.not_applicable = Some(why);
        return Ok(result);
    }
    let mut undo = Undo::default();
    let lock = probe.ws_root.join("Cargo.lock");
    if let Ok(bytes) = std::fs::read(&lock) {
        undo.files.push((lock, Some(bytes)));
    }
    let planned = apply(probe, &mut undo).and_then(|description| {
        result.description = description;
        if wiring {
            wiring::deps_digest(ws_manifest)
        } else {
            crate::plan::plan(ws_manifest).map(|p| Ok(p.recipe.digest))
        }
    });
    match planned {
        Ok(Ok(digest)) => {
            let before = if wiring {
                deps_baseline.unwrap_or_default()
            } else {
                baseline.recipe.as_str()
            };
            result.digest_changed = Some(digest != before);
            result.digest = Some(digest);
        }
        Ok(Err(why)) => {
            // The dependencies could no longer be separated: the cook would read the full
            // recipe, a different one.
            result.digest_changed = Some(true);
            result.description = format!(
                "{}; then the dependencies cannot be separated ({why})",
                result.description
            );
        }
        Err(e) => result.error = Some(e.to_string()),
    }
    undo.restore()?;
    Ok(result)
}

/// Runs `prewarm verify --edits`: in a scratch copy of the project, applies each
/// dependency-neutral edit on its own and reports whether the recipe digest changed.
pub fn probe_edits(manifest_path: &Path, progress: Progress) -> Result<EditsReport> {
    let started = Instant::now();
    progress.phase(1, 2, "planning the recipe");
    let crate::plan::Plan {
        recipe,
        layout_root: layout,
        manifest_path: manifest,
        ..
    } = crate::plan::plan(manifest_path)?;
    let temp = tempfile::Builder::new()
        .prefix("prewarm-edits-")
        .tempdir()
        .map_err(|e| Error::io("create a temporary directory in", &std::env::temp_dir(), &e))?;
    let scratch = crate::fs::canonicalize(temp.path())?;
    copy_project(&recipe, &layout, &scratch, Links::Resolve)?;
    let ws_root = if recipe.workspace == "." {
        scratch.clone()
    } else {
        scratch.join(&recipe.workspace)
    };
    let ws_manifest = ws_root.join("Cargo.toml");
    let crate::plan::Plan {
        recipe: baseline,
        workspace: ws,
        ..
    } = crate::plan::plan(&ws_manifest)?;
    let baseline = Baseline {
        recipe: baseline.digest,
        deps: wiring::deps_digest(&ws_manifest)?,
    };
    let package = probe_package(&ws, &recipe)?;
    let probe = Probe {
        ws_root: &ws_root,
        package: &package,
        members: &ws.packages,
    };
    let mut results = Vec::new();
    let all: Vec<&(&str, EditFn)> = EDITS.iter().chain(wiring::EDITS.iter()).collect();
    for (i, (name, apply)) in all.iter().enumerate() {
        progress.units(2, 2, "probing edits", i, all.len());
        results.push(probe_one(name, *apply, &probe, &ws_manifest, &baseline)?);
    }
    progress.done();
    Ok(EditsReport {
        schema: EDITS_SCHEMA,
        prewarm_version: env!("CARGO_PKG_VERSION"),
        manifest_path: manifest.display().to_string(),
        recipe_digest: recipe.digest,
        deps_digest: baseline.deps.ok(),
        stable: results
            .iter()
            .all(|r| r.not_applicable.is_some() || r.digest_changed == Some(false)),
        edits: results,
        seconds: crate::verify::secs(started),
    })
}

/// The human `--edits` report.
pub fn render_edits(r: &EditsReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let changed = r
        .edits
        .iter()
        .filter(|e| e.digest_changed == Some(true))
        .count();
    let skipped = r
        .edits
        .iter()
        .filter(|e| e.not_applicable.is_some())
        .count();
    let probed = r.edits.len() - skipped;
    let _ = write!(
        s,
        "prewarm verify --edits: {} of {probed} dependency-neutral edits keep the recipe (and the cooked layer)",
        probed - changed,
    );
    let _ = if skipped > 0 {
        writeln!(s, "; {skipped} not applicable")
    } else {
        writeln!(s)
    };
    for e in &r.edits {
        if let Some(why) = &e.not_applicable {
            let _ = writeln!(s, "  n/a     {:<15} {why}", e.edit);
            continue;
        }
        let verdict = match (e.digest_changed, &e.error) {
            (Some(false), _) => "kept  ".to_string(),
            (Some(true), _) => "CHANGED".to_string(),
            (None, Some(_)) => "error ".to_string(),
            (None, None) => "?     ".to_string(),
        };
        let which = if e.recipe.is_some() {
            " (the dependency recipe)"
        } else {
            ""
        };
        let _ = writeln!(s, "  {verdict} {:<15} {}{which}", e.edit, e.description);
        if let Some(err) = &e.error {
            let _ = writeln!(s, "         {}", err.lines().next().unwrap_or(""));
        }
    }
    s
}

/// The error for an unstable recipe (exit code of [`ErrorKind::ReuseShort`]).
pub fn unstable_error(r: &EditsReport) -> Error {
    let names: Vec<&str> = r
        .edits
        .iter()
        .filter(|e| e.not_applicable.is_none() && e.digest_changed != Some(false))
        .map(|e| e.edit)
        .collect();
    Error::new(
        ErrorKind::ReuseShort,
        format!(
            "the recipe changes (or could not be probed) under these dependency-neutral edits: {}",
            names.join(", ")
        ),
    )
    .with_hint("each of these edits would throw the cooked dependency layer away in a Docker build")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_set_in_their_section_only() {
        let text =
            "[package]\nname = \"a\"\nversion = \"0.1.9\"\n\n[dependencies]\nversion = \"x\"\n";
        let out = set_key(text, "package", "version", "\"0.1.10\"").unwrap();
        assert!(
            out.contains("[package]\nname = \"a\"\nversion = \"0.1.10\"\n"),
            "{out}"
        );
        assert!(out.contains("[dependencies]\nversion = \"x\""), "{out}");
        let inherited = "[package]\nversion.workspace = true\n";
        assert!(set_key(inherited, "package", "version", "\"1\"").is_none());
        let missing = set_key(
            "[package]\nname = \"a\"\n",
            "package",
            "description",
            "\"d\"",
        )
        .unwrap();
        assert_eq!(missing, "[package]\ndescription = \"d\"\nname = \"a\"\n");
        assert_eq!(bump_version("\"0.3.9\""), "0.3.10");
    }
}

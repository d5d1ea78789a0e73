//! Laying a recipe's skeleton out on disk, safely: never into a directory that holds anything
//! but the recipe, an earlier skeleton and target directories (unless forced), never through a
//! symlink, and with a record of what was written so it can be recognised and cleaned up.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::recipe::Recipe;

/// Where the record of a laid-out skeleton lives, relative to the layout root.
pub const RECORD: &str = ".prewarm/skeleton.json";

/// What a cook wrote, kept in [`RECORD`].
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Record {
    /// The digest of the recipe laid out.
    pub digest: String,
    /// Every file written (relative to the layout root).
    pub files: BTreeSet<String>,
    /// The dummy sources among them (removed again after the cook).
    pub sources: BTreeSet<String>,
}

impl Record {
    /// Reads the record under `root`, if there is one.
    pub fn load(root: &Path) -> Option<Record> {
        let text = std::fs::read_to_string(root.join(RECORD)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the record under `root`.
    ///
    /// # Panics
    /// Never: the record is plain strings, which always serialise.
    pub fn save(&self, root: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("record serialises");
        crate::fs::write_atomic(&root.join(RECORD), text)
    }
}

/// Files in `root` that are neither the recipe, nor part of an earlier skeleton, nor inside a
/// cargo target directory, nor identical to what the new skeleton writes there.
pub fn foreign_files(
    root: &Path,
    recipe_path: Option<&Path>,
    recipe: &Recipe,
) -> Result<Vec<PathBuf>> {
    let earlier = Record::load(root).unwrap_or_default();
    let mut new: std::collections::BTreeMap<PathBuf, &str> = std::collections::BTreeMap::new();
    for (path, content, _) in recipe.skeleton_files() {
        new.insert(path, content);
    }
    let recipe_path = recipe_path.and_then(|p| std::fs::canonicalize(p).ok());
    let mut foreign = Vec::new();
    let mut walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| {
            Error::io(
                "read",
                e.path().unwrap_or(root),
                &std::io::Error::other(e.to_string()),
            )
        })?;
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_path_buf();
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        if entry.file_type().is_dir() {
            if rel_str == ".prewarm" || entry.path().join("CACHEDIR.TAG").is_file() {
                walk.skip_current_dir();
            }
            continue;
        }
        if recipe_path.is_some() && std::fs::canonicalize(entry.path()).ok() == recipe_path {
            continue;
        }
        if earlier.files.contains(&rel_str) && entry.file_type().is_file() {
            continue;
        }
        if entry.file_type().is_file() {
            if let Some(content) = new.get(&rel) {
                if std::fs::read(entry.path()).ok().as_deref() == Some(content.as_bytes()) {
                    continue;
                }
            }
        }
        foreign.push(rel);
    }
    Ok(foreign)
}

/// Refuses to go through a symlink anywhere between `root` and `rel` (inclusive).
pub fn check_no_symlink(root: &Path, rel: &Path) -> Result<()> {
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        let Component::Normal(part) = c else { continue };
        cur.push(part);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::input(format!(
                    "refusing to write through the symlink `{}`",
                    cur.display()
                ))
                .with_hint("cook into a directory without symlinks where the skeleton goes"));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// Writes every skeleton file under `root` and returns the record of what was written.
pub fn lay_out(root: &Path, recipe: &Recipe) -> Result<Record> {
    let mut record = Record {
        digest: recipe.digest.clone(),
        ..Record::default()
    };
    let files = recipe.skeleton_files();
    for (rel, _, _) in &files {
        check_no_symlink(root, rel)?;
    }
    for (rel, content, is_source) in files {
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        let path = root.join(&rel);
        if std::fs::read(&path).ok().as_deref() != Some(content.as_bytes()) {
            crate::fs::write(&path, content)?;
        }
        record.files.insert(rel_str.clone());
        if is_source {
            record.sources.insert(rel_str);
        }
    }
    record.save(root)?;
    Ok(record)
}

/// Removes the dummy sources a cook wrote, and directories left empty by that.
pub fn remove_sources(root: &Path, record: &mut Record) -> Result<()> {
    for rel in std::mem::take(&mut record.sources) {
        let path = root.join(&rel);
        check_no_symlink(root, Path::new(&rel))?;
        crate::fs::remove_file(&path)?;
        record.files.remove(&rel);
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == root {
                break;
            }
            crate::fs::remove_dir_if_empty(d);
            dir = d.parent();
        }
    }
    record.save(root)
}

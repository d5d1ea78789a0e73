//! Laying a recipe's skeleton out on disk, safely: never into a directory that holds anything
//! but the recipe, an earlier skeleton and target directories (unless forced), never through a
//! symlink, and with an inventory of what was written so it can be recognised and cleaned up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::recipe::Recipe;

/// Where the inventory of a laid-out skeleton lives, relative to the layout root.
pub const INVENTORY: &str = ".prewarm/skeleton.json";

/// The format of [`INVENTORY`]; an inventory of another format is not trusted (its files count as
/// foreign).
const INVENTORY_FORMAT: u32 = 2;

/// What a cook wrote, kept in [`INVENTORY`]: each file with the sha256 of the content written, so
/// that a file the user has since replaced is never taken for a skeleton file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// [`INVENTORY_FORMAT`].
    #[serde(default)]
    pub format: u32,
    /// The digest of the recipe laid out.
    pub digest: String,
    /// Every file written (relative to the layout root), with the sha256 of its content.
    pub files: BTreeMap<String, String>,
    /// The dummy sources among them (removed again after the cook), with their sha256.
    pub sources: BTreeMap<String, String>,
}

impl Inventory {
    /// Reads the inventory under `root`, if there is one of this format (an inventory behind a
    /// symlink is not read).
    pub fn load(root: &Path) -> Option<Inventory> {
        crate::fs::check_no_symlink(root, Path::new(INVENTORY)).ok()?;
        let text = std::fs::read_to_string(root.join(INVENTORY)).ok()?;
        let inventory: Inventory = serde_json::from_str(&text).ok()?;
        (inventory.format == INVENTORY_FORMAT).then_some(inventory)
    }

    /// Writes the inventory under `root` (never through a symlink).
    ///
    /// # Panics
    /// Never: the inventory is plain strings, which always serialise.
    pub fn save(&self, root: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("inventory serialises");
        crate::fs::write_under(root, Path::new(INVENTORY), text)
    }

    /// Whether `rel` is a file this inventory wrote and its content is still what was written.
    fn owns(&self, root: &Path, rel: &str) -> bool {
        self.files.get(rel).is_some_and(|hash| {
            crate::fs::check_no_symlink(root, Path::new(rel)).is_ok()
                && std::fs::read(root.join(rel))
                    .is_ok_and(|bytes| crate::fs::sha256_hex(&bytes) == *hash)
        })
    }
}

/// Files in `root` that are neither the recipe, nor a file of an earlier skeleton whose content
/// is still what that skeleton wrote, nor inside a cargo target directory, nor identical to what
/// the new skeleton writes there. prewarm's own `.prewarm` directories must be real
/// directories: a symlink there is refused, forced or not.
pub fn foreign_files(
    root: &Path,
    recipe_path: Option<&Path>,
    recipe: &Recipe,
) -> Result<Vec<PathBuf>> {
    crate::fs::check_no_symlink(root, Path::new(INVENTORY))?;
    let earlier = Inventory::load(root).unwrap_or_default();
    let mut new: BTreeMap<PathBuf, &str> = BTreeMap::new();
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
                crate::fs::check_no_symlink(entry.path(), Path::new(".prewarm"))?;
                walk.skip_current_dir();
            }
            continue;
        }
        if recipe_path.is_some() && std::fs::canonicalize(entry.path()).ok() == recipe_path {
            continue;
        }
        if entry.file_type().is_file() {
            if earlier.owns(root, &rel_str) {
                continue;
            }
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

/// Writes every skeleton file under `root` and returns the inventory of what was written. The
/// inventory is saved before the first file is written and names every file with the hash of
/// its new content, so a cook killed at any point leaves nothing a later cook would take for
/// its own once the user has changed it.
pub fn lay_out(root: &Path, recipe: &Recipe) -> Result<Inventory> {
    let files = recipe.skeleton_files();
    for (rel, _, _) in &files {
        crate::fs::check_no_symlink(root, rel)?;
    }
    let mut inventory = Inventory {
        format: INVENTORY_FORMAT,
        digest: recipe.digest.clone(),
        ..Inventory::default()
    };
    for (rel, content, is_source) in &files {
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        let hash = crate::fs::sha256_hex(content.as_bytes());
        if *is_source {
            inventory.sources.insert(rel_str.clone(), hash.clone());
        }
        inventory.files.insert(rel_str, hash);
    }
    inventory.save(root)?;
    for (rel, content, _) in files {
        if std::fs::read(root.join(&rel)).ok().as_deref() != Some(content.as_bytes()) {
            crate::fs::write_under(root, &rel, content)?;
        }
    }
    Ok(inventory)
}

/// Removes the dummy sources a cook wrote, and directories left empty by that. A file whose
/// content is no longer the dummy's (the user put a real one there) is left alone.
pub fn remove_sources(root: &Path, inventory: &mut Inventory) -> Result<()> {
    for (rel, _) in std::mem::take(&mut inventory.sources) {
        let path = root.join(&rel);
        if inventory.owns(root, &rel) {
            crate::fs::remove_file(&path)?;
        }
        inventory.files.remove(&rel);
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == root {
                break;
            }
            crate::fs::remove_dir_if_empty(d);
            dir = d.parent();
        }
    }
    inventory.save(root)
}

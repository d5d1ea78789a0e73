//! Laying the real sources over a cooked skeleton (as `COPY . .` does), and taking them away
//! again from a kept work directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::recipe::Recipe;

fn is_target_dir(dir: &Path) -> bool {
    dir.join("CACHEDIR.TAG").is_file()
        || (dir.file_name().is_some_and(|n| n == "target")
            && dir.parent().is_some_and(|p| p.join("Cargo.toml").is_file()))
}

/// What [`copy_project`] does with a symlink in the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Make the same link in the copy (as `COPY . .` does): for a copy nothing writes to.
    Keep,
    /// Copy what the link points to, so the copy shares no file with the project: for a copy
    /// that is edited. A link that points nowhere or loops is an error.
    Resolve,
}

/// Copies the project's files (workspace, local packages, the recipe's config and toolchain
/// files) from `layout_root` to `dest`, keeping modification times; skips target directories,
/// `.git` and `dest` itself. Returns the files written, relative to `dest`.
pub fn copy_project(
    recipe: &Recipe,
    layout_root: &Path,
    dest: &Path,
    links: Links,
) -> Result<Vec<PathBuf>> {
    let mut roots: Vec<PathBuf> = vec![crate::recipe::join(".", &recipe.workspace)];
    roots.extend(recipe.packages.keys().map(PathBuf::from));
    roots.sort();
    roots.dedup();
    let mut kept: Vec<PathBuf> = Vec::new();
    for r in roots {
        if !kept
            .iter()
            .any(|k| k.as_os_str() == "." || r.starts_with(k))
        {
            kept.push(r);
        }
    }
    let dest_canon = std::fs::canonicalize(dest).ok();
    let mut copied = Vec::new();
    for rel_root in &kept {
        let src_root = if rel_root.as_os_str() == "." {
            layout_root.to_path_buf()
        } else {
            layout_root.join(rel_root)
        };
        let walk = walkdir::WalkDir::new(&src_root)
            .follow_links(links == Links::Resolve)
            .into_iter()
            .filter_entry(|e| {
                if !e.file_type().is_dir() {
                    return true;
                }
                if e.depth() > 0 && (e.file_name() == ".git" || is_target_dir(e.path())) {
                    return false;
                }
                dest_canon.as_deref() != std::fs::canonicalize(e.path()).ok().as_deref()
            });
        for entry in walk {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&src_root).to_path_buf();
                let err = Error::io("copy", &path, &std::io::Error::other(e.to_string()));
                if links == Links::Resolve {
                    err.with_hint("a symlink in the project points nowhere or loops; the scratch copy takes what each link points to, so fix or remove that link")
                } else {
                    err
                }
            })?;
            let rel = entry
                .path()
                .strip_prefix(layout_root)
                .unwrap_or(entry.path())
                .to_path_buf();
            if entry.file_type().is_file() {
                copy_file(entry.path(), &dest.join(&rel))?;
                copied.push(rel);
            } else if entry.file_type().is_symlink() {
                copy_symlink(entry.path(), &dest.join(&rel))?;
                copied.push(rel);
            }
        }
    }
    for rel in recipe.files.keys() {
        let rel = PathBuf::from(rel);
        if kept
            .iter()
            .any(|k| k.as_os_str() == "." || rel.starts_with(k))
        {
            continue;
        }
        let src = layout_root.join(&rel);
        if src.is_file() {
            copy_file(&src, &dest.join(&rel))?;
            copied.push(rel);
        }
    }
    Ok(copied)
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        crate::fs::create_dir_all(parent)?;
    }
    if std::fs::symlink_metadata(to).is_ok_and(|m| m.file_type().is_symlink()) {
        crate::fs::remove_file(to)?;
    }
    std::fs::copy(from, to).map_err(|e| Error::io("copy", from, &e))?;
    let mtime = std::fs::metadata(from)
        .and_then(|m| m.modified())
        .map_err(|e| Error::io("read the modification time of", from, &e))?;
    std::fs::File::options()
        .write(true)
        .open(to)
        .and_then(|f| f.set_modified(mtime))
        .map_err(|e| Error::io("set the modification time of", to, &e))
}

#[cfg(unix)]
fn copy_symlink(from: &Path, to: &Path) -> Result<()> {
    let target = std::fs::read_link(from).map_err(|e| Error::io("read the link", from, &e))?;
    if let Some(parent) = to.parent() {
        crate::fs::create_dir_all(parent)?;
    }
    crate::fs::remove_file(to)?;
    std::os::unix::fs::symlink(&target, to).map_err(|e| Error::io("create the link", to, &e))
}

#[cfg(not(unix))]
fn copy_symlink(from: &Path, to: &Path) -> Result<()> {
    if from.is_file() {
        copy_file(from, to)
    } else {
        Ok(())
    }
}

/// Removes the real sources from a kept work directory (also where they replaced a skeleton
/// file: the next cook writes that again), so the next verify can cook there again.
pub(crate) fn remove_overlay(root: &Path, copied: &[PathBuf]) {
    for rel in copied {
        let _ = std::fs::remove_file(root.join(rel));
        let mut dir = root.join(rel);
        while dir.pop() && dir != root {
            crate::fs::remove_dir_if_empty(&dir);
        }
    }
}

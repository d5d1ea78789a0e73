//! Removing every artifact and fingerprint of the workspace's own crates from a target
//! directory after a cook, leaving the dependencies' untouched. With the fingerprints gone, the
//! real build must compile the real code, whatever the files' modification times say.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::Result;

/// The names under which a local package's units appear in a target directory.
#[derive(Debug, Default)]
pub struct LocalNames {
    /// Package names (`.fingerprint/<pkg>-<hash>`, `build/<pkg>-<hash>`).
    pub packages: BTreeSet<String>,
    /// Target names as declared (`<profile>/<bin>`, `examples/<name>`).
    pub targets: BTreeSet<String>,
}

impl LocalNames {
    /// Adds a package and its target names.
    pub fn add(&mut self, package: &str, targets: impl IntoIterator<Item = impl Into<String>>) {
        self.packages.insert(package.to_string());
        self.targets.insert(package.replace('-', "_"));
        for t in targets {
            self.targets.insert(t.into());
        }
    }

    fn crates(&self) -> BTreeSet<String> {
        self.targets.iter().map(|t| t.replace('-', "_")).collect()
    }
}

/// Removes local units from every profile directory under each of `roots`; returns how many
/// entries were removed.
pub fn remove_local(roots: &[PathBuf], names: &LocalNames) -> Result<usize> {
    let crates = names.crates();
    let mut removed = 0;
    for root in roots {
        for dir in profile_dirs(root) {
            removed += clean_profile_dir(&dir, names, &crates)?;
        }
        for doc in doc_dirs(root) {
            for krate in &crates {
                for path in [doc.join(krate), doc.join("src").join(krate)] {
                    if path.is_dir() {
                        crate::fs::remove_dir_all(&path)?;
                        removed += 1;
                    }
                }
            }
        }
    }
    Ok(removed)
}

/// Profile directories up to three levels below `root` (`debug`, `<triple>/release`, ...):
/// those holding a `.fingerprint` directory (intermediate artifacts) or a `.cargo-lock` (the
/// final, uplifted ones, which live apart when `build.build-dir` is set).
fn profile_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .max_depth(3)
        .into_iter()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_name() == ".fingerprint" || e.file_name() == ".cargo-lock")
        .filter_map(|e| e.path().parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

fn doc_dirs(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .max_depth(2)
        .into_iter()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_dir() && e.file_name() == "doc")
        .map(walkdir::DirEntry::into_path)
        .collect()
}

fn clean_profile_dir(dir: &Path, names: &LocalNames, crates: &BTreeSet<String>) -> Result<usize> {
    let mut removed = 0;
    for sub in [".fingerprint", "build"] {
        removed += remove_matching(&dir.join(sub), |n| {
            names.packages.iter().any(|p| is_hashed(n, p))
        })?;
    }
    for sub in ["deps", "examples"] {
        removed += remove_matching(&dir.join(sub), |n| {
            crates.iter().any(|c| {
                is_hashed(n, c) || n.strip_prefix("lib").is_some_and(|rest| is_hashed(rest, c))
            }) || names.targets.iter().any(|t| is_uplifted(n, t))
        })?;
    }
    removed += remove_matching(&dir.join("incremental"), |n| {
        crates.iter().any(|c| {
            n.strip_prefix(c.as_str())
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|h| !h.is_empty() && h.chars().all(|ch| ch.is_ascii_alphanumeric()))
        })
    })?;
    removed += remove_matching(dir, |n| {
        names.targets.iter().any(|t| is_uplifted(n, t))
            || crates.iter().any(|c| {
                n.strip_prefix("lib")
                    .and_then(|r| r.strip_prefix(c.as_str()))
                    .is_some_and(|ext| {
                        matches!(ext, ".rlib" | ".rmeta" | ".so" | ".a" | ".d" | ".dylib")
                    })
            })
    })?;
    Ok(removed)
}

/// `<name>-<16 hex digits>` optionally followed by `.<extension>`.
fn is_hashed(file: &str, name: &str) -> bool {
    let Some(rest) = file.strip_prefix(name).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let (hash, tail) = rest.split_at(rest.len().min(16));
    hash.len() == 16
        && hash.chars().all(|c| c.is_ascii_hexdigit())
        && (tail.is_empty() || tail.starts_with('.'))
}

/// An uplifted binary or example: `<name>`, `<name>.d`, `<name>.exe`, `<name>.pdb`.
fn is_uplifted(file: &str, name: &str) -> bool {
    file.strip_prefix(name)
        .is_some_and(|ext| matches!(ext, "" | ".d" | ".exe" | ".pdb" | ".wasm" | ".js"))
}

fn remove_matching(dir: &Path, matches: impl Fn(&str) -> bool) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !matches(name) {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => crate::fs::remove_dir_all(&path)?,
            Ok(_) => crate::fs::remove_file(&path)?,
            Err(_) => continue,
        }
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_match_exactly() {
        assert!(is_hashed("app-0123456789abcdef", "app"));
        assert!(is_hashed("app-0123456789abcdef.d", "app"));
        assert!(!is_hashed("app-extra-0123456789abcdef", "app"));
        assert!(!is_hashed("app-0123", "app"));
        assert!(!is_hashed("apple-0123456789abcdef", "app"));
    }

    #[test]
    fn uplifted_names_match_exactly() {
        assert!(is_uplifted("app", "app"));
        assert!(is_uplifted("app.d", "app"));
        assert!(!is_uplifted("app-extra", "app"));
    }
}

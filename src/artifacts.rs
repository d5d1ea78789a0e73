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

/// Where a cook's build wrote, by the target directory's known layout: `<root>/<profile>/`,
/// `<root>/<triple>/<profile>/` and, for `cargo doc`, `<root>/[<triple>/]doc/`. Nothing is
/// searched for: only these exact directories are cleaned.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The target directory and a separate build directory, if any.
    pub roots: Vec<PathBuf>,
    /// The profile's directory name (`debug`, `release`, a custom profile's name).
    pub profile: String,
    /// Target triples built for (`--target`, `CARGO_BUILD_TARGET`, and those cargo's own
    /// artifact paths show).
    pub triples: BTreeSet<String>,
    /// Whether the build wrote documentation.
    pub doc: bool,
}

impl Layout {
    /// Adds the triples named by `--target` values (a target spec file names its directory by
    /// its stem) and those under which cargo reported writing `filenames`.
    pub fn add_triples<'a>(
        &mut self,
        targets: impl IntoIterator<Item = &'a str>,
        filenames: impl IntoIterator<Item = &'a str>,
    ) {
        for t in targets {
            let name = t.strip_suffix(".json").map_or(t, |stem| {
                Path::new(stem)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(stem)
            });
            self.add_triple(name);
        }
        for file in filenames {
            let file = Path::new(file);
            for root in &self.roots.clone() {
                let Ok(rel) = file.strip_prefix(root) else {
                    continue;
                };
                let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
                if parts.len() >= 3 && parts[1] == self.profile.as_str() {
                    if let Some(t) = parts[0].to_str() {
                        self.add_triple(t);
                    }
                }
            }
        }
    }

    fn add_triple(&mut self, name: &str) {
        let one_component = Path::new(name).components().count() == 1
            && matches!(
                Path::new(name).components().next(),
                Some(std::path::Component::Normal(_))
            );
        if one_component && name != self.profile {
            self.triples.insert(name.to_string());
        }
    }

    /// The exact directories below each root that are named `sub` in this layout, and exist
    /// as real directories (a symlink there is not followed).
    fn dirs(&self, sub: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for root in &self.roots {
            out.push(root.join(sub));
            for t in &self.triples {
                out.push(root.join(t).join(sub));
            }
        }
        out.retain(|d| std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir()));
        out
    }
}

/// Removes local units from the layout's profile (and doc) directories; returns how many
/// entries were removed.
pub fn remove_local(layout: &Layout, names: &LocalNames) -> Result<usize> {
    let crates = names.crates();
    let mut removed = 0;
    for dir in layout.dirs(&layout.profile) {
        removed += clean_profile_dir(&dir, names, &crates)?;
    }
    if layout.doc {
        for doc in layout.dirs("doc") {
            // a crate name is a file name; anything else would reach outside `doc/`
            for krate in crates.iter().filter(|k| is_file_name(k)) {
                for path in [doc.join(krate), doc.join("src").join(krate)] {
                    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                        crate::fs::remove_dir_all(&path)?;
                        removed += 1;
                    }
                }
            }
        }
    }
    Ok(removed)
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

/// Whether `name` is a single plain path component (no separator, not `.` or `..`).
fn is_file_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    !name.contains(['/', '\\', '\0'])
        && matches!(parts.next(), Some(std::path::Component::Normal(_)))
        && parts.next().is_none()
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
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(0);
    }
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
    fn the_doc_cleanup_never_leaves_the_doc_directory() {
        // found by tests/fuzz.rs: a package named `../../../../victim` made `cook --doc`
        // remove a directory beside the cook directory
        let home = tempfile::tempdir().unwrap();
        let target = home.path().join("cook/target");
        let victim = home.path().join("victim");
        for dir in [
            target.join("doc/src/ok"),
            target.join("doc/ok"),
            victim.join("src"),
        ] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let mut names = LocalNames::default();
        names.add("ok", ["../../../../victim", "../../../victim"]);
        names.add("../../../../victim", Vec::<String>::new());
        names.add(&victim.to_string_lossy(), Vec::<String>::new());
        let layout = Layout {
            roots: vec![target.clone()],
            profile: "debug".into(),
            triples: BTreeSet::new(),
            doc: true,
        };
        assert_eq!(remove_local(&layout, &names).unwrap(), 2);
        assert!(victim.join("src").is_dir());
        assert!(!target.join("doc/ok").exists() && !target.join("doc/src/ok").exists());
    }

    #[test]
    fn uplifted_names_match_exactly() {
        assert!(is_uplifted("app", "app"));
        assert!(is_uplifted("app.d", "app"));
        assert!(!is_uplifted("app-extra", "app"));
    }
}

//! Computing a [`Recipe`] from a workspace on disk: find every local package (members, path
//! dependencies wherever they live, `[patch]` paths), pick the layout root that holds them all,
//! and normalise manifests, lockfile, cargo config and toolchain file into the recipe.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::manifest::{self, relative_to};
use crate::metadata::{self, Package};
use crate::recipe::{self, Recipe};
use crate::secrets::{Removed, Stripped};

/// A recipe, and the credentials that were left out of it.
#[derive(Debug)]
pub struct Planned {
    /// The recipe.
    pub recipe: Recipe,
    /// Each credential taken out of a file, sorted by file and key (never the value).
    pub stripped: Vec<Stripped>,
}

/// A local package found while planning.
struct Local {
    package: Package,
    member: bool,
    /// `[patch]`/`[replace]` targets keep their version: it must still match what they patch.
    patched: bool,
}

/// Computes the recipe of the workspace whose manifest (or a member's) is `manifest_path`.
pub fn plan(manifest_path: &Path) -> Result<Recipe> {
    plan_reporting(manifest_path).map(|p| p.recipe)
}

/// [`plan`], also saying which credentials were left out of the recipe (for the verb to print).
pub fn plan_reporting(manifest_path: &Path) -> Result<Planned> {
    let manifest_path = locate_manifest(manifest_path)?;
    let ws = metadata::workspace(&manifest_path)?;
    let root = ws.root.clone();
    let root_manifest = root.join("Cargo.toml");
    let lockfile = root.join("Cargo.lock");
    if !lockfile.is_file() {
        return Err(Error::input(format!(
            "no lockfile at `{}`: a recipe needs the exact dependency versions",
            lockfile.display()
        ))
        .with_hint(format!(
            "run `cargo generate-lockfile --manifest-path {}` and commit Cargo.lock",
            root_manifest.display()
        )));
    }

    let locals = collect_locals(&ws, &root_manifest)?;

    let dropped = droppable_members(&locals, &root);
    let layout_root = common_root(locals.keys().map(PathBuf::as_path).chain([root.as_path()]));
    let rel = |p: &Path| relative_to(p, &layout_root);

    let mut files = Files::default();
    let mut packages = BTreeMap::new();
    let members: Vec<String> = {
        let mut m: Vec<String> = locals
            .iter()
            .filter(|(dir, l)| l.member && !dropped.contains(*dir) && **dir != root)
            .map(|(dir, _)| relative_to(dir, &root))
            .collect();
        m.sort();
        m
    };

    let root_is_package = locals.contains_key(&root);
    if !root_is_package {
        let text = crate::fs::read_to_string(&root_manifest)?;
        let n = manifest::normalize(
            &text,
            &root_manifest,
            &manifest::Options {
                package: None,
                mask_version: true,
                members: Some(&members),
            },
        )?;
        files.add(rel(&root_manifest), n.text, n.removed);
    }
    for (dir, local) in &locals {
        if dropped.contains(dir) {
            continue;
        }
        let path = &local.package.manifest_path;
        let text = crate::fs::read_to_string(path)?;
        let n = manifest::normalize(
            &text,
            path,
            &manifest::Options {
                package: Some(&local.package),
                mask_version: !local.patched,
                members: (*dir == root).then_some(members.as_slice()),
            },
        )?;
        files.add(rel(path), n.text, n.removed);
        packages.insert(
            rel(dir),
            recipe::Package {
                name: local.package.name.clone(),
                member: local.member,
                targets: n.targets,
            },
        );
    }

    let mask: BTreeSet<String> = locals
        .values()
        .filter(|l| !l.patched)
        .map(|l| l.package.name.clone())
        .collect();
    let drop: BTreeSet<String> = dropped
        .iter()
        .map(|d| locals[d].package.name.clone())
        .collect();
    let lock_text = crate::fs::read_to_string(&lockfile)?;
    let lock = crate::lockfile::normalize(&lock_text, &lockfile, &mask, &drop)?;
    files.add(rel(&lockfile), lock.text, lock.removed);

    let toolchain = crate::config::toolchain_file(&root, &layout_root)?;
    for found in crate::config::config_files(&root, &layout_root)?
        .into_iter()
        .chain(toolchain)
    {
        files.add(rel(&found.path), found.text, found.removed);
    }

    let Files {
        files,
        mut stripped,
    } = files;
    stripped.sort();
    stripped.dedup();
    Ok(Planned {
        recipe: Recipe::new(rel(&root), packages, files),
        stripped,
    })
}

/// The recipe's files, and the credentials taken out of them.
#[derive(Default)]
struct Files {
    files: BTreeMap<String, String>,
    stripped: Vec<Stripped>,
}

impl Files {
    fn add(&mut self, file: String, text: String, removed: Vec<Removed>) {
        self.stripped
            .extend(removed.into_iter().map(|r| r.in_file(&file)));
        self.files.insert(file, text);
    }
}

/// Every local package: the members, `[patch]`/`[replace]` paths, and path dependencies,
/// transitively, wherever they are.
fn collect_locals(
    ws: &metadata::Workspace,
    root_manifest: &Path,
) -> Result<BTreeMap<PathBuf, Local>> {
    let mut locals: BTreeMap<PathBuf, Local> = BTreeMap::new();
    let mut queue: VecDeque<PathBuf> = VecDeque::new();
    for p in &ws.packages {
        locals.insert(
            p.dir().to_path_buf(),
            Local {
                package: p.clone(),
                member: true,
                patched: false,
            },
        );
        queue.push_back(p.dir().to_path_buf());
    }
    for dir in patch_paths(root_manifest)? {
        let dir = add_local(&mut locals, &dir, root_manifest, "[patch]")?;
        if let Some(l) = locals.get_mut(&dir) {
            l.patched = true;
        }
        queue.push_back(dir);
    }
    // Path dependencies, transitively, wherever they are.
    while let Some(dir) = queue.pop_front() {
        let (deps, from) = {
            let l = &locals[&dir];
            (
                l.package.dependencies.clone(),
                l.package.manifest_path.clone(),
            )
        };
        for dep in deps {
            let Some(path) = dep.path else { continue };
            let key = canonical_dir(&path, &from, &dep.name)?;
            if !locals.contains_key(&key) {
                let key = add_local(&mut locals, &key, &from, &dep.name)?;
                queue.push_back(key);
            }
        }
    }

    Ok(locals)
}

/// Accepts a manifest path or a directory holding one; the canonical path of the manifest.
pub fn locate_manifest(path: &Path) -> Result<PathBuf> {
    let candidate = if path.is_dir() {
        path.join("Cargo.toml")
    } else {
        path.to_path_buf()
    };
    if !candidate.is_file() {
        return Err(
            Error::input(format!("no manifest at `{}`", candidate.display()))
                .with_hint("run prewarm in a directory with a Cargo.toml, or pass --manifest-path"),
        );
    }
    crate::fs::canonicalize(&candidate)
}

fn canonical_dir(path: &Path, from: &Path, name: &str) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|_| {
        Error::input(format!(
            "`{}` declares a path dependency `{name}` at `{}`, which does not exist",
            from.display(),
            path.display()
        ))
        .with_hint("fix the `path` of that dependency, or create the crate it points at")
    })
}

/// Loads the package at `dir` (a path dependency or patch outside the workspace) into `locals`.
fn add_local(
    locals: &mut BTreeMap<PathBuf, Local>,
    dir: &Path,
    from: &Path,
    what: &str,
) -> Result<PathBuf> {
    let dir = canonical_dir(dir, from, what)?;
    if locals.contains_key(&dir) {
        return Ok(dir);
    }
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::input(format!(
            "`{}` declares a path dependency `{what}` at `{}`, which has no Cargo.toml",
            from.display(),
            dir.display()
        ))
        .with_hint("a path dependency must point at a crate directory"));
    }
    let package = metadata::package(&manifest)?;
    locals.insert(
        dir.clone(),
        Local {
            package,
            member: false,
            patched: false,
        },
    );
    Ok(dir)
}

/// Directories named by `path` in the root manifest's `[patch.*]` and `[replace]` tables.
fn patch_paths(root_manifest: &Path) -> Result<Vec<PathBuf>> {
    let text = crate::fs::read_to_string(root_manifest)?;
    let doc: toml::Table = toml::from_str(&text).map_err(|e| {
        Error::input(format!(
            "`{}` is not valid TOML: {e}",
            root_manifest.display()
        ))
    })?;
    let base = root_manifest.parent().unwrap_or(Path::new("/"));
    let mut out = Vec::new();
    let mut collect = |deps: &toml::Value| {
        for (_, dep) in deps.as_table().into_iter().flatten() {
            if let Some(p) = dep.get("path").and_then(toml::Value::as_str) {
                out.push(base.join(p));
            }
        }
    };
    if let Some(patch) = doc.get("patch").and_then(toml::Value::as_table) {
        for (_, deps) in patch {
            collect(deps);
        }
    }
    if let Some(replace) = doc.get("replace") {
        collect(replace);
    }
    Ok(out)
}

/// Workspace members that nothing depends on and that depend on nothing: leaving them out of
/// the skeleton cannot change any external unit, so adding one keeps the recipe as it was.
fn droppable_members(locals: &BTreeMap<PathBuf, Local>, root: &Path) -> BTreeSet<PathBuf> {
    let depended: BTreeSet<PathBuf> = locals
        .values()
        .flat_map(|l| l.package.dependencies.iter())
        .filter_map(|d| d.path.as_ref().and_then(|p| std::fs::canonicalize(p).ok()))
        .collect();
    let mut dropped: BTreeSet<PathBuf> = locals
        .iter()
        .filter(|(dir, l)| {
            l.member
                && !l.patched
                && dir.as_path() != root
                && l.package.dependencies.is_empty()
                && l.package.links.is_none()
                && !depended.contains(*dir)
        })
        .map(|(dir, _)| dir.clone())
        .collect();
    // A workspace keeps at least one member.
    let members = locals.values().filter(|l| l.member).count();
    if members > 0 && dropped.len() == members {
        let first = dropped.iter().next().cloned();
        if let Some(first) = first {
            dropped.remove(&first);
        }
    }
    dropped
}

/// The deepest directory that contains every path.
fn common_root<'a>(paths: impl Iterator<Item = &'a Path>) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for p in paths {
        common = Some(match common {
            None => p.to_path_buf(),
            Some(c) => {
                let mut out = PathBuf::new();
                for (a, b) in c.components().zip(p.components()) {
                    if a != b {
                        break;
                    }
                    out.push(a.as_os_str());
                }
                out
            }
        });
    }
    common.unwrap_or_else(|| PathBuf::from("/"))
}

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

/// A planned workspace: its recipe, the credentials left out of it, and what the verbs need to
/// know about the workspace on disk, from one `cargo metadata` run.
#[derive(Debug)]
pub struct Plan {
    /// The manifest planned from, as [`metadata::locate_manifest`] found it (canonical).
    pub manifest_path: PathBuf,
    /// The recipe.
    pub recipe: Recipe,
    /// Each credential taken out of a file, sorted by file and key (never the value).
    pub stripped: Vec<Stripped>,
    /// The workspace, as `cargo metadata` reported it.
    pub workspace: metadata::Workspace,
    /// The directory that holds the workspace and every local package outside it (the build
    /// context of a generated Dockerfile, the root of a skeleton).
    pub layout_root: PathBuf,
    /// Every local package (members, path dependencies, `[patch]` paths), those the recipe
    /// leaves out included, by directory: the graph the tier plan orders ([`crate::tiers`]).
    pub locals: Vec<Package>,
}

impl Plan {
    /// The target (and build) directories a build with `flags` uses, as cook looks for them.
    pub fn target_dirs(&self, flags: &crate::flags::BuildFlags) -> Result<Vec<PathBuf>> {
        crate::cook::target_dirs(&self.workspace.root, flags)
    }
}

/// A local package found while planning.
struct Local {
    package: Package,
    member: bool,
    /// `[patch]`/`[replace]` targets keep their version: it must still match what they patch.
    patched: bool,
}

/// Plans the workspace whose manifest (or a member's) is `manifest_path` (a directory, a
/// manifest, or the default `Cargo.toml`, found upward as cargo finds it).
pub fn plan(manifest_path: &Path) -> Result<Plan> {
    plan_for(manifest_path, &[])
}

/// Like [`plan`], narrowed to what the binaries `bins` need when there are any: the members
/// outside their local dependency closure and the packages only those reach are left out
/// (see [`crate::prune`]).
pub fn plan_for(manifest_path: &Path, bins: &[String]) -> Result<Plan> {
    let manifest_path = metadata::locate_manifest(manifest_path)?;
    let ws = metadata::workspace(&manifest_path)?;
    let root = ws.root.clone();
    let root_manifest = root.join("Cargo.toml");
    let lockfile = require_lockfile(&root)?;

    let locals = collect_locals(&ws, &root_manifest)?;

    let dropped = dropped(&locals, &root, bins)?;
    let layout_root = common_root(locals.keys().map(PathBuf::as_path).chain([root.as_path()]));
    let rel = |p: &Path| relative_to(p, &layout_root);

    let (mut files, packages) = manifests(&locals, &dropped, &root, &layout_root)?;

    let mask: BTreeSet<String> = locals
        .values()
        .filter(|l| !l.patched)
        .map(|l| l.package.name.clone())
        .collect();
    // Narrowed to binaries, cargo prunes the lockfile below (by package, not by name).
    let drop: BTreeSet<String> = dropped
        .iter()
        .filter(|_| bins.is_empty())
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
        mut files,
        mut stripped,
    } = files;
    stripped.sort();
    stripped.dedup();
    let mut recipe = Recipe::new(rel(&root), packages, files.clone());
    if !bins.is_empty() {
        // What is left of the lockfile is exactly what cargo wants for the narrowed skeleton.
        let lock_rel = rel(&lockfile);
        let pruned = crate::prune::resolve_lockfile(&recipe, &lock_rel, bins)?;
        files.insert(lock_rel, pruned);
        recipe = Recipe::new(recipe.workspace, recipe.packages, files);
    }
    Ok(Plan {
        manifest_path,
        recipe,
        stripped,
        workspace: ws,
        layout_root,
        locals: locals.into_values().map(|l| l.package).collect(),
    })
}

/// The normalised manifests of the workspace root and every local package kept, and the
/// recipe's packages.
fn manifests(
    locals: &BTreeMap<PathBuf, Local>,
    dropped: &BTreeSet<PathBuf>,
    root: &Path,
    layout_root: &Path,
) -> Result<(Files, BTreeMap<String, recipe::Package>)> {
    let rel = |p: &Path| relative_to(p, layout_root);
    let root_manifest = root.join("Cargo.toml");
    let mut files = Files::default();
    let mut packages = BTreeMap::new();
    let members: Vec<String> = {
        let mut m: Vec<String> = locals
            .iter()
            .filter(|(dir, l)| l.member && !dropped.contains(*dir) && *dir != root)
            .map(|(dir, _)| relative_to(dir, root))
            .collect();
        m.sort();
        m
    };
    // `[workspace.dependencies]` entries no kept member inherits cannot change the build:
    // adding one must not change the recipe.
    let mut inherited = BTreeSet::new();
    for (dir, local) in locals {
        if local.member && !dropped.contains(dir) {
            let text = crate::fs::read_to_string(&local.package.manifest_path)?;
            inherited.extend(manifest::inherited_dependencies(&text));
        }
    }

    let root_is_package = locals.contains_key(root);
    if !root_is_package {
        let text = crate::fs::read_to_string(&root_manifest)?;
        let n = manifest::normalize(
            &text,
            &root_manifest,
            &manifest::Options {
                package: None,
                mask_version: true,
                members: Some(&members),
                inherited: Some(&inherited),
            },
        )?;
        files.add(rel(&root_manifest), n.text, n.removed);
    }
    for (dir, local) in locals {
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
                members: (dir == root).then_some(members.as_slice()),
                inherited: (dir == root).then_some(&inherited),
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

    Ok((files, packages))
}

/// The workspace's lockfile: a recipe needs the exact dependency versions.
fn require_lockfile(root: &Path) -> Result<PathBuf> {
    let lockfile = root.join("Cargo.lock");
    if lockfile.is_file() {
        return Ok(lockfile);
    }
    Err(Error::input(format!(
        "no lockfile at `{}`: a recipe needs the exact dependency versions",
        lockfile.display()
    ))
    .with_hint(format!(
        "run `cargo generate-lockfile --manifest-path {}` and commit Cargo.lock",
        root.join("Cargo.toml").display()
    )))
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

/// The local packages the skeleton leaves out: the [`droppable_members`], and with `bins`
/// every local package outside the binaries' closure. At least one member stays (the owners
/// of the binaries when they would all go).
fn dropped(
    locals: &BTreeMap<PathBuf, Local>,
    root: &Path,
    bins: &[String],
) -> Result<BTreeSet<PathBuf>> {
    let mut dropped = droppable_members(locals, root);
    if bins.is_empty() {
        return Ok(dropped);
    }
    let nodes: BTreeMap<PathBuf, crate::prune::Node<'_>> = locals
        .iter()
        .map(|(dir, l)| {
            (
                dir.clone(),
                crate::prune::Node {
                    package: &l.package,
                    member: l.member,
                    pinned: l.patched || dir == root,
                },
            )
        })
        .collect();
    let owners = crate::prune::owners(&nodes, bins)?;
    let kept = crate::prune::closure(&nodes, &owners);
    dropped.extend(locals.keys().filter(|d| !kept.contains(*d)).cloned());
    if locals
        .iter()
        .all(|(dir, l)| !l.member || dropped.contains(dir))
    {
        for owner in &owners {
            dropped.remove(owner);
        }
    }
    Ok(dropped)
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

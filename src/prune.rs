//! `prewarm recipe --bin`: narrowing a workspace to what some binaries need. The members that
//! own the binaries and every local package they reach through path dependencies (normal,
//! build and dev: cargo resolves the dev-dependencies of every member left in the workspace)
//! stay; the rest leave the recipe. The lockfile of what stays is not guessed from Cargo.lock's
//! graph (an optional dependency that only a removed member's feature enabled must go too,
//! and Cargo.lock records no features): cargo itself resolves the reduced skeleton against the
//! workspace's lockfile, so the result is exactly the lockfile a `--locked` cook expects.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use toml::Table;

use crate::error::{Error, ErrorKind, Result};
use crate::metadata::{Package, TargetKind};
use crate::process::Process;
use crate::recipe::Recipe;

/// A local package as the pruning sees it.
pub struct Node<'a> {
    /// Its cargo metadata.
    pub package: &'a Package,
    /// Whether it is a workspace member.
    pub member: bool,
    /// Whether it must stay whatever the selection (the workspace root package, `[patch]`
    /// targets: the root manifest names them).
    pub pinned: bool,
}

/// The members that own each of `bins`, or an error naming the binary and listing the
/// workspace's binaries.
pub fn owners(nodes: &BTreeMap<PathBuf, Node<'_>>, bins: &[String]) -> Result<BTreeSet<PathBuf>> {
    let mut owners = BTreeSet::new();
    for bin in bins {
        let found: Vec<&PathBuf> = nodes
            .iter()
            .filter(|(_, n)| n.member && owns(n.package, bin))
            .map(|(dir, _)| dir)
            .collect();
        if found.is_empty() {
            return Err(no_such_binary(nodes, bin));
        }
        owners.extend(found.into_iter().cloned());
    }
    Ok(owners)
}

fn owns(package: &Package, bin: &str) -> bool {
    package
        .targets
        .iter()
        .any(|t| t.kind == TargetKind::Bin && t.name == bin)
}

fn no_such_binary(nodes: &BTreeMap<PathBuf, Node<'_>>, bin: &str) -> Error {
    let mut names: Vec<String> = nodes
        .values()
        .filter(|n| n.member)
        .flat_map(|n| {
            n.package
                .targets
                .iter()
                .filter(|t| t.kind == TargetKind::Bin)
                .map(|t| format!("`{}` (package `{}`)", t.name, n.package.name))
        })
        .collect();
    names.sort();
    let hint = if names.is_empty() {
        "the workspace has no binary targets; leave --bin out".to_string()
    } else {
        format!("its binaries: {}", names.join(", "))
    };
    Error::input(format!(
        "`--bin {bin}`: no member of the workspace has a binary `{bin}`"
    ))
    .with_hint(hint)
}

/// The local packages `start` reaches through path dependencies of every kind, `start` and the
/// pinned packages included.
pub fn closure(
    nodes: &BTreeMap<PathBuf, Node<'_>>,
    start: &BTreeSet<PathBuf>,
) -> BTreeSet<PathBuf> {
    let mut kept: BTreeSet<PathBuf> = start.clone();
    kept.extend(
        nodes
            .iter()
            .filter(|(_, n)| n.pinned)
            .map(|(dir, _)| dir.clone()),
    );
    let mut queue: VecDeque<PathBuf> = kept.iter().cloned().collect();
    while let Some(dir) = queue.pop_front() {
        let Some(node) = nodes.get(&dir) else {
            continue;
        };
        for dep in &node.package.dependencies {
            let Some(path) = dep
                .path
                .as_ref()
                .and_then(|p| std::fs::canonicalize(p).ok())
            else {
                continue;
            };
            if nodes.contains_key(&path) && kept.insert(path.clone()) {
                queue.push_back(path);
            }
        }
    }
    kept
}

/// The lockfile cargo wants for the skeleton of `recipe`, whose lockfile (at `lock_file`,
/// relative to the layout root) is still the whole workspace's: the skeleton is laid out in a
/// temporary directory and `cargo update --workspace` resolves it, keeping every locked
/// version and dropping what nothing kept reaches (offline first, from cargo's index cache;
/// with the network when that cache lacks an entry). `bins` only names the selection in errors.
pub fn resolve_lockfile(recipe: &Recipe, lock_file: &str, bins: &[String]) -> Result<String> {
    let tmp = tempfile::Builder::new()
        .prefix("prewarm-resolve-")
        .tempdir()
        .map_err(|e| Error::io("create a temporary directory in", &std::env::temp_dir(), &e))?;
    let root = tmp.path();
    for (rel, content, _) in recipe.skeleton_files() {
        crate::fs::write_under(root, &rel, content)?;
    }
    let workspace = crate::recipe::join(&recipe.workspace, ".");
    let workspace = root.join(workspace);
    let update = |offline: bool| {
        Process::cargo()
            .current_dir(&workspace)
            .args(["update", "--workspace", "--quiet"])
            .args(offline.then_some("--offline"))
            .arg("--manifest-path")
            .arg(workspace.join("Cargo.toml"))
            .env("CARGO_TERM_COLOR", "never")
    };
    let offline = update(true);
    if !offline.output()?.status.success() {
        let online = update(false);
        let out = online.output()?;
        if !out.status.success() {
            let shown = bins_shown(bins);
            return Err(Error::new(
                ErrorKind::Tool,
                format!("cargo cannot resolve the workspace narrowed to {shown}: `{online}` failed"),
            )
            .with_detail(crate::process::tail(&out.stderr, 40))
            .with_hint(
                "the narrowed recipe needs cargo to resolve its dependencies: give the planner access to the registry (or a filled cargo index cache), or leave --bin out",
            ));
        }
    }
    let before = recipe.files.get(lock_file).map_or("", String::as_str);
    let after = crate::fs::read_to_string(&root.join(lock_file))?;
    check_subset(before, &after, bins)?;
    Ok(after)
}

fn bins_shown(bins: &[String]) -> String {
    bins.iter()
        .map(|b| format!("`--bin {b}`"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every package of the resolved lockfile must be one of the workspace's, at the same version
/// and source: pruning removes, it never updates. A new one means Cargo.lock is out of date.
fn check_subset(before: &str, after: &str, bins: &[String]) -> Result<()> {
    let before = packages(before);
    let added: Vec<String> = packages(after)
        .difference(&before)
        .map(|(name, version, source)| {
            let source = source
                .as_deref()
                .map_or(String::new(), |s| format!(" ({s})"));
            format!("`{name} {version}`{source}")
        })
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    Err(Error::input(format!(
        "the workspace's Cargo.lock does not hold what its manifests need: resolving it narrowed to {} adds {}",
        bins_shown(bins),
        added.join(", ")
    ))
    .with_hint("bring Cargo.lock up to date (`cargo update --workspace`, or any `cargo build`) and commit it"))
}

/// (name, version, source) of every `[[package]]` of a lockfile.
fn packages(lock: &str) -> BTreeSet<(String, String, Option<String>)> {
    let parsed: Table = toml::from_str(lock).unwrap_or_default();
    parsed
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let s = |k: &str| p.get(k).and_then(toml::Value::as_str).map(str::to_string);
            Some((s("name")?, s("version")?, s("source")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.0.0\"\ndependencies = [\n \"itoa\",\n]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.10\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

    #[test]
    fn pruning_may_remove_but_never_add_or_update() {
        let bins = ["app".to_string()];
        let removed = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.0.0\"\n";
        assert!(check_subset(LOCK, removed, &bins).is_ok());
        let updated = LOCK.replace("1.0.10", "1.0.17");
        let err = check_subset(LOCK, &updated, &bins).unwrap_err();
        assert!(
            err.message().contains(
                "adds `itoa 1.0.17` (registry+https://github.com/rust-lang/crates.io-index)"
            ) && err.message().contains("`--bin app`"),
            "{}",
            err.message()
        );
        assert!(err.hint().unwrap().contains("cargo update --workspace"));
    }
}

//! Building one tier inside the image (`prewarm tier`): the real sources of the crates kept so
//! far are in place, every other local crate of the recipe becomes a dummy for the length of
//! one cargo build with the final build's very command, and then loses its artifacts, exactly
//! as the cook removes local ones.
//!
//! Why this shape (each point was checked by a real build, see tests/tiers.rs):
//! - The manifests and the lockfile are the real ones (the first tier copies them), so every
//!   local crate has its real version and the resolve is the final build's: the unit hashes of
//!   the kept crates are the ones the final build computes. A dummy crate's manifest is its real
//!   one with only its targets swapped for the skeleton's, for the duration of the build.
//! - The command and selection are the final build's, so feature unification gives every kept
//!   crate the features the final build does (`-p crate` alone would resolve others).
//! - A kept crate must read nothing from a directory that is not yet real: its dep-info (and
//!   its build script's `rerun-if-changed` paths) are checked after the build, and a file of a
//!   dummy crate, of the skeleton, or anywhere else in the build context outside the kept
//!   crates is refused. Otherwise a dummy's content could be compiled in and, with the
//!   modification times normalised, stay fresh in the final build.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::cook;
use crate::error::{Error, Result};
use crate::flags::BuildFlags;
use crate::messages::Artifact;
use crate::recipe::{self, Recipe};

/// The fixed modification time the tier stages give every source they build (and the final
/// build stage the same sources again), so that a checkout's fresh times do not make cargo
/// rebuild unchanged crates: 1980-01-01T00:00:00Z.
pub const SOURCE_EPOCH: u64 = 315_532_800;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The layout root (where the recipe's paths start).
    pub dir: PathBuf,
    /// Names of the local packages whose real sources are in place.
    pub keep: Vec<String>,
    /// The cargo command.
    pub mode: crate::flags::Mode,
    /// The final build's cargo flags.
    pub flags: BuildFlags,
    /// Extra arguments passed to cargo unchanged.
    pub extra: Vec<String>,
    /// Keep quiet.
    pub quiet: bool,
}

/// What a tier build did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The units cargo reported.
    pub artifacts: Vec<Artifact>,
    /// The packages that were dummies.
    pub dummies: Vec<String>,
    /// Entries removed from the target directories.
    pub removed: usize,
}

/// A dummy crate laid out: its real manifest (to put back) and the files written.
struct Laid {
    manifest: PathBuf,
    real: String,
    written: Vec<PathBuf>,
}

/// Builds one tier.
pub fn build(recipe: &Recipe, opts: &Options) -> Result<Report> {
    let root = crate::fs::canonicalize(&opts.dir)?;
    check_keep(recipe, &opts.keep)?;
    let keep: BTreeSet<&str> = opts.keep.iter().map(String::as_str).collect();
    let dummies: Vec<(&String, &recipe::Package)> = recipe
        .packages
        .iter()
        .filter(|(_, p)| !keep.contains(p.name.as_str()))
        .collect();
    let workspace_dir = if recipe.workspace == "." {
        root.clone()
    } else {
        root.join(&recipe.workspace)
    };

    let mut laid = Vec::new();
    let mut result = (|| {
        for (dir, pkg) in &dummies {
            laid.push(lay_dummy(&root, recipe, dir, pkg)?);
        }
        Ok(())
    })();
    let mut artifacts = Vec::new();
    let mut target_dirs = Vec::new();
    if result.is_ok() {
        result = cook::target_dirs(&workspace_dir, &opts.flags).map(|d| target_dirs = d);
    }
    if result.is_ok() {
        let cook_opts = cook::Options {
            dir: root.clone(),
            recipe_path: None,
            force: true,
            mode: opts.mode,
            flags: opts.flags.clone(),
            extra: opts.extra.clone(),
            quiet: opts.quiet,
        };
        let (r, a) = cook::run_build(&workspace_dir, &opts.flags, &cook_opts, true);
        artifacts = a;
        result = r.map(|_| ());
    }
    // Whatever happened, the dummies go and the real manifests come back.
    let removed = cook::remove_packages(
        dummies.iter().map(|(_, p)| *p),
        &target_dirs,
        &opts.flags,
        opts.mode,
        &artifacts,
    );
    let restored = restore(&root, laid);
    result?;
    let removed = removed?;
    restored?;

    let kept_dirs: Vec<PathBuf> = recipe
        .packages
        .iter()
        .filter(|(_, p)| keep.contains(p.name.as_str()))
        .map(|(d, _)| root.join(d))
        .collect();
    check_inputs(
        &root,
        &workspace_dir,
        &kept_dirs,
        &target_dirs,
        &artifacts,
        &keep,
        &opts.flags,
    )?;

    let dummies: Vec<String> = dummies.iter().map(|(_, p)| p.name.clone()).collect();
    if !opts.quiet {
        report(&artifacts, &keep, dummies.len(), removed);
    }
    Ok(Report {
        artifacts,
        dummies,
        removed,
    })
}

/// Refuses a `--keep` that names no package of the recipe.
fn check_keep(recipe: &Recipe, keep: &[String]) -> Result<()> {
    for name in keep {
        if recipe.package_named(name).is_none() {
            let mut known: Vec<&str> = recipe.packages.values().map(|p| p.name.as_str()).collect();
            known.sort_unstable();
            return Err(Error::input(format!("`--keep {name}`: the recipe has no package `{name}`"))
                .with_hint(format!(
                    "name local packages of the recipe (it has: {}); regenerate the Dockerfile with `prewarm image` if the workspace changed",
                    known.join(", ")
                )));
        }
    }
    Ok(())
}

/// The status line of a built tier: the real crates compiled, the dummies removed.
fn report(artifacts: &[Artifact], keep: &BTreeSet<&str>, dummies: usize, removed: usize) {
    let compiled: Vec<&str> = artifacts
        .iter()
        .filter(|a| a.local && !a.fresh && keep.contains(a.package.as_str()))
        .map(|a| a.package.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    crate::status!(
        "tier built: {} real crate(s) compiled ({}); {dummies} dummies removed again ({removed} entries)",
        compiled.len(),
        if compiled.is_empty() { "none".to_string() } else { compiled.join(", ") },
    );
}

/// Turns the package at `dir` into a dummy: its real manifest with the skeleton's targets, and
/// a dummy source for each. A real file where a dummy goes is refused: that crate's sources
/// are already in the image, so it must be kept.
fn lay_dummy(root: &Path, recipe: &Recipe, dir: &str, pkg: &recipe::Package) -> Result<Laid> {
    let rel = recipe::join(dir, "Cargo.toml");
    crate::fs::check_no_symlink(root, &rel)?;
    let manifest = root.join(&rel);
    let real_text = crate::fs::read_to_string(&manifest).map_err(|e| {
        e.with_hint("the first tier copies every local manifest; regenerate the Dockerfile with `prewarm image` if the workspace changed")
    })?;
    let skeleton_key = rel.to_string_lossy().replace('\\', "/");
    let skeleton = recipe.files.get(&skeleton_key).ok_or_else(|| {
        Error::input(format!(
            "the recipe has no manifest for package directory `{dir}`"
        ))
    })?;
    let text = swap_targets(&real_text, skeleton, &manifest)?;
    let mut written = Vec::new();
    for t in &pkg.targets {
        let path = recipe::join(dir, &t.path);
        crate::fs::check_no_symlink(root, &path)?;
        let abs = root.join(&path);
        if abs.exists() {
            if std::fs::read(&abs).ok().as_deref() == Some(t.kind.dummy_source().as_bytes()) {
                continue;
            }
            return Err(Error::input(format!(
                "`{}` exists, but package `{}` is not kept in this tier: its real sources must not be in the image yet",
                abs.display(),
                pkg.name
            ))
            .with_hint("regenerate the Dockerfile with `prewarm image`: a tier copies only its own crates' directories"));
        }
        crate::fs::write_under(root, &path, t.kind.dummy_source())?;
        written.push(abs);
    }
    crate::fs::write_under(root, &rel, text)?;
    Ok(Laid {
        manifest,
        real: real_text,
        written,
    })
}

/// The real manifest `real` with its targets replaced by those of the skeleton manifest.
fn swap_targets(real: &str, skeleton: &str, path: &Path) -> Result<String> {
    let parse = |text: &str| -> Result<Table> {
        toml::from_str(text).map_err(|e| {
            Error::input(format!("`{}` is not valid TOML: {e}", path.display()))
                .with_hint("fix the manifest; `cargo metadata` shows the same error")
        })
    };
    let mut doc = parse(real)?;
    let skeleton = parse(skeleton)?;
    for key in ["lib", "bin", "example", "test", "bench"] {
        doc.remove(key);
        if let Some(v) = skeleton.get(key) {
            doc.insert(key.into(), v.clone());
        }
    }
    let skeleton_pkg = skeleton.get("package").and_then(Value::as_table);
    if let Some(Value::Table(pkg)) = doc.get_mut("package") {
        for key in [
            "build",
            "autolib",
            "autobins",
            "autoexamples",
            "autotests",
            "autobenches",
        ] {
            pkg.remove(key);
            if let Some(v) = skeleton_pkg.and_then(|p| p.get(key)) {
                pkg.insert(key.into(), v.clone());
            }
        }
    }
    toml::to_string(&doc)
        .map_err(|e| Error::input(format!("cannot re-serialise `{}`: {e}", path.display())))
}

/// Puts the real manifests back and removes the dummy sources (and directories left empty).
fn restore(root: &Path, laid: Vec<Laid>) -> Result<()> {
    let mut first_error = None;
    for l in laid {
        if let Err(e) = crate::fs::write(&l.manifest, &l.real) {
            first_error.get_or_insert(e);
        }
        for f in l.written {
            if let Err(e) = crate::fs::remove_file(&f) {
                first_error.get_or_insert(e);
            }
            let mut dir = f.parent();
            while let Some(d) = dir {
                if d == root {
                    break;
                }
                crate::fs::remove_dir_if_empty(d);
                dir = d.parent();
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Refuses a kept crate that read a file (dep-info) or watches one (`rerun-if-changed`) in
/// the layout root but outside the kept crates' directories, the workspace manifest and
/// lockfile, and the target directories.
#[allow(clippy::too_many_arguments)] // reason: one call site, each argument a different fact
fn check_inputs(
    root: &Path,
    workspace_dir: &Path,
    kept_dirs: &[PathBuf],
    target_dirs: &[PathBuf],
    artifacts: &[Artifact],
    keep: &BTreeSet<&str>,
    flags: &BuildFlags,
) -> Result<()> {
    let allowed = |p: &Path| {
        !p.starts_with(root)
            || kept_dirs.iter().any(|d| p.starts_with(d))
            || target_dirs.iter().any(|d| p.starts_with(d))
            || p == workspace_dir.join("Cargo.toml")
            || p == workspace_dir.join("Cargo.lock")
    };
    let mut bad: Vec<(String, PathBuf)> = Vec::new();
    for a in artifacts
        .iter()
        .filter(|a| a.local && keep.contains(a.package.as_str()))
    {
        for dep_info in dep_info_files(a) {
            let Ok(text) = std::fs::read_to_string(&dep_info) else {
                continue;
            };
            for p in dep_info_paths(&text) {
                // rustc names a member's files relative to the workspace root, where it runs.
                let p = normalize(&workspace_dir.join(p));
                if !allowed(&p) {
                    bad.push((a.package.clone(), p));
                }
            }
        }
    }
    // Build scripts: `rerun-if-changed` paths, relative to the package directory.
    for (pkg, abs) in watched_paths(target_dirs, kept_dirs, keep, flags) {
        if !allowed(&abs) {
            bad.push((pkg, abs));
        }
    }
    bad.sort();
    bad.dedup();
    if bad.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = bad
        .iter()
        .take(5)
        .map(|(pkg, p)| format!("`{pkg}` reads `{}`", p.display()))
        .collect();
    Err(Error::input(format!(
        "a tier crate reads files outside the crates built so far: {}{}",
        list.join(", "),
        if bad.len() > 5 { format!(" and {} more", bad.len() - 5) } else { String::new() }
    ))
    .with_hint("in a tier, only the directories of the tier's crates and earlier ones are real; move the file into the crate that reads it (or into a crate it depends on), or write the Dockerfile with `prewarm image --tiers off`"))
}

/// Every path a kept crate's build script watches (`rerun-if-changed`, relative to the
/// package directory), absolute, with the package's name.
fn watched_paths(
    target_dirs: &[PathBuf],
    kept_dirs: &[PathBuf],
    keep: &BTreeSet<&str>,
    flags: &BuildFlags,
) -> Vec<(String, PathBuf)> {
    let mut watched = Vec::new();
    let profile = flags.profile_dir();
    for t in target_dirs {
        let build = t.join(&profile).join("build");
        let Ok(entries) = std::fs::read_dir(&build) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pkg) = keep.iter().find(|k| hashed(&name, k)) else {
                continue;
            };
            let Some(dir) = kept_dirs.iter().find(|d| {
                std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|m| {
                    toml::from_str::<Table>(&m)
                        .ok()
                        .and_then(|t| t.get("package")?.get("name")?.as_str().map(|n| n == *pkg))
                        == Some(true)
                })
            }) else {
                continue;
            };
            let Ok(output) = std::fs::read_to_string(e.path().join("output")) else {
                continue;
            };
            for line in output.lines() {
                let Some(p) = line
                    .strip_prefix("cargo::rerun-if-changed=")
                    .or_else(|| line.strip_prefix("cargo:rerun-if-changed="))
                else {
                    continue;
                };
                watched.push(((*pkg).to_string(), normalize(&dir.join(p))));
            }
        }
    }
    watched
}

/// `<name>-<16 hex digits>`.
fn hashed(file: &str, name: &str) -> bool {
    file.strip_prefix(name)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|h| h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The dep-info files of a unit: `deps/<crate>-<hash>.d` next to each file it wrote.
fn dep_info_files(a: &Artifact) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    for f in &a.filenames {
        let f = Path::new(f);
        let Some(stem) = f.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let stem = stem.split('.').next().unwrap_or(stem);
        let stem = stem
            .strip_prefix("lib")
            .filter(|s| s.contains('-'))
            .unwrap_or(stem);
        let dir = f.parent().unwrap_or(Path::new("."));
        // Uplifted files (`release/app`) have their dep-info in `deps/` under a hashed name.
        if dir.join(format!("{stem}.d")).is_file() {
            out.insert(dir.join(format!("{stem}.d")));
        }
    }
    out.into_iter().collect()
}

/// The paths a Makefile-style dep-info file lists (targets and prerequisites, escapes undone).
fn dep_info_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((_, deps)) = split_rule(line) else {
            continue;
        };
        let mut word = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some() => word.push(chars.next().unwrap_or(' ')),
                ' ' => {
                    if !word.is_empty() {
                        out.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// `target: deps` at the first unescaped `: `.
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == b':' && (bytes[i + 1] == b' ' || i + 1 == bytes.len()) {
            return Some((&line[..i], &line[i + 1..]));
        }
        i += 1;
    }
    line.strip_suffix(':').map(|t| (t, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_prerequisite() {
        let text = "/app/target/release/deps/core-0123456789abcdef.d: crates/core/src/lib.rs /app/crates/core/src/a\\ b.rs /app/shared/data.txt\n\n/app/crates/core/src/lib.rs:\n\n# env-dep:CARGO_PKG_NAME=core\n";
        let paths = dep_info_paths(text);
        assert!(
            paths.contains(&"/app/crates/core/src/a b.rs".to_string()),
            "{paths:?}"
        );
        assert!(paths.contains(&"/app/shared/data.txt".to_string()));
        assert!(!paths.iter().any(|p| p.contains("env-dep")));
    }

    #[test]
    fn a_dummy_keeps_its_real_manifest_but_the_skeleton_targets() {
        let real = "[package]\nname = \"app\"\nversion = \"1.2.3\"\ndescription = \"x\"\nbuild = \"gen.rs\"\n\n[[bin]]\nname = \"app\"\npath = \"src/main.rs\"\n\n[dependencies]\ncore = { path = \"../core\", features = [\"fast\"] }\n";
        let skeleton = "[package]\nname = \"app\"\nversion = \"0.0.0\"\nbuild = false\nautobins = false\n\n[[bin]]\nname = \"app\"\npath = \"src/bin/app.rs\"\n";
        let out = swap_targets(real, skeleton, Path::new("Cargo.toml")).unwrap();
        let doc: Table = toml::from_str(&out).unwrap();
        assert_eq!(doc["package"]["version"].as_str(), Some("1.2.3"));
        assert_eq!(doc["package"]["build"].as_bool(), Some(false));
        assert_eq!(doc["package"]["autobins"].as_bool(), Some(false));
        assert_eq!(doc["bin"][0]["path"].as_str(), Some("src/bin/app.rs"));
        assert_eq!(
            doc["dependencies"]["core"]["features"][0].as_str(),
            Some("fast")
        );
    }
}

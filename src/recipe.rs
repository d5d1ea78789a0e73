//! The [`Recipe`]: a workspace's dependency skeleton, normalised, with a sha256 digest of its
//! content. This module owns the type, its (de)serialisation, its digest and its validation.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The recipe format this build of prewarm writes and reads.
pub const FORMAT: u32 = 1;

/// A recipe: everything cook needs to lay out the skeleton of a workspace and build its
/// dependencies, and nothing that cannot change how they compile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Format version ([`FORMAT`]); also what marks a file as a prewarm recipe.
    pub prewarm: u32,
    /// `sha256:<hex>` of the content (every field below), see [`Recipe::compute_digest`].
    pub digest: String,
    /// The workspace root, relative to the layout root (`.` when they are the same).
    pub workspace: String,
    /// Local packages (members and path dependencies), keyed by their directory relative to
    /// the layout root.
    pub packages: BTreeMap<String, Package>,
    /// Files of the skeleton other than dummy sources (manifests, lockfile, cargo config,
    /// toolchain file), keyed by path relative to the layout root.
    pub files: BTreeMap<String, String>,
    /// Whether this is a recipe of the external dependencies alone (`prewarm deps`, see
    /// [`crate::deps`]): one synthetic package that depends on exactly the external units the
    /// build resolves, cooked without the build's package, target and feature selection.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
}

/// One local package of the skeleton.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Whether it is a workspace member (as opposed to a path dependency outside the workspace).
    pub member: bool,
    /// Its targets in the skeleton, each with a dummy source.
    pub targets: Vec<Target>,
}

/// A target of the skeleton.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What kind of target it is.
    pub kind: DummyKind,
    /// Target name (the name a `--bin`/`--example` flag uses).
    pub name: String,
    /// Path of its dummy source, relative to the package directory.
    pub path: String,
}

/// The kind of dummy a skeleton target gets (cargo's own target kinds are
/// [`crate::metadata::TargetKind`]); each decides the dummy source written for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DummyKind {
    /// A rust library (`lib`/`rlib`): `no_std` outside tests, so it builds for any target.
    Lib,
    /// A library with a C or dynamic crate type, which needs std.
    StdLib,
    /// A proc-macro library.
    ProcMacro,
    /// A binary.
    Bin,
    /// An example (built as a binary, `harness` irrelevant).
    Example,
    /// An integration test (written with `harness = false`).
    Test,
    /// A benchmark (written with `harness = false`).
    Bench,
    /// A build script.
    BuildScript,
}

impl DummyKind {
    /// The dummy source for a target of this kind. Every dummy compiles under `-D warnings`,
    /// `missing_docs` and `unused` denied, and (libraries) for `no_std` targets.
    pub fn dummy_source(self) -> &'static str {
        match self {
            DummyKind::Lib => {
                "//! Placeholder written by `prewarm cook`; replaced by the real source.\n#![cfg_attr(not(test), no_std)]\n"
            }
            DummyKind::StdLib | DummyKind::ProcMacro => {
                "//! Placeholder written by `prewarm cook`; replaced by the real source.\n"
            }
            DummyKind::Bin
            | DummyKind::Example
            | DummyKind::Test
            | DummyKind::Bench
            | DummyKind::BuildScript => {
                "//! Placeholder written by `prewarm cook`; replaced by the real source.\nfn main() {}\n"
            }
        }
    }

    /// The manifest table that declares targets of this kind (`None` for libs and build scripts).
    pub fn manifest_table(self) -> Option<&'static str> {
        match self {
            DummyKind::Bin => Some("bin"),
            DummyKind::Example => Some("example"),
            DummyKind::Test => Some("test"),
            DummyKind::Bench => Some("bench"),
            _ => None,
        }
    }

    /// The directory dummies of this kind go to, inside the package directory.
    pub fn dummy_dir(self) -> &'static str {
        match self {
            DummyKind::Lib | DummyKind::StdLib | DummyKind::ProcMacro => "src",
            DummyKind::Bin => "src/bin",
            DummyKind::Example => "examples",
            DummyKind::Test => "tests",
            DummyKind::Bench => "benches",
            DummyKind::BuildScript => ".",
        }
    }
}

/// The content that the digest covers, in a fixed field order.
#[derive(Serialize)]
struct Content<'a> {
    prewarm: u32,
    workspace: &'a str,
    packages: &'a BTreeMap<String, Package>,
    files: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    external: bool,
}

impl Recipe {
    /// Builds a recipe from its content and stamps its digest.
    pub fn new(
        workspace: String,
        packages: BTreeMap<String, Package>,
        files: BTreeMap<String, String>,
    ) -> Recipe {
        let mut recipe = Recipe {
            prewarm: FORMAT,
            digest: String::new(),
            workspace,
            packages,
            files,
            external: false,
        };
        recipe.digest = recipe.compute_digest();
        recipe
    }

    /// `sha256:<hex>` over the compact JSON of every field but `digest`.
    ///
    /// # Panics
    /// Never: the content is plain strings and maps, which always serialise.
    pub fn compute_digest(&self) -> String {
        let content = Content {
            prewarm: self.prewarm,
            workspace: &self.workspace,
            packages: &self.packages,
            files: &self.files,
            external: self.external,
        };
        let bytes = serde_json::to_vec(&content).expect("recipe content serialises");
        format!("sha256:{}", crate::fs::sha256_hex(&bytes))
    }

    /// The recipe as written to disk: pretty JSON with a trailing newline.
    ///
    /// # Panics
    /// Never: the recipe is plain strings and maps, which always serialise.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("recipe serialises");
        s.push('\n');
        s
    }

    /// Whether `bytes` look like a prewarm recipe (JSON with a numeric `prewarm` format field),
    /// of any format version: what `prewarm recipe --output` may overwrite.
    pub fn looks_like(bytes: &[u8]) -> bool {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|v| v.get("prewarm").is_some_and(serde_json::Value::is_u64))
    }

    /// Parses and validates a recipe read from `origin` (used in error messages).
    pub fn from_json(text: &str, origin: &Path) -> Result<Recipe> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let looks_toml = toml::from_str::<toml::Table>(text).is_ok();
            Error::input(format!(
                "`{}` is not a prewarm recipe: it is not valid JSON ({e})",
                origin.display()
            ))
            .with_hint(if looks_toml {
                "this looks like a TOML file (a Cargo manifest?); pass the recipe.json written by `prewarm recipe`"
            } else {
                "pass the file written by `prewarm recipe`"
            })
        })?;
        match value.get("prewarm") {
            None => {
                let hint = if value.get("skeleton").is_some() {
                    "this looks like a cargo-chef recipe; write one with `prewarm recipe`"
                } else {
                    "write a recipe with `prewarm recipe`"
                };
                return Err(Error::input(format!(
                    "`{}` is not a prewarm recipe (it has no `prewarm` format field)",
                    origin.display()
                ))
                .with_hint(hint));
            }
            Some(v) if v.as_u64() != Some(u64::from(FORMAT)) => {
                return Err(Error::input(format!(
                    "`{}` has recipe format {v}, but this prewarm reads format {FORMAT}",
                    origin.display()
                ))
                .with_hint("write the recipe and cook it with the same prewarm version"));
            }
            Some(_) => {}
        }
        let recipe: Recipe = serde_json::from_value(value).map_err(|e| {
            Error::input(format!("`{}` is not a valid recipe: {e}", origin.display()))
                .with_hint("write the recipe again with `prewarm recipe`; do not edit it by hand")
        })?;
        let actual = recipe.compute_digest();
        if actual != recipe.digest {
            return Err(Error::input(format!(
                "`{}` has been modified: its content hashes to {actual}, but it claims {}",
                origin.display(),
                recipe.digest
            ))
            .with_hint("write the recipe again with `prewarm recipe`; do not edit it by hand"));
        }
        recipe.validate_paths(origin)?;
        Ok(recipe)
    }

    /// Every path a recipe names must stay inside the layout root.
    fn validate_paths(&self, origin: &Path) -> Result<()> {
        check_relative(&self.workspace, Names::Dir, origin)?;
        for (dir, pkg) in &self.packages {
            check_relative(dir, Names::Dir, origin)?;
            for t in &pkg.targets {
                check_relative(&t.path, Names::File, origin)?;
            }
        }
        for path in self.files.keys() {
            check_relative(path, Names::File, origin)?;
            if Path::new(path)
                .components()
                .find(|c| matches!(c, Component::Normal(_)))
                == Some(Component::Normal(".prewarm".as_ref()))
            {
                return Err(Error::input(format!(
                    "`{}` names the file `{path}`, inside prewarm's own `.prewarm` directory",
                    origin.display()
                ))
                .with_hint(
                    "write the recipe again with `prewarm recipe`; do not edit it by hand",
                ));
            }
        }
        for pkg in self.packages.values() {
            check_package_name(&pkg.name).map_err(|e| {
                Error::input(format!("`{}`: {}", origin.display(), e.message())).with_hint(
                    "write the recipe again with `prewarm recipe`; do not edit it by hand",
                )
            })?;
            for t in &pkg.targets {
                check_target_name(&t.name).map_err(|e| {
                    Error::input(format!("`{}`: {}", origin.display(), e.message())).with_hint(
                        "write the recipe again with `prewarm recipe`; do not edit it by hand",
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Every file of the skeleton with its content: the `files` and a dummy for each target.
    pub fn skeleton_files(&self) -> Vec<(PathBuf, &str, bool)> {
        let mut out: Vec<(PathBuf, &str, bool)> = self
            .files
            .iter()
            .map(|(p, c)| (PathBuf::from(p), c.as_str(), false))
            .collect();
        for (dir, pkg) in &self.packages {
            for t in &pkg.targets {
                out.push((join(dir, &t.path), t.kind.dummy_source(), true));
            }
        }
        out
    }

    /// The layout root of a real project whose workspace root is `workspace_root`: the recipe
    /// keys every path relative to it, and `workspace` says where the workspace sits below it.
    pub fn layout_root(&self, workspace_root: &Path) -> PathBuf {
        let mut root = workspace_root.to_path_buf();
        for c in Path::new(&self.workspace).components() {
            if matches!(c, Component::Normal(_)) {
                root.pop();
            }
        }
        root
    }

    /// The package whose name is `name`.
    pub fn package_named(&self, name: &str) -> Option<(&String, &Package)> {
        self.packages.iter().find(|(_, p)| p.name == name)
    }
}

/// Joins a recipe-relative directory and a relative path.
pub fn join(dir: &str, path: &str) -> PathBuf {
    if dir == "." {
        PathBuf::from(path)
    } else if path == "." {
        PathBuf::from(dir)
    } else {
        Path::new(dir).join(path)
    }
}

/// Checks a target name (`--example NAME`, a recipe's target) by cargo's rules for the names
/// that become file names: letters, digits, `-` and `_`, nothing that could name a path.
pub fn check_target_name(name: &str) -> Result<()> {
    check_name(name, "target")
}

/// Checks a recipe's package name by the same rules: the cleanup after a cook removes
/// `<target>/doc/<crate>` for each local crate, and a package name is one.
pub fn check_package_name(name: &str) -> Result<()> {
    check_name(name, "package")
}

fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if ok {
        return Ok(());
    }
    let shown: String = name.escape_debug().collect();
    Err(Error::input(format!("`{shown}` is not a valid cargo {what} name"))
        .with_hint(format!("{what} names are made of letters, digits, `-` and `_` (no `/`, `\\`, `.` or control characters), as cargo requires")))
}

/// What a recipe path names: a directory (the workspace, a package) may be the layout root
/// itself, `.`; a file may not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    Dir,
    File,
}

/// A recipe path must be relative, non-empty, free of `..`, and in the one spelling `prewarm
/// recipe` writes: plain components joined by single `/`, no `.` component, no trailing `/`.
/// Two spellings of one path would be two entries of the skeleton record for one file, and the
/// cook would not recognise its own layout.
fn check_relative(path: &str, names: Names, origin: &Path) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::input(format!(
            "`{}` names the path `{}`, which {why}",
            origin.display(),
            path.escape_debug()
        ))
        .with_hint("a recipe's paths stay inside the directory it is cooked in; write the recipe again with `prewarm recipe`"))
    };
    if path.is_empty() {
        return bad("is empty");
    }
    if path.contains('\\') || path.contains('\0') {
        return bad("has a backslash or NUL character");
    }
    let p = Path::new(path);
    if p.is_absolute() {
        return bad("is absolute");
    }
    for c in p.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return bad("escapes the layout root with `..`"),
            Component::RootDir | Component::Prefix(_) => return bad("is absolute"),
        }
    }
    if path == "." {
        return if names == Names::Dir {
            Ok(())
        } else {
            bad("is the layout root itself, not a file")
        };
    }
    if path.split('/').any(|c| c.is_empty() || c == ".") {
        return bad(
            "is not in the form `prewarm recipe` writes (a `.` component, `//` or a trailing `/`)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_root_climbs_out_of_the_workspace() {
        let recipe = Recipe::new("ws".into(), BTreeMap::new(), BTreeMap::new());
        assert_eq!(
            recipe.layout_root(Path::new("/p/outside/ws")),
            Path::new("/p/outside")
        );
        let recipe = Recipe::new(".".into(), BTreeMap::new(), BTreeMap::new());
        assert_eq!(
            recipe.layout_root(Path::new("/p/single")),
            Path::new("/p/single")
        );
    }
}

//! The one place that runs `cargo metadata`. Its output is converted at once into prewarm's own
//! types, so the recipe format does not move when `cargo_metadata` does.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::process::Process;

/// A workspace as cargo sees it (without resolving dependencies).
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory of the workspace root manifest.
    pub root: PathBuf,
    /// The target directory cargo would use (config and environment applied).
    pub target_dir: PathBuf,
    /// The build directory for intermediate artifacts, when cargo reports one.
    pub build_dir: Option<PathBuf>,
    /// The packages cargo reported (the workspace members).
    pub packages: Vec<Package>,
}

/// One package.
#[derive(Debug, Clone)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Absolute path of its Cargo.toml.
    pub manifest_path: PathBuf,
    /// Its targets, auto-discovered ones included.
    pub targets: Vec<Target>,
    /// Its dependency declarations.
    pub dependencies: Vec<Dependency>,
    /// Whether it declares `links`.
    pub links: Option<String>,
}

/// One dependency declaration.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The package name depended upon.
    pub name: String,
    /// For a path dependency, the absolute directory.
    pub path: Option<PathBuf>,
    /// `normal`, `dev` or `build`.
    pub kind: DependencyKind,
}

/// The kind of a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyKind {
    /// `[dependencies]`
    Normal,
    /// `[dev-dependencies]`
    Dev,
    /// `[build-dependencies]`
    Build,
}

/// The kind of a target, as prewarm distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetKind {
    /// A library (any crate type except proc-macro).
    Lib,
    /// A proc-macro library.
    ProcMacro,
    /// A binary.
    Bin,
    /// An example.
    Example,
    /// An integration test.
    Test,
    /// A benchmark.
    Bench,
    /// A build script.
    BuildScript,
}

/// One target of a package.
#[derive(Debug, Clone)]
pub struct Target {
    /// Target name.
    pub name: String,
    /// Its kind.
    pub kind: TargetKind,
    /// Crate types (`lib`, `rlib`, `cdylib`, `bin`, ...).
    pub crate_types: Vec<String>,
    /// `required-features`.
    pub required_features: Vec<String>,
    /// Absolute path of its root source file.
    pub src_path: PathBuf,
    /// `test = ...`
    pub test: bool,
    /// `doctest = ...`
    pub doctest: bool,
}

impl Package {
    /// The directory holding the manifest.
    pub fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("/"))
    }
}

/// The manifest a verb works on, as cargo finds it: `path` may be a manifest or a directory
/// holding one; the default, a bare `Cargo.toml`, is looked for in the current directory and
/// then in each parent (so prewarm works from `src/` as cargo does). The canonical path.
pub fn locate_manifest(path: &Path) -> Result<PathBuf> {
    let candidate = if path.is_dir() {
        path.join("Cargo.toml")
    } else if path == Path::new("Cargo.toml") && !path.is_file() {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("read the current directory", Path::new("."), &e))?;
        cwd.ancestors()
            .map(|d| d.join("Cargo.toml"))
            .find(|m| m.is_file())
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    if !candidate.is_file() {
        let searched = if path == Path::new("Cargo.toml") {
            " (nor in any parent directory)"
        } else {
            ""
        };
        return Err(Error::input(format!(
            "no manifest at `{}`{searched}",
            candidate.display()
        ))
        .with_hint("run prewarm in a directory with a Cargo.toml, or pass --manifest-path"));
    }
    crate::fs::canonicalize(&candidate)
}

/// Reads the workspace of `manifest_path` with `cargo metadata --no-deps`.
pub fn workspace(manifest_path: &Path) -> Result<Workspace> {
    workspace_with(manifest_path, Process::cargo())
}

/// Like [`workspace`], with a preconfigured cargo (environment, extra flags such as `--offline`).
pub fn workspace_with(manifest_path: &Path, cargo: Process) -> Result<Workspace> {
    let cmd = cargo
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest_path);
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(Error::new(
            ErrorKind::Input,
            format!(
                "cargo cannot read the workspace of `{}`",
                manifest_path.display()
            ),
        )
        .with_detail(cargo_message(&out.stderr))
        .with_hint(format!(
            "fix the manifest cargo names above; `{cmd}` shows the same error"
        )));
    }
    parse(&out.stdout).map_err(|e| {
        Error::new(
            ErrorKind::Tool,
            format!("cannot parse the output of `{cmd}`: {e}"),
        )
    })
}

/// Reads the one package whose manifest is `manifest_path` (it may belong to a workspace of its own).
pub fn package(manifest_path: &Path) -> Result<Package> {
    let ws = workspace(manifest_path)?;
    let wanted = crate::fs::canonicalize(manifest_path)?;
    ws.packages
        .into_iter()
        .find(|p| p.manifest_path == wanted)
        .ok_or_else(|| {
            Error::input(format!(
                "`{}` is not a package manifest (cargo reports no package for it)",
                manifest_path.display()
            ))
            .with_hint("a path dependency must point at a directory with a `[package]` manifest")
        })
}

/// Keeps cargo's own lines (error, caused by, notes), dropping progress noise.
fn cargo_message(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("Updating ")
                || t.starts_with("Downloaded ")
                || t.starts_with("Locking "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse(json: &str) -> std::result::Result<Workspace, String> {
    let raw: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let build_dir = raw
        .get("build_directory")
        .and_then(|v| v.as_str())
        .map(PathBuf::from);
    let meta: cargo_metadata::Metadata = serde_json::from_value(raw).map_err(|e| e.to_string())?;
    let members: std::collections::HashSet<_> = meta.workspace_members.iter().collect();
    let packages = meta
        .packages
        .iter()
        .filter(|p| members.contains(&p.id))
        .map(convert_package)
        .collect();
    Ok(Workspace {
        root: meta.workspace_root.into_std_path_buf(),
        target_dir: meta.target_directory.into_std_path_buf(),
        build_dir,
        packages,
    })
}

fn convert_package(p: &cargo_metadata::Package) -> Package {
    use cargo_metadata::DependencyKind as K;
    Package {
        name: p.name.to_string(),
        manifest_path: p.manifest_path.clone().into_std_path_buf(),
        targets: p.targets.iter().filter_map(convert_target).collect(),
        dependencies: p
            .dependencies
            .iter()
            .map(|d| Dependency {
                name: d.name.clone(),
                path: d
                    .path
                    .clone()
                    .map(cargo_metadata::camino::Utf8PathBuf::into_std_path_buf),
                kind: match d.kind {
                    K::Development => DependencyKind::Dev,
                    K::Build => DependencyKind::Build,
                    _ => DependencyKind::Normal,
                },
            })
            .collect(),
        links: p.links.clone(),
    }
}

fn convert_target(t: &cargo_metadata::Target) -> Option<Target> {
    use cargo_metadata::TargetKind as K;
    let kinds = &t.kind;
    let kind = if kinds.contains(&K::ProcMacro) {
        TargetKind::ProcMacro
    } else if kinds.contains(&K::CustomBuild) {
        TargetKind::BuildScript
    } else if kinds.contains(&K::Bin) {
        TargetKind::Bin
    } else if kinds.contains(&K::Example) {
        TargetKind::Example
    } else if kinds.contains(&K::Test) {
        TargetKind::Test
    } else if kinds.contains(&K::Bench) {
        TargetKind::Bench
    } else if kinds
        .iter()
        .any(|k| matches!(k, K::Lib | K::RLib | K::DyLib | K::CDyLib | K::StaticLib))
    {
        TargetKind::Lib
    } else {
        return None;
    };
    Some(Target {
        name: t.name.clone(),
        kind,
        crate_types: t.crate_types.iter().map(ToString::to_string).collect(),
        required_features: t.required_features.clone(),
        src_path: t.src_path.clone().into_std_path_buf(),
        test: t.test,
        doctest: t.doctest,
    })
}

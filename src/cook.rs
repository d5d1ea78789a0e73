//! Cooking: lay out a recipe's skeleton, build only the dependencies with the flags the real
//! build will use, then remove every trace of the workspace's own crates.

use std::path::{Path, PathBuf};

use crate::artifacts::{self, Layout, LocalNames};
use crate::error::{Error, Result};
use crate::flags::{BuildFlags, Mode};
use crate::manifest;
use crate::messages::{self, Artifact};
use crate::process::Process;
use crate::recipe::{self, DummyKind, Recipe};
use crate::skeleton;

/// What to cook and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The directory the layout root goes to.
    pub dir: PathBuf,
    /// Where the recipe was read from (kept out of the foreign-file check).
    pub recipe_path: Option<PathBuf>,
    /// Cook even if the directory holds other files.
    pub force: bool,
    /// Which cargo command.
    pub mode: Mode,
    /// The cargo flags.
    pub flags: BuildFlags,
    /// Extra arguments passed to cargo unchanged.
    pub extra: Vec<String>,
    /// Keep quiet (no cargo output, no summary).
    pub quiet: bool,
}

/// What a cook did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where the real build must run (the workspace root inside the layout).
    pub workspace_dir: PathBuf,
    /// The cargo command run, if any.
    pub command: Option<String>,
    /// Units cargo reported, the workspace's own included (the cleanup removed their artifacts).
    pub artifacts: Vec<Artifact>,
    /// How many local entries were removed from the target directories.
    pub removed: usize,
    /// The target (and build) directories cleaned.
    pub target_dirs: Vec<PathBuf>,
}

/// Lays out `recipe` in `opts.dir` and cooks it.
pub fn cook(recipe: &Recipe, opts: &Options) -> Result<Report> {
    let root = &opts.dir;
    crate::fs::create_dir_all(root)?;
    let root = crate::fs::canonicalize(root)?;

    let mut recipe = recipe.clone();
    // A dependency recipe (`prewarm deps`) is one synthetic package with the features written
    // in: the build's own selection names nothing in it.
    let (flags, build) = if recipe.external {
        (crate::deps::dependency_flags(&opts.flags), true)
    } else {
        let mut flags = opts.flags.clone();
        let build = select(&mut recipe, &mut flags, opts.quiet)?;
        (flags, build)
    };

    let foreign = skeleton::foreign_files(&root, opts.recipe_path.as_deref(), &recipe)?;
    if !foreign.is_empty() && !opts.force {
        return Err(foreign_error(&root, &foreign));
    }

    let mut inventory = skeleton::lay_out(&root, &recipe)?;
    let workspace_dir = if recipe.workspace == "." {
        root.clone()
    } else {
        root.join(&recipe.workspace)
    };
    let target_dirs = match checked_target_dirs(&workspace_dir, &flags) {
        Ok(dirs) => dirs,
        Err(e) => {
            skeleton::remove_sources(&root, &mut inventory)?;
            return Err(e);
        }
    };
    let (result, artifacts) = run_build(&workspace_dir, &flags, opts, build);
    // Whatever happened, the dummies go, so they cannot be mistaken for real code.
    let cleanup = cleanup(&recipe, &target_dirs, &flags, opts.mode, &artifacts);
    let removed_sources = skeleton::remove_sources(&root, &mut inventory);
    let command = result?;
    let removed = cleanup?;
    removed_sources?;
    // The drift record: what `prewarm check` and `prewarm verify` compare a build against.
    let facts = crate::record::CookFacts {
        recipe_digest: &recipe.digest,
        workspace_dir: &workspace_dir,
        target_dirs: &target_dirs,
        mode: opts.mode,
        flags: &opts.flags,
        extra: &opts.extra,
        external_units: artifacts.iter().filter(|a| !a.local).count(),
    };
    if let Err(err) = crate::record::write_after_cook(&facts) {
        if !opts.quiet {
            crate::status!("warning: could not record the cook's settings (`prewarm check` will not find them): {err}");
        }
    }

    if !opts.quiet {
        summarise(&artifacts, removed, &root, &workspace_dir);
    }
    Ok(Report {
        workspace_dir,
        command,
        artifacts,
        removed,
        target_dirs,
    })
}

/// The refusal to cook in a directory that holds files of the user's.
fn foreign_error(root: &Path, foreign: &[PathBuf]) -> Error {
    let list: Vec<String> = foreign
        .iter()
        .take(5)
        .map(|p| format!("`{}`", p.display()))
        .collect();
    let more = if foreign.len() > 5 {
        format!(" and {} more", foreign.len() - 5)
    } else {
        String::new()
    };
    Error::input(format!(
        "`{}` holds files that are not part of a prewarm skeleton: {}{more}",
        root.display(),
        list.join(", ")
    ))
    .with_hint("cook in an empty directory (the Docker cook stage holds only recipe.json), or pass --force to cook there anyway")
}

/// The target directories, each checked to hold no symlink where the cook record goes.
fn checked_target_dirs(workspace_dir: &Path, flags: &BuildFlags) -> Result<Vec<PathBuf>> {
    let dirs = target_dirs(workspace_dir, flags)?;
    for dir in &dirs {
        crate::fs::check_no_symlink(dir, Path::new(crate::record::RECORD_FILE))?;
    }
    Ok(dirs)
}

/// What the cook did, and where the real build goes next.
fn summarise(artifacts: &[Artifact], removed: usize, root: &Path, workspace_dir: &Path) {
    let fresh = artifacts.iter().filter(|a| a.fresh).count();
    let external = artifacts.iter().filter(|a| !a.local).count();
    crate::status!(
        "cooked {external} dependency units ({fresh} already fresh); removed {removed} workspace artifacts"
    );
    crate::status!(
        "now copy the real sources over `{}` and run the real build in `{}` with the same flags",
        root.display(),
        workspace_dir.display()
    );
}

/// Matches the flags against the recipe: packages and binaries it left out (dependency-free
/// members) are dropped from the flags, and examples/tests/benches named on the command line
/// get a dummy target on demand. Returns false when nothing is left to build.
pub(crate) fn select(recipe: &mut Recipe, flags: &mut BuildFlags, quiet: bool) -> Result<bool> {
    let mut build = true;
    let wanted_packages = flags.package.len();
    // Local versions are masked in the skeleton, so a `name@version` spec becomes `name`.
    flags.package = std::mem::take(&mut flags.package)
        .into_iter()
        .filter_map(|spec| {
            let name = spec.split(['@', ':']).next().unwrap_or(&spec).to_string();
            let known = recipe.package_named(&name).is_some();
            if !known && !quiet {
                crate::status!("package `{name}` is not in the recipe (a member without dependencies, or outside the closure of the binaries a `--bin` recipe was written for, is left out); nothing of it to cook");
            }
            known.then_some(name)
        })
        .collect();
    if wanted_packages > 0 && flags.package.is_empty() {
        build = false;
    }
    let wanted_bins = flags.bin.len();
    flags.bin.retain(|bin| {
        let known = recipe
            .packages
            .values()
            .any(|p| p.targets.iter().any(|t| t.kind == DummyKind::Bin && &t.name == bin));
        if !known && !quiet {
            crate::status!("binary `{bin}` is not in the recipe (its package has no dependencies, or the recipe was written with `--bin` for other binaries); nothing of it to cook");
        }
        known
    });
    if wanted_bins > 0 && flags.bin.is_empty() && !flags.lib && !flags.bins {
        build = false;
    }
    for (kind, names) in [
        (DummyKind::Example, flags.example.clone()),
        (DummyKind::Test, flags.test.clone()),
        (DummyKind::Bench, flags.bench.clone()),
    ] {
        for name in names {
            add_on_demand(recipe, flags, kind, &name)?;
        }
    }
    Ok(build)
}

fn add_on_demand(
    recipe: &mut Recipe,
    flags: &BuildFlags,
    kind: DummyKind,
    name: &str,
) -> Result<()> {
    let flag = match kind {
        DummyKind::Example => "--example",
        DummyKind::Test => "--test",
        _ => "--bench",
    };
    recipe::check_target_name(name).map_err(|e| {
        Error::input(format!("`{flag}`: {}", e.message()))
            .with_hint(e.hint().unwrap_or_default().to_string())
    })?;
    let candidates: Vec<String> = if flags.package.is_empty() {
        let ws = &recipe.workspace;
        if recipe.packages.contains_key(ws) {
            vec![ws.clone()]
        } else {
            let members: Vec<String> = recipe
                .packages
                .iter()
                .filter(|(_, p)| p.member)
                .map(|(d, _)| d.clone())
                .collect();
            if members.len() == 1 {
                members
            } else {
                return Err(Error::input(format!(
                    "`{flag} {name}` needs `-p PACKAGE` in a workspace with several members"
                ))
                .with_hint(format!(
                    "the recipe does not record which member owns each example, test or bench; pass the same `-p` to cook and to the real build (e.g. `-p <member> {flag} {name}`)"
                )));
            }
        }
    } else {
        flags
            .package
            .iter()
            .filter_map(|spec| {
                let n = spec.split(['@', ':']).next().unwrap_or(spec);
                recipe.package_named(n).map(|(d, _)| d.clone())
            })
            .collect()
    };
    for dir in candidates {
        let pkg = recipe.packages.get_mut(&dir).expect("candidate exists");
        if pkg.targets.iter().any(|t| t.kind == kind && t.name == name) {
            continue;
        }
        let path = format!("{}/{name}.rs", kind.dummy_dir());
        let manifest_path = recipe::join(&dir, "Cargo.toml")
            .to_string_lossy()
            .replace('\\', "/");
        let text = recipe.files.get(&manifest_path).ok_or_else(|| {
            Error::input(format!(
                "the recipe has no manifest for package directory `{dir}`"
            ))
        })?;
        let text = manifest::add_target(text, kind, name, &path)?;
        recipe.files.insert(manifest_path, text);
        pkg.targets.push(recipe::Target {
            kind,
            name: name.to_string(),
            path,
        });
    }
    Ok(())
}

/// Runs the cook's cargo command; the artifacts it reported come back even when it failed, so
/// that the cleanup knows every directory cargo wrote to. (Also the build of a tier:
/// [`crate::tier_build`].)
pub(crate) fn run_build(
    workspace_dir: &Path,
    flags: &BuildFlags,
    opts: &Options,
    build: bool,
) -> (Result<Option<String>>, Vec<Artifact>) {
    let mut artifacts = Vec::new();
    if !build {
        return (Ok(None), artifacts);
    }
    let cmd = Process::cargo()
        .current_dir(workspace_dir)
        .args(opts.mode.subcommand())
        .arg("--manifest-path")
        .arg(workspace_dir.join("Cargo.toml"))
        .arg("--message-format=json-render-diagnostics")
        // cargo's stderr reaches the user through a pipe: colour is ours to decide.
        .args(crate::output::ui().color.then_some("--color=always"))
        .args(flags.to_args())
        .args(&opts.extra);
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let quiet = opts.quiet;
    let status = cmd.stream(
        |line| {
            if let Some(a) = messages::parse_artifact(line) {
                artifacts.push(a);
            }
        },
        |line| {
            if !quiet {
                eprintln!("{line}");
            }
            tail.push_back(line.to_string());
            if tail.len() > 200 {
                tail.pop_front();
            }
        },
    );
    let result = match status {
        Err(e) => Err(e),
        Ok(status) if !status.success() => Err(cmd.failure(status, &Vec::from(tail).join("\n")).with_hint(
            "the dependencies failed to build; the same command fails in the real build too, or the recipe misses something cargo needs (see the output above)",
        )),
        Ok(_) => Ok(Some(cmd.to_string())),
    };
    (result, artifacts)
}

/// The target and build directories of the skeleton: `--target-dir` if given, else what cargo
/// reports (environment and config applied).
pub fn target_dirs(workspace_dir: &Path, flags: &BuildFlags) -> Result<Vec<PathBuf>> {
    if let Some(dir) = &flags.target_dir {
        return Ok(vec![workspace_dir.join(dir)]);
    }
    let ws = crate::metadata::workspace_with(
        &workspace_dir.join("Cargo.toml"),
        Process::cargo().current_dir(workspace_dir),
    )?;
    let mut dirs = vec![ws.target_dir];
    if let Some(b) = ws.build_dir {
        if !dirs.contains(&b) {
            dirs.push(b);
        }
    }
    Ok(dirs)
}

fn cleanup(
    recipe: &Recipe,
    dirs: &[PathBuf],
    flags: &BuildFlags,
    mode: Mode,
    artifacts: &[Artifact],
) -> Result<usize> {
    remove_packages(recipe.packages.values(), dirs, flags, mode, artifacts)
}

/// Removes the artifacts and fingerprints of `packages` from `dirs`, as the cook removes every
/// local package's (and a tier build its dummies': [`crate::tier_build`]).
pub(crate) fn remove_packages<'a>(
    packages: impl IntoIterator<Item = &'a recipe::Package>,
    dirs: &[PathBuf],
    flags: &BuildFlags,
    mode: Mode,
    artifacts: &[Artifact],
) -> Result<usize> {
    let mut names = LocalNames::default();
    for pkg in packages {
        names.add(&pkg.name, pkg.targets.iter().map(|t| t.name.clone()));
    }
    let env_target = std::env::var("CARGO_BUILD_TARGET").ok();
    let mut layout = Layout {
        roots: dirs.to_vec(),
        profile: flags.profile_dir(),
        triples: std::collections::BTreeSet::new(),
        doc: mode == Mode::Doc,
    };
    layout.add_triples(
        flags
            .target
            .iter()
            .map(String::as_str)
            .chain(env_target.as_deref()),
        artifacts
            .iter()
            .flat_map(|a| a.filenames.iter().map(String::as_str)),
    );
    artifacts::remove_local(&layout, &names)
}

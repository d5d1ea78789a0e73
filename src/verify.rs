//! Verifying reuse: plan a workspace's recipe, cook it in a scratch directory, lay the real
//! sources over the skeleton (as `COPY . .` does in a Dockerfile), run the real build with
//! cargo's JSON messages and fingerprint log, and account for every external unit: reused, or
//! rebuilt and why. Also the recipe stability probe (`--edits`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::flags::{BuildFlags, Mode};
use crate::messages::{self, Artifact};
use crate::process::Cargo;
use crate::reasons::{self, Category, Entry, FieldDiff, Status};
use crate::recipe::Recipe;
use crate::record::{self, Difference};

/// The format of the reuse report.
pub const SCHEMA: &str = "prewarm-verify/1";

/// The format of the `--edits` report.
pub const EDITS_SCHEMA: &str = "prewarm-verify-edits/1";

/// How much verify tells while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing.
    Quiet,
    /// One plain line per phase (stderr is not a terminal).
    Plain,
    /// A status line rewritten in place: phase and units done / expected.
    Terminal,
}

impl Progress {
    /// `Terminal` when stderr is one, else `Plain`; `Quiet` when asked.
    pub fn detect(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Terminal
        } else {
            Progress::Plain
        }
    }

    fn phase(self, step: usize, steps: usize, text: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Plain => eprintln!("prewarm: [{step}/{steps}] {text}"),
            Progress::Terminal => {
                let mut err = std::io::stderr();
                let _ = write!(err, "\r\x1b[2K[{step}/{steps}] {text}");
                let _ = err.flush();
            }
        }
    }

    fn units(self, step: usize, steps: usize, text: &str, done: usize, expected: usize) {
        if self == Progress::Terminal {
            let expected = expected.max(done);
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r\x1b[2K[{step}/{steps}] {text}: {done}/{expected} units"
            );
            let _ = err.flush();
        }
    }

    /// Runs `f` while a ticker shows the units appearing under `root` (cargo writes one
    /// fingerprint directory per unit), for phases that report nothing themselves.
    fn watch<T>(
        self,
        step: usize,
        steps: usize,
        text: &str,
        root: &Path,
        expected: usize,
        f: impl FnOnce() -> T,
    ) -> T {
        if self != Progress::Terminal {
            return f();
        }
        // Cargo creates every unit's fingerprint directory up front, and writes the unit's
        // fingerprint file into it when the unit is done.
        let finished = || -> BTreeSet<PathBuf> {
            reasons::fingerprint_dirs(&[root.to_path_buf()])
                .iter()
                .flat_map(|d| {
                    std::fs::read_dir(d)
                        .into_iter()
                        .flatten()
                        .filter_map(Result::ok)
                })
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        };
        let stopped = AtomicBool::new(false);
        let start = finished();
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stopped.load(Ordering::Relaxed) {
                    let done = finished().difference(&start).count();
                    self.units(step, steps, text, done, expected);
                    for _ in 0..5 {
                        if stopped.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
            });
            let out = f();
            stopped.store(true, Ordering::Relaxed);
            out
        })
    }

    fn done(self) {
        if self == Progress::Terminal {
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// One side of the verification: the cargo command, flags and extra environment.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// The cargo command.
    pub mode: Mode,
    /// The cargo flags.
    pub flags: BuildFlags,
    /// Extra arguments passed to cargo unchanged.
    pub extra: Vec<String>,
    /// Environment variables set for this side only (`--build-env`).
    pub env: BTreeMap<String, String>,
}

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace manifest (or a member's, or a directory holding one).
    pub manifest_path: PathBuf,
    /// Where to cook and build (a temporary directory when `None`).
    pub work_dir: Option<PathBuf>,
    /// How the cook builds.
    pub cook: Side,
    /// How the real build builds.
    pub build: Side,
    /// The share of external units (percent) that must be reused.
    pub min_reuse: f64,
    /// Progress display.
    pub progress: Progress,
}

/// A cargo command of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CommandReport {
    /// `build`, `check`, `clippy`, `tests-no-run` or `doc`.
    pub mode: Mode,
    /// The cargo flags.
    pub args: Vec<String>,
    /// Environment set for this command only.
    pub env: BTreeMap<String, String>,
    /// The full command line, when one ran.
    pub command: Option<String>,
    /// `compiler-artifact` units cargo reported.
    pub units: usize,
}

/// External units: reused or rebuilt.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// External units the real build needed.
    pub total: usize,
    /// Reused from the cook (`fresh`).
    pub reused: usize,
    /// Compiled again.
    pub rebuilt: usize,
    /// `reused / total` in percent (100 when there are none).
    pub percent: f64,
}

/// The workspace's own units.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceUnits {
    /// Compiled by the real build (all of them, normally).
    pub compiled: usize,
    /// Found fresh: the cook left artifacts of workspace crates behind (a bug).
    pub fresh: usize,
}

/// Wall time of each phase, in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Phases {
    /// Computing the recipe.
    pub plan: f64,
    /// Cooking the skeleton.
    pub cook: f64,
    /// Laying the real sources over the skeleton.
    pub overlay: f64,
    /// The real build.
    pub build: f64,
    /// Everything.
    pub total: f64,
}

/// One external unit the real build compiled again.
#[derive(Debug, Clone, Serialize)]
pub struct Rebuilt {
    /// Package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// Target name.
    pub target: String,
    /// Target kinds (`lib`, `custom-build`, `proc-macro`, ...).
    pub kind: Vec<String>,
    /// The reason category.
    pub reason: Category,
    /// Every category that applies (the first is `reason`).
    pub reasons: Vec<Category>,
    /// The reason in words.
    pub detail: String,
    /// When it rebuilt because a dependency (or its build script) did: which one.
    pub via: Option<String>,
    /// Fingerprint fields that differ from the cook's unit, when it was a new unit.
    pub fields: Vec<FieldDiff>,
    /// Cargo's raw fingerprint log lines for the unit.
    pub log: Vec<String>,
}

/// Rebuilt units of one reason.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonGroup {
    /// The category.
    pub reason: Category,
    /// In words.
    pub label: String,
    /// What to do.
    pub hint: String,
    /// How many units.
    pub count: usize,
    /// `package version (target)` of each.
    pub units: Vec<String>,
}

/// The result of `prewarm verify`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// prewarm's version.
    pub prewarm_version: &'static str,
    /// The manifest verified.
    pub manifest_path: String,
    /// The recipe's digest.
    pub recipe_digest: String,
    /// Where the cook and the build ran.
    pub work_dir: String,
    /// The cook.
    pub cook: CommandReport,
    /// The real build.
    pub build: CommandReport,
    /// External units.
    pub external: Totals,
    /// The workspace's own units.
    pub workspace: WorkspaceUnits,
    /// The required share.
    pub min_reuse: f64,
    /// Whether `external.percent >= min_reuse`.
    pub passed: bool,
    /// Wall time per phase.
    pub seconds: Phases,
    /// Settings that differ between the cook (as recorded) and the real build.
    pub drift: Vec<Difference>,
    /// Rebuilt units grouped by reason, largest group first.
    pub reasons: Vec<ReasonGroup>,
    /// Every rebuilt external unit.
    pub rebuilt: Vec<Rebuilt>,
    /// Remarks (adjustments verify made, suspicious findings).
    pub notes: Vec<String>,
}

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

/// The target (and build) directories a build of `workspace_dir` uses, with `env` applied.
fn target_dirs_with(
    workspace_dir: &Path,
    flags: &BuildFlags,
    env: &BTreeMap<String, String>,
) -> Result<Vec<PathBuf>> {
    if env.is_empty() {
        return crate::cook::target_dirs(workspace_dir, flags);
    }
    if let Some(dir) = &flags.target_dir {
        return Ok(vec![workspace_dir.join(dir)]);
    }
    let mut cargo = Cargo::new().current_dir(workspace_dir);
    for (k, v) in env {
        cargo = cargo.env(k, v);
    }
    let ws = crate::metadata::workspace_with(&workspace_dir.join("Cargo.toml"), cargo)?;
    let mut dirs = vec![ws.target_dir];
    if let Some(b) = ws.build_dir {
        if !dirs.contains(&b) {
            dirs.push(b);
        }
    }
    Ok(dirs)
}

/// A report as pretty JSON.
pub fn to_json<T: Serialize>(report: &T) -> Result<String> {
    serde_json::to_string_pretty(report)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot serialise the report: {e}")))
}

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// The version inside a package id (`...#itoa@1.0.19`, `...#1.0.0`, `itoa 1.0.0 (...)`).
fn package_version(id: &str) -> String {
    if let Some((_, frag)) = id.rsplit_once('#') {
        return frag.rsplit_once('@').map_or(frag, |(_, v)| v).to_string();
    }
    id.split(' ').nth(1).unwrap_or("").to_string()
}

/// Runs `prewarm verify`.
#[allow(clippy::too_many_lines)] // reason: one linear sequence of phases reads best in one place
pub fn verify(opts: &Options) -> Result<Report> {
    const STEPS: usize = 4;
    let started = Instant::now();
    let progress = opts.progress;
    let mut notes = Vec::new();

    progress.phase(1, STEPS, "planning the recipe");
    let t = Instant::now();
    let manifest = crate::plan::locate_manifest(&opts.manifest_path)?;
    let recipe = crate::plan::plan(&manifest)?;
    let real_ws = crate::metadata::workspace(&manifest)?.root;
    let layout = recipe.layout_root(&real_ws);
    let plan_secs = secs(t);

    let temp;
    let root = if let Some(dir) = &opts.work_dir {
        crate::fs::create_dir_all(dir)?;
        crate::fs::canonicalize(dir)?
    } else {
        temp = tempfile::Builder::new()
            .prefix("prewarm-verify-")
            .tempdir()
            .map_err(|e| Error::io("create a temporary directory in", &std::env::temp_dir(), &e))?;
        crate::fs::canonicalize(temp.path())?
    };

    let mut cook_side = opts.cook.clone();
    let mut build_side = opts.build.clone();
    if cook_side.flags.target_dir.is_none() && std::env::var_os("CARGO_TARGET_DIR").is_some() {
        // A shared target directory would measure earlier builds, not this cook.
        let dir = root.join("target").display().to_string();
        cook_side.flags.target_dir = Some(dir.clone());
        if build_side.flags.target_dir.is_none() {
            build_side.flags.target_dir = Some(dir);
        }
        notes.push("CARGO_TARGET_DIR is set: verify cooked and built with --target-dir inside its work directory instead, so earlier builds cannot count as reuse".into());
    }

    progress.phase(
        2,
        STEPS,
        &format!("cooking the recipe in `{}`", root.display()),
    );
    let t = Instant::now();
    let cook_opts = crate::cook::Options {
        dir: root.clone(),
        recipe_path: None,
        force: false,
        mode: cook_side.mode,
        flags: cook_side.flags.clone(),
        extra: cook_side.extra.clone(),
        quiet: true,
    };
    let expected = recipe
        .files
        .iter()
        .filter(|(p, _)| p.ends_with("Cargo.lock"))
        .map(|(_, text)| text.matches("\nsource = ").count())
        .sum::<usize>();
    let cooked = progress.watch(2, STEPS, "cooking the recipe", &root, expected, || {
        crate::cook::cook(&recipe, &cook_opts)
    })?;
    let cook_secs = secs(t);
    let cooked_external = cooked.artifacts.iter().filter(|a| !a.local).count();

    progress.phase(3, STEPS, "laying the real sources over the skeleton");
    let t = Instant::now();
    let copied = copy_project(&recipe, &layout, &root, Links::Keep)?;
    let overlay_secs = secs(t);

    let ws = cooked.workspace_dir.clone();
    let build_targets = target_dirs_with(&ws, &build_side.flags, &build_side.env)?;
    let mut all_targets = cooked.target_dirs.clone();
    for d in &build_targets {
        if !all_targets.contains(d) {
            all_targets.push(d.clone());
        }
    }
    let before: BTreeSet<PathBuf> = reasons::fingerprint_dirs(&all_targets)
        .into_iter()
        .collect();

    let t = Instant::now();
    let expected = cooked.artifacts.len()
        + recipe
            .packages
            .values()
            .map(|p| p.targets.len())
            .sum::<usize>();
    progress.phase(4, STEPS, "building with the real sources");
    let (build_cmd, artifacts, stderr) = run_build(&ws, &build_side, progress, STEPS, expected)?;
    let build_secs = secs(t);
    progress.done();

    let external: Vec<&Artifact> = artifacts.iter().filter(|a| !a.local).collect();
    let reused = external.iter().filter(|a| a.fresh).count();
    let total = external.len();
    let local_fresh = artifacts.iter().filter(|a| a.local && a.fresh).count();
    let local_compiled = artifacts.iter().filter(|a| a.local && !a.fresh).count();
    if local_fresh > 0 {
        notes.push(format!(
            "{local_fresh} workspace units were fresh after the cook: the cook left artifacts of workspace crates behind, so the build may have used dummy code"
        ));
    }
    #[allow(clippy::cast_precision_loss)] // reason: unit counts are far below 2^52
    let percent = if total == 0 {
        100.0
    } else {
        ((reused as f64) * 10000.0 / (total as f64)).round() / 100.0
    };
    if total == 0 {
        notes.push("the build needed no external units: there is nothing to reuse".into());
    }

    let mut planned_env = record::process_env();
    planned_env.extend(build_side.env.clone());
    let planned = record::capture(
        &ws,
        build_side.mode,
        &build_side.flags,
        &build_side.extra,
        &planned_env,
    )?;
    let records = cooked
        .target_dirs
        .first()
        .map(|d| record::load(d))
        .transpose()?
        .flatten();
    if records.is_none() {
        notes.push("the cook wrote no record of its settings, so drift between cook and build is not reported".into());
    }
    let drift = records
        .and_then(|r| record::nearest(&r, &planned, &planned_env).map(|(_, d)| d))
        .unwrap_or_default();

    let log = reasons::parse_log(stderr.iter().map(String::as_str));
    let rebuilt = explain(&external, &log, &before, &all_targets, &drift);
    let reasons = group(&rebuilt);

    if opts.work_dir.is_some() {
        remove_overlay(&root, &copied);
    }

    let passed = percent + 1e-9 >= opts.min_reuse;
    Ok(Report {
        schema: SCHEMA,
        prewarm_version: env!("CARGO_PKG_VERSION"),
        manifest_path: manifest.display().to_string(),
        recipe_digest: recipe.digest.clone(),
        work_dir: root.display().to_string(),
        cook: CommandReport {
            mode: cook_side.mode,
            args: cook_side
                .flags
                .to_args()
                .into_iter()
                .chain(cook_side.extra.iter().cloned())
                .collect(),
            env: cook_side.env.clone(),
            command: cooked.command.clone(),
            units: cooked.artifacts.len(),
        },
        build: CommandReport {
            mode: build_side.mode,
            args: build_side
                .flags
                .to_args()
                .into_iter()
                .chain(build_side.extra.iter().cloned())
                .collect(),
            env: build_side.env.clone(),
            command: Some(build_cmd),
            units: artifacts.len(),
        },
        external: Totals {
            total,
            reused,
            rebuilt: total - reused,
            percent,
        },
        workspace: WorkspaceUnits {
            compiled: local_compiled,
            fresh: local_fresh,
        },
        min_reuse: opts.min_reuse,
        passed,
        seconds: Phases {
            plan: plan_secs,
            cook: cook_secs,
            overlay: overlay_secs,
            build: build_secs,
            total: secs(started),
        },
        drift,
        reasons,
        rebuilt,
        notes: {
            if cooked_external == 0 && total > 0 {
                notes.push("the cook built no external units".into());
            }
            notes
        },
    })
}

/// Removes the real sources from a kept work directory (also where they replaced a skeleton
/// file: the next cook writes that again), so the next verify can cook there again.
fn remove_overlay(root: &Path, copied: &[PathBuf]) {
    for rel in copied {
        let _ = std::fs::remove_file(root.join(rel));
        let mut dir = root.join(rel);
        while dir.pop() && dir != root {
            crate::fs::remove_dir_if_empty(&dir);
        }
    }
}

/// Runs the real build; returns the command line, the artifacts and cargo's stderr lines.
fn run_build(
    ws: &Path,
    side: &Side,
    progress: Progress,
    steps: usize,
    expected: usize,
) -> Result<(String, Vec<Artifact>, Vec<String>)> {
    let mut cmd = Cargo::new()
        .current_dir(ws)
        .args(side.mode.subcommand())
        .arg("--manifest-path")
        .arg(ws.join("Cargo.toml"))
        .arg("--message-format=json-render-diagnostics")
        .args(side.flags.to_args())
        .args(&side.extra)
        .env(reasons::LOG_ENV.0, reasons::LOG_ENV.1)
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
    for (k, v) in &side.env {
        cmd = cmd.env(k, v);
    }
    let mut artifacts = Vec::new();
    let mut stderr: Vec<String> = Vec::new();
    let status = cmd.stream(
        |line| {
            if let Some(a) = messages::parse_artifact(line) {
                artifacts.push(a);
                progress.units(
                    4,
                    steps,
                    "building with the real sources",
                    artifacts.len(),
                    expected,
                );
            }
        },
        |line| stderr.push(line.to_string()),
    )?;
    if !status.success() {
        let output: Vec<&str> = stderr
            .iter()
            .map(String::as_str)
            .filter(|l| !l.contains("cargo::core::compiler::fingerprint"))
            .collect();
        return Err(cmd.failure(status, &output.join("\n")).with_hint(
            "the real build failed after the cook; verify needs a build that succeeds (run the same cargo command in the project to see the error)",
        ));
    }
    Ok((cmd.to_string(), artifacts, stderr))
}

/// The reason of one log entry, before cascades are resolved.
#[derive(Debug, Clone)]
struct Own {
    categories: Vec<Category>,
    detail: String,
    dependencies: Vec<String>,
    fields: Vec<FieldDiff>,
}

fn own_reason(entry: &Entry, before: &BTreeSet<PathBuf>, target_dirs: &[PathBuf]) -> Own {
    match entry.status {
        Status::Dirty => {
            let classified: Vec<reasons::Classified> = entry
                .details
                .iter()
                .map(|d| reasons::classify_detail(d))
                .collect();
            let mut categories: Vec<Category> = Vec::new();
            for c in &classified {
                if !categories.contains(&c.category) {
                    categories.push(c.category);
                }
            }
            if categories.is_empty() {
                categories.push(Category::Unknown);
            }
            Own {
                categories,
                detail: entry.details.join("; "),
                dependencies: classified
                    .into_iter()
                    .filter_map(|c| c.dependency)
                    .collect(),
                fields: Vec::new(),
            }
        }
        Status::Missing => missing_reason(entry, before, target_dirs),
    }
}

/// A unit with no fingerprint: compare its new fingerprint file with the cook's for the same
/// package and target.
fn missing_reason(entry: &Entry, before: &BTreeSet<PathBuf>, target_dirs: &[PathBuf]) -> Own {
    let new_file = entry.fingerprint.as_ref().map(|p| {
        let mut s = p.clone().into_os_string();
        s.push(".json");
        PathBuf::from(s)
    });
    let new_file = new_file.filter(|p| p.is_file()).or_else(|| {
        // Fall back to the directories the build added.
        reasons::fingerprint_dirs(target_dirs)
            .into_iter()
            .filter(|d| {
                !before.contains(d)
                    && reasons::dir_package(d).as_deref() == Some(entry.package.as_str())
            })
            .flat_map(|d| {
                std::fs::read_dir(d)
                    .into_iter()
                    .flatten()
                    .filter_map(Result::ok)
                    .map(|e| e.path())
            })
            .find(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| {
                        s.ends_with(&format!("-{}", entry.target.replace('-', "_")))
                            || s.ends_with(&format!("-{}", entry.target))
                    })
            })
    });
    let not_cooked = |detail: &str| Own {
        categories: vec![Category::NotCooked],
        detail: detail.to_string(),
        dependencies: Vec::new(),
        fields: Vec::new(),
    };
    let Some(new_file) = new_file else {
        return not_cooked("new unit; its fingerprint file was not found");
    };
    let Some(new_fp) = reasons::read_fingerprint(&new_file) else {
        return not_cooked("new unit; its fingerprint file could not be read");
    };
    let file_name = new_file
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    let candidates: Vec<(PathBuf, serde_json::Value)> = before
        .iter()
        .filter(|d| reasons::dir_package(d).as_deref() == Some(entry.package.as_str()))
        .filter_map(|d| {
            let p = d.join(&file_name);
            reasons::read_fingerprint(&p).map(|v| (p, v))
        })
        .collect();
    let Some((_, diffs)) = reasons::closest(&new_fp, &candidates) else {
        return not_cooked("the cook did not build this unit at all");
    };
    if diffs.is_empty() {
        return Own {
            categories: vec![Category::NotCooked],
            detail: "the cook built this unit with identical fingerprint fields but a different unit hash (another cargo command or dependency graph)".into(),
            dependencies: Vec::new(),
            fields: Vec::new(),
        };
    }
    let mut categories: Vec<Category> = Vec::new();
    for d in &diffs {
        if !categories.contains(&d.category) {
            categories.push(d.category);
        }
    }
    let dependencies = diffs
        .iter()
        .filter(|d| d.category == Category::Dependency)
        .flat_map(|d| d.build.split(", ").map(str::to_string))
        .filter(|s| !s.is_empty())
        .collect();
    let detail = diffs
        .iter()
        .map(|d| match d.category {
            Category::Dependency => format!("dependencies rebuilt: {}", d.build),
            _ => format!("{}: cook {} / build {}", d.field, d.cook, d.build),
        })
        .collect::<Vec<_>>()
        .join("; ");
    Own {
        categories,
        detail,
        dependencies,
        fields: diffs,
    }
}

/// Crate names as cargo writes them in fingerprints (`-` → `_`).
fn crate_name(s: &str) -> String {
    s.replace('-', "_")
}

/// Explains every rebuilt external unit.
#[allow(clippy::too_many_lines)] // reason: matching, cascades and drift refinement share their maps
fn explain(
    external: &[&Artifact],
    log: &[Entry],
    before: &BTreeSet<PathBuf>,
    target_dirs: &[PathBuf],
    drift: &[Difference],
) -> Vec<Rebuilt> {
    let external_names: BTreeSet<(String, String)> = external
        .iter()
        .map(|a| (a.package.clone(), package_version(&a.package_id)))
        .collect();
    // Own reasons of every external log entry (build-script runs included).
    let owns: Vec<Option<Own>> = log
        .iter()
        .map(|e| {
            external_names
                .contains(&(e.package.clone(), e.version.clone()))
                .then(|| own_reason(e, before, target_dirs))
        })
        .collect();
    // Root causes by package and by crate name: the first non-cascade category.
    let root_of = |own: &Own| own.categories.iter().copied().find(|c| !c.is_cascade());
    let mut by_package: BTreeMap<String, (Category, String)> = BTreeMap::new();
    let mut by_build_run: BTreeMap<String, (Category, String)> = BTreeMap::new();
    let mut roots: BTreeSet<Category> = BTreeSet::new();
    for (e, own) in log.iter().zip(&owns) {
        let Some(own) = own else { continue };
        if let Some(c) = root_of(own) {
            roots.insert(c);
            let map = if e.is_build_run() {
                &mut by_build_run
            } else {
                &mut by_package
            };
            map.entry(e.package.clone())
                .or_insert((c, own.detail.clone()));
        }
    }
    let by_crate: BTreeMap<String, (Category, String, String)> = by_package
        .iter()
        .map(|(p, (c, d))| (crate_name(p), (*c, d.clone(), p.clone())))
        .collect();

    let mut used = vec![false; log.len()];
    let mut out = Vec::new();
    for a in external.iter().filter(|a| !a.fresh) {
        let version = package_version(&a.package_id);
        let pick = |exact: bool, used: &[bool]| {
            log.iter().enumerate().position(|(i, e)| {
                !used[i]
                    && !e.is_build_run()
                    && e.package == a.package
                    && e.version == version
                    && (!exact || e.target == a.target)
            })
        };
        let index = pick(true, &used).or_else(|| pick(false, &used));
        let (entry, own) = match index {
            Some(i) => {
                used[i] = true;
                (Some(&log[i]), owns[i].clone())
            }
            None => (None, None),
        };
        let mut own = own.unwrap_or_else(|| Own {
            categories: vec![Category::Unknown],
            detail: "cargo's fingerprint log says nothing about this unit".into(),
            dependencies: Vec::new(),
            fields: Vec::new(),
        });
        let mut via = None;
        if own.categories.iter().all(|c| c.is_cascade()) {
            // Follow the cascade to a root cause.
            let named = own.dependencies.iter().find_map(|d| {
                if d == "build_script_build" {
                    by_build_run
                        .get(&a.package)
                        .map(|(c, det)| (*c, det.clone(), format!("{} build script", a.package)))
                } else {
                    by_crate
                        .get(&crate_name(d))
                        .map(|(c, det, p)| (*c, det.clone(), p.clone()))
                }
            });
            let found = named
                .or_else(|| {
                    by_build_run
                        .get(&a.package)
                        .map(|(c, det)| (*c, det.clone(), format!("{} build script", a.package)))
                })
                .or_else(|| {
                    (roots.len() == 1).then(|| {
                        let c = *roots.iter().next().expect("one root");
                        (c, String::new(), "a dependency".to_string())
                    })
                });
            if let Some((c, det, through)) = found {
                own.categories.insert(0, c);
                if !det.is_empty() {
                    own.detail = format!("{}; via {through}: {det}", own.detail);
                }
                via = Some(through);
            }
        }
        // A unit the cook never built: the flag difference that explains it.
        if own.categories.first() == Some(&Category::NotCooked) {
            let explaining = [
                Category::Features,
                Category::Selection,
                Category::Mode,
                Category::Profile,
                Category::Target,
            ]
            .into_iter()
            .find_map(|c| drift.iter().find(|d| d.category == c && !d.harmless));
            if let Some(d) = explaining {
                own.categories.insert(0, d.category);
                own.detail = format!(
                    "{}; the build's {} differs from the cook's (cook: {}, build: {})",
                    own.detail, d.setting, d.cook, d.build
                );
            }
        }
        // Prefer the drift's readable values for hashed fields.
        if let Some(first) = own.categories.first() {
            if own.fields.iter().any(|f| f.cook.starts_with('#')) {
                if let Some(d) = drift.iter().find(|d| d.category == *first && !d.harmless) {
                    own.detail = format!(
                        "{} (cook: {}, build: {}); {}",
                        d.setting, d.cook, d.build, own.detail
                    );
                }
            }
        }
        let mut categories = Vec::new();
        for c in own.categories {
            if !categories.contains(&c) {
                categories.push(c);
            }
        }
        out.push(Rebuilt {
            package: a.package.clone(),
            version,
            target: a.target.clone(),
            kind: a.kinds.clone(),
            reason: categories[0],
            reasons: categories,
            detail: own.detail,
            via,
            fields: own.fields,
            log: entry.map(|e| e.raw.clone()).unwrap_or_default(),
        });
    }
    out
}

fn group(rebuilt: &[Rebuilt]) -> Vec<ReasonGroup> {
    let mut groups: Vec<ReasonGroup> = Category::ALL
        .iter()
        .filter_map(|c| {
            let units: Vec<String> = rebuilt
                .iter()
                .filter(|r| r.reason == *c)
                .map(|r| {
                    if r.target == crate_name(&r.package) || r.target == r.package {
                        format!("{} {}", r.package, r.version)
                    } else {
                        format!("{} {} ({})", r.package, r.version, r.target)
                    }
                })
                .collect();
            (!units.is_empty()).then(|| ReasonGroup {
                reason: *c,
                label: c.label().to_string(),
                hint: c.hint().to_string(),
                count: units.len(),
                units,
            })
        })
        .collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

/// How many unit names a group lists before "and N more".
const LIST: usize = 6;

/// The human report: totals first, then rebuilt units grouped by reason; one screen for a
/// large project, raw fingerprint lines only with `verbose`.
#[allow(clippy::too_many_lines)] // reason: the report's sections in order, one writeln each
pub fn render_human(r: &Report, verbose: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let verdict = if r.passed { "ok" } else { "SHORT" };
    let _ = writeln!(
        s,
        "prewarm verify: {verdict}: {}% of external units reused ({}/{}){}",
        r.external.percent,
        r.external.reused,
        r.external.total,
        if r.passed {
            String::new()
        } else {
            format!(", below the required {}%", r.min_reuse)
        }
    );
    let _ = writeln!(
        s,
        "  workspace units compiled: {}   rebuilt external units: {}",
        r.workspace.compiled, r.external.rebuilt
    );
    let p = &r.seconds;
    let _ = writeln!(
        s,
        "  time: plan {:.1}s, cook {:.1}s, overlay {:.1}s, build {:.1}s (total {:.1}s)",
        p.plan, p.cook, p.overlay, p.build, p.total
    );
    let show = |c: &CommandReport| {
        let mut line = format!("cargo {}", c.mode.subcommand().join(" "));
        for (k, v) in &c.env {
            line = format!("{k}={v} {line}");
        }
        for a in &c.args {
            line.push(' ');
            line.push_str(a);
        }
        line
    };
    let _ = writeln!(s, "  cook:  {}", show(&r.cook));
    let _ = writeln!(s, "  build: {}", show(&r.build));
    let costly: Vec<&Difference> = r.drift.iter().filter(|d| !d.harmless).collect();
    if !costly.is_empty() {
        let _ = writeln!(s, "settings that differ between cook and build:");
        for d in costly.iter().take(LIST * 2) {
            let _ = writeln!(s, "  {}: cook `{}`, build `{}`", d.setting, d.cook, d.build);
        }
        if costly.len() > LIST * 2 {
            let _ = writeln!(s, "  ... and {} more", costly.len() - LIST * 2);
        }
    }
    if !r.reasons.is_empty() {
        let _ = writeln!(s, "rebuilt external units by reason:");
        for g in &r.reasons {
            let mut names = g
                .units
                .iter()
                .take(LIST)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if g.units.len() > LIST {
                let _ = write!(names, " and {} more", g.units.len() - LIST);
            }
            let _ = writeln!(s, "  {} ({}): {names}", g.label, g.count);
            if let Some(first) = r.rebuilt.iter().find(|u| u.reason == g.reason) {
                let detail: String = first.detail.chars().take(160).collect();
                let _ = writeln!(s, "    e.g. {} {}: {detail}", first.package, first.version);
            }
            let _ = writeln!(s, "    hint: {}", g.hint);
        }
    }
    if verbose {
        for u in &r.rebuilt {
            let _ = writeln!(
                s,
                "{} {} ({}) [{}]",
                u.package,
                u.version,
                u.target,
                u.reason.id()
            );
            for l in &u.log {
                let _ = writeln!(s, "    {l}");
            }
            for f in &u.fields {
                let _ = writeln!(
                    s,
                    "    field {}: cook {} / build {}",
                    f.field, f.cook, f.build
                );
            }
        }
        for d in r.drift.iter().filter(|d| d.harmless) {
            let _ = writeln!(
                s,
                "note: {} differs (cook `{}`, build `{}`); it does not cost reuse",
                d.setting, d.cook, d.build
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// The error for a report that fell short (exit code of [`ErrorKind::ReuseShort`]).
pub fn short_error(r: &Report) -> Error {
    let top = r.reasons.first().map_or(String::new(), |g| {
        format!("; most rebuilt because: {}", g.label)
    });
    Error::new(
        ErrorKind::ReuseShort,
        format!(
            "the real build reused {}% of the external units ({}/{}), below the required {}%{top}",
            r.external.percent, r.external.reused, r.external.total, r.min_reuse
        ),
    )
    .with_hint(r.reasons.first().map_or(
        "cook with exactly the flags and environment of the real build",
        |g| g.hint.as_str(),
    ))
}

// ---------------------------------------------------------------------------------------------
// The recipe stability probe.

/// One dependency-neutral edit and what it did to the recipe.
#[derive(Debug, Clone, Serialize)]
pub struct EditResult {
    /// `source`, `version-bump`, `metadata`, `new-example`, `new-test` or `new-member`.
    pub edit: &'static str,
    /// What was changed, in words.
    pub description: String,
    /// The recipe digest after the edit.
    pub digest: Option<String>,
    /// Whether the digest changed (a Docker build would throw the cooked layer away).
    pub digest_changed: Option<bool>,
    /// Why the edit could not be probed, if it could not.
    pub error: Option<String>,
    /// Why the edit does not apply to this project (then it was not made), if it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
}

/// The result of `prewarm verify --edits`.
#[derive(Debug, Clone, Serialize)]
pub struct EditsReport {
    /// [`EDITS_SCHEMA`].
    pub schema: &'static str,
    /// prewarm's version.
    pub prewarm_version: &'static str,
    /// The manifest probed.
    pub manifest_path: String,
    /// The recipe digest before any edit.
    pub recipe_digest: String,
    /// Each edit.
    pub edits: Vec<EditResult>,
    /// True when no edit changed the digest.
    pub stable: bool,
    /// Wall time, in seconds.
    pub seconds: f64,
}

/// Files changed in the scratch copy, restorable.
#[derive(Default)]
struct Undo {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
    dirs: Vec<PathBuf>,
}

impl Undo {
    fn write(&mut self, path: &Path, content: &str) -> Result<()> {
        if !self.files.iter().any(|(p, _)| p == path) {
            self.files
                .push((path.to_path_buf(), std::fs::read(path).ok()));
        }
        crate::fs::write(path, content)
    }

    fn create_dir(&mut self, dir: &Path) -> Result<()> {
        if !dir.exists() {
            self.dirs.push(dir.to_path_buf());
        }
        crate::fs::create_dir_all(dir)
    }

    fn restore(self) -> Result<()> {
        for (path, content) in self.files.into_iter().rev() {
            match content {
                Some(c) => crate::fs::write(&path, c)?,
                None => crate::fs::remove_file(&path)?,
            }
        }
        for dir in self.dirs.into_iter().rev() {
            crate::fs::remove_dir_all(&dir)?;
        }
        Ok(())
    }
}

/// The line index range of `[section]` in a TOML text (header excluded).
fn section_lines(lines: &[&str], section: &str) -> Option<(usize, usize)> {
    let header = format!("[{section}]");
    let start = lines.iter().position(|l| l.trim() == header)? + 1;
    let end = lines[start..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| start + i);
    Some((start, end))
}

/// What a key looks like in a section.
enum Key {
    /// `key = <value>` at this line.
    Value(usize, String),
    /// `key.workspace = true`: inherited.
    Inherited,
    /// Not there.
    Missing,
}

fn find_key(lines: &[&str], section: &str, key: &str) -> Option<Key> {
    let (start, end) = section_lines(lines, section)?;
    for (i, line) in lines.iter().enumerate().take(end).skip(start) {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k == key {
            return Some(Key::Value(i, v.trim().to_string()));
        }
        if k == format!("{key}.workspace") || (k == key && v.contains("workspace")) {
            return Some(Key::Inherited);
        }
    }
    Some(Key::Missing)
}

/// Sets `key = value` (value as TOML) in `[section]`; `None` when the key is inherited or the
/// section is missing.
fn set_key(text: &str, section: &str, key: &str, value: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let new_line = format!("{key} = {value}");
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    match find_key(&lines, section, key)? {
        Key::Value(i, _) => out[i] = new_line,
        Key::Inherited => return None,
        Key::Missing => {
            let (start, _) = section_lines(&lines, section)?;
            out.insert(start, new_line);
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    Some(s)
}

fn bump_version(v: &str) -> String {
    let v = v.trim().trim_matches('"');
    let mut parts: Vec<String> = v.split('.').map(str::to_string).collect();
    if let Some(last) = parts.last_mut() {
        let digits: String = last.chars().take_while(char::is_ascii_digit).collect();
        *last = digits
            .parse::<u64>()
            .map_or_else(|_| "1".into(), |n| (n + 1).to_string());
    }
    parts.join(".")
}

/// The probe's target package: the first workspace member (by manifest path) that the recipe
/// keeps, or the first member.
fn probe_package(
    ws: &crate::metadata::Workspace,
    recipe: &Recipe,
) -> Result<crate::metadata::Package> {
    let mut members = ws.packages.clone();
    members.sort_by(|a, b| a.manifest_path.cmp(&b.manifest_path));
    members
        .iter()
        .find(|p| recipe.package_named(&p.name).is_some())
        .or_else(|| members.first())
        .cloned()
        .ok_or_else(|| {
            Error::input("the workspace has no member package to probe edits on")
                .with_hint("add a member package")
        })
}

type EditFn = fn(&Probe<'_>, &mut Undo) -> Result<String>;

struct Probe<'a> {
    ws_root: &'a Path,
    package: &'a crate::metadata::Package,
    members: &'a [crate::metadata::Package],
}

impl Probe<'_> {
    fn root_manifest(&self) -> PathBuf {
        self.ws_root.join("Cargo.toml")
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(self.ws_root)
            .unwrap_or(p)
            .display()
            .to_string()
    }
}

fn edit_source(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let target = p
        .package
        .targets
        .iter()
        .find(|t| t.kind == crate::metadata::TargetKind::Lib)
        .or_else(|| p.package.targets.first())
        .ok_or_else(|| {
            Error::input(format!(
                "package `{}` has no target to edit",
                p.package.name
            ))
        })?;
    let text = crate::fs::read_to_string(&target.src_path)?;
    undo.write(
        &target.src_path,
        &format!("{text}\n// edited by `prewarm verify --edits`\n"),
    )?;
    Ok(format!(
        "appended a comment to `{}`",
        p.rel(&target.src_path)
    ))
}

fn edit_version(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let manifest = &p.package.manifest_path;
    let text = crate::fs::read_to_string(manifest)?;
    let lines: Vec<&str> = text.lines().collect();
    let (file, section, old) = if let Some(Key::Value(_, v)) =
        find_key(&lines, "package", "version")
    {
        (manifest.clone(), "package", v)
    } else {
        let root = p.root_manifest();
        let root_text = crate::fs::read_to_string(&root)?;
        let root_lines: Vec<&str> = root_text.lines().collect();
        let Some(Key::Value(_, v)) = find_key(&root_lines, "workspace.package", "version") else {
            return Err(Error::input(format!(
                "cannot find the version of `{}`",
                p.package.name
            )));
        };
        (root, "workspace.package", v)
    };
    let new = bump_version(&old);
    let text = crate::fs::read_to_string(&file)?;
    let edited = set_key(&text, section, "version", &format!("\"{new}\""))
        .ok_or_else(|| Error::input(format!("cannot set the version in `{}`", file.display())))?;
    undo.write(&file, &edited)?;
    // The lockfile follows, as `cargo build` would update it.
    let old = old.trim_matches('"').to_string();
    let lock = p.ws_root.join("Cargo.lock");
    if let Ok(lock_text) = std::fs::read_to_string(&lock) {
        let mut out = lock_text.clone();
        for m in p.members {
            out = out.replace(
                &format!("name = \"{}\"\nversion = \"{old}\"", m.name),
                &format!("name = \"{}\"\nversion = \"{new}\"", m.name),
            );
        }
        if out != lock_text {
            undo.write(&lock, &out)?;
        }
    }
    Ok(format!(
        "bumped the version {old} -> {new} in `{}` ([{section}])",
        p.rel(&file)
    ))
}

fn edit_metadata(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let manifest = &p.package.manifest_path;
    let text = crate::fs::read_to_string(manifest)?;
    let value = "\"edited by prewarm verify --edits\"";
    if let Some(edited) = set_key(&text, "package", "description", value) {
        undo.write(manifest, &edited)?;
        return Ok(format!("set `description` in `{}`", p.rel(manifest)));
    }
    let root = p.root_manifest();
    let root_text = crate::fs::read_to_string(&root)?;
    let edited =
        set_key(&root_text, "workspace.package", "description", value).ok_or_else(|| {
            Error::input(format!(
                "cannot set the description of `{}`",
                p.package.name
            ))
        })?;
    undo.write(&root, &edited)?;
    Ok(format!(
        "set `description` in `{}` ([workspace.package])",
        p.rel(&root)
    ))
}

fn edit_example(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let path = p.package.dir().join("examples/prewarm_probe.rs");
    undo.create_dir(&p.package.dir().join("examples"))?;
    undo.write(
        &path,
        "//! Added by `prewarm verify --edits`.\nfn main() {}\n",
    )?;
    Ok(format!("added `{}`", p.rel(&path)))
}

fn edit_test(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    let path = p.package.dir().join("tests/prewarm_probe.rs");
    undo.create_dir(&p.package.dir().join("tests"))?;
    undo.write(
        &path,
        "//! Added by `prewarm verify --edits`.\n#[test]\nfn probe() {}\n",
    )?;
    Ok(format!("added `{}`", p.rel(&path)))
}

fn edit_member(p: &Probe<'_>, undo: &mut Undo) -> Result<String> {
    const NAME: &str = "prewarm-probe-member";
    let root = p.root_manifest();
    let text = crate::fs::read_to_string(&root)?;
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| Error::input(format!("`{}` is not valid TOML: {e}", root.display())))?;
    let globs: Vec<String> = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
        .filter_map(|m| m.strip_suffix("/*").map(str::to_string))
        .collect();
    let rel = if let Some(dir) = globs.first() {
        format!("{dir}/{NAME}")
    } else {
        let lines: Vec<&str> = text.lines().collect();
        let edited = match find_key(&lines, "workspace", "members") {
            Some(Key::Value(i, v)) if v.starts_with('[') => {
                let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
                out[i] = out[i]
                    .replacen('[', &format!("[\"{NAME}\", "), 1)
                    .replace(", ]", "]");
                Some(out.join("\n") + "\n")
            }
            Some(Key::Missing) => set_key(&text, "workspace", "members", &format!("[\"{NAME}\"]")),
            _ => None,
        }
        .ok_or_else(|| Error::input(format!("cannot add a member to `{}`", root.display())))?;
        undo.write(&root, &edited)?;
        NAME.to_string()
    };
    let dir = p.ws_root.join(&rel);
    undo.create_dir(&dir)?;
    undo.write(
        &dir.join("Cargo.toml"),
        &format!("[package]\nname = \"{NAME}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n"),
    )?;
    undo.write(
        &dir.join("src/lib.rs"),
        "//! Added by `prewarm verify --edits`.\n",
    )?;
    Ok(format!("added the dependency-free member `{rel}`"))
}

/// Why an edit does not apply to the probed project: a new member needs a workspace, and a
/// single-package project (a root manifest without `[workspace]`) has none.
fn not_applicable(edit: &str, p: &Probe<'_>) -> Result<Option<String>> {
    if edit != "new-member" {
        return Ok(None);
    }
    let root = p.root_manifest();
    let text = crate::fs::read_to_string(&root)?;
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| Error::input(format!("`{}` is not valid TOML: {e}", root.display())))?;
    Ok((!doc.contains_key("workspace")).then(|| {
        "a single-package project (no `[workspace]` table) has no members to add to".to_string()
    }))
}

/// Runs `prewarm verify --edits`: in a scratch copy of the project, applies each
/// dependency-neutral edit on its own and reports whether the recipe digest changed.
pub fn probe_edits(manifest_path: &Path, progress: Progress) -> Result<EditsReport> {
    let started = Instant::now();
    let manifest = crate::plan::locate_manifest(manifest_path)?;
    progress.phase(1, 2, "planning the recipe");
    let recipe = crate::plan::plan(&manifest)?;
    let real_ws = crate::metadata::workspace(&manifest)?.root;
    let layout = recipe.layout_root(&real_ws);
    let temp = tempfile::Builder::new()
        .prefix("prewarm-edits-")
        .tempdir()
        .map_err(|e| Error::io("create a temporary directory in", &std::env::temp_dir(), &e))?;
    let scratch = crate::fs::canonicalize(temp.path())?;
    copy_project(&recipe, &layout, &scratch, Links::Resolve)?;
    let ws_root = if recipe.workspace == "." {
        scratch.clone()
    } else {
        scratch.join(&recipe.workspace)
    };
    let ws_manifest = ws_root.join("Cargo.toml");
    let baseline = crate::plan::plan(&ws_manifest)?.digest;
    let ws = crate::metadata::workspace(&ws_manifest)?;
    let package = probe_package(&ws, &recipe)?;
    let probe = Probe {
        ws_root: &ws_root,
        package: &package,
        members: &ws.packages,
    };
    let edits: [(&'static str, EditFn); 6] = [
        ("source", edit_source),
        ("version-bump", edit_version),
        ("metadata", edit_metadata),
        ("new-example", edit_example),
        ("new-test", edit_test),
        ("new-member", edit_member),
    ];
    let mut results = Vec::new();
    for (i, (name, apply)) in edits.iter().enumerate() {
        progress.units(2, 2, "probing edits", i, edits.len());
        if let Some(why) = not_applicable(name, &probe)? {
            results.push(EditResult {
                edit: name,
                description: String::new(),
                digest: None,
                digest_changed: None,
                error: None,
                not_applicable: Some(why),
            });
            continue;
        }
        let mut undo = Undo::default();
        let result = match apply(&probe, &mut undo) {
            Ok(description) => match crate::plan::plan(&ws_manifest) {
                Ok(r) => EditResult {
                    edit: name,
                    description,
                    digest_changed: Some(r.digest != baseline),
                    digest: Some(r.digest),
                    error: None,
                    not_applicable: None,
                },
                Err(e) => EditResult {
                    edit: name,
                    description,
                    digest: None,
                    digest_changed: None,
                    error: Some(e.to_string()),
                    not_applicable: None,
                },
            },
            Err(e) => EditResult {
                edit: name,
                description: String::new(),
                digest: None,
                digest_changed: None,
                error: Some(e.to_string()),
                not_applicable: None,
            },
        };
        undo.restore()?;
        results.push(result);
    }
    progress.done();
    Ok(EditsReport {
        schema: EDITS_SCHEMA,
        prewarm_version: env!("CARGO_PKG_VERSION"),
        manifest_path: manifest.display().to_string(),
        recipe_digest: recipe.digest,
        stable: results
            .iter()
            .all(|r| r.not_applicable.is_some() || r.digest_changed == Some(false)),
        edits: results,
        seconds: secs(started),
    })
}

/// The human `--edits` report.
pub fn render_edits(r: &EditsReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let changed = r
        .edits
        .iter()
        .filter(|e| e.digest_changed == Some(true))
        .count();
    let skipped = r
        .edits
        .iter()
        .filter(|e| e.not_applicable.is_some())
        .count();
    let probed = r.edits.len() - skipped;
    let _ = write!(
        s,
        "prewarm verify --edits: {} of {probed} dependency-neutral edits keep the recipe (and the cooked layer)",
        probed - changed,
    );
    let _ = if skipped > 0 {
        writeln!(s, "; {skipped} not applicable")
    } else {
        writeln!(s)
    };
    for e in &r.edits {
        if let Some(why) = &e.not_applicable {
            let _ = writeln!(s, "  n/a     {:<13} {why}", e.edit);
            continue;
        }
        let verdict = match (e.digest_changed, &e.error) {
            (Some(false), _) => "kept  ".to_string(),
            (Some(true), _) => "CHANGED".to_string(),
            (None, Some(_)) => "error ".to_string(),
            (None, None) => "?     ".to_string(),
        };
        let _ = writeln!(s, "  {verdict} {:<13} {}", e.edit, e.description);
        if let Some(err) = &e.error {
            let _ = writeln!(s, "         {}", err.lines().next().unwrap_or(""));
        }
    }
    s
}

/// The error for an unstable recipe (exit code of [`ErrorKind::ReuseShort`]).
pub fn unstable_error(r: &EditsReport) -> Error {
    let names: Vec<&str> = r
        .edits
        .iter()
        .filter(|e| e.not_applicable.is_none() && e.digest_changed != Some(false))
        .map(|e| e.edit)
        .collect();
    Error::new(
        ErrorKind::ReuseShort,
        format!(
            "the recipe changes (or could not be probed) under these dependency-neutral edits: {}",
            names.join(", ")
        ),
    )
    .with_hint("each of these edits would throw the cooked dependency layer away in a Docker build")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_package_ids() {
        assert_eq!(
            package_version("registry+https://github.com/rust-lang/crates.io-index#itoa@1.0.19"),
            "1.0.19"
        );
        assert_eq!(package_version("path+file:///w/app#0.1.0"), "0.1.0");
        assert_eq!(package_version("itoa 1.0.0 (registry+https://x)"), "1.0.0");
    }

    #[test]
    fn keys_are_set_in_their_section_only() {
        let text =
            "[package]\nname = \"a\"\nversion = \"0.1.9\"\n\n[dependencies]\nversion = \"x\"\n";
        let out = set_key(text, "package", "version", "\"0.1.10\"").unwrap();
        assert!(
            out.contains("[package]\nname = \"a\"\nversion = \"0.1.10\"\n"),
            "{out}"
        );
        assert!(out.contains("[dependencies]\nversion = \"x\""), "{out}");
        let inherited = "[package]\nversion.workspace = true\n";
        assert!(set_key(inherited, "package", "version", "\"1\"").is_none());
        let missing = set_key(
            "[package]\nname = \"a\"\n",
            "package",
            "description",
            "\"d\"",
        )
        .unwrap();
        assert_eq!(missing, "[package]\ndescription = \"d\"\nname = \"a\"\n");
        assert_eq!(bump_version("\"0.3.9\""), "0.3.10");
    }

    fn synthetic_report(rebuilt: usize) -> Report {
        let units: Vec<Rebuilt> = (0..rebuilt)
            .map(|i| Rebuilt {
                package: format!("crate-{i:03}"),
                version: "1.0.0".into(),
                target: format!("crate_{i:03}"),
                kind: vec!["lib".into()],
                reason: if i % 3 == 0 {
                    Category::Env
                } else {
                    Category::Rustflags
                },
                reasons: vec![if i % 3 == 0 {
                    Category::Env
                } else {
                    Category::Rustflags
                }],
                detail: if i % 3 == 0 {
                    "EnvVarChanged { name: \"CC\", old_value: None, new_value: Some(\"clang\") }"
                        .into()
                } else {
                    "rustflags: cook [] / build [\"-C\",\"target-cpu=native\"]".into()
                },
                via: None,
                fields: Vec::new(),
                log: vec![format!(
                    "fingerprint dirty for crate-{i:03} v1.0.0/Build/TargetInner {{ .. }}"
                )],
            })
            .collect();
        let total = 300;
        let mut r = Report {
            schema: SCHEMA,
            prewarm_version: "0.0.0",
            manifest_path: "/app/Cargo.toml".into(),
            recipe_digest: format!("sha256:{}", "0".repeat(64)),
            work_dir: "/tmp/w".into(),
            cook: CommandReport {
                mode: Mode::Build,
                args: vec!["--release".into()],
                env: BTreeMap::new(),
                command: None,
                units: total,
            },
            build: CommandReport {
                mode: Mode::Build,
                args: vec!["--release".into()],
                env: [("RUSTFLAGS".to_string(), "-C target-cpu=native".to_string())].into(),
                command: None,
                units: total + 2,
            },
            external: Totals {
                total,
                reused: total - rebuilt,
                rebuilt,
                percent: 0.0,
            },
            workspace: WorkspaceUnits {
                compiled: 2,
                fresh: 0,
            },
            min_reuse: 100.0,
            passed: rebuilt == 0,
            seconds: Phases {
                plan: 0.2,
                cook: 250.0,
                overlay: 0.1,
                build: 240.0,
                total: 490.3,
            },
            drift: vec![Difference {
                setting: "env RUSTFLAGS".into(),
                cook: "(unset)".into(),
                build: "-C target-cpu=native".into(),
                category: Category::Rustflags,
                harmless: false,
            }],
            reasons: Vec::new(),
            rebuilt: units,
            notes: Vec::new(),
        };
        #[allow(clippy::cast_precision_loss)] // reason: small test numbers
        {
            r.external.percent =
                ((total - rebuilt) as f64 * 100.0 / total as f64 * 100.0).round() / 100.0;
        }
        r.reasons = group(&r.rebuilt);
        r
    }

    #[test]
    fn the_human_report_of_a_large_project_fits_one_screen() {
        let report = synthetic_report(300);
        let text = render_human(&report, false);
        assert!(text.lines().count() <= 24, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 200), "{text}");
        insta::assert_snapshot!(text);
        // The raw lines come with --verbose only.
        assert!(!text.contains("fingerprint dirty"));
        assert!(render_human(&report, true).contains("fingerprint dirty for crate-299"));
    }

    #[test]
    fn reasons_are_grouped_largest_first() {
        let groups = group(&synthetic_report(30).rebuilt);
        let got: Vec<(Category, usize)> = groups.iter().map(|g| (g.reason, g.count)).collect();
        assert_eq!(got, [(Category::Rustflags, 20), (Category::Env, 10)]);
        assert_eq!(groups[1].units[0], "crate-000 1.0.0");
    }

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

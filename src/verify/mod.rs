//! Verifying reuse: plan a workspace's recipe, cook it in a scratch directory, lay the real
//! sources over the skeleton (as `COPY . .` does in a Dockerfile), run the real build with
//! cargo's JSON messages and fingerprint log, and account for every external unit: reused, or
//! rebuilt and why. The rooms: [`progress`] (what it tells while it works), [`overlay`] (the
//! real sources over the skeleton), [`report`] (the report and its rendering); the explanation
//! of rebuilt units lives in [`crate::reasons::explain`], the `--edits` probe in
//! [`crate::probe`].

mod overlay;
mod progress;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::flags::{BuildFlags, Mode};
use crate::messages::{self, Artifact};
use crate::process::Process;
use crate::reasons;
use crate::recipe::Recipe;
use crate::record;

pub use overlay::{copy_project, Links};
pub use progress::Progress;
pub use report::*;

/// The format of the reuse report.
pub const SCHEMA: &str = "prewarm-verify/1";

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
    let mut cargo = Process::cargo().current_dir(workspace_dir);
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

/// Seconds since `t`, rounded to milliseconds.
pub(crate) fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// Runs `prewarm verify`: plan, cook in the work directory, lay the real sources over it,
/// build, and account for every unit.
pub fn verify(opts: &Options) -> Result<Report> {
    let started = Instant::now();
    let progress = opts.progress;
    let mut notes = Vec::new();

    progress.phase(1, STEPS, "planning the recipe");
    let t = Instant::now();
    let crate::plan::Plan {
        recipe,
        layout_root: layout,
        manifest_path: manifest,
        ..
    } = crate::plan::plan(&opts.manifest_path)?;
    let plan_secs = secs(t);

    let (root, _temp) = work_dir(opts.work_dir.as_deref())?;
    let (cook_side, build_side) = isolate_target_dir(opts, &root, &mut notes);

    let t = Instant::now();
    let cooked = cook(&recipe, &root, &cook_side, progress)?;
    let cook_secs = secs(t);

    progress.phase(3, STEPS, "laying the real sources over the skeleton");
    let t = Instant::now();
    let copied = copy_project(&recipe, &layout, &root, Links::Keep)?;
    let overlay_secs = secs(t);

    let t = Instant::now();
    let built = build(&recipe, &cooked, &build_side, progress)?;
    let build_secs = secs(t);
    progress.done();

    let external: Vec<&Artifact> = built.artifacts.iter().filter(|a| !a.local).collect();
    let (totals, workspace) = count(&built.artifacts, &mut notes);
    let drift = drift(&cooked, &build_side, &mut notes)?;
    let log = reasons::parse_log(built.stderr.iter().map(String::as_str));
    let rebuilt = reasons::explain::explain(&external, &log, &built.before, &built.targets, &drift);
    if opts.work_dir.is_some() {
        overlay::remove_overlay(&root, &copied);
    }
    if cooked.artifacts.iter().all(|a| a.local) && totals.total > 0 {
        notes.push("the cook built no external units".into());
    }
    Ok(Report {
        schema: SCHEMA,
        prewarm_version: env!("CARGO_PKG_VERSION"),
        manifest_path: manifest.display().to_string(),
        recipe_digest: recipe.digest.clone(),
        work_dir: root.display().to_string(),
        cook: CommandReport::new(&cook_side, cooked.command.clone(), cooked.artifacts.len()),
        build: CommandReport::new(&build_side, Some(built.command), built.artifacts.len()),
        passed: totals.percent + 1e-9 >= opts.min_reuse,
        external: totals,
        workspace,
        min_reuse: opts.min_reuse,
        seconds: Phases {
            plan: plan_secs,
            cook: cook_secs,
            overlay: overlay_secs,
            build: build_secs,
            total: secs(started),
        },
        drift,
        reasons: reasons::explain::group(&rebuilt),
        rebuilt,
        notes,
    })
}

/// verify's phases, for the progress display.
const STEPS: usize = 4;

/// The work directory (canonical), and the temporary directory that holds it when the user
/// named none (it goes when dropped).
fn work_dir(dir: Option<&Path>) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(dir) = dir {
        crate::fs::create_dir_all(dir)?;
        return Ok((crate::fs::canonicalize(dir)?, None));
    }
    let temp = tempfile::Builder::new()
        .prefix("prewarm-verify-")
        .tempdir()
        .map_err(|e| Error::io("create a temporary directory in", &std::env::temp_dir(), &e))?;
    Ok((crate::fs::canonicalize(temp.path())?, Some(temp)))
}

/// The two sides as asked, except that a shared `CARGO_TARGET_DIR` is replaced by a target
/// directory inside the work directory: earlier builds there would count as reuse.
fn isolate_target_dir(opts: &Options, root: &Path, notes: &mut Vec<String>) -> (Side, Side) {
    let mut cook_side = opts.cook.clone();
    let mut build_side = opts.build.clone();
    if cook_side.flags.target_dir.is_none() && std::env::var_os("CARGO_TARGET_DIR").is_some() {
        let dir = root.join("target").display().to_string();
        cook_side.flags.target_dir = Some(dir.clone());
        if build_side.flags.target_dir.is_none() {
            build_side.flags.target_dir = Some(dir);
        }
        notes.push("CARGO_TARGET_DIR is set: verify cooked and built with --target-dir inside its work directory instead, so earlier builds cannot count as reuse".into());
    }
    (cook_side, build_side)
}

/// Phase 2: cooks the recipe in `root`, showing the units as they appear.
fn cook(
    recipe: &Recipe,
    root: &Path,
    side: &Side,
    progress: Progress,
) -> Result<crate::cook::Report> {
    progress.phase(
        2,
        STEPS,
        &format!("cooking the recipe in `{}`", root.display()),
    );
    let cook_opts = crate::cook::Options {
        dir: root.to_path_buf(),
        recipe_path: None,
        force: false,
        mode: side.mode,
        flags: side.flags.clone(),
        extra: side.extra.clone(),
        quiet: true,
    };
    let expected = recipe
        .files
        .iter()
        .filter(|(p, _)| p.ends_with("Cargo.lock"))
        .map(|(_, text)| text.matches("\nsource = ").count())
        .sum::<usize>();
    progress.watch(2, STEPS, "cooking the recipe", root, expected, || {
        crate::cook::cook(recipe, &cook_opts)
    })
}

/// What the real build did.
struct Built {
    command: String,
    artifacts: Vec<Artifact>,
    stderr: Vec<String>,
    /// Every target directory of the cook and the build.
    targets: Vec<PathBuf>,
    /// The fingerprint directories there before the build.
    before: BTreeSet<PathBuf>,
}

/// Phase 4: the real build over the cooked skeleton.
fn build(
    recipe: &Recipe,
    cooked: &crate::cook::Report,
    side: &Side,
    progress: Progress,
) -> Result<Built> {
    let ws = &cooked.workspace_dir;
    let mut targets = cooked.target_dirs.clone();
    for d in target_dirs_with(ws, &side.flags, &side.env)? {
        if !targets.contains(&d) {
            targets.push(d);
        }
    }
    let before: BTreeSet<PathBuf> = reasons::fingerprint_dirs(&targets).into_iter().collect();
    let expected = cooked.artifacts.len()
        + recipe
            .packages
            .values()
            .map(|p| p.targets.len())
            .sum::<usize>();
    progress.phase(4, STEPS, "building with the real sources");
    let (command, artifacts, stderr) = run_build(ws, side, progress, STEPS, expected)?;
    Ok(Built {
        command,
        artifacts,
        stderr,
        targets,
        before,
    })
}

/// External units reused or rebuilt, and the workspace's own units.
fn count(artifacts: &[Artifact], notes: &mut Vec<String>) -> (Totals, WorkspaceUnits) {
    let total = artifacts.iter().filter(|a| !a.local).count();
    let reused = artifacts.iter().filter(|a| !a.local && a.fresh).count();
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
    (
        Totals {
            total,
            reused,
            rebuilt: total - reused,
            percent,
        },
        WorkspaceUnits {
            compiled: local_compiled,
            fresh: local_fresh,
        },
    )
}

/// The settings in which the build differs from the cook's record.
fn drift(
    cooked: &crate::cook::Report,
    side: &Side,
    notes: &mut Vec<String>,
) -> Result<Vec<record::Difference>> {
    let mut planned_env = record::process_env();
    planned_env.extend(side.env.clone());
    let planned = record::capture(
        &cooked.workspace_dir,
        side.mode,
        &side.flags,
        &side.extra,
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
    Ok(records
        .and_then(|r| record::nearest(&r, &planned, &planned_env).map(|(_, d)| d))
        .unwrap_or_default())
}

impl CommandReport {
    fn new(side: &Side, command: Option<String>, units: usize) -> CommandReport {
        CommandReport {
            mode: side.mode,
            args: side
                .flags
                .to_args()
                .into_iter()
                .chain(side.extra.iter().cloned())
                .collect(),
            env: side.env.clone(),
            command,
            units,
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
    let mut cmd = Process::cargo()
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

//! The build record of `prewarm report`: what the caches did in one build, read from its log
//! ([`log`]) and sccache's statistics ([`sccache`]), one JSON document (schema in
//! docs/build-record-schema.json) that a history keeps one line of per build; [`trend`]
//! renders a history as a chart and a Markdown summary.

pub mod log;
pub mod sccache;
pub mod trend;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `schema` of a record.
pub const SCHEMA: &str = "prewarm-build-record/1";

/// What the caches did in one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`SCHEMA`].
    pub schema: String,
    /// When the record was made (seconds since the Unix epoch).
    pub recorded_at: u64,
    /// What the caller calls this build (a commit, a run number), if anything.
    pub label: Option<String>,
    /// Which program wrote the log (`buildah`, `buildkit`, `cargo-json`, `cargo-text`).
    pub format: String,
    /// How long the build took, in seconds, if known.
    pub build_secs: Option<f64>,
    /// Where `build_secs` comes from: `measured` (given by the caller), `steps` (the sum of
    /// `BuildKit`'s step times), `cargo` (the sum of cargo's `Finished` times).
    pub build_secs_from: Option<String>,
    /// The build's stages in the order they started (a cargo log is one stage, `cargo`).
    pub stages: Vec<Stage>,
    /// cargo's units over the whole build.
    pub units: Units,
    /// sccache's counts, when the log or a stats file had any.
    pub sccache: Option<Sccache>,
    /// The image's size in bytes, when the caller knows it.
    pub image_size: Option<u64>,
}

/// One stage of the build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Its name (`cook`), or its number when it has none.
    pub name: String,
    /// Its steps, `FROM` left out.
    pub steps: u64,
    /// How many of them came from the layer cache.
    pub cached_steps: u64,
    /// buildah: how many cached steps were pulled from a `--cache-from` registry.
    pub remote_steps: u64,
    /// Every step came from the layer cache (and there was one).
    pub cached: bool,
    /// `BuildKit`: the sum of its steps' times.
    pub secs: Option<f64>,
    /// The sum of cargo's `Finished ... in` times in it.
    pub cargo_secs: Option<f64>,
    /// External units (or packages, from text) compiled in it.
    pub external_compiled: u64,
    /// Workspace units (or packages) compiled in it.
    pub workspace_compiled: u64,
}

/// cargo's units over the whole build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Units {
    /// `json`: counted from cargo's JSON messages, one per unit (a build script's compile
    /// and its run count apart); `text`: from `Compiling` lines, one per package.
    pub counted_from: String,
    /// External units (crates.io, git) compiled.
    pub external_compiled: u64,
    /// External units cargo reused; `None` when the output does not show fresh units (text
    /// without `-v`).
    pub external_fresh: Option<u64>,
    /// Workspace (path) units compiled.
    pub workspace_compiled: u64,
    /// Workspace units reused; `None` as for `external_fresh`.
    pub workspace_fresh: Option<u64>,
}

/// sccache's counts and hit rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sccache {
    /// `log` (the `--show-stats` blocks in the build log) or `stats` (`--sccache-stats` files).
    pub from: String,
    /// Compiler calls sccache saw.
    pub requests: u64,
    /// Answered from the cache.
    pub hits: u64,
    /// Cacheable, but not in the cache.
    pub misses: u64,
    /// hits / (hits + misses) in percent; `None` when nothing cacheable compiled.
    pub hit_rate: Option<f64>,
}

/// What a record is made from, besides the log.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The label of the build.
    pub label: Option<String>,
    /// The build's time, measured by the caller.
    pub build_secs: Option<f64>,
    /// The image's size in bytes.
    pub image_size: Option<u64>,
    /// sccache's counts from `--sccache-stats` files (these win over the log's).
    pub sccache: Option<sccache::Counts>,
    /// When the record is made.
    pub recorded_at: u64,
}

/// The hint when a file is no build log.
pub const LOG_HINT: &str = "pass the build's whole output, stdout and stderr (`buildah build ... 2>&1 | tee build.log`, `docker buildx history logs > build.log`, or cargo's own output)";

/// Reads the build log at `path`.
pub fn read_log(path: &Path) -> Result<log::Log> {
    let bytes = crate::fs::read(path).map_err(|e| e.with_hint(LOG_HINT))?;
    let text = String::from_utf8_lossy(&bytes);
    log::parse(&text).ok_or_else(|| {
        Error::input(format!(
            "`{}` is no build log: it has no buildah `STEP` line, no BuildKit `#N [stage]` line and no cargo output",
            path.display()
        ))
        .with_hint(LOG_HINT)
    })
}

/// Reads the sccache statistics at `path` (`sccache --show-stats --stats-format=json`).
pub fn read_sccache_stats(path: &Path) -> Result<sccache::Counts> {
    let hint = "write it with `sccache --show-stats --stats-format=json > FILE` after the build";
    let text = crate::fs::read_to_string(path).map_err(|e| e.with_hint(hint))?;
    sccache::from_json(&text).map_err(|e| {
        Error::input(format!(
            "`{}` is no sccache statistics JSON: {e}",
            path.display()
        ))
        .with_hint(hint)
    })
}

/// The record of the build that `log` shows.
pub fn record(log: &log::Log, inputs: &Inputs) -> Record {
    let stages = stages(log);
    let all_lines: Vec<String> = log
        .steps
        .iter()
        .flat_map(|s| s.output.iter().cloned())
        .collect();
    let cargo = log::cargo(&all_lines);
    let units = Units {
        counted_from: if cargo.json { "json" } else { "text" }.to_string(),
        external_compiled: cargo.external_compiled,
        external_fresh: cargo.saw_fresh.then_some(cargo.external_fresh),
        workspace_compiled: cargo.workspace_compiled,
        workspace_fresh: cargo.saw_fresh.then_some(cargo.workspace_fresh),
    };
    let sccache = match inputs.sccache {
        Some(c) => Some(("stats", c)),
        None => sccache::from_text(all_lines.iter().map(String::as_str)).map(|c| ("log", c)),
    }
    .map(|(from, c)| Sccache {
        from: from.to_string(),
        requests: c.requests,
        hits: c.hits,
        misses: c.misses,
        hit_rate: c.rate().map(round),
    });
    let (build_secs, from) = build_time(log.format, &stages, inputs.build_secs);
    Record {
        schema: SCHEMA.to_string(),
        recorded_at: inputs.recorded_at,
        label: inputs.label.clone(),
        format: log.format.name().to_string(),
        build_secs: build_secs.map(round),
        build_secs_from: from.map(str::to_string),
        stages,
        units,
        sccache,
        image_size: inputs.image_size,
    }
}

/// The stages of `log`, in the order they started, with their steps and cargo's output in
/// them counted.
fn stages(log: &log::Log) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for step in &log.steps {
        let at = stages.iter().position(|s| s.name == step.stage);
        let at = at.unwrap_or_else(|| {
            stages.push(Stage {
                name: step.stage.clone(),
                steps: 0,
                cached_steps: 0,
                remote_steps: 0,
                cached: false,
                secs: None,
                cargo_secs: None,
                external_compiled: 0,
                workspace_compiled: 0,
            });
            stages.len() - 1
        });
        let stage = &mut stages[at];
        if !step.is_from() {
            stage.steps += 1;
            stage.cached_steps += u64::from(step.cached);
            stage.remote_steps += u64::from(step.remote);
        }
        if let Some(s) = step.secs {
            stage.secs = Some(stage.secs.unwrap_or(0.0) + s);
        }
        let cargo = log::cargo(&step.output);
        if let Some(s) = cargo.secs {
            stage.cargo_secs = Some(stage.cargo_secs.unwrap_or(0.0) + s);
        }
        stage.external_compiled += cargo.external_compiled;
        stage.workspace_compiled += cargo.workspace_compiled;
    }
    for stage in &mut stages {
        stage.cached = stage.steps > 0 && stage.cached_steps == stage.steps;
        stage.secs = stage.secs.map(round);
        stage.cargo_secs = stage.cargo_secs.map(round);
    }
    stages
}

/// The build's time and where it comes from: the caller's measurement, else `BuildKit`'s
/// step times, else cargo's.
fn build_time(
    format: log::Format,
    stages: &[Stage],
    measured: Option<f64>,
) -> (Option<f64>, Option<&'static str>) {
    if measured.is_some() {
        return (measured, Some("measured"));
    }
    let sum = |f: fn(&Stage) -> Option<f64>| stages.iter().filter_map(f).reduce(|a, b| a + b);
    if format == log::Format::Buildkit {
        if let Some(s) = sum(|s| s.secs) {
            return (Some(s), Some("steps"));
        }
    }
    match sum(|s| s.cargo_secs) {
        Some(s) => (Some(s), Some("cargo")),
        None => (None, None),
    }
}

/// Two decimals, so that records read well and compare exactly.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

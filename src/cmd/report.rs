//! `prewarm report`: what the caches did in a build, and the trend over a history of builds.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};
use crate::report::{self, trend};

/// Report what the caches did in a build, and the trend over the last builds
///
/// Reads a build log (buildah's or Podman's, Docker's `--progress=plain` or `docker buildx
/// history logs`, or cargo's own JSON or text output) and sccache's statistics (the
/// `--show-stats` blocks in the log, or `--sccache-stats` files), and prints one JSON record
/// of the build (docs/build-record-schema.json): each stage's time and cached steps, the
/// external units fresh and compiled, the workspace units compiled, sccache's requests, hits
/// and hit rate, and the image's size when given. `--history` appends the record to a JSON
/// Lines file; with `--chart` and `--summary` the last `--last` builds of the history are
/// drawn as an SVG chart (build time, sccache hit rate) and summed up in Markdown for
/// `$GITHUB_STEP_SUMMARY`, with a warning when the hit rate is under `--min-hit-rate` or the
/// newest build took more than 1.5x the median.
///
/// Example (after `docker buildx history logs > build.log`):
///
///     prewarm report --log build.log --history history.jsonl --chart trend.svg --summary summary.md
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// The build's whole log (stdout and stderr); without it, only the history is rendered.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// sccache's statistics (`sccache --show-stats --stats-format=json`), summed when given
    /// more than once; they replace the statistics the log shows.
    #[arg(long, value_name = "FILE")]
    pub sccache_stats: Vec<PathBuf>,
    /// What to call this build in the history (a commit, a run number).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// The build's time in seconds, as the caller measured it [default: from the log].
    #[arg(long, value_name = "SECS", value_parser = non_negative)]
    pub build_secs: Option<f64>,
    /// The image's size in bytes.
    #[arg(long, value_name = "BYTES")]
    pub image_size: Option<u64>,
    /// The history (JSON Lines, one record per build): the record is appended to it, and the
    /// chart and the summary are drawn from it.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Write the trend of the history as an SVG chart to FILE.
    #[arg(long, value_name = "FILE", requires = "history")]
    pub chart: Option<PathBuf>,
    /// Write the Markdown summary of the history to FILE.
    #[arg(long, value_name = "FILE", requires = "history")]
    pub summary: Option<PathBuf>,
    /// How many of the newest builds the chart and the summary show.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub last: u32,
    /// Warn when the newest build's sccache hit rate is under this, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0, value_parser = percent)]
    pub min_hit_rate: f64,
}

/// A number of seconds: finite and not negative.
fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not a number of seconds (0 or more)")),
    }
}

/// A percentage, 0 to 100.
fn percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=100.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a percentage (0 to 100)")),
    }
}

/// Runs `prewarm report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    if args.log.is_none() && args.chart.is_none() && args.summary.is_none() {
        return Err(Error::input("nothing to report: no `--log`, `--chart` or `--summary`")
            .with_hint("`prewarm report --log build.log` prints the build's record; add `--history FILE --summary FILE` for the trend"));
    }
    if args.log.is_none() && !args.sccache_stats.is_empty() {
        return Err(Error::input(
            "`--sccache-stats` belongs to a build: give its `--log` too",
        ));
    }
    if let Some(path) = &args.log {
        let log = report::read_log(path)?;
        let mut sccache: Option<report::sccache::Counts> = None;
        for p in &args.sccache_stats {
            sccache
                .get_or_insert_with(Default::default)
                .add(report::read_sccache_stats(p)?);
        }
        let inputs = report::Inputs {
            label: args.label.clone(),
            build_secs: args.build_secs,
            image_size: args.image_size,
            sccache,
            recorded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let record = report::record(&log, &inputs);
        if let Some(history) = &args.history {
            trend::append(history, &record)?;
        }
        crate::output::json(&record)?;
    }
    if args.chart.is_none() && args.summary.is_none() {
        return Ok(());
    }
    let Some(history) = &args.history else {
        return Ok(());
    };
    let records = trend::read_history(history)?;
    let last = usize::try_from(args.last).unwrap_or(usize::MAX);
    let window = &records[records.len().saturating_sub(last)..];
    if let Some(path) = &args.chart {
        crate::fs::write(path, trend::chart(window)?)?;
    }
    if let Some(path) = &args.summary {
        crate::fs::write(path, trend::summary(window, args.min_hit_rate))?;
    }
    for warning in trend::warnings(window, args.min_hit_rate) {
        crate::output::status(&format!("warning: {warning}"));
    }
    Ok(())
}

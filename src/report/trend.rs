//! A history of build records (JSON Lines, one [`Record`] per build, oldest first) rendered
//! as a trend: an SVG chart of the build time and the sccache hit rate over the last builds,
//! and a Markdown summary for `$GITHUB_STEP_SUMMARY` with its warnings.

use std::fmt::Write as _;
use std::path::Path;

use super::Record;
use crate::error::{Error, ErrorKind, Result};

/// A build slower than this many times the history's median is worth a warning.
pub const SLOW_FACTOR: f64 = 1.5;

/// Reads the history at `path`; an empty file is an empty history.
pub fn read_history(path: &Path) -> Result<Vec<Record>> {
    let text = crate::fs::read_to_string(path)?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line).map_err(|e| {
            Error::input(format!(
                "line {} of `{}` is no build record: {e}",
                i + 1,
                path.display()
            ))
            .with_hint("a history holds the lines `prewarm report --history FILE` appended, one JSON record each")
        })?;
        if record.schema != super::SCHEMA {
            return Err(Error::input(format!(
                "line {} of `{}` is a record of schema `{}`; this prewarm reads `{}`",
                i + 1,
                path.display(),
                record.schema,
                super::SCHEMA
            ))
            .with_hint(
                "start a new history file, or render this one with the prewarm that wrote it",
            ));
        }
        records.push(record);
    }
    Ok(records)
}

/// Appends `record` to the history at `path` as one line (the file is made if need be).
pub fn append(path: &Path, record: &Record) -> Result<()> {
    use std::io::Write as _;
    let line = serde_json::to_string(record)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot serialise the record: {e}")))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("open", path, &e))?;
    file.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| Error::io("append to", path, &e))
}

/// The median of `values` (none for none).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(f64::midpoint(v[n / 2 - 1], v[n / 2])),
    }
}

/// What is wrong with the newest build of `window` (the last builds, oldest first).
pub fn warnings(window: &[Record], min_hit_rate: f64) -> Vec<String> {
    let mut out = Vec::new();
    let Some(last) = window.last() else {
        return out;
    };
    let name = build_name(window.len(), last);
    if let Some(rate) = last.sccache.as_ref().and_then(|s| s.hit_rate) {
        if rate < min_hit_rate {
            out.push(format!(
                "{name}: sccache hit rate {rate:.1}% is under {min_hit_rate}% (`--min-hit-rate`)"
            ));
        }
    }
    let times: Vec<f64> = window.iter().filter_map(|r| r.build_secs).collect();
    if let (Some(secs), Some(median)) = (last.build_secs, median(&times)) {
        if secs > SLOW_FACTOR * median {
            out.push(format!(
                "{name}: took {secs:.1} s, more than {SLOW_FACTOR}x the median ({median:.1} s) of the last {} builds",
                times.len()
            ));
        }
    }
    out
}

/// `build 12 (abc123)`: its position in the window, and its label.
fn build_name(n: usize, r: &Record) -> String {
    match &r.label {
        Some(l) => format!("build {n} ({l})"),
        None => format!("build {n}"),
    }
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.1}{unit}"))
}

/// The Markdown summary of `window` (the last builds, oldest first).
pub fn summary(window: &[Record], min_hit_rate: f64) -> String {
    let mut w = String::from("## prewarm report\n\n");
    let Some(last) = window.last() else {
        w.push_str("No builds in the history yet.\n");
        return w;
    };
    for warning in warnings(window, min_hit_rate) {
        let _ = writeln!(w, "> [!WARNING]\n> {warning}\n");
    }
    let cached: Vec<&str> = last
        .stages
        .iter()
        .filter(|s| s.cached)
        .map(|s| s.name.as_str())
        .collect();
    let _ = writeln!(
        w,
        "This build: {} ({}), stages from the layer cache: {}; external units compiled: {}, workspace units compiled: {}; sccache hit rate: {}.\n",
        opt(last.build_secs, " s"),
        last.build_secs_from.as_deref().unwrap_or("time unknown"),
        if cached.is_empty() { "none".to_string() } else { cached.join(", ") },
        last.units.external_compiled,
        last.units.workspace_compiled,
        last.sccache.as_ref().map_or("no sccache statistics".to_string(), |s| opt(s.hit_rate, "%")),
    );
    w.push_str("| stage | steps | from the cache | time (s) | cargo (s) | external compiled | workspace compiled |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for s in &last.stages {
        let _ = writeln!(
            w,
            "| {} | {} | {}{} | {} | {} | {} | {} |",
            s.name,
            s.steps,
            s.cached_steps,
            if s.remote_steps > 0 {
                format!(" ({} remote)", s.remote_steps)
            } else {
                String::new()
            },
            opt(s.secs, ""),
            opt(s.cargo_secs, ""),
            s.external_compiled,
            s.workspace_compiled
        );
    }
    let _ = writeln!(w, "\n### The last {} builds\n", window.len());
    w.push_str("| build | label | time (s) | cached stages | external compiled | workspace compiled | sccache hit rate |\n|---:|---|---:|---:|---:|---:|---:|\n");
    for (i, r) in window.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {}/{} | {} | {} | {} |",
            i + 1,
            r.label.as_deref().unwrap_or(""),
            opt(r.build_secs, ""),
            r.stages.iter().filter(|s| s.cached).count(),
            r.stages.len(),
            r.units.external_compiled,
            r.units.workspace_compiled,
            opt(r.sccache.as_ref().and_then(|s| s.hit_rate), "%"),
        );
    }
    let times: Vec<f64> = window.iter().filter_map(|r| r.build_secs).collect();
    let _ = writeln!(
        w,
        "\nMedian build time: {}. Warnings fire when the newest build's sccache hit rate is under {min_hit_rate}% or its time is over {SLOW_FACTOR}x the median.",
        opt(median(&times), " s")
    );
    w
}

/// The colours of the two series, so that a reader (and the tests) can tell them apart.
pub const TIME_COLOR: (u8, u8, u8) = (31, 119, 180);
/// The hit rate's colour.
pub const RATE_COLOR: (u8, u8, u8) = (214, 39, 40);

/// The SVG chart of `window`: the build time above, the sccache hit rate below, a marked
/// point per build that has the value, lines between consecutive ones.
pub fn chart(window: &[Record]) -> Result<String> {
    use plotters::prelude::*;
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::Io, format!("cannot draw the trend chart: {e}"))
    };
    let n = window.len().max(1);
    let number = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    // A line joins consecutive builds only: a build without the value breaks it.
    let runs = |f: &dyn Fn(&Record) -> Option<f64>| -> Vec<Vec<(u32, f64)>> {
        let mut runs: Vec<Vec<(u32, f64)>> = vec![Vec::new()];
        for (i, r) in window.iter().enumerate() {
            match f(r) {
                Some(v) => runs
                    .last_mut()
                    .into_iter()
                    .for_each(|run| run.push((number(i + 1), v))),
                None => runs.push(Vec::new()),
            }
        }
        runs.retain(|run| !run.is_empty());
        runs
    };
    let times = runs(&|r| r.build_secs);
    let rates = runs(&|r| r.sccache.as_ref().and_then(|s| s.hit_rate));
    let top = times.iter().flatten().map(|p| p.1).fold(1.0_f64, f64::max) * 1.1;
    let xs = 0..number(n + 1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let (upper, lower) = root.split_vertically(240);
        let time_color = RGBColor(TIME_COLOR.0, TIME_COLOR.1, TIME_COLOR.2);
        let rate_color = RGBColor(RATE_COLOR.0, RATE_COLOR.1, RATE_COLOR.2);
        let panels = [
            (&upper, "build time (s)", top, &times, time_color),
            (&lower, "sccache hit rate (%)", 100.0, &rates, rate_color),
        ];
        for (area, caption, top, series, color) in panels {
            let mut c = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(24)
                .y_label_area_size(48)
                .build_cartesian_2d(xs.clone(), 0.0..top)
                .map_err(|e| fail(&e))?;
            c.configure_mesh()
                .x_desc("build")
                .disable_x_mesh()
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(|e| fail(&e))?;
            for run in series {
                c.draw_series(run.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(|e| fail(&e))?;
                c.draw_series(LineSeries::new(run.clone(), color.stroke_width(2)))
                    .map_err(|e| fail(&e))?;
            }
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}

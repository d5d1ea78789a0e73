//! `prewarm report` on real build logs (tests/fixtures/logs, whose README says which command
//! wrote each): the JSON record (snapshots, docs/build-record-schema.json), `--history`
//! appending, the Markdown summary and its warnings, the SVG chart parsed as XML, and bad
//! input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn log(name: &str) -> PathBuf {
    common::repo().join("tests/fixtures/logs").join(name)
}

fn report(dir: &Path, args: &[&str]) -> Output {
    common::prewarm_command()
        .current_dir(dir)
        .args(["report"])
        .args(args)
        .output()
        .unwrap()
}

/// Runs `prewarm report` expecting success; returns stdout.
fn report_ok(dir: &Path, args: &[&str]) -> String {
    let out = report(dir, args);
    assert!(
        out.status.success(),
        "prewarm report {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The record of `log_name`, checked against the schema, with its time set to 0 once it is
/// checked to be about now (so that snapshots compare).
fn record(dir: &Path, log_name: &str, extra: &[&str]) -> serde_json::Value {
    let path = log(log_name);
    let mut args = vec!["--log", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut json: serde_json::Value = serde_json::from_str(&report_ok(dir, &args)).unwrap();
    common::assert_schema("build-record-schema.json", &json);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = json["recorded_at"].as_u64().unwrap();
    assert!(
        at.abs_diff(now) < 600,
        "recorded_at {at} is not now ({now})"
    );
    json["recorded_at"] = 0.into();
    json
}

#[test]
fn buildah_runner_2_of_a_registry_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let json = record(
        tmp.path(),
        "buildah-registry-runner2.log",
        &["--label", "runner-2"],
    );
    // What tests/fleet.rs asserts of this build: the cook stage came from the registry, no
    // external crate compiled, only the workspace's.
    let cook = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "cook")
        .unwrap();
    assert_eq!(cook["cached"], true);
    assert_eq!(cook["remote_steps"], 2);
    assert_eq!(json["units"]["external_compiled"], 0);
    assert_eq!(json["units"]["workspace_compiled"], 3);
    assert!(json["sccache"].is_null());
    insta::assert_json_snapshot!("record_buildah_registry_runner2", json);
}

#[test]
fn buildah_sccache_statistics_in_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let one = record(tmp.path(), "buildah-sccache-runner1.log", &[]);
    let two = record(tmp.path(), "buildah-sccache-runner2.log", &[]);
    // Runner 1 found an empty Redis, runner 2 a warm one (the logs' own `Cache hits` lines:
    // 56 in the cook step, none in the tiers and the build step).
    assert_eq!(one["sccache"]["hits"], 0);
    assert_eq!(two["sccache"]["hits"], 56);
    assert_eq!(two["sccache"]["misses"], 1);
    assert_eq!(two["sccache"]["hit_rate"], 98.25);
    assert_eq!(two["sccache"]["from"], "log");
    insta::assert_json_snapshot!("record_buildah_sccache_runner2", two);
}

#[test]
fn buildkit_plain_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let cold = record(tmp.path(), "buildkit-cold.log", &["--image-size", "123456"]);
    assert_eq!(cold["format"], "buildkit");
    assert_eq!(cold["build_secs_from"], "steps");
    assert_eq!(cold["image_size"], 123_456);
    let edit = record(tmp.path(), "buildkit-source-edit.log", &[]);
    let stage = |j: &serde_json::Value, name: &str| {
        j["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no stage {name} in {j:#}"))
            .clone()
    };
    assert_eq!(stage(&cold, "cook")["cached"], false);
    assert!(stage(&cold, "cook")["external_compiled"].as_u64().unwrap() > 0);
    assert_eq!(stage(&edit, "cook")["cached"], true);
    assert_eq!(edit["units"]["external_compiled"], 0);
    assert!(edit["units"]["workspace_compiled"].as_u64().unwrap() > 0);
    insta::assert_json_snapshot!("record_buildkit_source_edit", edit);
}

#[test]
fn cargo_json_and_text() {
    let tmp = tempfile::tempdir().unwrap();
    let edit = record(
        tmp.path(),
        "cargo-json-edit.jsonl",
        &["--build-secs", "1.5"],
    );
    assert_eq!(edit["format"], "cargo-json");
    assert_eq!(edit["build_secs"], 1.5);
    assert_eq!(edit["build_secs_from"], "measured");
    insta::assert_json_snapshot!("record_cargo_json_edit", edit);
    let text = record(tmp.path(), "cargo-text-cold.txt", &[]);
    assert_eq!(text["format"], "cargo-text");
    assert_eq!(text["units"]["counted_from"], "text");
    assert_eq!(text["units"]["external_compiled"], 3);
    assert_eq!(text["units"]["workspace_compiled"], 3);
    assert!(text["units"]["external_fresh"].is_null());
    assert_eq!(text["build_secs"], 5.29);
}

#[test]
fn sccache_stats_files_replace_the_logs_and_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let a = log("sccache-stats-cold-then-warm.json");
    let b = log("sccache-stats-warm.json");
    let json = record(
        tmp.path(),
        "buildah-sccache-runner2.log",
        &[
            "--sccache-stats",
            a.to_str().unwrap(),
            "--sccache-stats",
            b.to_str().unwrap(),
        ],
    );
    // 16 + 7 requests, 1 + 1 hits, 1 + 0 misses in the two files.
    assert_eq!(
        json["sccache"],
        serde_json::json!({"from": "stats", "requests": 23, "hits": 2, "misses": 1, "hit_rate": 66.67})
    );
}

#[test]
fn the_schema_rejects_a_broken_record() {
    let tmp = tempfile::tempdir().unwrap();
    let mut json = record(tmp.path(), "buildah-registry-runner2.log", &[]);
    json["units"]["external_compiled"] = (-1).into();
    assert!(!common::schema_errors("build-record-schema.json", &json).is_empty());
    let mut json = record(tmp.path(), "buildah-registry-runner2.log", &[]);
    json["stages"][0]["surprise"] = true.into();
    assert!(!common::schema_errors("build-record-schema.json", &json).is_empty());
}

#[test]
fn history_appends_one_line_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let history = tmp.path().join("history.jsonl");
    let h = history.to_str().unwrap();
    for (name, label) in [
        ("buildah-sccache-runner1.log", "one"),
        ("buildah-sccache-runner2.log", "two"),
    ] {
        record(tmp.path(), name, &["--history", h, "--label", label]);
    }
    let text = std::fs::read_to_string(&history).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["label"], "one");
    assert_eq!(lines[1]["label"], "two");
    for line in &lines {
        common::assert_schema("build-record-schema.json", line);
    }
}

/// A history of `times` (seconds) and hit rates made from the real runner-2 record.
fn history(dir: &Path, builds: &[(f64, f64)]) -> PathBuf {
    let base = record(dir, "buildah-sccache-runner2.log", &[]);
    let mut text = String::new();
    for (i, (secs, rate)) in builds.iter().enumerate() {
        let mut r = base.clone();
        r["label"] = format!("b{}", i + 1).into();
        r["build_secs"] = (*secs).into();
        r["build_secs_from"] = "measured".into();
        r["sccache"]["hit_rate"] = (*rate).into();
        text.push_str(&serde_json::to_string(&r).unwrap());
        text.push('\n');
    }
    let path = dir.join("history.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn summary(dir: &Path, history: &Path, extra: &[&str]) -> (String, String) {
    let out_path = dir.join("summary.md");
    let mut args = vec![
        "--history",
        history.to_str().unwrap(),
        "--summary",
        out_path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = report(dir, &args);
    assert!(out.status.success(), "{out:?}");
    (
        std::fs::read_to_string(out_path).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn summary_of_a_good_history_has_no_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let h = history(
        tmp.path(),
        &[(20.0, 90.0), (22.0, 95.0), (21.0, 97.5), (29.0, 80.0)],
    );
    let (md, stderr) = summary(tmp.path(), &h, &[]);
    assert!(!md.contains("WARNING"), "{md}");
    assert!(!stderr.contains("warning"), "{stderr}");
    insta::assert_snapshot!("summary_good", md);
}

#[test]
fn summary_warns_of_a_low_hit_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let h = history(tmp.path(), &[(20.0, 90.0), (21.0, 79.9)]);
    let (md, stderr) = summary(tmp.path(), &h, &[]);
    assert!(
        md.contains("> build 2 (b2): sccache hit rate 79.9% is under 80%"),
        "{md}"
    );
    assert!(!md.contains("median ("), "{md}");
    assert!(
        stderr.contains("warning: build 2 (b2): sccache hit rate"),
        "{stderr}"
    );
    // The threshold is an option.
    let (md, _) = summary(tmp.path(), &h, &["--min-hit-rate", "70"]);
    assert!(!md.contains("WARNING"), "{md}");
    insta::assert_snapshot!("summary_low_hit_rate", summary(tmp.path(), &h, &[]).0);
}

#[test]
fn summary_warns_of_a_slow_build() {
    let tmp = tempfile::tempdir().unwrap();
    // Median of the five: 21 s; 1.5x is 31.5 s.
    let slow = history(
        tmp.path(),
        &[
            (20.0, 99.0),
            (21.0, 99.0),
            (22.0, 99.0),
            (19.0, 99.0),
            (31.6, 99.0),
        ],
    );
    let (md, _) = summary(tmp.path(), &slow, &[]);
    assert!(
        md.contains(
            "build 5 (b5): took 31.6 s, more than 1.5x the median (21.0 s) of the last 5 builds"
        ),
        "{md}"
    );
    assert!(!md.contains("hit rate 99"), "{md}");
    let fine = history(
        tmp.path(),
        &[
            (20.0, 99.0),
            (21.0, 99.0),
            (22.0, 99.0),
            (19.0, 99.0),
            (31.4, 99.0),
        ],
    );
    assert!(!summary(tmp.path(), &fine, &[]).0.contains("WARNING"));
    // `--last` narrows the window the median is taken over: of the last two, 25.3 s.
    let (md, _) = summary(tmp.path(), &slow, &["--last", "2"]);
    assert!(!md.contains("WARNING"), "{md}");
    assert!(md.contains("### The last 2 builds"), "{md}");
}

/// The series of `color` in the SVG `text`: its polylines' points, and how many markers.
fn series(text: &str, color: (u8, u8, u8)) -> (Vec<Vec<(f64, f64)>>, usize) {
    let doc = roxmltree::Document::parse(text).expect("the chart is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let hex = format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2);
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(hex.as_str()))
        .map(|n| {
            n.attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect();
    let markers = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("fill") == Some(hex.as_str()))
        .count();
    (lines, markers)
}

fn chart(dir: &Path, history: &Path, extra: &[&str]) -> String {
    let svg = dir.join("trend.svg");
    let mut args = vec![
        "--history",
        history.to_str().unwrap(),
        "--chart",
        svg.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    report_ok(dir, &args);
    std::fs::read_to_string(&svg).unwrap()
}

#[test]
fn chart_is_svg_with_both_series() {
    use prewarm::report::trend::{RATE_COLOR, TIME_COLOR};
    let tmp = tempfile::tempdir().unwrap();
    let h = history(
        tmp.path(),
        &[
            (20.0, 90.0),
            (22.0, 95.0),
            (21.0, 97.5),
            (29.0, 80.0),
            (25.0, 85.0),
        ],
    );
    let text = chart(tmp.path(), &h, &["--last", "4"]);
    let (times, time_markers) = series(&text, TIME_COLOR);
    let (rates, rate_markers) = series(&text, RATE_COLOR);
    assert_eq!(times.len(), 1, "one line of build times: {text}");
    assert_eq!(rates.len(), 1, "one line of hit rates: {text}");
    let (times, rates) = (&times[0], &rates[0]);
    assert_eq!(
        (times.len(), time_markers),
        (4, 4),
        "the last 4 builds' times"
    );
    assert_eq!(
        (rates.len(), rate_markers),
        (4, 4),
        "the last 4 builds' hit rates"
    );
    // The last 4: 22, 21, 29, 25 s and 95, 97.5, 80, 85%. SVG's y grows downwards.
    assert!(
        times[1].1 > times[0].1 && times[2].1 < times[3].1,
        "{times:?}"
    );
    assert!(times[2].1 < times[0].1, "{times:?}");
    assert!(
        rates[1].1 < rates[0].1 && rates[2].1 > rates[3].1,
        "{rates:?}"
    );
    assert!(times.windows(2).all(|w| w[0].0 < w[1].0), "{times:?}");
    // The hit rate is drawn below the build time.
    assert!(rates.iter().all(|r| times.iter().all(|t| r.1 > t.1)));
}

#[test]
fn chart_breaks_the_line_where_a_build_has_no_value() {
    use prewarm::report::trend::{RATE_COLOR, TIME_COLOR};
    let tmp = tempfile::tempdir().unwrap();
    // Three real records: runner 1 and 2 of the sccache test, and the registry runner with no
    // sccache in between.
    let history = tmp.path().join("history.jsonl");
    let h = history.to_str().unwrap();
    for name in [
        "buildah-sccache-runner1.log",
        "buildah-registry-runner2.log",
        "buildah-sccache-runner2.log",
    ] {
        record(tmp.path(), name, &["--history", h]);
    }
    let text = chart(tmp.path(), &history, &[]);
    let (times, markers) = series(&text, TIME_COLOR);
    assert_eq!(times.iter().map(Vec::len).collect::<Vec<_>>(), [3]);
    assert_eq!(markers, 3);
    let (rates, markers) = series(&text, RATE_COLOR);
    assert_eq!(
        rates.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1],
        "{text}"
    );
    assert_eq!(markers, 2);
}

fn failure(dir: &Path, args: &[&str]) -> String {
    let out = report(dir, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    stderr
}

#[test]
fn bad_input_is_an_error_that_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.log");
    let err = failure(tmp.path(), &["--log", missing.to_str().unwrap()]);
    assert!(err.contains(&format!("`{}`", missing.display())), "{err}");
    assert!(err.contains("(hint: "), "{err}");

    // A file that is no log at all: the repository's own Cargo.toml.
    let toml = common::repo().join("Cargo.toml");
    let err = failure(tmp.path(), &["--log", toml.to_str().unwrap()]);
    assert!(
        err.contains(&format!("`{}` is no build log", toml.display())),
        "{err}"
    );
    assert!(err.contains("(hint: "), "{err}");

    // A log is fine, the stats file is not sccache's.
    let good = log("buildah-registry-runner2.log");
    let err = failure(
        tmp.path(),
        &[
            "--log",
            good.to_str().unwrap(),
            "--sccache-stats",
            toml.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains(&format!(
            "`{}` is no sccache statistics JSON",
            toml.display()
        )),
        "{err}"
    );

    // A history line that is no record.
    let bad = tmp.path().join("history.jsonl");
    std::fs::write(&bad, "{\"schema\": \"something else\"}\n").unwrap();
    let md = tmp.path().join("s.md");
    let err = failure(
        tmp.path(),
        &[
            "--history",
            bad.to_str().unwrap(),
            "--summary",
            md.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains(&format!("line 1 of `{}` is no build record", bad.display())),
        "{err}"
    );

    // A record of another schema version.
    let mut newer = record(tmp.path(), "buildah-registry-runner2.log", &[]);
    newer["schema"] = "prewarm-build-record/2".into();
    std::fs::write(&bad, format!("{newer}\n")).unwrap();
    let err = failure(
        tmp.path(),
        &[
            "--history",
            bad.to_str().unwrap(),
            "--summary",
            md.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("is a record of schema `prewarm-build-record/2`"),
        "{err}"
    );

    // Nothing asked for.
    let err = failure(tmp.path(), &[]);
    assert!(err.contains("nothing to report"), "{err}");
}

/// The record agrees with the container tests' own reading of the same logs
/// (tests/common/engine.rs, written for the assertions of tests/containers.rs and
/// tests/fleet.rs): the cook step's cache and the `Compiling` lines, external and local.
#[test]
fn records_agree_with_the_harness_parsers() {
    use common::engine::{parse_buildah, parse_buildkit};
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "buildah-registry-runner2.log",
        "buildah-sccache-runner1.log",
        "buildah-sccache-runner2.log",
        "buildkit-cold.log",
        "buildkit-source-edit.log",
    ] {
        let text = std::fs::read_to_string(log(name)).unwrap();
        let steps = if name.starts_with("buildkit") {
            parse_buildkit(&text)
        } else {
            parse_buildah(&text)
        };
        let (mut external, mut local) = (0, 0);
        for line in steps.iter().flat_map(|s| &s.output) {
            if let Some(rest) = line.trim_start().strip_prefix("Compiling ") {
                if rest.contains(" (") {
                    local += 1;
                } else {
                    external += 1;
                }
            }
        }
        let cook = steps
            .iter()
            .find(|s| s.instruction.starts_with("RUN") && s.instruction.contains("prewarm cook"))
            .unwrap();
        let json = record(tmp.path(), name, &[]);
        assert_eq!(json["units"]["external_compiled"], external, "{name}");
        assert_eq!(json["units"]["workspace_compiled"], local, "{name}");
        let cook_stage = json["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "cook")
            .unwrap();
        assert_eq!(cook_stage["cached"], cook.cached, "{name}");
        assert_eq!(
            cook_stage["remote_steps"].as_u64().unwrap() > 0,
            cook.remote,
            "{name}"
        );
    }
}

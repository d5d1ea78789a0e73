//! The reuse report: its types (serialised as `prewarm-verify/1`) and its human rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::flags::Mode;
use crate::reasons::{Category, FieldDiff};
use crate::record::Difference;

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

/// How many unit names a group lists before "and N more".
const LIST: usize = 6;

/// The human report: totals first, then rebuilt units grouped by reason; one screen for a
/// large project, raw fingerprint lines only with `verbose`.
pub fn render_human(r: &Report, verbose: bool) -> String {
    let mut s = String::new();
    render_totals(&mut s, r);
    render_drift(&mut s, r);
    render_reasons(&mut s, r);
    if verbose {
        render_details(&mut s, r);
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// The verdict, the unit counts, the time of each phase and both cargo commands.
fn render_totals(s: &mut String, r: &Report) {
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
}

/// The settings that cost reuse, at most two screens' worth of lines.
fn render_drift(s: &mut String, r: &Report) {
    let costly: Vec<&Difference> = r.drift.iter().filter(|d| !d.harmless).collect();
    if costly.is_empty() {
        return;
    }
    let _ = writeln!(s, "settings that differ between cook and build:");
    for d in costly.iter().take(LIST * 2) {
        let _ = writeln!(s, "  {d}");
    }
    if costly.len() > LIST * 2 {
        let _ = writeln!(s, "  ... and {} more", costly.len() - LIST * 2);
    }
}

/// Each reason group: its units (the first few), one example's detail and the hint.
fn render_reasons(s: &mut String, r: &Report) {
    if r.reasons.is_empty() {
        return;
    }
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

/// `--verbose`: every rebuilt unit with cargo's raw lines and fingerprint fields, and the
/// differences that do not cost reuse.
fn render_details(s: &mut String, r: &Report) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit `i` of a synthetic report: every third one rebuilt for an env var, the rest for
    /// RUSTFLAGS.
    fn synthetic_unit(i: usize) -> Rebuilt {
        let (reason, detail) = if i % 3 == 0 {
            (
                Category::Env,
                "EnvVarChanged { name: \"CC\", old_value: None, new_value: Some(\"clang\") }",
            )
        } else {
            (
                Category::Rustflags,
                "rustflags: cook [] / build [\"-C\",\"target-cpu=native\"]",
            )
        };
        Rebuilt {
            package: format!("crate-{i:03}"),
            version: "1.0.0".into(),
            target: format!("crate_{i:03}"),
            kind: vec!["lib".into()],
            reason,
            reasons: vec![reason],
            detail: detail.into(),
            via: None,
            fields: Vec::new(),
            log: vec![format!(
                "fingerprint dirty for crate-{i:03} v1.0.0/Build/TargetInner {{ .. }}"
            )],
        }
    }

    fn synthetic_report(rebuilt: usize) -> Report {
        let units: Vec<Rebuilt> = (0..rebuilt).map(synthetic_unit).collect();
        let total = 300;
        let mut r = Report {
            schema: crate::verify::SCHEMA,
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
        r.reasons = crate::reasons::explain::group(&r.rebuilt);
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
        let groups = crate::reasons::explain::group(&synthetic_report(30).rebuilt);
        let got: Vec<(Category, usize)> = groups.iter().map(|g| (g.reason, g.count)).collect();
        assert_eq!(got, [(Category::Rustflags, 20), (Category::Env, 10)]);
        assert_eq!(groups[1].units[0], "crate-000 1.0.0");
    }
}

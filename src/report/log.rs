//! Build logs as the engines print them, read into steps: buildah's and Podman's (`[i/n] STEP
//! j/m: INSTRUCTION`, `--> Using cache ...`), `BuildKit`'s plain progress (`#N [stage i/n]
//! INSTRUCTION`, `#N 1.23 output`, `#N CACHED`, `#N DONE 4.5s`; `docker buildx history logs`
//! prints the same), and cargo's own output, JSON (`--message-format json`) or text.

/// Which program wrote a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// buildah or Podman (`buildah build`, `podman build`).
    Buildah,
    /// `BuildKit`'s `--progress=plain` (or `docker buildx history logs`).
    Buildkit,
    /// cargo's `--message-format json` messages (a stderr in between is fine).
    CargoJson,
    /// cargo's text output (`Compiling ...`, `Finished ...`).
    CargoText,
}

impl Format {
    /// The name in a record (`buildah`, `buildkit`, `cargo-json`, `cargo-text`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Buildah => "buildah",
            Format::Buildkit => "buildkit",
            Format::CargoJson => "cargo-json",
            Format::CargoText => "cargo-text",
        }
    }
}

/// One step of a build.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// The stage's name (`cook`), or its number when it has none.
    pub stage: String,
    /// The instruction (`RUN prewarm cook ...`).
    pub instruction: String,
    /// The engine took the step from its layer cache.
    pub cached: bool,
    /// buildah: the cached layer came from a `--cache-from` registry.
    pub remote: bool,
    /// `BuildKit`: how long the step took (`DONE 4.5s`).
    pub secs: Option<f64>,
    /// What the step printed, without the engine's prefixes.
    pub output: Vec<String>,
}

impl Step {
    /// `FROM` steps only name a base: they are never counted as cached or not.
    pub fn is_from(&self) -> bool {
        self.instruction
            .split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
    }
}

/// A log read into steps (a cargo log is one step of no stage).
#[derive(Debug, Clone)]
pub struct Log {
    /// Which program wrote it.
    pub format: Format,
    /// The steps, in the order they started.
    pub steps: Vec<Step>,
}

/// Reads `text`; `None` when it is no log of a format this knows.
pub fn parse(text: &str) -> Option<Log> {
    if let Some(steps) = parse_buildkit(text) {
        return Some(Log {
            format: Format::Buildkit,
            steps,
        });
    }
    if let Some(steps) = parse_buildah(text) {
        return Some(Log {
            format: Format::Buildah,
            steps,
        });
    }
    let json = text
        .lines()
        .any(|l| l.starts_with('{') && l.contains("\"reason\":"));
    let cargo_text = text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("Compiling ") || t.starts_with("Finished `") || t.starts_with("Fresh ")
    });
    if !json && !cargo_text {
        return None;
    }
    Some(Log {
        format: if json {
            Format::CargoJson
        } else {
            Format::CargoText
        },
        steps: vec![Step {
            stage: "cargo".to_string(),
            instruction: "cargo".to_string(),
            output: text.lines().map(str::to_string).collect(),
            ..Step::default()
        }],
    })
}

/// buildah's step line: `[i/n] STEP j/m: INSTRUCTION` (`STEP j/m: ...` in a one-stage build);
/// returns the stage number and the instruction.
fn buildah_step(line: &str) -> Option<(usize, &str)> {
    let (stage, rest) = match line.strip_prefix('[') {
        Some(r) => {
            let (counter, rest) = r.split_once("] ")?;
            let (i, _) = counter.split_once('/')?;
            (i.parse().ok()?, rest)
        }
        None => (1, line),
    };
    let rest = rest.strip_prefix("STEP ")?;
    let (counter, instruction) = rest.split_once(": ")?;
    let (a, b) = counter.split_once('/')?;
    (a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()).then_some((stage, instruction))
}

/// The stage a `FROM image AS name` names.
fn from_alias(instruction: &str) -> Option<&str> {
    let mut words = instruction.split_whitespace();
    words.next().filter(|w| w.eq_ignore_ascii_case("FROM"))?;
    let words: Vec<&str> = words.collect();
    let at = words.iter().position(|w| w.eq_ignore_ascii_case("AS"))?;
    words.get(at + 1).copied()
}

/// buildah's log; `None` without a single step line. A `RUN` checks the cache as soon as it
/// starts, so `--> Using cache` right after a step's line is that step's; output lines belong
/// to the step that started last (buildah runs one step at a time).
fn parse_buildah(text: &str) -> Option<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    let mut names: std::collections::BTreeMap<usize, String> = std::collections::BTreeMap::new();
    let mut just_started = false;
    for line in text.lines() {
        if let Some((stage, instruction)) = buildah_step(line) {
            if let Some(alias) = from_alias(instruction) {
                names.insert(stage, alias.to_string());
            }
            steps.push(Step {
                stage: names
                    .get(&stage)
                    .cloned()
                    .unwrap_or_else(|| stage.to_string()),
                instruction: instruction.to_string(),
                ..Step::default()
            });
            just_started = true;
            continue;
        }
        let Some(step) = steps.last_mut() else {
            continue;
        };
        if line.starts_with("--> Using cache") {
            step.cached |= just_started;
        } else if line.starts_with("--> Cache pulled from remote") {
            // `--> Using cache` follows: still the step's own cache check.
            step.remote |= just_started;
            continue;
        } else if !line.starts_with("--> ") {
            step.output.push(line.to_string());
        }
        just_started = false;
    }
    (!steps.is_empty()).then_some(steps)
}

/// `BuildKit`'s plain progress; `None` without a single `#N [stage i/n] ...` line. Steps of
/// `[internal]` work and image exports are left out.
fn parse_buildkit(text: &str) -> Option<Vec<Step>> {
    let mut steps: Vec<(String, Step)> = Vec::new();
    for line in text.lines() {
        let Some((id, rest)) = line
            .strip_prefix('#')
            .and_then(|r| r.split_once(' '))
            .filter(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Some((vertex, instruction)) = rest.strip_prefix('[').and_then(|r| r.split_once("] "))
        {
            if steps.iter().any(|(i, _)| i == id) {
                continue;
            }
            let stage = buildkit_stage(vertex);
            if stage != "internal" {
                steps.push((
                    id.to_string(),
                    Step {
                        stage: stage.to_string(),
                        instruction: instruction.to_string(),
                        ..Step::default()
                    },
                ));
            }
            continue;
        }
        let Some((_, step)) = steps.iter_mut().find(|(i, _)| i == id) else {
            continue;
        };
        if rest == "CACHED" {
            step.cached = true;
        } else if let Some(secs) = rest.strip_prefix("DONE ").and_then(|s| s.strip_suffix('s')) {
            step.secs = secs.parse().ok();
        } else if let Some((secs, out)) = rest.split_once(' ') {
            if secs.parse::<f64>().is_ok() {
                step.output.push(out.to_string());
            }
        }
    }
    (!steps.is_empty()).then(|| steps.into_iter().map(|(_, s)| s).collect())
}

/// What cargo printed in some output lines: units compiled and fresh, and its own time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cargo {
    /// External units (crates.io, git) compiled.
    pub external_compiled: u64,
    /// External units reused (JSON messages, or `Fresh` lines of `-v`).
    pub external_fresh: u64,
    /// Workspace (path) units compiled.
    pub workspace_compiled: u64,
    /// Workspace units reused.
    pub workspace_fresh: u64,
    /// Whether the counts are of cargo's JSON messages (units) or its `Compiling` lines
    /// (packages).
    pub json: bool,
    /// Whether fresh units could be seen at all (JSON, or `Fresh` lines).
    pub saw_fresh: bool,
    /// The sum of the `Finished ... in 1.2s` times.
    pub secs: Option<f64>,
}

/// Counts cargo's output in `lines`. JSON messages win over text where a step printed both
/// (`--message-format json-render-diagnostics` prints no `Compiling` lines anyway).
pub fn cargo(lines: &[String]) -> Cargo {
    let mut json = Cargo {
        json: true,
        saw_fresh: true,
        ..Cargo::default()
    };
    let mut text = Cargo::default();
    let mut any_json = false;
    let mut secs: Option<f64> = None;
    for line in lines {
        let t = line.trim();
        if let Some(a) = crate::messages::parse_artifact(t) {
            any_json = true;
            match (a.local, a.fresh) {
                (false, false) => json.external_compiled += 1,
                (false, true) => json.external_fresh += 1,
                (true, false) => json.workspace_compiled += 1,
                (true, true) => json.workspace_fresh += 1,
            }
        } else if let Some(rest) = t.strip_prefix("Compiling ") {
            if is_path_package(rest) {
                text.workspace_compiled += 1;
            } else {
                text.external_compiled += 1;
            }
        } else if let Some(rest) = t.strip_prefix("Fresh ") {
            text.saw_fresh = true;
            if is_path_package(rest) {
                text.workspace_fresh += 1;
            } else {
                text.external_fresh += 1;
            }
        } else if let Some(s) = finished_secs(t) {
            secs = Some(secs.unwrap_or(0.0) + s);
        }
    }
    let mut out = if any_json { json } else { text };
    out.secs = secs;
    out
}

/// Whether `name v1.0.0 (...)` of a `Compiling`/`Fresh` line is a path package: cargo shows
/// a path package's directory (`(/app/crates/x)`), a git one's URL (`(https://...#rev)`), an
/// alternative registry's name (`(registry `x`)`) and a crates.io one nothing.
fn is_path_package(rest: &str) -> bool {
    let Some((_, source)) = rest.split_once(" (") else {
        return false;
    };
    let bytes = source.as_bytes();
    source.starts_with('/')
        || (bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":\\")
}

/// The stage in a `BuildKit` vertex name: `cook 2/2` is `cook`, and so is `linux/arm64 cook
/// 2/2` of a multi-platform build.
fn buildkit_stage(vertex: &str) -> &str {
    let name = match vertex.rsplit_once(' ') {
        Some((name, counter)) if counter.contains('/') => name,
        _ => vertex,
    };
    match name.split_once(' ') {
        Some((platform, rest)) if platform.contains('/') => rest,
        _ => name,
    }
}

/// `Finished `release` profile [optimized] target(s) in 10.79s` (or `in 1m 02s`): the seconds.
fn finished_secs(line: &str) -> Option<f64> {
    let rest = line.strip_prefix("Finished ")?;
    let (_, time) = rest.rsplit_once(" in ")?;
    let mut secs = 0.0;
    for part in time.split_whitespace() {
        if let Some(m) = part.strip_suffix('m') {
            secs += m.parse::<f64>().ok()? * 60.0;
        } else if let Some(s) = part.strip_suffix('s') {
            secs += s.parse::<f64>().ok()?;
        } else {
            return None;
        }
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildah_step_lines() {
        assert_eq!(
            buildah_step("[3/7] STEP 3/3: RUN prewarm cook"),
            Some((3, "RUN prewarm cook"))
        );
        assert_eq!(buildah_step("STEP 1/2: FROM x"), Some((1, "FROM x")));
        assert_eq!(buildah_step("[7/7] COMMIT localhost/x"), None);
        assert_eq!(buildah_step("STEP one: no"), None);
    }

    #[test]
    fn finished_lines() {
        assert_eq!(
            finished_secs("Finished `release` profile [optimized] target(s) in 10.79s"),
            Some(10.79)
        );
        assert_eq!(
            finished_secs("Finished `dev` profile [unoptimized] target(s) in 1m 02s"),
            Some(62.0)
        );
        assert_eq!(finished_secs("Finished soon"), None);
    }

    #[test]
    fn path_packages() {
        assert!(is_path_package("greeting v0.1.0 (/app/crates/greeting)"));
        assert!(is_path_package(r"app v0.1.0 (C:\w\app)"));
        assert!(!is_path_package("itoa v1.0.19"));
        assert!(!is_path_package(
            "regex v1.0.0 (https://github.com/rust-lang/regex#abcdef12)"
        ));
        assert!(!is_path_package("foo v1.0.0 (registry `acme`)"));
    }

    #[test]
    fn buildkit_stages() {
        assert_eq!(buildkit_stage("cook 2/2"), "cook");
        assert_eq!(buildkit_stage("linux/arm64 cook 2/2"), "cook");
        assert_eq!(buildkit_stage("stage-1 3/4"), "stage-1");
    }

    #[test]
    fn aliases() {
        assert_eq!(from_alias("FROM rust:1 AS base"), Some("base"));
        assert_eq!(from_alias("FROM rust:1"), None);
        assert_eq!(from_alias("COPY a b"), None);
    }

    #[test]
    fn no_log_at_all() {
        assert!(parse("hello\nworld\n").is_none());
        assert!(parse("").is_none());
    }
}

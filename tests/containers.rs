//! Real builds of the Dockerfiles `prewarm image` writes: with buildah for the example and
//! four fixtures, with Docker's `BuildKit` for the example. Each scenario builds cold, edits a
//! source file and rebuilds (the cook step must come from the cache and no external crate may
//! compile), edits a metadata field and rebuilds (the same), rebuilds without a change
//! (nothing may run), and runs the built binary in its runtime image.
//!
//! They need the engines of `scripts/engines.sh` (buildah, the local base images, dockerd)
//! and fail, with that hint, when one is missing:
//!
//!     scripts/engines.sh setup
//!     cargo test --test containers -- --test-threads 2
//!
//! images/prewarm/Dockerfile is built once per run (tagged as the default `--prewarm-image`).
//! Every build log is kept under `$TMPDIR/prewarm-containers/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use common::{fixture, prewarm_ok, repo};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const RUST_IMAGE: &str = "docker.io/library/rust:1.95-bookworm";
const DEBIAN_IMAGE: &str = "docker.io/library/debian:bookworm-slim";
const DOCKER: &str = "/usr/bin/docker";
/// What buildah prints when sealing its re-exec copy fails (see `build`).
const TRANSIENT_BUILDAH: &str = "sealing memfd copy";
const SETUP_HINT: &str = "run `scripts/engines.sh setup` (it installs buildah and docker.io and makes the local base images)";

/// The prewarm image reference the generated Dockerfiles copy prewarm from by default.
fn default_prewarm_ref() -> String {
    format!("ghcr.io/prewarm-rs/prewarm:{VERSION}")
}

// ------------------------------------------------------------------ engines

fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .env("BUILDAH_ISOLATION", "chroot")
        .env("DOCKER_BUILDKIT", "1");
    c
}

fn output(mut c: Command) -> Output {
    let shown = format!("{c:?}");
    c.output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}; {SETUP_HINT}"))
}

fn check(c: Command) -> String {
    let shown = format!("{c:?}");
    let out = output(c);
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The scenarios run one at a time. Two cold builds that share a stage (every scenario's
/// base stage is the same) would each commit their own copy of that layer at once; later
/// builds then pick either copy, so a cook step whose parent differs misses the cache for no
/// fault of the Dockerfile. One build at a time creates each layer once, as on a user's
/// machine; the build itself still uses both cores.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Checks buildah and the base images, and builds images/prewarm once per test run (a file
/// lock keeps concurrent test processes from building it twice at once; the second one then
/// finds every layer cached). The image gets the default `--prewarm-image` reference, and one
/// named after its id, which the tests use: another test run on the same machine (from another
/// checkout) may move the default tag while this one runs.
fn setup() -> &'static str {
    static REF: OnceLock<String> = OnceLock::new();
    REF.get_or_init(|| {
        let version = Command::new("buildah").arg("--version").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "buildah is not installed: {SETUP_HINT}"
        );
        for image in [RUST_IMAGE, DEBIAN_IMAGE] {
            let out = output(cmd("buildah", &["inspect", "--type", "image", image]));
            assert!(
                out.status.success(),
                "the base image `{image}` is missing: {SETUP_HINT}"
            );
        }
        let t = Instant::now();
        let repo = repo();
        let dockerfile = repo.join("images/prewarm/Dockerfile");
        let reference = default_prewarm_ref();
        let iidfile = tempfile::NamedTempFile::new().unwrap();
        let mut c = cmd("flock", &["/var/tmp/prewarm-test-image.lock", "buildah"]);
        c.args([
            "build",
            "--pull=never",
            "--layers",
            "--force-rm",
            "--isolation",
            "chroot",
            "-f",
        ])
        .arg(&dockerfile)
        .args(["-t", &reference])
        .arg("--iidfile")
        .arg(iidfile.path())
        .arg(&repo);
        let out = output(c);
        assert!(
            out.status.success(),
            "building images/prewarm/Dockerfile failed:\n{}",
            tail(
                &String::from_utf8_lossy(&out.stdout),
                &String::from_utf8_lossy(&out.stderr)
            )
        );
        let id = std::fs::read_to_string(iidfile.path()).unwrap();
        let id = id.trim().trim_start_matches("sha256:");
        let run_ref = format!("localhost/prewarm-test/prewarm:{}", &id[..12]);
        check(cmd("buildah", &["tag", id, &run_ref]));
        eprintln!(
            "[containers] images/prewarm built as {reference} and {run_ref} in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        run_ref
    })
}

fn tail(stdout: &str, stderr: &str) -> String {
    let all: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    all[all.len().saturating_sub(80)..].join("\n")
}

// ------------------------------------------------------------------ build logs

/// One step of a build, as the builder's log shows it.
#[derive(Debug, Clone)]
struct StepLog {
    instruction: String,
    cached: bool,
    output: Vec<String>,
}

#[derive(Debug)]
struct Build {
    steps: Vec<StepLog>,
    /// Every output line of the build. buildah may interleave the output of independent
    /// stages, so compiler output is counted over the whole log: with the cook step cached,
    /// only the build step compiles anything.
    lines: Vec<String>,
    secs: f64,
    /// Where the whole log was saved (named in every failure message).
    log: PathBuf,
}

impl Build {
    fn step(&self, needle: &str) -> &StepLog {
        self.steps
            .iter()
            .find(|s| s.instruction.starts_with("RUN") && s.instruction.contains(needle))
            .unwrap_or_else(|| {
                panic!(
                    "no RUN step with `{needle}` in the build log: {:#?}",
                    self.steps
                )
            })
    }

    fn cook(&self) -> &StepLog {
        self.step("prewarm cook")
    }
}

impl Build {
    /// `Compiling` lines of cargo's output: (external crates, workspace crates).
    fn compiled(&self) -> (Vec<String>, Vec<String>) {
        let mut external = Vec::new();
        let mut local = Vec::new();
        for line in &self.lines {
            if let Some(rest) = line.trim_start().strip_prefix("Compiling ") {
                // Local packages show their path: `Compiling name v0.1.0 (/app/...)`.
                if rest.contains(" (") {
                    local.push(rest.to_string());
                } else {
                    external.push(rest.to_string());
                }
            }
        }
        (external, local)
    }
}

/// Parses buildah's log: `[i/n] STEP j/m: INSTRUCTION`, then `--> Using cache ...` right
/// after it for a cached step. Buildah starts every stage at once and runs one at a time, so
/// a step waiting for another stage (`COPY --from=build`) prints its result after that
/// stage's lines; a `RUN` checks the cache as soon as it starts, so its `Using cache` follows
/// its line. Output lines are kept in order (they are only counted over the whole log).
fn parse_buildah(log: &str) -> Vec<StepLog> {
    let mut steps: Vec<StepLog> = Vec::new();
    let mut just_started = false;
    for line in log.lines() {
        if let Some(pos) = line.find("STEP ") {
            let rest = &line[pos + 5..];
            if let Some((counter, instruction)) = rest.split_once(": ") {
                if counter.contains('/') && counter.chars().all(|c| c.is_ascii_digit() || c == '/')
                {
                    steps.push(StepLog {
                        instruction: instruction.to_string(),
                        cached: false,
                        output: Vec::new(),
                    });
                    just_started = true;
                    continue;
                }
            }
        }
        let Some(step) = steps.last_mut() else {
            continue;
        };
        if line.starts_with("--> Using cache") {
            step.cached |= just_started;
        } else if !line.starts_with("--> ") {
            step.output.push(line.to_string());
        }
        just_started = false;
    }
    steps
}

/// Parses `BuildKit`'s `--progress=plain` log: `#N [stage i/n] INSTRUCTION`, `#N <secs> output`,
/// `#N CACHED`.
fn parse_buildkit(log: &str) -> Vec<StepLog> {
    let mut steps: Vec<(String, StepLog)> = Vec::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((id, text)) = rest.split_once(' ') else {
            continue;
        };
        if let Some(instr) = text.strip_prefix('[') {
            if let Some((_, instruction)) = instr.split_once("] ") {
                if !steps.iter().any(|(i, _)| i == id) {
                    steps.push((
                        id.to_string(),
                        StepLog {
                            instruction: instruction.to_string(),
                            cached: false,
                            output: Vec::new(),
                        },
                    ));
                }
                continue;
            }
        }
        let Some((_, step)) = steps.iter_mut().find(|(i, _)| i == id) else {
            continue;
        };
        if text == "CACHED" {
            step.cached = true;
        } else if let Some((secs, out)) = text.split_once(' ') {
            if secs.parse::<f64>().is_ok() {
                step.output.push(out.to_string());
            }
        }
    }
    steps.into_iter().map(|(_, s)| s).collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Engine {
    Buildah,
    Docker,
}

/// Builds `dockerfile` in `context` as `tag`.
fn build(engine: Engine, context: &Path, dockerfile: &Path, tag: &str, extra: &[&str]) -> Build {
    let t = Instant::now();
    let command = || {
        let mut c = match engine {
            Engine::Buildah => cmd(
                "buildah",
                &[
                    "build",
                    "--pull=never",
                    "--layers",
                    "--force-rm",
                    "--isolation",
                    "chroot",
                ],
            ),
            Engine::Docker => cmd(DOCKER, &["build", "--progress=plain"]),
        };
        c.args(extra)
            .arg("-f")
            .arg(dockerfile)
            .args(["-t", tag])
            .arg(context);
        c
    };
    let mut out = output(command());
    // buildah re-executes itself from a sealed memfd copy before each RUN
    // (containers/storage's unshare); sealing sometimes fails with EBUSY while
    // the kernel still holds a transient reference to the pages. That is the
    // engine's fault, before our step runs, and leaves no layer: build again,
    // once, and keep the first log next to the second.
    let mut first = String::new();
    if engine == Engine::Buildah
        && !out.status.success()
        && (String::from_utf8_lossy(&out.stderr).contains(TRANSIENT_BUILDAH)
            || String::from_utf8_lossy(&out.stdout).contains(TRANSIENT_BUILDAH))
    {
        first = format!(
            "{}\n{}\n--- retried after a transient buildah fault ---\n",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out = output(command());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = format!("{stdout}\n{stderr}");
    let log_path = save_log(engine, tag, &format!("{first}{log}"));
    assert!(
        out.status.success(),
        "{engine:?} build of `{}` failed (whole log: {}):\n{}",
        dockerfile.display(),
        log_path.display(),
        tail(&stdout, &stderr)
    );
    let mut steps = match engine {
        Engine::Buildah => parse_buildah(&log),
        Engine::Docker => parse_buildkit(&log),
    };
    // After a retry, a step the first attempt ran shows as cached: it is the
    // first attempt's run that tells what this build did, and its output
    // (all of it: buildah prints a RUN's stderr after the step list) counts.
    let earlier = parse_buildah(&first);
    let mut lines: Vec<String> = earlier
        .iter()
        .flat_map(|s| s.output.iter().cloned())
        .collect();
    for (i, step) in steps.iter_mut().enumerate() {
        match earlier.get(i) {
            Some(before)
                if step.cached && !before.cached && step.instruction == before.instruction =>
            {
                *step = before.clone();
            }
            _ => lines.extend(step.output.iter().cloned()),
        }
    }
    Build {
        steps,
        log: log_path,
        lines,
        secs: t.elapsed().as_secs_f64(),
    }
}

/// Keeps every build log under `$TMPDIR/prewarm-containers/`, for the failure messages.
fn save_log(engine: Engine, tag: &str, log: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join("prewarm-containers");
    let _ = std::fs::create_dir_all(&dir);
    let name: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = dir.join(format!(
        "{}-{engine:?}-{name}-{}.log",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::write(&path, log);
    path
}

/// `name` tagged for this test run alone, so that two runs on one machine (a developer's and
/// CI's, say) never retag each other's images mid-scenario.
fn run_tag(name: &str) -> String {
    format!("{name}:run-{}", std::process::id())
}

/// Runs `args` in a container of `image`; returns stdout.
fn run_in(engine: Engine, image: &str, args: &[&str]) -> String {
    match engine {
        Engine::Buildah => {
            let container = check(cmd("buildah", &["from", "--pull=never", "-q", image]))
                .trim()
                .to_string();
            let mut c = cmd(
                "buildah",
                &["run", "--isolation", "chroot", &container, "--"],
            );
            c.args(args);
            let out = output(c);
            let _ = output(cmd("buildah", &["rm", &container]));
            assert!(
                out.status.success(),
                "`{}` in {image} failed:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        Engine::Docker => {
            let mut c = cmd(DOCKER, &["run", "--rm", "--entrypoint", args[0], image]);
            c.args(&args[1..]);
            check(c)
        }
    }
}

// ------------------------------------------------------------------ scenarios

/// One project to build for real.
struct Scenario {
    /// Image tag.
    tag: String,
    /// The build context.
    context: PathBuf,
    /// The Dockerfile.
    dockerfile: PathBuf,
    /// The binary and what it prints (substrings) when run with `run_args`.
    binary: &'static str,
    run_args: &'static [&'static str],
    expect: Vec<String>,
    /// A source-only edit: (file relative to the context, from, to), and what the binary
    /// prints afterwards. Every edit holds a nonce: the layer cache outlives a test run, and
    /// an edit seen before would be a cache hit.
    source_edit: (&'static str, &'static str, String),
    expect_after_edit: Vec<String>,
    /// A metadata-only manifest edit: (file, from, to).
    metadata_edit: (&'static str, &'static str, String),
    /// Extra builder arguments (secrets).
    extra: Vec<String>,
}

/// Different in every test run (and every call).
fn nonce() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:x}{}",
        nanos % 0xffff_ffff,
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The usual metadata edit: a new `description`.
fn description_edit(file: &'static str) -> (&'static str, &'static str, String) {
    (
        file,
        "description = \"",
        format!("description = \"Edited {}. ", nonce()),
    )
}

fn edit(root: &Path, (file, from, to): (&str, &str, &str)) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{file}` has no `{from}` to edit");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The cook step came from the cache and the build step compiled the workspace's crates only.
///
/// Two proofs: the builder's own word on the cook step (buildah prints `--> Using cache` right
/// after the step's line, `BuildKit` `#N CACHED`), and cargo's output over the whole log: a cook
/// that ran again would start from an empty target directory and compile every dependency,
/// and a build whose flags differed from the cook's would too.
fn assert_reused(engine: Engine, what: &str, b: &Build) {
    let (external, local) = b.compiled();
    let cook = b.cook();
    assert!(
        cook.cached,
        "{engine:?} {what}: the cook step did not come from the cache: {cook:#?}\nwhole log: {}",
        b.log.display()
    );
    assert!(
        external.is_empty(),
        "{engine:?} {what}: external crates compiled: {external:?}\nwhole log: {}",
        b.log.display()
    );
    assert!(
        !local.is_empty(),
        "{engine:?} {what}: no workspace crate compiled, so the edit was not built (whole log: {})",
        b.log.display()
    );
    eprintln!(
        "[containers] {engine:?} {what}: cook step cached, build step compiled only {local:?}"
    );
}

fn run_scenario(engine: Engine, s: &Scenario) {
    let extra: Vec<&str> = s.extra.iter().map(String::as_str).collect();
    let bin = format!("/usr/local/bin/{}", s.binary);
    let mut run_args = vec![bin.as_str()];
    run_args.extend_from_slice(s.run_args);

    let cold = build(engine, &s.context, &s.dockerfile, &s.tag, &extra);
    let out = run_in(engine, &s.tag, &run_args);
    for want in &s.expect {
        assert!(
            out.contains(want.as_str()),
            "{}: expected `{want}` in the output:\n{out}",
            s.tag
        );
    }

    edit(
        &s.context,
        (s.source_edit.0, s.source_edit.1, &s.source_edit.2),
    );
    let source = build(engine, &s.context, &s.dockerfile, &s.tag, &extra);
    assert_reused(engine, &format!("{} after a source edit", s.tag), &source);
    let out = run_in(engine, &s.tag, &run_args);
    for want in &s.expect_after_edit {
        assert!(
            out.contains(want.as_str()),
            "{}: expected `{want}` after the edit:\n{out}",
            s.tag
        );
    }

    edit(
        &s.context,
        (s.metadata_edit.0, s.metadata_edit.1, &s.metadata_edit.2),
    );
    let metadata = build(engine, &s.context, &s.dockerfile, &s.tag, &extra);
    assert_reused(
        engine,
        &format!("{} after a metadata edit", s.tag),
        &metadata,
    );

    let again = build(engine, &s.context, &s.dockerfile, &s.tag, &extra);
    let (external, local) = again.compiled();
    let ran: Vec<&String> = again
        .lines
        .iter()
        .filter(|l| l.contains("prewarm: "))
        .collect();
    assert!(
        external.is_empty() && local.is_empty() && ran.is_empty(),
        "{engine:?} {}: a rebuild without changes compiled {external:?} {local:?} or ran prewarm: {ran:?}",
        s.tag
    );
    if engine == Engine::Docker {
        let uncached: Vec<&str> = again
            .steps
            .iter()
            .filter(|st| st.instruction.starts_with("RUN") && !st.cached)
            .map(|st| st.instruction.as_str())
            .collect();
        assert!(
            uncached.is_empty(),
            "{engine:?} {}: a rebuild without changes ran {uncached:?}",
            s.tag
        );
    }

    eprintln!(
        "[containers] {engine:?} {}: cold {:.1}s, source edit {:.1}s (build step compiled {}), metadata edit {:.1}s, no change {:.1}s",
        s.tag,
        cold.secs,
        source.secs,
        source.compiled().1.join(", "),
        metadata.secs,
        again.secs
    );
}

/// Writes the Dockerfile for the fixture copy at `root` (workspace in `ws`); returns the build
/// context and the Dockerfile.
fn fixture_scenario(
    prewarm_image: &str,
    root: &Path,
    ws: &str,
    image_args: &[&str],
) -> (PathBuf, PathBuf) {
    let mut args = vec!["image", "--prewarm-image", prewarm_image];
    args.extend_from_slice(image_args);
    prewarm_ok(&root.join(ws), &args);
    (root.to_path_buf(), root.join(ws).join("Dockerfile"))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn buildah_single() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let n = nonce();
    let (_tmp, root) = fixture("single");
    let (context, dockerfile) = fixture_scenario(prewarm_image, &root, ".", &[]);
    run_scenario(
        Engine::Buildah,
        &Scenario {
            tag: run_tag("localhost/prewarm-test/single"),
            context,
            dockerfile,
            binary: "fixture-single",
            run_args: &[],
            expect: strings(&["fixture-single: 42"]),
            source_edit: (
                "src/lib.rs",
                "fixture-single: {}",
                format!("fixture-single (edited {n}): {{}}"),
            ),
            expect_after_edit: vec![format!("fixture-single (edited {n}): 42")],
            metadata_edit: description_edit("Cargo.toml"),
            extra: Vec::new(),
        },
    );
}

#[test]
fn buildah_workspace() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let n = nonce();
    let (_tmp, root) = fixture("workspace");
    let (context, dockerfile) = fixture_scenario(prewarm_image, &root, ".", &["--bin", "app"]);
    run_scenario(
        Engine::Buildah,
        &Scenario {
            tag: run_tag("localhost/prewarm-test/workspace"),
            context,
            dockerfile,
            binary: "app",
            run_args: &[],
            expect: strings(&["fixture-workspace: 42", "isqrt=std"]),
            source_edit: (
                "crates/app/src/main.rs",
                "fixture-workspace: {}\",",
                format!("fixture-workspace (edited {n}): {{}}\","),
            ),
            expect_after_edit: vec![format!("fixture-workspace (edited {n}): 42")],
            metadata_edit: description_edit("crates/core/Cargo.toml"),
            extra: Vec::new(),
        },
    );
}

/// A path dependency outside the workspace root: the build context is their common root,
/// and editing that dependency only rebuilds local crates.
#[test]
fn buildah_outside() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let n = nonce();
    let (_tmp, root) = fixture("outside");
    let (context, dockerfile) = fixture_scenario(prewarm_image, &root, "ws", &[]);
    assert!(context.join(".dockerignore").is_file());
    run_scenario(
        Engine::Buildah,
        &Scenario {
            tag: run_tag("localhost/prewarm-test/outside"),
            context,
            dockerfile,
            binary: "outside-app",
            run_args: &[],
            expect: strings(&["fixture-outside: letters=28"]),
            source_edit: (
                "shared/util/src/lib.rs",
                "out.push('=');",
                format!("out.push_str(\"={n}=\");"),
            ),
            expect_after_edit: vec![format!("fixture-outside: letters={n}=28")],
            metadata_edit: description_edit("shared/util/Cargo.toml"),
            extra: Vec::new(),
        },
    );
}

/// A toolchain file (rust:1.95.0 base), `build.target-dir`, `-D warnings` and `[env]` from
/// `.cargo/config.toml`.
#[test]
fn buildah_config() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let n = nonce();
    let (_tmp, root) = fixture("config");
    let (context, dockerfile) = fixture_scenario(prewarm_image, &root, ".", &[]);
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(text.contains("FROM rust:1.95.0-bookworm AS base"), "{text}");
    assert!(text.contains("cp build-out/debug/fixture-config"), "{text}");
    run_scenario(
        Engine::Buildah,
        &Scenario {
            tag: run_tag("localhost/prewarm-test/config"),
            context,
            dockerfile,
            binary: "fixture-config",
            run_args: &[],
            expect: strings(&["fixture-config: 42", "configured by .cargo/config.toml"]),
            source_edit: (
                "src/main.rs",
                "fixture-config: {answer}",
                format!("fixture-config (edited {n}): {{answer}}"),
            ),
            expect_after_edit: vec![format!("fixture-config (edited {n}): 42")],
            metadata_edit: description_edit("Cargo.toml"),
            extra: Vec::new(),
        },
    );
}

/// mold, sccache, apt under cache mounts and a cargo credentials secret, for real: the binary
/// is linked by mold, and the secret is in no layer.
#[test]
fn buildah_tooling_and_secret() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let n = nonce();
    let (_tmp, root) = fixture("single");
    let (context, dockerfile) = fixture_scenario(
        prewarm_image,
        &root,
        ".",
        &["--linker", "mold", "--sccache", "--cargo-credentials"],
    );
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("credentials.toml");
    let token = "prewarm-test-token-5ec2e7";
    std::fs::write(
        &secret,
        format!("[registries.private]\ntoken = \"{token}\"\n"),
    )
    .unwrap();
    let tag = run_tag("localhost/prewarm-test/tooling");
    let tag = tag.as_str();
    run_scenario(
        Engine::Buildah,
        &Scenario {
            tag: tag.into(),
            context: context.clone(),
            dockerfile: dockerfile.clone(),
            binary: "fixture-single",
            run_args: &[],
            expect: strings(&["fixture-single: 42"]),
            source_edit: (
                "src/lib.rs",
                "fixture-single: {}",
                format!("fixture-single (edited {n}): {{}}"),
            ),
            expect_after_edit: vec![format!("fixture-single (edited {n}): 42")],
            metadata_edit: description_edit("Cargo.toml"),
            extra: vec![
                "--secret".into(),
                format!("id=cargo-credentials,src={}", secret.display()),
            ],
        },
    );
    // The build stage, tagged (every step is cached by now): mold linked the binary, and
    // neither the file system nor the image history holds the token.
    let build_tag = format!("{tag}-build");
    let secret_arg = format!("id=cargo-credentials,src={}", secret.display());
    let b = build(
        Engine::Buildah,
        &context,
        &dockerfile,
        &build_tag,
        &["--target", "build", "--secret", &secret_arg],
    );
    assert!(b
        .steps
        .iter()
        .filter(|s| s.instruction.starts_with("RUN"))
        .all(|s| s.cached));
    let container = check(cmd("buildah", &["from", "--pull=never", "-q", &build_tag]))
        .trim()
        .to_string();
    let mount = PathBuf::from(check(cmd("buildah", &["mount", &container])).trim());
    let binary = std::fs::read(mount.join("usr/local/bin/fixture-single")).unwrap();
    let creds =
        std::fs::read_to_string(mount.join("usr/local/cargo/credentials.toml")).unwrap_or_default();
    let _ = output(cmd("buildah", &["umount", &container]));
    let _ = output(cmd("buildah", &["rm", &container]));
    assert!(
        contains(&binary, b"mold "),
        "the binary's .comment does not name mold"
    );
    assert!(
        !creds.contains(token),
        "the token is in the build stage's credentials.toml"
    );
    let history = check(cmd("buildah", &["inspect", "--type", "image", &build_tag]));
    assert!(
        !history.contains(token),
        "the token is in the image configuration or history"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The example's checked-in Dockerfile, release profile.
#[test]
fn buildah_example() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("hello-service");
    common::copy_tree(&repo().join("examples/hello-service"), &root);
    assert!(
        root.join(".dockerignore").is_file(),
        "the example's .dockerignore is checked in"
    );
    // The checked-in file as it is, but for the prewarm image of this run (see `setup`).
    let dockerfile = root.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let from = format!("COPY --from={} ", default_prewarm_ref());
    assert!(
        text.contains(&from),
        "the example does not copy prewarm from the default image"
    );
    std::fs::write(
        &dockerfile,
        text.replace(&from, &format!("COPY --from={prewarm_image} ")),
    )
    .unwrap();
    let out = check_example(Engine::Buildah, &root);
    assert!(out.contains("hello-service 0.1.0"), "{out}");
}

/// The example with Docker's `BuildKit` (dockerd from Debian's docker.io), written without the
/// `# syntax` line, which `BuildKit` would try to pull.
#[test]
fn docker_buildkit_example() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let out = output(cmd(
        "bash",
        &[
            repo().join("scripts/engines.sh").to_str().unwrap(),
            "dockerd",
        ],
    ));
    assert!(
        out.status.success(),
        "`scripts/engines.sh dockerd` failed ({SETUP_HINT}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(cmd(
        "buildah",
        &[
            "push",
            "-q",
            prewarm_image,
            &format!("docker-daemon:{prewarm_image}"),
        ],
    ));

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("hello-service");
    common::copy_tree(&repo().join("examples/hello-service"), &root);
    let _ = std::fs::remove_file(root.join("Dockerfile"));
    prewarm_ok(
        &root,
        &[
            "image",
            "--release",
            "--no-syntax",
            "--prewarm-image",
            prewarm_image,
        ],
    );
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(!text.contains("# syntax"));
    check_example(Engine::Docker, &root);
}

/// Builds the example at `root` (cold, source edit, metadata edit, no change) and runs it;
/// returns what `--version` printed.
fn check_example(engine: Engine, root: &Path) -> String {
    let n = nonce();
    let tag = run_tag(match engine {
        Engine::Buildah => "localhost/prewarm-test/hello-service",
        Engine::Docker => "prewarm-test/hello-service",
    });
    let tag = tag.as_str();
    run_scenario(
        engine,
        &Scenario {
            tag: tag.into(),
            context: root.to_path_buf(),
            dockerfile: root.join("Dockerfile"),
            binary: "hello-service",
            run_args: &["--once", "world"],
            expect: strings(&[r#"{"name":"world","message":"Hello, world!","length":5}"#]),
            source_edit: (
                "crates/greeting/src/lib.rs",
                "format!(\"Hello, {name}!\")",
                format!("format!(\"Hi {n}, {{name}}!\")"),
            ),
            expect_after_edit: vec![format!(r#""message":"Hi {n}, world!""#)],
            metadata_edit: description_edit("crates/server/Cargo.toml"),
            extra: Vec::new(),
        },
    );
    let user = run_in(engine, tag, &["/usr/bin/id", "-u"]);
    assert_eq!(
        user.trim(),
        "10001",
        "the runtime image does not run as the unprivileged user"
    );
    run_in(engine, tag, &["/usr/local/bin/hello-service", "--version"])
}

/// Issue 9 §6: a zero-to-production-shaped service built with flags alone. Its build script
/// fails unless `SQLX_OFFLINE=true` (an sqlx-style offline build), its `.cargo/config.toml`
/// links with clang and lld (which the base rust image lacks), and it reads
/// `configuration/<APP_ENVIRONMENT>.toml` from its working directory at run time. The image
/// then starts as its own `ENTRYPOINT` and `CMD` say and serves what it read.
#[test]
fn buildah_service() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let n = nonce();
    let (_tmp, root) = fixture("service");
    let (context, dockerfile) = fixture_scenario(
        prewarm_image,
        &root,
        ".",
        &[
            "--env",
            "SQLX_OFFLINE=true",
            "--runtime-copy",
            "configuration",
            "--runtime-env",
            "APP_ENVIRONMENT=production",
            "--expose",
            "38080",
            "--entrypoint-arg=--serve",
        ],
    );
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(
        text.contains("--no-install-recommends clang lld"),
        "the linker the cargo config asks for is not installed:\n{text}"
    );
    let tag = run_tag("localhost/prewarm-test/service");
    let expect =
        r#"environment=production greeting="hello from production.toml" port=38080 offline=true"#;
    run_scenario(
        Engine::Buildah,
        &Scenario {
            tag: tag.clone(),
            context,
            dockerfile,
            binary: "service",
            run_args: &[],
            expect: strings(&[&format!("service: {expect}")]),
            source_edit: (
                "src/main.rs",
                "\"service: environment=",
                format!("\"service (edited {n}): environment="),
            ),
            expect_after_edit: vec![format!("service (edited {n}): {expect}")],
            metadata_edit: description_edit("Cargo.toml"),
            extra: Vec::new(),
        },
    );
    // buildah 1.28's --format has no `json`: read the whole document.
    let inspect = check(cmd("buildah", &["inspect", "--type", "image", &tag]));
    let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let config = &inspect["OCIv1"]["config"];
    assert_eq!(config["WorkingDir"], "/app", "{config}");
    assert_eq!(config["User"], "10001:10001", "{config}");
    assert!(
        config["ExposedPorts"].get("38080/tcp").is_some(),
        "{config}"
    );
    let mut argv: Vec<String> = Vec::new();
    for key in ["Entrypoint", "Cmd"] {
        argv.extend(
            config[key]
                .as_array()
                .unwrap_or(&Vec::new())
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string)),
        );
    }
    assert_eq!(argv, ["/usr/local/bin/service", "--serve"], "{config}");
    let response = serve_once(&tag, &argv);
    assert!(
        response.contains(expect),
        "the service answered:\n{response}"
    );
    eprintln!(
        "[containers] Buildah {tag}: the image's entrypoint served `{}`",
        response.trim()
    );
}

/// Starts the image's entrypoint (one request only) in a container, which shares the host's
/// network under chroot isolation, and returns its answer to one HTTP request.
fn serve_once(image: &str, argv: &[String]) -> String {
    use std::io::{Read, Write};
    let container = check(cmd("buildah", &["from", "--pull=never", "-q", image]))
        .trim()
        .to_string();
    let mut c = cmd(
        "buildah",
        &["run", "--isolation", "chroot", &container, "--"],
    );
    c.args(argv).arg("--requests=1");
    let mut child = c.spawn().expect("buildah run");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    let mut response = String::new();
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", 38080)) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let _ = s.read_to_string(&mut response);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    if response.is_empty() {
        let _ = child.kill();
    }
    let status = child.wait().expect("buildah run");
    let _ = output(cmd("buildah", &["rm", &container]));
    assert!(
        !response.is_empty(),
        "the service did not answer on port 38080 within 60 s"
    );
    assert!(status.success(), "the service exited with {status}");
    response
}

//! The container-engine harness of the container tests (tests/containers.rs, tests/fleet.rs,
//! tests/tiers.rs):
//! running buildah, Podman and Docker, building a Dockerfile and parsing the build log into
//! steps (cached or not) and cargo's output.
//!
//! A build runs in the engine's default storage, or in a [`Store`] of its own: a fresh
//! `--root`/`--runroot` pair and a fresh directory for the cache mounts, which is what an
//! ephemeral CI runner starts from.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use super::repo;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const RUST_IMAGE: &str = "docker.io/library/rust:1.95-bookworm";
pub const DEBIAN_IMAGE: &str = "docker.io/library/debian:bookworm-slim";
pub const DOCKER: &str = "/usr/bin/docker";
/// What buildah prints when sealing its re-exec copy fails (see `build`).
const TRANSIENT_BUILDAH: &str = "sealing memfd copy";
pub const SETUP_HINT: &str = "run `scripts/engines.sh setup` (it installs buildah, podman, docker.io, docker-registry and redis-server and makes the local base images)";

/// The prewarm image reference the generated Dockerfiles copy prewarm from by default.
pub fn default_prewarm_ref() -> String {
    format!("ghcr.io/prewarm-rs/prewarm:{VERSION}")
}

// ------------------------------------------------------------------ engines

pub fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .env("BUILDAH_ISOLATION", "chroot")
        .env("DOCKER_BUILDKIT", "1");
    c
}

pub fn output(mut c: Command) -> Output {
    let shown = format!("{c:?}");
    c.output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}; {SETUP_HINT}"))
}

pub fn check(c: Command) -> String {
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
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Checks buildah and the base images, and builds images/prewarm once per test run (a file
/// lock keeps concurrent test processes from building it twice at once; the second one then
/// finds every layer cached). The image gets the default `--prewarm-image` reference, and one
/// named after its id, which the tests use: another test run on the same machine (from another
/// checkout) may move the default tag while this one runs.
pub fn setup() -> &'static str {
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

pub fn tail(stdout: &str, stderr: &str) -> String {
    let all: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    all[all.len().saturating_sub(80)..].join("\n")
}

// ------------------------------------------------------------------ build logs

/// One step of a build, as the builder's log shows it.
#[derive(Debug, Clone)]
pub struct StepLog {
    pub instruction: String,
    pub cached: bool,
    /// buildah and Podman: the cached layer came from a `--cache-from` registry (`--> Cache
    /// pulled from remote ...`).
    pub remote: bool,
    pub output: Vec<String>,
}

#[derive(Debug)]
pub struct Build {
    pub steps: Vec<StepLog>,
    /// Every output line of the build. buildah may interleave the output of independent
    /// stages, so compiler output is counted over the whole log: with the cook step cached,
    /// only the build step compiles anything.
    pub lines: Vec<String>,
    pub secs: f64,
    /// Where the whole log was saved (named in every failure message).
    pub log: PathBuf,
}

impl Build {
    pub fn step(&self, needle: &str) -> &StepLog {
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

    pub fn cook(&self) -> &StepLog {
        self.step("prewarm cook")
    }
}

impl Build {
    /// `Compiling` lines of cargo's output: (external crates, workspace crates).
    pub fn compiled(&self) -> (Vec<String>, Vec<String>) {
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

    /// cargo's `Downloaded <crate> v<version>` lines: crates fetched from the registry.
    pub fn downloaded(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix("Downloaded "))
            .filter(|rest| rest.contains(" v"))
            .map(str::to_string)
            .collect()
    }
}

impl Build {
    /// The `RUN` steps whose instruction contains `needle`, in order.
    pub fn runs(&self, needle: &str) -> Vec<&StepLog> {
        self.steps
            .iter()
            .filter(|s| s.instruction.starts_with("RUN") && s.instruction.contains(needle))
            .collect()
    }
}

impl StepLog {
    /// The local packages whose `Compiling` line this step printed (`Compiling name v1
    /// (/path)`), sorted. Only for steps that run alone (a chain of stages, each `FROM` the
    /// one before): buildah may interleave the output of independent stages.
    pub fn compiled_local(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .output
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix("Compiling "))
            .filter(|rest| rest.contains(" ("))
            .filter_map(|rest| rest.split(' ').next().map(str::to_string))
            .collect();
        out.sort();
        out
    }

    /// Every package this step compiled, local or not.
    pub fn compiled_any(&self) -> Vec<String> {
        self.output
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix("Compiling "))
            .filter_map(|rest| rest.split(' ').next().map(str::to_string))
            .collect()
    }
}

/// Parses buildah's log: `[i/n] STEP j/m: INSTRUCTION`, then `--> Using cache ...` right
/// after it for a cached step. Buildah starts every stage at once and runs one at a time, so
/// a step waiting for another stage (`COPY --from=build`) prints its result after that
/// stage's lines; a `RUN` checks the cache as soon as it starts, so its `Using cache` follows
/// its line. Output lines are kept in order (they are only counted over the whole log).
pub fn parse_buildah(log: &str) -> Vec<StepLog> {
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
                        remote: false,
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
        } else if line.starts_with("--> Cache pulled from remote") {
            // Then `--> Using cache` follows: still the step's own cache check.
            step.remote |= just_started;
            continue;
        } else if !line.starts_with("--> ") {
            step.output.push(line.to_string());
        }
        just_started = false;
    }
    steps
}

/// Parses `BuildKit`'s `--progress=plain` log: `#N [stage i/n] INSTRUCTION`, `#N <secs> output`,
/// `#N CACHED`.
pub fn parse_buildkit(log: &str) -> Vec<StepLog> {
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
                            remote: false,
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
pub enum Engine {
    Buildah,
    Docker,
    /// Podman's `build` is buildah's code: the same flags and the same log.
    Podman,
}

impl Engine {
    /// The program.
    pub fn program(self) -> &'static str {
        match self {
            Engine::Buildah => "buildah",
            Engine::Docker => DOCKER,
            Engine::Podman => "podman",
        }
    }
}

/// A storage of its own for buildah or Podman (`--root`, `--runroot`) and a directory for
/// its cache mounts (buildah keeps them under `$TMPDIR/buildah-cache`): what an ephemeral
/// runner starts with. Removed on drop.
pub struct Store {
    pub dir: tempfile::TempDir,
}

impl Store {
    /// Empty storage under `/var/tmp` (the overlay driver needs a real file system, not tmpfs).
    pub fn new() -> Store {
        let dir = tempfile::Builder::new()
            .prefix("prewarm-runner-")
            .tempdir_in("/var/tmp")
            .unwrap();
        for sub in ["root", "runroot", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Store { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("runroot")
    }

    /// `TMPDIR` of the engine: its cache mounts go under it.
    pub fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// The cache-mount directories the engine made under [`Store::tmp`].
    pub fn cache_dirs(&self) -> Vec<String> {
        super::listing(&self.tmp())
    }

    /// `engine` (buildah or Podman) on this storage, then `args`.
    pub fn cmd(&self, engine: Engine, args: &[&str]) -> Command {
        assert_ne!(engine, Engine::Docker, "a Store is for buildah and Podman");
        let mut c = cmd(engine.program(), &[]);
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        if engine == Engine::Podman {
            // Podman's own temporary files, and no system service state of the host's.
            c.arg("--tmpdir").arg(self.tmp());
        }
        c.args(args).env("TMPDIR", self.tmp());
        c
    }

    /// Copies `image` from the default storage into this one, as a runner pulls it from a
    /// registry (through an OCI archive, so nothing is shared with the default storage), under
    /// the same name.
    pub fn copy_in(&self, engine: Engine, archives: &Archives, image: &str) {
        let archive = archives.get(image);
        let id = check(self.cmd(
            engine,
            &["pull", "-q", &format!("oci-archive:{}", archive.display())],
        ));
        check(self.cmd(engine, &["tag", id.trim(), image]));
    }
}

/// An ephemeral runner: a storage of its own holding only the images a runner pulls (the
/// base images and `prewarm_image`), copied in from `archives`.
pub fn runner(engine: Engine, archives: &Archives, prewarm_image: &str) -> Store {
    let version = Command::new(engine.program()).arg("--version").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "{} is not installed: {SETUP_HINT}",
        engine.program()
    );
    let store = Store::new();
    for image in [RUST_IMAGE, DEBIAN_IMAGE, prewarm_image] {
        store.copy_in(engine, archives, image);
    }
    store
}

/// OCI archives of images in the default storage, each written once (the rust image is
/// 1.2 GB), removed on drop.
pub struct Archives {
    dir: tempfile::TempDir,
    made: std::sync::Mutex<Vec<String>>,
}

impl Archives {
    pub fn new() -> Archives {
        Archives {
            dir: tempfile::Builder::new()
                .prefix("prewarm-archives-")
                .tempdir_in("/var/tmp")
                .unwrap(),
            made: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The archive of `image`.
    pub fn get(&self, image: &str) -> PathBuf {
        let name: String = image
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = self.dir.path().join(format!("{name}.tar"));
        let mut made = self
            .made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !made.contains(&name) {
            let dest = format!("oci-archive:{}:{image}", path.display());
            check(cmd("buildah", &["push", "-q", image, &dest]));
            made.push(name);
        }
        path
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // The overlay driver leaves mounts under the root; unmount them before the removal.
        for engine in [Engine::Buildah, Engine::Podman] {
            if Command::new(engine.program())
                .arg("--version")
                .output()
                .is_ok()
            {
                let mut c = self.cmd(engine, &["rm", "-a"]);
                c.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null());
                let _ = c.status();
            }
        }
        let mut c = cmd("buildah", &[]);
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .args(["rmi", "-a", "-f"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let _ = c.status();
        let root = self.root();
        let _ = Command::new("sh")
            .arg("-c")
            .arg(r#"grep -o " $0[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l"#)
            .arg(&root)
            .status();
    }
}

/// Builds `dockerfile` in `context` as `tag`.
pub fn build(
    engine: Engine,
    context: &Path,
    dockerfile: &Path,
    tag: &str,
    extra: &[&str],
) -> Build {
    build_in(engine, None, context, dockerfile, tag, extra)
}

/// Builds `dockerfile` in `context` as `tag`, in `store` (buildah and Podman) or the engine's
/// default storage.
pub fn build_in(
    engine: Engine,
    store: Option<&Store>,
    context: &Path,
    dockerfile: &Path,
    tag: &str,
    extra: &[&str],
) -> Build {
    let t = Instant::now();
    let buildah_flags = [
        "build",
        "--pull=never",
        "--layers",
        "--force-rm",
        "--isolation",
        "chroot",
    ];
    let command = || {
        let mut c = match (engine, store) {
            (Engine::Docker, _) => cmd(DOCKER, &["build", "--progress=plain"]),
            (_, Some(store)) => store.cmd(engine, &buildah_flags),
            (_, None) => cmd(engine.program(), &buildah_flags),
        };
        c.args(extra)
            .arg("-f")
            .arg(dockerfile)
            .args(["-t", tag])
            .arg(context);
        c
    };
    // stdout and stderr into one file, so that each `RUN`'s stderr (cargo's `Compiling`
    // lines) stays next to its step.
    let run = || -> (std::process::ExitStatus, String) {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut c = command();
        // Opened for appending: the builder's child processes may reopen the file
        // (`/proc/self/fd/2`), and only appends keep every write in order.
        let out = std::fs::OpenOptions::new()
            .append(true)
            .open(file.path())
            .unwrap();
        c.stdout(out.try_clone().unwrap()).stderr(out);
        let shown = format!("{c:?}");
        let status = c
            .status()
            .unwrap_or_else(|e| panic!("cannot run {shown}: {e}; {SETUP_HINT}"));
        let bytes = std::fs::read(file.path()).unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    };
    let (mut status, mut log) = run();
    // buildah re-executes itself from a sealed memfd copy before each RUN
    // (containers/storage's unshare); sealing sometimes fails with EBUSY while
    // the kernel still holds a transient reference to the pages. That is the
    // engine's fault, before our step runs, and leaves no layer: build again,
    // once, and keep the first log next to the second.
    let mut first = String::new();
    if engine != Engine::Docker && !status.success() && log.contains(TRANSIENT_BUILDAH) {
        first = format!("{log}\n--- retried after a transient buildah fault ---\n");
        (status, log) = run();
    }
    let log_path = save_log(engine, tag, &format!("{first}{log}"));
    assert!(
        status.success(),
        "{engine:?} build of `{}` failed (whole log: {}):\n{}",
        dockerfile.display(),
        log_path.display(),
        tail(&log, "")
    );
    let mut steps = match engine {
        Engine::Buildah | Engine::Podman => parse_buildah(&log),
        Engine::Docker => parse_buildkit(&log),
    };
    // After a retry, a step the first attempt ran shows as cached: it is the
    // first attempt's run that tells what this build did, and its output
    // counts.
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
pub fn save_log(engine: Engine, tag: &str, log: &str) -> PathBuf {
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
pub fn run_tag(name: &str) -> String {
    format!("{name}:run-{}", std::process::id())
}

/// Runs `args` in a container of `image`; returns stdout.
pub fn run_in(engine: Engine, image: &str, args: &[&str]) -> String {
    run_in_store(engine, None, image, args)
}

/// Runs `args` in a container of `image` from `store` (or the default storage); returns stdout.
pub fn run_in_store(engine: Engine, store: Option<&Store>, image: &str, args: &[&str]) -> String {
    let engine_cmd = |a: &[&str]| match store {
        Some(s) => s.cmd(engine, a),
        None => cmd(engine.program(), a),
    };
    match engine {
        Engine::Buildah => {
            let container = check(engine_cmd(&["from", "--pull=never", "-q", image]))
                .trim()
                .to_string();
            let mut c = engine_cmd(&["run", "--isolation", "chroot", &container, "--"]);
            c.args(args);
            let out = output(c);
            let _ = output(engine_cmd(&["rm", &container]));
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
        Engine::Podman => {
            // runc (crun refuses the hybrid cgroups here) and the host's network.
            let mut c = engine_cmd(&[
                "run",
                "--rm",
                "--pull=never",
                "--runtime",
                "runc",
                "--network",
                "host",
                "--entrypoint",
                args[0],
                image,
            ]);
            c.args(&args[1..]);
            check(c)
        }
    }
}

/// Different in every test run (and every call).
pub fn nonce() -> String {
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

/// Replaces the first `from` in `root/file` with `to` (asserting it is there).
pub fn edit(root: &Path, (file, from, to): (&str, &str, &str)) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{file}` has no `{from}` to edit");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

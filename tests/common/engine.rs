//! buildah for the tier tests: the prewarm image, builds whose log keeps the builder's lines
//! and every `RUN`'s output (stdout and stderr) in the order they were written, per step.
//! (tests/containers.rs has its own, older copy of the same steps for both engines.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// The Rust base image the generated Dockerfiles start from.
pub const RUST_IMAGE: &str = "docker.io/library/rust:1.95-bookworm";
/// The runtime base image.
pub const DEBIAN_IMAGE: &str = "docker.io/library/debian:bookworm-slim";
const SETUP_HINT: &str =
    "run `scripts/engines.sh setup` (it installs buildah and makes the local base images)";

/// buildah with chroot isolation (the only one that works on these machines).
pub fn buildah(args: &[&str]) -> Command {
    let mut c = Command::new("buildah");
    c.args(args).env("BUILDAH_ISOLATION", "chroot");
    c
}

/// Runs `c`, asserting success; returns stdout.
pub fn check(mut c: Command) -> String {
    let shown = format!("{c:?}");
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}; {SETUP_HINT}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks the base images and builds images/prewarm (from this checkout) once per test
/// process; returns a reference to it that no other test run moves.
pub fn prewarm_image() -> &'static str {
    static REF: OnceLock<String> = OnceLock::new();
    REF.get_or_init(|| {
        for image in [RUST_IMAGE, DEBIAN_IMAGE] {
            let ok = buildah(&["inspect", "--type", "image", image])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "the base image `{image}` is missing: {SETUP_HINT}");
        }
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let iidfile = tempfile::NamedTempFile::new().unwrap();
        let mut c = Command::new("flock");
        c.args(["/var/tmp/prewarm-test-image.lock", "buildah", "build"])
            .args([
                "--pull=never",
                "--layers",
                "--force-rm",
                "--isolation",
                "chroot",
            ])
            .arg("-f")
            .arg(repo.join("images/prewarm/Dockerfile"))
            .args([
                "-t",
                &format!("ghcr.io/prewarm-rs/prewarm:{}", env!("CARGO_PKG_VERSION")),
            ])
            .arg("--iidfile")
            .arg(iidfile.path())
            .arg(&repo)
            .env("BUILDAH_ISOLATION", "chroot");
        check(c);
        let id = std::fs::read_to_string(iidfile.path()).unwrap();
        let id = id.trim().trim_start_matches("sha256:").to_string();
        let reference = format!("localhost/prewarm-test/prewarm:{}", &id[..12]);
        check(buildah(&["tag", &id, &reference]));
        reference
    })
}

/// One step of a build.
#[derive(Debug, Clone)]
pub struct Step {
    /// The instruction, as buildah prints it.
    pub instruction: String,
    /// Whether it came from the layer cache.
    pub cached: bool,
    /// Its output lines (stdout and stderr of a `RUN`, in order).
    pub output: Vec<String>,
}

/// A finished build.
#[derive(Debug)]
pub struct Build {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Seconds it took.
    pub secs: f64,
    /// Where its log is.
    pub log: PathBuf,
}

impl Build {
    /// The `RUN` steps whose instruction contains `needle`, in order.
    pub fn runs(&self, needle: &str) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| s.instruction.starts_with("RUN") && s.instruction.contains(needle))
            .collect()
    }
}

impl Step {
    /// The local packages whose `Compiling` line this step printed (`Compiling name v1 (/path)`).
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

/// Builds `dockerfile` in `context` as `tag` (plus `extra` options), one output stream.
pub fn build(context: &Path, dockerfile: &Path, tag: &str, extra: &[&str]) -> Build {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join("prewarm-tiers");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join(format!(
        "{}-{}-{}.log",
        std::process::id(),
        tag.replace(['/', ':'], "-"),
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let t = Instant::now();
    for attempt in 0..2 {
        let file = std::fs::File::create(&log).unwrap();
        let mut c = buildah(&[
            "build",
            "--pull=never",
            "--layers",
            "--force-rm",
            "--isolation",
            "chroot",
        ]);
        c.args(extra)
            .arg("-f")
            .arg(dockerfile)
            .args(["-t", tag])
            .arg(context)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        let status = c
            .status()
            .unwrap_or_else(|e| panic!("cannot run buildah: {e}; {SETUP_HINT}"));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        // buildah's re-exec from a sealed memfd sometimes fails before the step runs: retry.
        if !status.success() && attempt == 0 && text.contains("sealing memfd copy") {
            continue;
        }
        let tail: Vec<&str> = text.lines().collect();
        assert!(
            status.success(),
            "buildah build of `{}` failed (log {}):\n{}",
            dockerfile.display(),
            log.display(),
            tail[tail.len().saturating_sub(60)..].join("\n")
        );
        return Build {
            steps: parse(&text),
            secs: t.elapsed().as_secs_f64(),
            log,
        };
    }
    unreachable!("the loop returns or panics")
}

/// `[i/n] STEP j/m: INSTRUCTION`, then `--> Using cache` right after it for a cached step.
fn parse(log: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut just_started = false;
    for line in log.lines() {
        if let Some(pos) = line.find("STEP ") {
            if let Some((counter, instruction)) = line[pos + 5..].split_once(": ") {
                if counter.contains('/') && counter.chars().all(|c| c.is_ascii_digit() || c == '/')
                {
                    steps.push(Step {
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

/// Runs `args` in a container of `image`; returns stdout.
pub fn run_in(image: &str, args: &[&str]) -> String {
    let container = check(buildah(&["from", "--pull=never", "-q", image]))
        .trim()
        .to_string();
    let mut c = buildah(&["run", "--isolation", "chroot", &container, "--"]);
    c.args(args);
    let out = c.output().unwrap();
    let _ = buildah(&["rm", &container]).output();
    assert!(
        out.status.success(),
        "`{}` in {image} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

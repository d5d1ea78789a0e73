//! The command line for people: `--help` texts (snapshots) and the README's copy of the
//! top-level help, which must stay what the binary prints.

mod common;

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_prewarm"))
        .args(args)
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("help_prewarm", &["--help"][..]),
        ("help_recipe", &["recipe", "--help"][..]),
        ("help_cook", &["cook", "--help"][..]),
        ("help_report", &["report", "--help"][..]),
    ] {
        insta::assert_snapshot!(name, help(args));
    }
}

#[test]
fn readme_shows_the_current_top_level_help() {
    let path = common::repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start_marker = "```text\n$ prewarm --help\n";
    let start = readme
        .find(start_marker)
        .expect("README has a `prewarm --help` block")
        + start_marker.len();
    let end = start + readme[start..].find("```").expect("the block is closed");
    let current = help(&["--help"]);
    if std::env::var_os("PREWARM_BLESS").is_some() {
        let updated = format!("{}{current}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        readme[start..end],
        current,
        "README.md's `prewarm --help` block is stale; regenerate with PREWARM_BLESS=1 cargo test --test cli"
    );
}

#[test]
fn user_errors_have_no_backtrace() {
    // Even with backtraces requested, a user error is one message with a hint.
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prewarm"))
        .args(["cook"])
        .current_dir(tmp.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.starts_with("error: failed to read `recipe.json`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(hint: write one with `prewarm recipe`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
}

#[test]
fn cargo_prewarm_is_the_same_program() {
    // cargo runs `cargo-prewarm prewarm VERB ...` for `cargo prewarm VERB ...`, found on PATH.
    let (_tmp, root) = common::fixture("single");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_cargo-prewarm"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["prewarm", "recipe", "--digest"])
        .current_dir(&root)
        .env("PATH", path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let direct = common::prewarm_ok(&root, &["recipe", "--digest"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), direct);
    assert!(direct.starts_with("sha256:"), "{direct}");
    // Usage errors name the cargo spelling.
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-prewarm"))
        .args(["prewarm", "no-such-verb"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cargo prewarm"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

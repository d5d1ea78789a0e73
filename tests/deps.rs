//! `prewarm deps`: the dependency recipe survives edits of the workspace's own wiring that
//! change the recipe (issue 11, 2): a path dependency between members, a member added or
//! removed that uses only crates already built with the same features, a renamed crate. It
//! changes when the external units do. That its cooked layer serves the real build is proven
//! by the `deps_recipe_*` scenarios of tests/cook.rs.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fixture, prewarm, prewarm_ok};

const FLAGS: &[&str] = &["--release", "--locked"];

/// The digests of the recipe and of the dependency recipe of the workspace at `dir`.
fn digests(dir: &Path) -> (String, String) {
    prewarm_ok(dir, &["recipe", "--quiet", "--output", "recipe.json"]);
    let mut args = vec!["deps", "--recipe", "recipe.json", "--output", "deps.json"];
    args.extend_from_slice(FLAGS);
    let out = prewarm(dir, &args);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.contains("external units, apart from"),
        "prewarm deps in {} did not separate the dependencies:\n{said}",
        dir.display()
    );
    let digest = |file: &str| {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        std::fs::remove_file(dir.join(file)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["digest"].as_str().unwrap().to_string()
    };
    (digest("recipe.json"), digest("deps.json"))
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// What a developer runs after such an edit: the lockfile follows the manifests.
fn update_lockfile(dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["update", "--workspace", "--offline"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Applies `change` to a fresh copy of the workspace fixture and returns the digests before
/// and after.
fn before_after(change: impl Fn(&Path)) -> ((String, String), (String, String)) {
    let (_guard, dir) = fixture("workspace");
    let before = digests(&dir);
    change(&dir);
    update_lockfile(&dir);
    (before, digests(&dir))
}

fn assert_kept(what: &str, change: impl Fn(&Path)) {
    let ((recipe0, deps0), (recipe1, deps1)) = before_after(change);
    assert_ne!(
        recipe0, recipe1,
        "{what}: the recipe should change (it names local crates)"
    );
    assert_eq!(
        deps0, deps1,
        "{what}: the dependency recipe changed, so the cook layer would rebuild"
    );
}

fn add_member(dir: &Path) {
    let member = dir.join("crates/extra");
    std::fs::create_dir_all(member.join("src")).unwrap();
    std::fs::write(
        member.join("Cargo.toml"),
        "[package]\nname = \"ws-extra\"\nversion.workspace = true\nedition.workspace = true\n\n[dependencies]\nitoa.workspace = true\n",
    )
    .unwrap();
    std::fs::write(member.join("src/lib.rs"), "pub use itoa::Buffer;\n").unwrap();
}

#[test]
fn kept_after_a_path_dependency_between_members() {
    assert_kept("core now depends on macros", |dir| {
        edit(
            &dir.join("crates/core/Cargo.toml"),
            "[dependencies]\n",
            "[dependencies]\nmacros.workspace = true\n",
        );
    });
}

#[test]
fn kept_after_a_member_with_existing_dependencies_is_added() {
    assert_kept("a new member on itoa", add_member);
}

#[test]
fn kept_after_a_member_with_existing_dependencies_is_removed() {
    let (_guard, dir) = fixture("workspace");
    add_member(&dir);
    update_lockfile(&dir);
    let (recipe0, deps0) = digests(&dir);
    std::fs::remove_dir_all(dir.join("crates/extra")).unwrap();
    update_lockfile(&dir);
    let (recipe1, deps1) = digests(&dir);
    assert_ne!(recipe0, recipe1, "removing a member changes the recipe");
    assert_eq!(
        deps0, deps1,
        "removing a member on itoa changed the dependency recipe"
    );
}

#[test]
fn kept_after_a_crate_is_renamed() {
    assert_kept("ws-app renamed ws-application", |dir| {
        edit(
            &dir.join("crates/app/Cargo.toml"),
            "name = \"ws-app\"",
            "name = \"ws-application\"",
        );
    });
}

#[test]
fn kept_after_a_depended_on_crate_is_renamed() {
    assert_kept("ws-core renamed ws-kernel, its dependents follow", |dir| {
        edit(
            &dir.join("crates/core/Cargo.toml"),
            "name = \"ws-core\"",
            "name = \"ws-kernel\"",
        );
        let manifest = dir.join("crates/core/Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, text + "\n[lib]\nname = \"ws_core\"\n").unwrap();
        edit(
            &dir.join("Cargo.toml"),
            "ws-core = { path = \"crates/core\", version = \"0.3.0\" }",
            "ws-core = { path = \"crates/core\", version = \"0.3.0\", package = \"ws-kernel\" }",
        );
    });
}

#[test]
fn changes_when_an_external_unit_is_added() {
    let ((_, deps0), (_, deps1)) = before_after(|dir| {
        edit(
            &dir.join("crates/core/Cargo.toml"),
            "[dependencies]\n",
            "[dependencies]\ncfg-if.workspace = true\n",
        );
    });
    assert_ne!(
        deps0, deps1,
        "a new external crate must change the dependency recipe"
    );
}

#[test]
fn changes_when_a_profile_changes() {
    let ((_, deps0), (_, deps1)) = before_after(|dir| {
        edit(
            &dir.join("Cargo.toml"),
            "[profile.ci]",
            "[profile.release]\ndebug = 1\n\n[profile.ci]",
        );
    });
    assert_ne!(
        deps0, deps1,
        "a release profile edit must change the dependency recipe"
    );
}

#[test]
fn a_patched_workspace_is_cooked_with_the_full_recipe() {
    // A `[patch]` can swap any external crate for another source: the full recipe, said why.
    let (_guard, dir) = fixture("workspace");
    edit(
        &dir.join("Cargo.toml"),
        "[profile.ci]",
        "[patch.crates-io]\nitoa = { path = \"vendor/itoa\" }\n\n[profile.ci]",
    );
    let vendor = dir.join("vendor/itoa");
    std::fs::create_dir_all(vendor.join("src")).unwrap();
    std::fs::write(
        vendor.join("Cargo.toml"),
        "[package]\nname = \"itoa\"\nversion = \"1.0.19\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(vendor.join("src/lib.rs"), "pub struct Buffer;\n").unwrap();
    prewarm_ok(&dir, &["recipe", "--quiet", "--output", "recipe.json"]);
    let out = prewarm(
        &dir,
        &["deps", "--recipe", "recipe.json", "--output", "deps.json"],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("the full recipe, because the root manifest has `patch`"),
        "{said}"
    );
    let written = std::fs::read_to_string(dir.join("deps.json")).unwrap();
    let recipe = std::fs::read_to_string(dir.join("recipe.json")).unwrap();
    assert_eq!(written, recipe);
}

#[test]
fn a_recipe_that_is_not_one_is_refused_with_its_path() {
    let (_guard, dir) = fixture("workspace");
    std::fs::write(dir.join("recipe.json"), "{}").unwrap();
    let out = prewarm(&dir, &["deps", "--recipe", "recipe.json"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("recipe.json"),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
}

//! `prewarm recipe`: snapshots of each fixture's recipe, determinism across directories,
//! stability under dependency-neutral edits, and errors for bad input.

mod common;

use std::fmt::Write;
use std::path::Path;

use common::{fixture, prewarm, prewarm_ok};

/// The fixture workspaces and the directory (inside the copy) to run `prewarm recipe` in.
const FIXTURES: &[(&str, &str)] = &[
    ("single", "."),
    ("workspace", "."),
    ("outside", "ws"),
    ("config", "."),
    ("credentials", "."),
];

/// The recipe as a reviewable text: digest, packages and targets, then each file's content.
fn readable(recipe: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(recipe).unwrap();
    let mut out = format!(
        "format {} {}\nworkspace: {}\n",
        v["prewarm"], v["digest"], v["workspace"]
    );
    for (dir, pkg) in v["packages"].as_object().unwrap() {
        let _ = writeln!(
            out,
            "package {} at {dir} (member: {})",
            pkg["name"], pkg["member"]
        );
        for t in pkg["targets"].as_array().unwrap() {
            let _ = writeln!(out, "  {} {} -> {}", t["kind"], t["name"], t["path"]);
        }
    }
    for (path, content) in v["files"].as_object().unwrap() {
        let _ = write!(out, "\n===== {path} =====\n{}", content.as_str().unwrap());
    }
    out
}

fn recipe_of(dir: &Path) -> String {
    prewarm_ok(dir, &["recipe", "--output", "-"])
}

#[test]
fn snapshots() {
    for (name, sub) in FIXTURES {
        let (_tmp, root) = fixture(name);
        let recipe = recipe_of(&root.join(sub));
        insta::assert_snapshot!(format!("recipe_{name}"), readable(&recipe));
    }
}

#[test]
fn identical_in_any_directory_and_digest_matches() {
    for (name, sub) in FIXTURES {
        // Two copies at different depths and names, computed by two separate processes.
        let (_a, root_a) = fixture(name);
        let other = tempfile::tempdir().unwrap();
        let root_b = other
            .path()
            .join("some/deeper/place")
            .join(format!("{name}-copy"));
        common::copy_tree(&common::fixture_src(name), &root_b);
        let a = recipe_of(&root_a.join(sub));
        let b = recipe_of(&root_b.join(sub));
        assert_eq!(a, b, "recipe of {name} depends on where the workspace is");
        assert!(
            !a.contains(&*root_a.to_string_lossy()),
            "absolute path leaked into the recipe"
        );
        let value: serde_json::Value = serde_json::from_str(&a).unwrap();
        let digest = prewarm_ok(&root_b.join(sub), &["recipe", "--digest"]);
        assert_eq!(digest.trim(), value["digest"].as_str().unwrap());
        assert!(digest.starts_with("sha256:") && digest.trim().len() == 7 + 64);
        assert_eq!(value["prewarm"], 1);
    }
}

#[test]
fn written_to_file_by_default() {
    let (_tmp, root) = fixture("single");
    prewarm_ok(&root, &["recipe"]);
    let written = std::fs::read_to_string(root.join("recipe.json")).unwrap();
    assert_eq!(written, recipe_of(&root));
}

/// Applies `edit` to a fresh copy of `name` and asserts the recipe is byte-identical.
fn assert_stable(name: &str, sub: &str, what: &str, edit: impl Fn(&Path)) {
    let (_tmp, root) = fixture(name);
    let dir = root.join(sub);
    let before = recipe_of(&dir);
    edit(&root);
    let after = recipe_of(&dir);
    assert_eq!(before, after, "{what} changed the recipe of {name}");
}

fn append(path: &Path, text: &str) {
    let mut s = std::fs::read_to_string(path).unwrap();
    s.push_str(text);
    std::fs::write(path, s).unwrap();
}

fn replace(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "`{from}` not in {}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

#[test]
fn stable_after_source_edit() {
    assert_stable("single", ".", "a source edit", |r| {
        append(
            &r.join("src/lib.rs"),
            "\n/// Added by a test.\npub fn added() -> u8 { 7 }\n",
        );
    });
    assert_stable("workspace", ".", "a source edit", |r| {
        append(&r.join("crates/app/src/main.rs"), "\n// edited\n");
        append(&r.join("crates/core/build.rs"), "\n// edited\n");
    });
}

#[test]
fn stable_after_version_bump() {
    assert_stable("single", ".", "a version bump", |r| {
        replace(
            &r.join("Cargo.toml"),
            "version = \"0.2.0\"",
            "version = \"0.3.1\"",
        );
        replace(
            &r.join("Cargo.lock"),
            "name = \"fixture-single\"\nversion = \"0.2.0\"",
            "name = \"fixture-single\"\nversion = \"0.3.1\"",
        );
    });
    assert_stable("workspace", ".", "a workspace version bump", |r| {
        replace(
            &r.join("Cargo.toml"),
            "version = \"0.3.0\"\nedition",
            "version = \"0.4.0\"\nedition",
        );
        for pkg in ["ws-app", "ws-core", "ws-macros"] {
            replace(
                &r.join("Cargo.lock"),
                &format!("name = \"{pkg}\"\nversion = \"0.3.0\""),
                &format!("name = \"{pkg}\"\nversion = \"0.4.0\""),
            );
        }
        replace(
            &r.join("Cargo.toml"),
            "path = \"crates/core\", version = \"0.3.0\"",
            "path = \"crates/core\", version = \"0.4.0\"",
        );
    });
    assert_stable("outside", "ws", "a path dependency's version bump", |r| {
        replace(
            &r.join("shared/util/Cargo.toml"),
            "version = \"0.4.0\"",
            "version = \"0.4.1\"",
        );
        replace(
            &r.join("ws/Cargo.toml"),
            "version = \"0.4.0\"",
            "version = \"0.4.1\"",
        );
        replace(
            &r.join("ws/Cargo.lock"),
            "name = \"outside-util\"\nversion = \"0.4.0\"",
            "name = \"outside-util\"\nversion = \"0.4.1\"",
        );
    });
}

#[test]
fn stable_after_metadata_edit() {
    assert_stable("single", ".", "metadata edits", |r| {
        let m = r.join("Cargo.toml");
        replace(
            &m,
            "homepage = \"https://example.invalid/prewarm/fixtures/single\"",
            "homepage = \"https://example.invalid/elsewhere\"",
        );
        replace(
            &m,
            "keywords = [",
            "readme = \"README.md\"\ncategories = [\"development-tools\"]\nkeywords = [\"new\", ",
        );
        append(&m, "\n[package.metadata.docs.rs]\nall-features = true\n\n[badges]\nmaintenance = { status = \"actively-developed\" }\n");
        replace(&m, "missing_docs = \"deny\"", "missing_docs = \"warn\"");
    });
    assert_stable("workspace", ".", "metadata edits", |r| {
        replace(
            &r.join("Cargo.toml"),
            "description = \"Virtual workspace fixture for prewarm\"",
            "description = \"Edited\"\nrepository = \"https://example.invalid/x\"",
        );
        replace(&r.join("crates/app/Cargo.toml"), "description = \"Binaries of the workspace fixture\"", "description = \"Edited description\"\ndocumentation = \"https://example.invalid/docs\"");
        append(
            &r.join("crates/core/Cargo.toml"),
            "\n# a comment\n[lints.clippy]\npedantic = \"warn\"\n",
        );
    });
}

#[test]
fn stable_after_new_example() {
    assert_stable("single", ".", "a new example", |r| {
        std::fs::write(
            r.join("examples/another.rs"),
            "fn main() { println!(\"another\"); }\n",
        )
        .unwrap();
    });
    assert_stable("workspace", ".", "a new example", |r| {
        std::fs::write(r.join("crates/app/examples/more.rs"), "fn main() {}\n").unwrap();
    });
    assert_stable("outside", "ws", "the first example of a package", |r| {
        std::fs::create_dir_all(r.join("ws/examples")).unwrap();
        std::fs::write(r.join("ws/examples/first.rs"), "fn main() {}\n").unwrap();
    });
}

#[test]
fn stable_after_new_integration_test() {
    assert_stable("single", ".", "a new integration test", |r| {
        std::fs::write(r.join("tests/more.rs"), "#[test]\nfn more() {}\n").unwrap();
    });
    assert_stable("workspace", ".", "a new integration test", |r| {
        std::fs::write(
            r.join("crates/app/tests/more.rs"),
            "#[test]\nfn more() {}\n",
        )
        .unwrap();
    });
    assert_stable(
        "config",
        ".",
        "the first integration test and bench of a package",
        |r| {
            std::fs::create_dir_all(r.join("tests")).unwrap();
            std::fs::write(r.join("tests/first.rs"), "#[test]\nfn first() {}\n").unwrap();
            std::fs::create_dir_all(r.join("benches")).unwrap();
            std::fs::write(r.join("benches/first.rs"), "fn main() {}\n").unwrap();
        },
    );
}

#[test]
fn stable_after_new_dependency_free_member() {
    assert_stable("workspace", ".", "a new dependency-free member", |r| {
        common::add_crate(&r.join("crates/newbie"), "newbie");
        // What cargo itself writes into the lockfile for the new member.
        let out = std::process::Command::new("cargo")
            .args(["metadata", "--format-version", "1", "--offline"])
            .current_dir(r)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::fs::read_to_string(r.join("Cargo.lock"))
            .unwrap()
            .contains("name = \"newbie\""));
    });
}

#[test]
fn stable_after_new_unused_workspace_dependency() {
    assert_stable(
        "workspace",
        ".",
        "a [workspace.dependencies] entry no member uses",
        |r| {
            let path = r.join("Cargo.toml");
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.replace(
                "[workspace.dependencies]\n",
                "[workspace.dependencies]\nmemchr = { version = \"2\", features = [\"std\"] }\n",
            );
            assert!(
                text.contains("memchr"),
                "the fixture has a [workspace.dependencies] table"
            );
            std::fs::write(&path, text).unwrap();
        },
    );
}

#[test]
fn changes_when_a_member_inherits_a_workspace_dependency_feature() {
    // The other side: a used entry is part of the recipe (its features change the build).
    let (_tmp, root) = fixture("workspace");
    let before = prewarm_ok(&root, &["recipe", "--digest"]);
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "itoa = \"1\"",
            "itoa = { version = \"1\", features = [\"no-panic\"] }",
        ),
    )
    .unwrap();
    assert_ne!(before, prewarm_ok(&root, &["recipe", "--digest"]));
}

#[test]
fn changes_when_dependencies_change() {
    // The other side of stability: edits that do change the dependency build change the recipe.
    let (_tmp, root) = fixture("workspace");
    let before = recipe_of(&root);
    replace(
        &root.join("crates/app/Cargo.toml"),
        "extra = [\"dep:cfg-if\"]",
        "extra = [\"dep:cfg-if\"]\nmore = []",
    );
    let with_feature = recipe_of(&root);
    assert_ne!(before, with_feature, "a new feature must change the recipe");
    append(
        &root.join("Cargo.toml"),
        "\n[profile.release]\nlto = true\n",
    );
    assert_ne!(
        with_feature,
        recipe_of(&root),
        "a profile edit must change the recipe"
    );
}

// ---- bad input -------------------------------------------------------------------------

/// Runs `prewarm recipe` expecting a user error; returns stderr.
fn recipe_error(dir: &Path) -> String {
    let out = prewarm(dir, &["recipe", "--output", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, got {:?}: {stderr}",
        out.status
    );
    assert!(out.stdout.is_empty(), "no recipe may be written on error");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("(hint: "), "no hint in: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    stderr
}

#[test]
fn broken_manifest() {
    let (_tmp, root) = fixture("single");
    append(&root.join("Cargo.toml"), "\n[dependencies\nbroken = \n");
    let err = recipe_error(&root);
    assert!(
        err.contains(&format!("`{}", root.join("Cargo.toml").display())),
        "{err}"
    );
    assert!(err.contains("  | "), "cargo's own message missing: {err}");
}

#[test]
fn missing_lockfile() {
    let (_tmp, root) = fixture("workspace");
    std::fs::remove_file(root.join("Cargo.lock")).unwrap();
    let err = recipe_error(&root);
    assert!(
        err.contains(&format!("`{}`", root.join("Cargo.lock").display())),
        "{err}"
    );
    assert!(err.contains("cargo generate-lockfile"), "{err}");
    assert!(
        !root.join("Cargo.lock").exists(),
        "prewarm must not create the lockfile"
    );
}

#[test]
fn missing_path_dependency() {
    let (_tmp, root) = fixture("outside");
    std::fs::remove_dir_all(root.join("shared/util")).unwrap();
    let err = recipe_error(&root.join("ws"));
    assert!(err.contains("Cargo.toml"), "{err}");
    assert!(err.contains("shared/util"), "{err}");
}

#[test]
fn workspace_rejected_by_cargo() {
    let (_tmp, root) = fixture("workspace");
    // Two members with the same package name: cargo refuses the workspace.
    common::add_crate(&root.join("crates/dup"), "ws-core");
    let err = recipe_error(&root);
    assert!(
        err.contains(&format!("`{}", root.join("Cargo.toml").display())),
        "{err}"
    );
    assert!(
        err.contains("ws-core"),
        "cargo's message should name the duplicate: {err}"
    );
}

#[test]
fn no_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let err = recipe_error(tmp.path());
    assert!(err.contains("Cargo.toml"), "{err}");
    assert!(err.contains("--manifest-path"), "{err}");
}

#[test]
fn secrets_never_enter_a_recipe() {
    let (_tmp, root) = fixture("config");
    append(
        &root.join(".cargo/config.toml"),
        "\n[registry]\ntoken = \"cio-SECRET-1\"\n\n[registries.private]\nindex = \"sparse+https://example.invalid/index/\"\ntoken = \"SECRET-2\"\ncredential-provider = \"cargo:token\"\n",
    );
    std::fs::write(
        root.join(".cargo/credentials.toml"),
        "[registry]\ntoken = \"SECRET-3\"\n",
    )
    .unwrap();
    let recipe = recipe_of(&root);
    assert!(!recipe.contains("SECRET"), "a token leaked into the recipe");
    assert!(
        recipe.contains("sparse+https://example.invalid/index/"),
        "the registry itself is kept"
    );
}

/// Every credential the `credentials` fixture carries (config tables, an included config file,
/// `[env]`, git URLs in each kind of dependency table and a `[patch."<url>"]` key), plus a
/// proxy, a build-dependency and a lockfile source with userinfo: none reaches the recipe, and
/// each is named on stderr by file and key, never by value.
#[test]
fn credentials_are_stripped_everywhere_and_named() {
    let (_tmp, root) = fixture("credentials");
    append(
        &root.join(".cargo/config.toml"),
        "\n[http]\nproxy = \"http://proxy-user:FIXTURE-TOKEN-4@proxy.example.invalid:3128\"\n",
    );
    append(
        &root.join("Cargo.toml"),
        "\n[build-dependencies]\nz = { git = \"https://FIXTURE-TOKEN-5@example.invalid/z\" }\n",
    );
    append(
        &root.join("Cargo.lock"),
        "\n[[package]]\nname = \"z\"\nversion = \"0.1.0\"\nsource = \"git+https://FIXTURE-TOKEN-5@example.invalid/z#0123abcd\"\n",
    );
    let out = prewarm(&root, &["recipe", "--output", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let recipe = String::from_utf8(out.stdout).unwrap();
    assert!(
        !recipe.contains("FIXTURE-TOKEN"),
        "a credential leaked into the recipe:\n{}",
        readable(&recipe)
    );
    assert!(!stderr.contains("FIXTURE-TOKEN"), "{stderr}");
    // What stays: hosts and paths, the patch still matching its dependency, the marker.
    let v: serde_json::Value = serde_json::from_str(&recipe).unwrap();
    let files = &v["files"];
    let manifest = files["Cargo.toml"].as_str().unwrap();
    assert!(
        manifest.contains("[patch.\"https://github.com/prewarm-fixtures/y\".y]"),
        "{manifest}"
    );
    assert!(
        manifest.contains("git = \"https://github.com/prewarm-fixtures/y\""),
        "{manifest}"
    );
    let config = files[".cargo/config.toml"].as_str().unwrap();
    assert!(
        config.contains("FIXTURE_SECRET_TOKEN = \"prewarm-stripped\""),
        "{config}"
    );
    assert!(
        config.contains("proxy = \"http://proxy.example.invalid:3128\""),
        "{config}"
    );
    assert!(
        files[".cargo/registries.toml"].is_string(),
        "the included config file is not in the recipe"
    );
    assert!(files["Cargo.lock"]
        .as_str()
        .unwrap()
        .contains("source = \"git+https://example.invalid/z#0123abcd\""));
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("prewarm: stripped") || l.starts_with("prewarm: note"))
        .collect();
    insta::assert_snapshot!("stripped_credentials", lines.join("\n"));
}

// ---- cargo's config-include ------------------------------------------------------------

/// Writes `.cargo/config.toml` of `root` as `include` followed by the file as it was.
fn prepend_include(root: &Path, include: &str) {
    let cfg = root.join(".cargo/config.toml");
    let original = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("include = {include}\n{original}")).unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn config_includes_are_followed_and_stripped() {
    let (_tmp, root) = fixture("config");
    prepend_include(
        &root,
        r#"["more/extra.toml", { path = "../shared.toml", optional = true }, { path = "absent.toml", optional = true }]"#,
    );
    // Paths are relative to the directory of the file that includes them, at any depth.
    write(
        &root.join(".cargo/more/extra.toml"),
        "include = [\"deeper.toml\"]\n\n[registry]\ntoken = \"INCLUDED-TOKEN\"\n\n[env]\nFROM_EXTRA = \"extra\"\n",
    );
    write(
        &root.join(".cargo/more/deeper.toml"),
        "[env]\nFROM_DEEPER = \"deeper\"\n",
    );
    write(
        &root.join("shared.toml"),
        "[env]\nFROM_SHARED = \"shared\"\n",
    );
    let out = prewarm(&root, &["recipe", "--output", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let recipe = String::from_utf8(out.stdout).unwrap();
    assert!(!recipe.contains("INCLUDED-TOKEN"), "{}", readable(&recipe));
    let v: serde_json::Value = serde_json::from_str(&recipe).unwrap();
    let files: Vec<&String> = v["files"].as_object().unwrap().keys().collect();
    for (file, holds) in [
        (".cargo/more/extra.toml", "FROM_EXTRA"),
        (".cargo/more/deeper.toml", "FROM_DEEPER"),
        ("shared.toml", "FROM_SHARED"),
        (".cargo/config.toml", "include = ["),
    ] {
        let text = v["files"][file]
            .as_str()
            .unwrap_or_else(|| panic!("`{file}` is not in the recipe: {files:?}"));
        assert!(text.contains(holds), "{file}: {text}");
    }
    assert!(!files.iter().any(|f| f.contains("absent")), "{files:?}");
    assert!(
        stderr.contains(
            "prewarm: stripped a credential from `.cargo/more/extra.toml` key `registry.token` (token)"
        ),
        "{stderr}"
    );
}

#[test]
fn config_includes_outside_the_project_or_missing_are_refused() {
    let (tmp, root) = fixture("config");
    write(&tmp.path().join("outside.toml"), "[env]\nX = \"1\"\n");
    prepend_include(&root, r#"["../../outside.toml"]"#);
    let err = recipe_error(&root);
    assert!(
        err.contains("includes `../../outside.toml`, which is outside `"),
        "{err}"
    );
    assert!(
        err.contains(&format!("`{}`", root.join(".cargo/config.toml").display())),
        "{err}"
    );

    let (_tmp, root) = fixture("config");
    prepend_include(&root, r#"[{ path = "missing.toml" }]"#);
    let err = recipe_error(&root);
    assert!(err.contains("missing.toml"), "{err}");

    let (_tmp, root) = fixture("config");
    write(&root.join(".cargo/a.toml"), "include = [\"b.toml\"]\n");
    write(&root.join(".cargo/b.toml"), "include = [\"a.toml\"]\n");
    prepend_include(&root, r#"["a.toml"]"#);
    let err = recipe_error(&root);
    assert!(err.contains("a.toml"), "{err}");
}

#[test]
fn found_from_a_subdirectory_as_cargo_finds_it() {
    let (_tmp, root) = fixture("workspace");
    let from_root = prewarm_ok(&root, &["recipe", "--digest"]);
    let sub = root.join("crates/app/src");
    assert!(sub.is_dir(), "fixture layout changed: {}", sub.display());
    let from_sub = prewarm_ok(&sub, &["recipe", "--digest"]);
    assert_eq!(from_root, from_sub);
    // An explicit path is taken as given: no search.
    let out = prewarm(
        &sub,
        &["recipe", "--digest", "--manifest-path", "nope/Cargo.toml"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no manifest at `nope/Cargo.toml`"));
}

#[test]
fn json_summary_matches_its_schema() {
    let (_tmp, root) = fixture("credentials");
    let out = prewarm(&root, &["recipe", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("stripped"),
        "the credentials go into the JSON: {stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_schema("recipe-summary-schema.json", &json);
    let on_disk = std::fs::read_to_string(root.join("recipe.json")).unwrap();
    let recipe: serde_json::Value = serde_json::from_str(&on_disk).unwrap();
    assert_eq!(json["digest"], recipe["digest"]);
    let stripped = json["stripped"].as_array().unwrap();
    assert!(
        !stripped.is_empty(),
        "the credentials fixture has credentials: {json:#}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("FIXTURE-TOKEN"),
        "a value leaked into the summary"
    );
    // Not with --digest or --output -: those print something else on stdout.
    for extra in [&["--digest"][..], &["--output", "-"][..]] {
        let mut args = vec!["recipe", "--format", "json"];
        args.extend_from_slice(extra);
        let out = prewarm(&root, &args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The schema can fail.
    let mut broken = json.clone();
    broken["digest"] = "md5:0".into();
    assert!(!common::schema_errors("recipe-summary-schema.json", &broken).is_empty());
}

#[test]
fn quiet_and_verbose_are_global() {
    let (_tmp, root) = fixture("single");
    // -q before or after the verb: nothing on stderr.
    for args in [&["-q", "recipe"][..], &["recipe", "--quiet"][..]] {
        let out = prewarm(&root, args);
        assert!(out.status.success());
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // -v names the commands prewarm runs.
    let out = prewarm(&root, &["recipe", "-v", "--force"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("running `") && stderr.contains("metadata"),
        "{stderr}"
    );
    // Both at once is a usage error.
    assert_eq!(
        prewarm(&root, &["-q", "-v", "recipe"]).status.code(),
        Some(2)
    );
}

#[test]
fn color_follows_the_flag_and_the_environment() {
    let (_tmp, root) = fixture("single");
    let error_line = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["cook", "--recipe", "missing.json"];
        all.extend_from_slice(args);
        let out = common::prewarm_env(&root, &all, env);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(error_line(&["--color", "always"], &[]).starts_with("\x1b[1;31merror:"));
    assert!(error_line(&["--color", "never"], &[]).starts_with("error:"));
    // auto: stderr is a pipe here, so no colour unless CARGO_TERM_COLOR says always;
    // NO_COLOR wins over it.
    assert!(error_line(&[], &[]).starts_with("error:"));
    assert!(error_line(&[], &[("CARGO_TERM_COLOR", "always")]).starts_with("\x1b[1;31merror:"));
    assert!(
        error_line(&[], &[("CARGO_TERM_COLOR", "always"), ("NO_COLOR", "1")]).starts_with("error:")
    );
}

// ---- --bin: only what some binaries need ---------------------------------------------------

/// The `[[package]]` names of a recipe's Cargo.lock, and each one's dependency list.
fn lock_packages(recipe: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    let lock: toml::Table =
        toml::from_str(recipe["files"]["Cargo.lock"].as_str().unwrap()).unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p
                .get("dependencies")
                .and_then(toml::Value::as_array)
                .map(|d| d.iter().map(|d| d.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn bin_snapshot() {
    let (_tmp, root) = fixture("services");
    let recipe = prewarm_ok(&root, &["recipe", "--bin", "api", "--output", "-"]);
    insta::assert_snapshot!("recipe_services_bin_api", readable(&recipe));
}

#[test]
fn bin_keeps_the_closure_and_the_lockfile_cargo_wants_for_it() {
    let (_tmp, root) = fixture("services");
    let recipe: serde_json::Value = serde_json::from_str(&prewarm_ok(
        &root,
        &["recipe", "--bin", "api", "--output", "-"],
    ))
    .unwrap();
    let packages: Vec<&str> = recipe["packages"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // testkit is only a dev-dependency of api: cargo still resolves it, so it stays.
    assert_eq!(packages, ["api", "common", "testkit"]);
    let lock = lock_packages(&recipe);
    let names: Vec<&str> = lock.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["api", "common", "itoa", "memchr", "testkit"]);
    // `log` is an optional dependency of memchr that only worker's `logging` feature enables:
    // reachable in Cargo.lock's graph, but not part of what cargo resolves without worker.
    let memchr = lock.iter().find(|(n, _)| n == "memchr").unwrap();
    assert!(memchr.1.is_empty(), "{memchr:?}");

    // cargo itself accepts the pruned lockfile for the skeleton as it is (`--locked`).
    let cook = tempfile::tempdir().unwrap();
    let recipe =
        prewarm::recipe::Recipe::from_json(&recipe.to_string(), Path::new("recipe.json")).unwrap();
    for (rel, content, _) in recipe.skeleton_files() {
        let path = cook.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(cook.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo refuses the pruned lockfile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = std::fs::read_to_string(cook.path().join("Cargo.lock")).unwrap();
    assert_eq!(
        lock, recipe.files["Cargo.lock"],
        "cargo rewrote the lockfile"
    );
}

#[test]
fn bin_recipe_survives_source_and_dependency_edits_in_an_unrelated_member() {
    let (_tmp, root) = fixture("services");
    let digest = |args: &[&str]| {
        let mut all = vec!["recipe", "--digest"];
        all.extend_from_slice(args);
        prewarm_ok(&root, &all).trim().to_string()
    };
    let api = digest(&["--bin", "api"]);
    let whole = digest(&[]);

    append(&root.join("crates/worker/src/main.rs"), "\n// edited\n");
    // a source edit inside api's closure keeps its recipe too
    append(&root.join("crates/common/src/lib.rs"), "\n// edited\n");
    // a `[workspace.dependencies]` entry that only worker inherits
    replace(
        &root.join("Cargo.toml"),
        "itoa = \"1\"",
        "itoa = \"1\"\nryu = \"1\"",
    );
    replace(
        &root.join("crates/worker/Cargo.toml"),
        "ryu = \"1\"",
        "ryu.workspace = true",
    );
    // a new dependency of worker's, and a feature of a dependency it shares with api
    replace(
        &root.join("crates/worker/Cargo.toml"),
        "ryu.workspace = true",
        "ryu.workspace = true\nitoa.workspace = true",
    );
    replace(
        &root.join("crates/worker/Cargo.toml"),
        "features = [\"std\", \"logging\"]",
        "features = [\"std\", \"logging\", \"libc\"]",
    );
    let update =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["update", "--workspace", "--offline"])
            .current_dir(&root)
            .output()
            .unwrap();
    assert!(
        update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );
    assert_ne!(whole, digest(&[]), "the edit must change the whole recipe");
    assert_eq!(
        api,
        digest(&["--bin", "api"]),
        "an edit in worker changed api's recipe"
    );

    // The other side: a dependency edit inside api's closure changes its recipe.
    replace(
        &root.join("crates/common/Cargo.toml"),
        "memchr.workspace = true",
        "memchr.workspace = true\nitoa.workspace = true",
    );
    let update =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["update", "--workspace", "--offline"])
            .current_dir(&root)
            .output()
            .unwrap();
    assert!(
        update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );
    assert_ne!(
        api,
        digest(&["--bin", "api"]),
        "a dependency of common must change api's recipe"
    );
}

#[test]
fn bin_whose_closure_is_the_whole_workspace_keeps_the_recipe() {
    // Two separate computations: the plain recipe, and one narrowed through cargo's resolve.
    for (name, bins) in [
        ("single", &["--bin", "fixture-single"][..]),
        ("services", &["--bin", "api", "--bin", "worker"][..]),
    ] {
        let (_tmp, root) = fixture(name);
        let mut args = vec!["recipe", "--output", "-"];
        args.extend_from_slice(bins);
        assert_eq!(
            recipe_of(&root),
            prewarm_ok(&root, &args),
            "{name} {bins:?}"
        );
    }
}

#[test]
fn bin_of_no_member_lists_the_binaries() {
    let (_tmp, root) = fixture("services");
    let out = prewarm(&root, &["recipe", "--bin", "nope", "--output", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: `--bin nope`: no member"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(hint: its binaries: `api` (package `api`), `worker` (package `worker`))"),
        "{stderr}"
    );
}

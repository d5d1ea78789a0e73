//! Hardening: nothing is written or deleted outside the cook directory and the target
//! directories cargo used, nothing is written through a symlink or a hard link, an interrupted
//! cook leaves nothing a later cook takes for its own, `--output` never clobbers a file prewarm
//! did not write, and a closed standard output ends a verb quietly. Each test here failed on
//! prewarm 0.1.0.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{cook_dir, cook_error, fixture, listing, prewarm, prewarm_ok};

/// Every file below `dir` with its content, for before/after comparisons.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            (rel, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    out.sort();
    out
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// ---- 1.1 target names ------------------------------------------------------------------

#[test]
fn cook_refuses_an_example_test_or_bench_name_that_names_a_path() {
    for flag in ["--example", "--test", "--bench"] {
        // the cook directory sits two levels down, so `<cook>/examples/../../esc.rs` is a
        // user's file beside it
        let (_g, real) = fixture("single");
        prewarm_ok(&real, &["recipe"]);
        let home = tempfile::tempdir().unwrap();
        let cook = home.path().join("a/cook");
        std::fs::create_dir_all(&cook).unwrap();
        std::fs::rename(real.join("recipe.json"), cook.join("recipe.json")).unwrap();
        let canary = home.path().join("a/esc.rs");
        write(&canary, "// the user's own file\n");
        let before = snapshot(home.path());
        for name in ["../../esc", "a/b", "x\\y", ".."] {
            let err = cook_error(&cook, &["cook", "--quiet", flag, name]);
            assert!(err.contains("not a valid cargo target name"), "{err}");
            assert!(err.contains(flag), "{err}");
        }
        assert_eq!(
            snapshot(home.path()),
            before,
            "{flag}: something was written"
        );
    }
}

#[test]
fn a_recipe_target_name_that_names_a_path_is_refused() {
    let (_c, dir, _g) = cook_dir();
    common::restamp(&dir, |v| {
        let pkg = v["packages"]
            .as_object_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        pkg["targets"][0]["name"] = serde_json::json!("../../evil");
    });
    let err = cook_error(&dir, &["cook"]);
    assert!(
        err.contains("../../evil") && err.contains("target name"),
        "{err}"
    );
    assert_eq!(listing(&dir), vec!["recipe.json".to_string()]);
}

#[test]
fn a_recipe_file_inside_prewarms_own_directory_is_refused() {
    let (_c, dir, _g) = cook_dir();
    common::restamp(&dir, |v| {
        v["files"]
            .as_object_mut()
            .unwrap()
            .insert(".prewarm/skeleton.json".into(), serde_json::json!("{}"));
    });
    let err = cook_error(&dir, &["cook"]);
    assert!(err.contains(".prewarm"), "{err}");
    assert_eq!(listing(&dir), vec!["recipe.json".to_string()]);
}

// ---- 1.2 cleanup deletes only what cargo wrote -----------------------------------------

#[test]
fn cleanup_of_an_outside_target_dir_touches_only_cargos_own_layout() {
    let (_c, dir, _g) = cook_dir();
    // `--target-dir` names a directory of the user's that holds look-alikes of cargo's layout
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    write(&h.join("notes/doc/fixture_single/index.html"), "my notes");
    write(&h.join("doc/fixture_single/index.html"), "my doc");
    write(&h.join("proj/debug/.cargo-lock"), "");
    write(&h.join("proj/debug/fixture-single"), "my script");
    write(
        &h.join("proj/debug/.fingerprint/fixture-single-0123456789abcdef/x"),
        "mine",
    );
    write(
        &h.join(
            "old/x86_64-unknown-linux-gnu/debug/.fingerprint/fixture-single-0123456789abcdef/y",
        ),
        "mine",
    );
    write(
        &h.join("proj/debug/deps/libfixture_single-0123456789abcdef.rlib"),
        "mine",
    );
    let before = snapshot(h);
    let target = h.display().to_string();
    prewarm_ok(&dir, &["cook", "--quiet", "--target-dir", &target]);
    let after = snapshot(h);
    for (path, content) in &before {
        assert!(
            after.iter().any(|(p, c)| p == path && c == content),
            "the user's `{path}` was removed or changed by the cleanup"
        );
    }
    // ...while cargo's own local artifacts in the layout it used are gone
    let debug = h.join("debug");
    assert!(
        debug.join("deps").is_dir(),
        "the cook built into {}",
        debug.display()
    );
    for entry in listing(&debug.join(".fingerprint")) {
        assert!(!entry.starts_with("fixture-single-"), "left: {entry}");
    }
    assert!(!debug.join("fixture-single").exists());
}

// ---- 1.3 no write through a symlink or a hard link -------------------------------------

#[test]
fn a_prewarm_dir_that_is_a_symlink_is_refused_forced_or_not() {
    for force in [false, true] {
        let (_c, dir, _g) = cook_dir();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.join(".prewarm")).unwrap();
        let mut args = vec!["cook", "--quiet"];
        if force {
            args.push("--force");
        }
        let err = cook_error(&dir, &args);
        assert!(err.contains("symlink") && err.contains(".prewarm"), "{err}");
        assert!(listing(outside.path()).is_empty(), "wrote through the link");
    }
}

#[test]
fn a_target_prewarm_dir_that_is_a_symlink_is_refused() {
    let (_c, dir, _g) = cook_dir();
    let outside = tempfile::tempdir().unwrap();
    // a target directory from an earlier build (skipped by the foreign-file check)
    write(
        &dir.join("target/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    );
    std::os::unix::fs::symlink(outside.path(), dir.join("target/.prewarm")).unwrap();
    let err = cook_error(&dir, &["cook", "--quiet"]);
    assert!(err.contains("symlink") && err.contains(".prewarm"), "{err}");
    assert!(listing(outside.path()).is_empty(), "wrote through the link");
    assert!(
        !dir.join("src").exists(),
        "refused, so no dummy source is left either"
    );
}

#[test]
fn a_planted_hard_link_is_never_written_through() {
    let (_c, dir, _g) = cook_dir();
    let outside = tempfile::tempdir().unwrap();
    let theirs = outside.path().join("Cargo.toml");
    write(&theirs, "[package]\nname = \"someone-elses\"\n");
    std::fs::hard_link(&theirs, dir.join("Cargo.toml")).unwrap();
    prewarm_ok(&dir, &["cook", "--quiet", "--force"]);
    assert_eq!(
        std::fs::read_to_string(&theirs).unwrap(),
        "[package]\nname = \"someone-elses\"\n"
    );
}

// ---- 1.4 an interrupted cook ----------------------------------------------------------

#[test]
fn after_an_interrupted_cook_the_users_real_files_are_refused_not_overwritten() {
    let (_c, dir, _g) = cook_dir();
    // The state a SIGKILL between the build and the cleanup leaves: the skeleton laid out
    // with its record, dummies still in place.
    let path = dir.join("recipe.json");
    let recipe =
        prewarm::recipe::Recipe::from_json(&std::fs::read_to_string(&path).unwrap(), &path)
            .unwrap();
    prewarm::skeleton::lay_out(&dir, &recipe).unwrap();
    assert!(dir.join("src/lib.rs").is_file());
    // The user has since put real files there.
    let real_lib = "//! The real library.\npub fn answer() -> u8 { 42 }\n";
    let real_manifest = "[package]\nname = \"mine\"\nversion = \"1.0.0\"\n";
    write(&dir.join("src/lib.rs"), real_lib);
    write(&dir.join("Cargo.toml"), real_manifest);
    let err = cook_error(&dir, &["cook", "--quiet"]);
    assert!(
        err.contains("src/lib.rs") && err.contains("Cargo.toml"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap(),
        real_lib
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("Cargo.toml")).unwrap(),
        real_manifest
    );
}

#[test]
fn a_file_the_user_changed_is_not_removed_as_a_dummy() {
    let (_c, dir, _g) = cook_dir();
    let path = dir.join("recipe.json");
    let recipe =
        prewarm::recipe::Recipe::from_json(&std::fs::read_to_string(&path).unwrap(), &path)
            .unwrap();
    let mut record = prewarm::skeleton::lay_out(&dir, &recipe).unwrap();
    write(&dir.join("src/lib.rs"), "//! mine now\n");
    prewarm::skeleton::remove_sources(&dir, &mut record).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap(),
        "//! mine now\n"
    );
    assert!(
        !dir.join("src/main.rs").exists(),
        "the untouched dummies do go"
    );
}

// ---- 1.5 the --edits probe shares no file with the project ------------------------------

#[test]
fn edits_probe_never_edits_a_file_behind_a_symlink() {
    let (_g, real) = fixture("single");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("lib.rs");
    std::fs::rename(real.join("src/lib.rs"), &target).unwrap();
    std::os::unix::fs::symlink(&target, real.join("src/lib.rs")).unwrap();
    // An edit that is undone afterwards leaves the content as it was, but not the
    // modification time: a file never written keeps this one.
    let long_ago = filetime::FileTime::from_unix_time(946_684_800, 0);
    filetime::set_file_mtime(&target, long_ago).unwrap();
    let before = std::fs::read(&target).unwrap();
    let out = prewarm(&real, &["verify", "--edits", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("source"));
    assert_eq!(
        std::fs::read(&target).unwrap(),
        before,
        "the real file was edited"
    );
    let mtime =
        filetime::FileTime::from_last_modification_time(&std::fs::metadata(&target).unwrap());
    assert_eq!(mtime, long_ago, "the real file was written (and restored)");
    assert!(std::fs::symlink_metadata(real.join("src/lib.rs"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn edits_probe_refuses_a_dangling_symlink_clearly() {
    let (_g, real) = fixture("single");
    std::os::unix::fs::symlink("/nonexistent/prewarm-test", real.join("src/gone.rs")).unwrap();
    let err = cook_error(&real, &["verify", "--edits", "-q"]);
    assert!(err.contains("gone.rs") && err.contains("symlink"), "{err}");
}

// ---- 1.6 and 1.7: --output and --recipe -------------------------------------------------

#[test]
fn recipe_output_never_clobbers_what_prewarm_did_not_write() {
    let (_g, real) = fixture("single");
    for victim in ["src/main.rs", "Cargo.toml"] {
        let before = std::fs::read(real.join(victim)).unwrap();
        let err = cook_error(&real, &["recipe", "-o", victim]);
        assert!(err.contains(victim) && err.contains("--force"), "{err}");
        assert_eq!(std::fs::read(real.join(victim)).unwrap(), before);
    }
    // a directory and a FIFO are refused, forced or not
    std::fs::create_dir(real.join("out.d")).unwrap();
    let fifo = real.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for target in ["out.d", "pipe"] {
        let err = cook_error(&real, &["recipe", "-o", target, "--force"]);
        assert!(err.contains(target), "{err}");
    }
    // its own earlier recipe is replaced; anything else only with --force
    prewarm_ok(&real, &["recipe", "-o", "r.json"]);
    prewarm_ok(&real, &["recipe", "-o", "r.json"]);
    write(&real.join("notes.json"), "{\"mine\": true}");
    cook_error(&real, &["recipe", "-o", "notes.json"]);
    prewarm_ok(&real, &["recipe", "-o", "notes.json", "--force"]);
    assert!(std::fs::read_to_string(real.join("notes.json"))
        .unwrap()
        .contains("\"prewarm\": 1"));
}

#[test]
fn cook_with_a_manifest_as_recipe_is_refused_before_anything_is_written() {
    let (_g, real) = fixture("single");
    let before = snapshot(&real);
    let err = cook_error(&real, &["cook", "--recipe", "Cargo.toml", "--force"]);
    assert!(
        err.contains("Cargo.toml") && err.contains("not a prewarm recipe"),
        "{err}"
    );
    assert!(err.contains("TOML"), "{err}");
    assert_eq!(snapshot(&real), before);
}

// ---- 4.1 a closed standard output --------------------------------------------------------

/// Runs prewarm with its standard output a pipe whose reader is already gone.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prewarm"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let (_c, dir, _g) = cook_dir();
    prewarm_ok(&dir, &["cook", "--quiet"]);
    let (_g2, real) = fixture("single");
    for (where_, args) in [
        (&real, &["recipe", "--digest"][..]),
        (&real, &["recipe", "-o", "-"][..]),
        (&dir, &["check"][..]),
        (&dir, &["check", "--format", "json"][..]),
    ] {
        let out = with_closed_stdout(where_, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

// ---- 4.2 --edits on a single-package project ---------------------------------------------

#[test]
fn edits_probe_on_a_single_package_says_the_member_edit_does_not_apply() {
    let (_g, real) = fixture("single");
    let manifest = std::fs::read_to_string(real.join("Cargo.toml")).unwrap();
    std::fs::write(
        real.join("Cargo.toml"),
        manifest.replace("[workspace]\n", ""),
    )
    .unwrap();
    let out = prewarm(&real, &["verify", "--edits", "-q"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().find(|l| l.contains("new-member")).unwrap();
    assert!(line.contains("n/a"), "{stdout}");
    // No workspace: no member to add, none to wire to another (the wiring edits' two that
    // need members); the rename still applies.
    assert!(
        stdout.contains("6 of 6") && stdout.contains("3 not applicable"),
        "{stdout}"
    );
    for edit in ["path-dependency", "member-on-deps"] {
        let line = stdout.lines().find(|l| l.contains(edit)).unwrap();
        assert!(line.contains("n/a"), "{stdout}");
    }
    let json = prewarm_ok(&real, &["verify", "--edits", "-q", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["stable"], true);
    let member = report["edits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["edit"] == "new-member")
        .unwrap();
    assert!(member["not_applicable"].is_string(), "{member}");
}

// ---- 5.1 found by the fuzz target (tests/fuzz.rs) ----------------------------------------

/// A restamped recipe in `home/cook`, with `edit` applied; returns the cook directory.
fn hostile_recipe_in(home: &Path, edit: impl Fn(&mut serde_json::Value)) -> std::path::PathBuf {
    let (_g, real) = fixture("single");
    prewarm_ok(&real, &["recipe"]);
    let cook = home.join("cook");
    std::fs::create_dir_all(&cook).unwrap();
    std::fs::rename(real.join("recipe.json"), cook.join("recipe.json")).unwrap();
    common::restamp(&cook, edit);
    cook
}

#[test]
fn a_recipe_package_name_that_names_a_path_is_refused_before_the_doc_cleanup() {
    // `cook --doc` removes `<target>/doc/<crate>` and `<target>/doc/src/<crate>` for every
    // local crate, and a package's name is one: from `<cook>/target/doc/src`, four `..` lead
    // to the directory that holds the cook directory
    let home = tempfile::tempdir().unwrap();
    let victim = home.path().join("victim/keep.txt");
    write(&victim, "the user's own file\n");
    let cook = hostile_recipe_in(home.path(), |v| {
        let pkg = v["packages"].as_object_mut().unwrap().values_mut().next();
        pkg.unwrap()["name"] = serde_json::json!("../../../../victim");
    });
    let out = prewarm(&cook, &["cook", "--quiet", "--doc"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        victim.is_file(),
        "the doc cleanup deleted `{}`",
        victim.display()
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("../../../../victim") && stderr.contains("package name"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(hint: ") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_eq!(listing(&cook), vec!["recipe.json".to_string()]);
}

#[test]
fn a_recipe_path_in_another_spelling_is_refused() {
    // `./crates/y/src/lib.rs` is `crates/y/src/lib.rs`, but the skeleton record kept the
    // spelling, so a second cook took the cook's own file for a user's and refused to cook
    for (field, path) in [
        ("files", "./Cargo.lock"),
        ("files", "src//x.rs"),
        ("files", "src/x.rs/"),
        ("files", "."),
        ("packages", "./"),
    ] {
        let home = tempfile::tempdir().unwrap();
        let cook = hostile_recipe_in(home.path(), |v| {
            let map = v[field].as_object_mut().unwrap();
            let (first, value) = map
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap();
            if field == "packages" {
                map.remove(&first);
            }
            map.insert(path.to_string(), value);
        });
        let err = cook_error(&cook, &["cook", "--quiet"]);
        assert!(err.contains(&format!("the path `{path}`")), "{path}: {err}");
        assert_eq!(listing(&cook), vec!["recipe.json".to_string()], "{path}");
    }
}

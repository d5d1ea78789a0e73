//! End-to-end tests of `prewarm verify` and `prewarm check`: they run cargo for real on the
//! fixtures (crates.io is needed for the generated libc project only when its crate is not
//! cached yet).
//!
//! - a scenario matrix: each fixture × {dev, release, custom profile} × {whole workspace,
//!   `-p member`, `--bin` (with required-features where the fixture has one), explicit
//!   `--target`} must reuse 100% of a non-empty set of external units;
//! - negative scenarios, each with the reason category it must report;
//! - every JSON report is validated against docs/verify-schema.json;
//! - the `--edits` probe is checked against digests computed independently;
//! - `prewarm check` names drift after a real cook.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

const HOST: &str = "x86_64-unknown-linux-gnu";

fn schema() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(common::repo().join("docs/verify-schema.json")).unwrap();
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema is a valid JSON schema")
    })
}

/// Asserts that `report` conforms to docs/verify-schema.json.
fn assert_valid(report: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match docs/verify-schema.json:\n{}\n{report:#}",
        errors.join("\n")
    );
}

/// Runs the prewarm binary in `dir` with a clean cargo environment plus `env`.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    common::prewarm_env(dir, args, env)
}

/// Runs `prewarm verify --format json -q <args>`; returns (exit code, validated report, stderr).
fn verify(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut all = vec!["verify", "--format", "json", "-q"];
    all.extend_from_slice(args);
    let out = run(dir, &all, env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify {args:?} printed no JSON report ({e}):\n{stderr}"));
    assert_valid(&report);
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn rebuilt_reasons(report: &Value) -> Vec<(String, String)> {
    report["rebuilt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["package"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The scenario matrix.

struct Matrix {
    fixture: &'static str,
    /// The manifest, relative to the fixture copy.
    manifest: &'static str,
    custom_profile: Option<&'static str>,
    member: &'static str,
    bin: &'static [&'static str],
}

fn run_matrix(m: &Matrix) {
    let (_tmp, root) = common::fixture(m.fixture);
    let manifest = root.join(m.manifest);
    let manifest = manifest.to_str().unwrap();
    let mut profiles: Vec<Vec<&str>> = vec![vec![], vec!["--release"]];
    if let Some(p) = m.custom_profile {
        profiles.push(vec!["--profile", p]);
    }
    let selections: Vec<Vec<&str>> = vec![
        vec![],
        vec!["-p", m.member],
        m.bin.to_vec(),
        vec!["--target", HOST],
    ];
    let mut failures = Vec::new();
    for profile in &profiles {
        for selection in &selections {
            let mut args = vec!["--manifest-path", manifest];
            args.extend(profile.iter().copied());
            args.extend(selection.iter().copied());
            let (code, report, stderr) = verify(&root, &args, &[]);
            let ext = &report["external"];
            let ok = code == 0
                && report["passed"] == Value::Bool(true)
                && ext["total"].as_u64().unwrap() > 0
                && ext["reused"] == ext["total"]
                && ext["percent"].as_f64() == Some(100.0)
                && report["workspace"]["fresh"] == 0
                && report["workspace"]["compiled"].as_u64().unwrap() > 0
                && report["drift"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|d| d["harmless"] == true);
            if !ok {
                failures.push(format!(
                    "{} {:?} {:?}: exit {code}, external {ext}, workspace {}, rebuilt {:?}, drift {}\n{stderr}",
                    m.fixture,
                    profile,
                    selection,
                    report["workspace"],
                    rebuilt_reasons(&report),
                    report["drift"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} matrix cells fell short:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn matrix_single() {
    run_matrix(&Matrix {
        fixture: "single",
        manifest: "Cargo.toml",
        custom_profile: None,
        member: "fixture-single",
        bin: &["--bin", "fixture-single"],
    });
}

#[test]
fn matrix_workspace() {
    run_matrix(&Matrix {
        fixture: "workspace",
        manifest: "Cargo.toml",
        custom_profile: Some("ci"),
        member: "ws-core",
        // `app-extra` has `required-features = ["extra"]`, which pulls in the optional cfg-if.
        bin: &["-p", "ws-app", "--bin", "app-extra", "--features", "extra"],
    });
}

#[test]
fn matrix_outside() {
    run_matrix(&Matrix {
        fixture: "outside",
        manifest: "ws/Cargo.toml",
        custom_profile: None,
        member: "outside-app",
        bin: &["--bin", "outside-app"],
    });
}

#[test]
fn matrix_config() {
    run_matrix(&Matrix {
        fixture: "config",
        manifest: "Cargo.toml",
        custom_profile: None,
        member: "fixture-config",
        bin: &["--bin", "fixture-config"],
    });
}

// ---------------------------------------------------------------------------------------------
// Negative scenarios: the reuse falls short, and verify says why.

/// Asserts a short report (exit 10) in which every rebuilt unit has reason `want` and at
/// least one external unit rebuilt.
fn assert_short_because(report: &Value, code: i32, stderr: &str, want: &str) {
    assert_eq!(
        code, 10,
        "verify must exit 10 when reuse falls short:\n{stderr}\n{report:#}"
    );
    assert_eq!(report["passed"], false);
    let reasons = rebuilt_reasons(report);
    assert!(!reasons.is_empty(), "no unit rebuilt:\n{report:#}");
    assert!(
        reasons.iter().all(|(_, r)| r == want),
        "expected every rebuilt unit to be `{want}`: {reasons:?}\n{report:#}"
    );
    assert_eq!(report["reasons"][0]["reason"], want);
    assert!(stderr.contains("below the required 100%"), "{stderr}");
}

fn drift_settings(report: &Value) -> Vec<String> {
    report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["harmless"] == false)
        .map(|d| d["setting"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn cook_dev_build_release_is_a_profile_difference() {
    let (_tmp, root) = common::fixture("workspace");
    let (code, report, stderr) = verify(&root, &["--build-flags", "--release"], &[]);
    assert_short_because(&report, code, &stderr, "profile");
    assert_eq!(report["external"]["reused"], 0);
    assert_eq!(drift_settings(&report), ["profile"]);
    assert_eq!(report["build"]["args"], serde_json::json!(["--release"]));
}

#[test]
fn a_dependency_feature_enabled_only_in_the_build_is_a_feature_difference() {
    let (_tmp, root) = common::fixture("config");
    let (code, report, stderr) = verify(&root, &["--build-flags", "--features memchr/std"], &[]);
    assert_short_because(&report, code, &stderr, "features");
    let memchr = &report["rebuilt"][0];
    assert_eq!(memchr["package"], "memchr");
    // The fingerprint comparison names the features on both sides.
    let field = memchr["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "features")
        .unwrap();
    assert_eq!(field["cook"], "[]");
    assert!(field["build"].as_str().unwrap().contains("std"), "{field}");
    assert_eq!(drift_settings(&report), ["features"]);
}

#[test]
fn an_optional_dependency_enabled_only_in_the_build_is_a_feature_difference() {
    let (_tmp, root) = common::fixture("workspace");
    let (code, report, stderr) = verify(
        &root,
        &[
            "-p",
            "ws-app",
            "--build-flags",
            "-p ws-app --features extra",
        ],
        &[],
    );
    assert_short_because(&report, code, &stderr, "features");
    let rebuilt: Vec<String> = rebuilt_reasons(&report)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        rebuilt,
        ["cfg-if"],
        "only the optional dependency is new: {report:#}"
    );
    assert!(report["rebuilt"][0]["reasons"]
        .as_array()
        .unwrap()
        .contains(&Value::from("not-cooked")));
}

#[test]
fn different_rustflags_are_named() {
    let (_tmp, root) = common::fixture("workspace");
    let (code, report, stderr) =
        verify(&root, &["--build-env", "RUSTFLAGS=-Cdebug-assertions"], &[]);
    assert_short_because(&report, code, &stderr, "rustflags");
    assert_eq!(report["external"]["reused"], 0);
    assert_eq!(drift_settings(&report), ["env RUSTFLAGS"]);
    let detail = report["rebuilt"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("-Cdebug-assertions"), "{detail}");
}

#[test]
fn a_different_linker_is_named() {
    let (_tmp, root) = common::fixture("single");
    let var = "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER";
    let (code, report, stderr) = verify(&root, &["--build-env", &format!("{var}=gcc")], &[]);
    assert_short_because(&report, code, &stderr, "linker");
    assert_eq!(drift_settings(&report), [format!("env {var}")]);
    // A linker change keeps the unit's hash: cargo says why in its own words.
    let log = report["rebuilt"][0]["log"].as_array().unwrap();
    assert!(
        log.iter()
            .any(|l| l.as_str().unwrap().contains("ConfigSettingsChanged")),
        "{log:?}"
    );
}

#[test]
fn an_explicit_target_triple_is_a_target_difference() {
    let (_tmp, root) = common::fixture("single");
    let (code, report, stderr) =
        verify(&root, &["--build-flags", &format!("--target {HOST}")], &[]);
    assert_short_because(&report, code, &stderr, "target");
    assert_eq!(drift_settings(&report), ["target"]);
}

/// A project whose one dependency (libc) has a build script that declares
/// `cargo:rerun-if-env-changed=LIBC_BUILD_VERBOSE`.
fn libc_project() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("envdep");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"envdep\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nlibc = \"=0.2.191\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/main.rs"),
        "fn main() {\n    let _ = libc::getpid;\n}\n",
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let offline = Command::new(&cargo)
        .args(["generate-lockfile", "--offline"])
        .current_dir(&root)
        .output()
        .unwrap();
    if !offline.status.success() {
        let online = Command::new(&cargo)
            .arg("generate-lockfile")
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            online.status.success(),
            "{}",
            String::from_utf8_lossy(&online.stderr)
        );
    }
    (tmp, root)
}

#[test]
fn an_env_var_tracked_by_a_dependency_build_script_is_an_env_difference() {
    let (_tmp, root) = libc_project();
    let (code, report, stderr) = verify(&root, &["--build-env", "LIBC_BUILD_VERBOSE=1"], &[]);
    assert_short_because(&report, code, &stderr, "env");
    let libc = &report["rebuilt"][0];
    assert_eq!(
        (libc["package"].as_str(), libc["target"].as_str()),
        (Some("libc"), Some("libc"))
    );
    assert!(
        libc["detail"]
            .as_str()
            .unwrap()
            .contains("LIBC_BUILD_VERBOSE"),
        "{libc}"
    );
    assert_eq!(libc["via"], "libc build script");
    // The cook recorded the variable its build script tracks, so the drift names it too.
    assert_eq!(
        drift_settings(&report),
        ["build-script env LIBC_BUILD_VERBOSE"]
    );
    // The build script itself was not recompiled: only its run and the library.
    assert_eq!(report["external"]["reused"], 1);
}

#[test]
fn min_reuse_accepts_a_partial_reuse() {
    let (_tmp, root) = common::fixture("workspace");
    let (code, report, stderr) = verify(
        &root,
        &[
            "-p",
            "ws-app",
            "--build-flags",
            "-p ws-app --features extra",
            "--min-reuse",
            "50",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(report["passed"], true);
    assert!(report["external"]["percent"].as_f64().unwrap() < 100.0);
}

#[test]
fn the_human_report_puts_totals_first_and_groups_reasons() {
    let (_tmp, root) = common::fixture("workspace");
    let out = run(&root, &["verify", "-q", "--build-flags", "--release"], &[]);
    assert_eq!(out.status.code(), Some(10));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("prewarm verify: SHORT: 0% of external units reused (0/3)"),
        "{text}"
    );
    assert!(
        text.contains(
            "settings that differ between cook and build:\n  profile: cook `dev`, build `release`"
        ),
        "{text}"
    );
    assert!(
        text.contains("rebuilt external units by reason:\n  profile differs (3): "),
        "{text}"
    );
    assert!(
        !text.contains("fingerprint dirty"),
        "raw lines only with --verbose:\n{text}"
    );
    assert!(lines.len() <= 24, "{text}");
}

// ---------------------------------------------------------------------------------------------
// The recipe stability probe.

fn recipe_digest(manifest: &Path) -> String {
    let out = run(
        manifest.parent().unwrap(),
        &[
            "recipe",
            "--digest",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn edits_report_matches_independent_digests() {
    let (_tmp, root) = common::fixture("outside");
    let manifest = root.join("ws/Cargo.toml");
    let out = run(
        &root,
        &[
            "verify",
            "--edits",
            "--format",
            "json",
            "-q",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
        &[],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&report);
    let names: Vec<&str> = report["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["edit"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "source",
            "version-bump",
            "metadata",
            "new-example",
            "new-test",
            "new-member",
            "path-dependency",
            "member-on-deps",
            "rename"
        ]
    );
    let before = recipe_digest(&manifest);
    assert_eq!(report["recipe_digest"], before.as_str());
    // The probe left the project alone.
    assert!(!root.join("ws/examples").exists() && !root.join("ws/prewarm-probe-member").exists());
    // Apply two of the edits by hand and compare the digests with the probe's claims.
    let claim = |edit: &str| {
        report["edits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["edit"] == edit)
            .unwrap()
            .clone()
    };
    let main = root.join("ws/src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("{text}\n// edited by hand\n")).unwrap();
    let after_source = recipe_digest(&manifest);
    assert_eq!(claim("source")["digest_changed"], after_source != before);
    std::fs::write(&main, text).unwrap();
    std::fs::create_dir_all(root.join("ws/examples")).unwrap();
    std::fs::write(root.join("ws/examples/by_hand.rs"), "fn main() {}\n").unwrap();
    let after_example = recipe_digest(&manifest);
    assert_eq!(
        claim("new-example")["digest_changed"],
        after_example != before
    );
    let stable = report["edits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["digest_changed"] == false || e.get("not_applicable").is_some());
    assert_eq!(report["stable"], stable);
    assert_eq!(out.status.code(), Some(if stable { 0 } else { 10 }));
}

/// The dependency recipe's digest of the workspace at `manifest` for a plain build.
fn deps_digest(manifest: &Path) -> String {
    let dir = manifest.parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("recipe.json");
    let deps = tmp.path().join("deps.json");
    let m = manifest.to_str().unwrap();
    let r = recipe.to_str().unwrap();
    common::prewarm_env_ok(dir, &["recipe", "-q", "--manifest-path", m, "-o", r], &[]);
    common::prewarm_env_ok(
        dir,
        &["deps", "-q", "--recipe", r, "-o", deps.to_str().unwrap()],
        &[],
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&deps).unwrap()).unwrap();
    assert_eq!(json["external"], true, "not a dependency recipe: {json}");
    json["digest"].as_str().unwrap().to_string()
}

/// The wiring edits (issue 11, 2) are judged on the dependency recipe: the probe's claims
/// match `prewarm deps` run by hand after the same edit, and the full recipe does change
/// under it (so the edit is one the full recipe would lose the cooked layer to).
#[test]
fn wiring_edits_are_judged_on_the_dependency_recipe() {
    let (_tmp, root) = common::fixture("workspace");
    let manifest = root.join("Cargo.toml");
    let out = run(&root, &["verify", "--edits", "--format", "json", "-q"], &[]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&report);
    let before = deps_digest(&manifest);
    assert_eq!(report["deps_digest"], before.as_str());
    let claim = report["edits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["edit"] == "path-dependency")
        .unwrap()
        .clone();
    assert_eq!(claim["recipe"], "dependencies");
    assert!(
        claim["description"]
            .as_str()
            .unwrap()
            .contains("`ws-core` depend on `ws-macros`"),
        "{claim}"
    );
    let full_before = recipe_digest(&manifest);
    let core = root.join("crates/core/Cargo.toml");
    let text = std::fs::read_to_string(&core).unwrap();
    assert!(text.contains("[dependencies]\n"), "{text}");
    std::fs::write(
        &core,
        text.replacen(
            "[dependencies]\n",
            "[dependencies]\nws-macros = { path = \"../macros\" }\n",
            1,
        ),
    )
    .unwrap();
    assert_ne!(
        recipe_digest(&manifest),
        full_before,
        "the full recipe should change"
    );
    let after = deps_digest(&manifest);
    assert_eq!(claim["digest"], after.as_str());
    assert_eq!(claim["digest_changed"], after != before);
    assert_eq!(
        after, before,
        "a path dependency between members changed the dependency recipe"
    );
}

#[test]
fn edits_keep_the_recipe_of_the_workspace_fixture() {
    let (_tmp, root) = common::fixture("workspace");
    let out = run(&root, &["verify", "--edits", "--format", "json", "-q"], &[]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&report);
    for e in report["edits"].as_array().unwrap() {
        assert_eq!(e["digest_changed"], false, "{e}");
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// `prewarm check`.

/// Plans and cooks `root` into `root/../cooked`, then lays the real sources over the skeleton
/// as `COPY . .` would; returns the cooked directory.
fn cook_and_copy(root: &Path, cook_flags: &[&str]) -> PathBuf {
    let recipe = root.parent().unwrap().join("recipe.json");
    let cooked = root.parent().unwrap().join("cooked");
    let out = run(root, &["recipe", "-o", recipe.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut args = vec![
        "cook",
        "-q",
        "--recipe",
        recipe.to_str().unwrap(),
        "--dir",
        cooked.to_str().unwrap(),
    ];
    args.extend_from_slice(cook_flags);
    let out = run(root, &args, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::copy_tree(root, &cooked);
    cooked
}

fn check(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let out = run(dir, &all, env);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_names_each_drift_from_the_cook() {
    let (_tmp, root) = common::fixture("workspace");
    let cooked = cook_and_copy(&root, &["--release"]);
    let record = cooked.join("target/.prewarm/cook-records.json");
    assert!(
        record.is_file(),
        "cook wrote no record at {}",
        record.display()
    );

    let (code, stdout, stderr) = check(&cooked, &["--release"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("matches the cook"), "{stdout}");

    let (code, stdout, stderr) = check(&cooked, &[], &[]);
    assert_eq!(code, 11, "{stdout}{stderr}");
    assert!(
        stdout.contains("profile: cook `release`, build `dev`"),
        "{stdout}"
    );
    assert!(
        stderr.contains("differs from the cook in: profile"),
        "{stderr}"
    );

    let (code, stdout, _) = check(
        &cooked,
        &["--release"],
        &[("RUSTFLAGS", "-Cdebug-assertions")],
    );
    assert_eq!(code, 11);
    assert!(
        stdout.contains(
            "env RUSTFLAGS: cook `(unset)`, build `-Cdebug-assertions` (RUSTFLAGS differ)"
        ),
        "{stdout}"
    );

    let var = "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER";
    let (code, stdout, _) = check(
        &cooked,
        &["--release", "--features", "ws-app/extra"],
        &[(var, "gcc")],
    );
    assert_eq!(code, 11);
    assert!(
        stdout.contains(&format!(
            "env {var}: cook `(unset)`, build `gcc` (linker differs)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("features: cook `(none)`, build `ws-app/extra`"),
        "{stdout}"
    );

    let (code, stdout, _) = check(
        &cooked,
        &["--release", "--target", HOST, "--format", "json"],
        &[],
    );
    assert_eq!(code, 11);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    common::assert_schema("check-schema.json", &json);
    assert_eq!(json["schema"], "prewarm-check/1");
    assert_eq!(json["drift"], true);
    let settings: Vec<&str> = json["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["setting"].as_str().unwrap())
        .collect();
    assert_eq!(settings, ["target"]);
    // The schema can fail: a difference without its category does not match.
    let mut broken = json.clone();
    broken["differences"][0]
        .as_object_mut()
        .unwrap()
        .remove("category");
    assert!(!common::schema_errors("check-schema.json", &broken).is_empty());
}

#[test]
fn check_names_a_build_script_variable() {
    let (_tmp, root) = libc_project();
    let cooked = cook_and_copy(&root, &[]);
    let (code, stdout, stderr) = check(&cooked, &[], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = check(&cooked, &[], &[("LIBC_BUILD_VERBOSE", "1")]);
    assert_eq!(code, 11);
    assert!(
        stdout.contains("build-script env LIBC_BUILD_VERBOSE: cook `(unset)`, build `1`"),
        "{stdout}"
    );
}

/// A `CARGO_HOME` of its own holding `config`, sharing the real one's registry and git caches.
fn cargo_home_with(config: &str) -> tempfile::TempDir {
    let real = std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"),
        PathBuf::from,
    );
    let home = tempfile::tempdir().unwrap();
    for cache in ["registry", "git"] {
        std::fs::create_dir_all(real.join(cache)).unwrap();
        std::os::unix::fs::symlink(real.join(cache), home.path().join(cache)).unwrap();
    }
    std::fs::write(home.path().join("config.toml"), config).unwrap();
    home
}

fn sha256(value: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(value.as_bytes());
    hash.iter().fold(String::new(), |mut out, b| {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The cook record lies in the cooked layer: it keeps a sha256 of every environment value it
/// tracks (a variable a dependency's build script declared, a variable that changes how units
/// compile, an `[env]` value of `$CARGO_HOME/config.toml`), never the value, and `check`
/// compares the digests and names the variable.
#[test]
fn the_cook_record_holds_digests_of_environment_values_only() {
    let (_tmp, root) = libc_project();
    let home = cargo_home_with("[env]\nPREWARM_HOME_VALUE = \"home-value-5d1e\"\n");
    let home_dir = home.path().to_str().unwrap();
    let tracked = "tracked-value-8c2b";
    let env = [
        ("CARGO_HOME", home_dir),
        ("LIBC_BUILD_VERBOSE", tracked),
        ("CFLAGS", "-DFLAG_VALUE_71a0"),
    ];
    let recipe = root.parent().unwrap().join("recipe.json");
    let cooked = root.parent().unwrap().join("cooked");
    for args in [
        vec!["recipe", "-o", recipe.to_str().unwrap()],
        vec![
            "cook",
            "-q",
            "--recipe",
            recipe.to_str().unwrap(),
            "--dir",
            cooked.to_str().unwrap(),
        ],
    ] {
        let out = run(&root, &args, &env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    common::copy_tree(&root, &cooked);
    let record = std::fs::read_to_string(cooked.join("target/.prewarm/cook-records.json")).unwrap();
    for value in ["home-value-5d1e", tracked, "FLAG_VALUE_71a0"] {
        assert!(
            !record.contains(value),
            "`{value}` is in the cook record:\n{record}"
        );
    }
    for value in ["home-value-5d1e", tracked, "-DFLAG_VALUE_71a0"] {
        assert!(
            record.contains(&format!("sha256:{}", sha256(value))),
            "no digest of `{value}` in the cook record:\n{record}"
        );
    }

    let (code, stdout, stderr) = check(&cooked, &[], &env);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let short = &sha256(tracked)[..12];
    let (code, stdout, _) = check(
        &cooked,
        &[],
        &[
            ("CARGO_HOME", home_dir),
            ("LIBC_BUILD_VERBOSE", "other"),
            ("CFLAGS", "-DFLAG_VALUE_71a0"),
        ],
    );
    assert_eq!(code, 11, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "build-script env LIBC_BUILD_VERBOSE: cook `sha256:{short}`, build `other`"
        )),
        "{stdout}"
    );
    std::fs::write(
        home.path().join("config.toml"),
        "[env]\nPREWARM_HOME_VALUE = \"changed\"\n",
    )
    .unwrap();
    let (code, stdout, _) = check(&cooked, &[], &env);
    assert_eq!(code, 11, "{stdout}");
    assert!(
        stdout.contains("config env.PREWARM_HOME_VALUE: cook `sha256:"),
        "{stdout}"
    );
}

#[test]
fn check_without_a_cook_says_what_to_do() {
    let (_tmp, root) = common::fixture("single");
    let (code, _, stderr) = check(&root, &[], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no cook record at `"), "{stderr}");
    assert!(stderr.contains("(hint: run `prewarm cook`"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// For people: errors and help.

#[test]
fn bad_build_flags_are_an_input_error() {
    let (_tmp, root) = common::fixture("single");
    let out = run(&root, &["verify", "-q", "--build-flags", "--relase"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--build-flags `--relase`"), "{stderr}");
    assert!(stderr.contains("(hint: "), "{stderr}");
}

#[test]
fn the_schema_is_a_valid_json_schema() {
    let text = std::fs::read_to_string(common::repo().join("docs/verify-schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert!(jsonschema::meta::is_valid(&schema));
    // It rejects what it must reject (the validator is not vacuous).
    let bad = serde_json::json!({"schema": "prewarm-verify/1", "external": {"total": -1}});
    assert!(!schema_validator().is_valid(&bad));
}

fn schema_validator() -> &'static jsonschema::Validator {
    schema()
}

#[test]
fn help_texts() {
    for verb in ["verify", "check"] {
        let out = run(&common::repo(), &[verb, "--help"], &[]);
        assert!(out.status.success());
        insta::assert_snapshot!(
            format!("help_{verb}"),
            String::from_utf8(out.stdout).unwrap()
        );
    }
}

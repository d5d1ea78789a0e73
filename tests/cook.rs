//! `prewarm cook`: end-to-end reuse (recipe, cook in a fresh directory, lay the real sources
//! over it, build with the same flags: every external unit is fresh and every workspace binary
//! prints its real output), strict dummies, cleanup, and errors for bad input.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    cargo_json, cook_dir, cook_error, copy_tree, fixture, listing, prewarm, prewarm_env,
    prewarm_env_ok, prewarm_ok, recipe_in_fresh_dir,
};

/// One end-to-end scenario.
struct Scenario<'a> {
    fixture: &'a str,
    /// Directory of the workspace inside the fixture (the layout root is the fixture root).
    workspace: &'a str,
    /// Flags given to both cook and the real build.
    flags: &'a [&'a str],
    /// Built binaries (relative to the workspace) and a line each must print.
    bins: &'a [(&'a str, &'a str)],
    /// Set every real source's mtime to long before the cook.
    old_mtimes: bool,
    /// Flags given to `prewarm recipe` (`--bin`).
    recipe: &'a [&'a str],
    /// An edit to the real workspace after the recipe is written and before the real build.
    edit: fn(&Path),
    /// Cook the dependency recipe (`prewarm deps` with the same flags) instead of the recipe,
    /// as the cook stage of an image does.
    deps: bool,
}

/// Runs a scenario; returns the number of external units (all asserted fresh).
fn reuse(s: &Scenario<'_>) -> usize {
    let (_src_guard, real) = fixture(s.fixture);
    let recipe_dir = real.join(s.workspace);
    let mut recipe = vec!["recipe", "--output", "recipe.json"];
    recipe.extend_from_slice(s.recipe);
    prewarm_ok(&recipe_dir, &recipe);

    // Cook in a fresh directory holding only the recipe, as a Docker cook stage does.
    let cook_guard = tempfile::tempdir().unwrap();
    let cook = cook_guard.path().join("app");
    std::fs::create_dir_all(&cook).unwrap();
    std::fs::rename(recipe_dir.join("recipe.json"), cook.join("recipe.json")).unwrap();
    let mut args = vec!["cook", "--quiet"];
    if s.deps {
        let mut deps = vec!["deps", "--recipe", "recipe.json", "--output", "deps.json"];
        deps.extend_from_slice(s.flags);
        let out = prewarm(&cook, &deps);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.contains("external units, apart from"),
            "{}: prewarm deps did not separate the dependencies:\n{said}",
            describe(s)
        );
        std::fs::remove_file(cook.join("recipe.json")).unwrap();
        args.extend(["--recipe", "deps.json"]);
    }
    args.extend_from_slice(s.flags);
    prewarm_ok(&cook, &args);

    // Lay the real sources over the skeleton.
    (s.edit)(&real);
    if s.old_mtimes {
        let old = filetime::FileTime::from_unix_time(946_684_800, 0); // 2000-01-01
        for e in walkdir::WalkDir::new(&real)
            .into_iter()
            .filter_map(Result::ok)
        {
            if e.file_type().is_file() {
                filetime::set_file_mtime(e.path(), old).unwrap();
            }
        }
    }
    copy_tree(&real, &cook);

    let ws = cook.join(s.workspace);
    let mut build = vec!["build"];
    build.extend_from_slice(s.flags);
    let artifacts = cargo_json(&ws, &build);
    let stale: Vec<_> = artifacts.iter().filter(|a| !a.local && !a.fresh).collect();
    assert!(
        stale.is_empty(),
        "{}: rebuilt external units {stale:#?}",
        describe(s)
    );
    let external = artifacts.iter().filter(|a| !a.local).count();
    assert!(external > 0, "{}: no external unit at all", describe(s));
    assert!(
        artifacts.iter().any(|a| a.local && !a.fresh),
        "{}: the workspace's own crates were not compiled",
        describe(s)
    );
    for (bin, line) in s.bins {
        let exe = artifacts
            .iter()
            .filter_map(|a| a.executable.as_ref())
            .find(|e| Path::new(e).file_name().is_some_and(|n| n == *bin))
            .unwrap_or_else(|| panic!("{}: binary {bin} not built", describe(s)));
        let out = Command::new(exe).current_dir(&ws).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(line),
            "{}: {bin} printed {stdout:?}",
            describe(s)
        );
    }
    external
}

fn describe(s: &Scenario<'_>) -> String {
    format!(
        "{} {:?}{}{}",
        s.fixture,
        s.flags,
        if s.old_mtimes { " (old mtimes)" } else { "" },
        if s.deps { " (dependency recipe)" } else { "" }
    )
}

fn scenario<'a>(
    fixture: &'a str,
    flags: &'a [&'a str],
    bins: &'a [(&'a str, &'a str)],
) -> Scenario<'a> {
    Scenario {
        fixture,
        workspace: ".",
        flags,
        bins,
        old_mtimes: false,
        recipe: &[],
        edit: |_| {},
        deps: false,
    }
}

#[test]
fn single_dev() {
    reuse(&scenario(
        "single",
        &[],
        &[("fixture-single", "fixture-single:")],
    ));
}

#[test]
fn single_release_with_old_mtimes() {
    reuse(&Scenario {
        old_mtimes: true,
        ..scenario(
            "single",
            &["--release"],
            &[("fixture-single", "fixture-single:")],
        )
    });
}

#[test]
fn single_all_targets() {
    // examples and tests (dev-dependencies) are cooked through the representative targets
    reuse(&scenario(
        "single",
        &["--all-targets"],
        &[("fixture-single", "fixture-single:")],
    ));
}

#[test]
fn single_examples_only() {
    // dev-dependencies reach the cook only through the representative example target
    reuse(&scenario("single", &["--examples"], &[("demo", "")]));
}

#[test]
fn single_named_example_on_demand() {
    reuse(&scenario("single", &["--example", "demo"], &[("demo", "")]));
}

#[test]
fn workspace_dev_with_old_mtimes() {
    reuse(&Scenario {
        old_mtimes: true,
        ..scenario("workspace", &[], &[("app", "fixture-workspace:")])
    });
}

#[test]
fn workspace_release() {
    reuse(&scenario(
        "workspace",
        &["--release"],
        &[("app", "fixture-workspace:")],
    ));
}

#[test]
fn workspace_custom_profile() {
    reuse(&scenario(
        "workspace",
        &["--profile", "ci"],
        &[("app", "fixture-workspace:")],
    ));
}

#[test]
fn workspace_package() {
    // a versioned spec names the real version; the skeleton has it masked
    reuse(&scenario("workspace", &["-p", "ws-core@0.3.0"], &[]));
}

#[test]
fn workspace_bin_with_required_features() {
    reuse(&scenario(
        "workspace",
        &["-p", "ws-app", "--features", "extra", "--bin", "app-extra"],
        &[("app-extra", "")],
    ));
}

#[test]
fn workspace_explicit_target() {
    reuse(&scenario(
        "workspace",
        &["--target", "x86_64-unknown-linux-gnu"],
        &[("app", "fixture-workspace:")],
    ));
}

/// The dependency recipe (`prewarm deps`): cooked instead of the recipe, its layer serves the
/// real build as the recipe's does (every external unit fresh), with features, a custom
/// profile, an explicit target and a narrowed recipe.
#[test]
fn deps_recipe_workspace_release_old_mtimes() {
    reuse(&Scenario {
        deps: true,
        old_mtimes: true,
        ..scenario(
            "workspace",
            &["--release"],
            &[("app", "fixture-workspace:")],
        )
    });
}

#[test]
fn deps_recipe_workspace_features_and_profile() {
    reuse(&Scenario {
        deps: true,
        ..scenario(
            "workspace",
            &[
                "-p",
                "ws-app",
                "--features",
                "extra",
                "--profile",
                "ci",
                "--bin",
                "app-extra",
            ],
            &[("app-extra", "")],
        )
    });
}

#[test]
fn deps_recipe_workspace_explicit_target() {
    reuse(&Scenario {
        deps: true,
        ..scenario(
            "workspace",
            &["--target", "x86_64-unknown-linux-gnu"],
            &[("app", "fixture-workspace:")],
        )
    });
}

#[test]
fn deps_recipe_config_target_dir_rustflags_toolchain() {
    reuse(&Scenario {
        deps: true,
        ..scenario("config", &[], &[("fixture-config", "fixture-config: 42")])
    });
}

#[test]
fn deps_recipe_outside_path_dependency() {
    reuse(&Scenario {
        deps: true,
        workspace: "ws",
        ..scenario("outside", &["--release"], &[("outside-app", "")])
    });
}

#[test]
fn deps_recipe_services_bin() {
    reuse(&Scenario {
        deps: true,
        recipe: &["--bin", "api"],
        ..scenario("services", API, &[("api", "fixture-services api: 42")])
    });
}

#[test]
fn outside_path_dependency() {
    reuse(&Scenario {
        workspace: "ws",
        ..scenario("outside", &[], &[("outside-app", "")])
    });
}

#[test]
fn outside_path_dependency_old_mtimes() {
    reuse(&Scenario {
        workspace: "ws",
        old_mtimes: true,
        ..scenario("outside", &["--release"], &[("outside-app", "")])
    });
}

/// `prewarm recipe --bin api` on the `services` fixture: worker, and memchr's `log` that only
/// worker's features enable, are left out; the cook and the real build select api's package,
/// so cargo unifies features over api's closure in both.
const API: &[&str] = &["-p", "api", "--bin", "api", "--locked"];

#[test]
fn services_bin_cooks_what_the_real_build_of_that_bin_reuses() {
    reuse(&Scenario {
        recipe: &["--bin", "api"],
        ..scenario("services", API, &[("api", "fixture-services api: 42")])
    });
}

#[test]
fn services_bin_layer_serves_the_build_after_an_unrelated_member_changed() {
    // The recipe is the one before the edit (tests/recipe.rs shows the edit keeps it): the
    // cooked layer it keys still serves the real build of the edited workspace.
    reuse(&Scenario {
        recipe: &["--bin", "api"],
        edit: |real| {
            let worker = real.join("crates/worker");
            let main = std::fs::read_to_string(worker.join("src/main.rs")).unwrap();
            std::fs::write(worker.join("src/main.rs"), main + "\n// edited\n").unwrap();
            // and a source edit inside api's closure
            let lib = real.join("crates/common/src/lib.rs");
            let text = std::fs::read_to_string(&lib).unwrap();
            std::fs::write(&lib, text + "\n// edited\n").unwrap();
            let manifest = std::fs::read_to_string(worker.join("Cargo.toml")).unwrap();
            let manifest = manifest.replace("ryu = \"1\"", "ryu = \"1\"\nitoa.workspace = true");
            std::fs::write(worker.join("Cargo.toml"), manifest).unwrap();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let update = Command::new(cargo)
                .args(["update", "--workspace", "--offline"])
                .current_dir(real)
                .output()
                .unwrap();
            assert!(
                update.status.success(),
                "{}",
                String::from_utf8_lossy(&update.stderr)
            );
        },
        old_mtimes: true,
        ..scenario("services", API, &[("api", "fixture-services api: 42")])
    });
}

#[test]
fn services_bin_without_package_is_why_the_recipe_asks_for_p() {
    // `cargo build --bin api` without `-p` unifies features across every member of the real
    // workspace: memchr gets worker's features, which the narrowed cook never saw.
    let (_g, real) = fixture("services");
    let out = prewarm_env(
        &real,
        &["recipe", "--bin", "api", "--output", "recipe.json"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cook and build with `-p api --bin api`"),
        "{stderr}"
    );
    let cook = tempfile::tempdir().unwrap();
    std::fs::rename(real.join("recipe.json"), cook.path().join("recipe.json")).unwrap();
    prewarm_ok(
        cook.path(),
        &["cook", "--quiet", "--bin", "api", "--locked"],
    );
    copy_tree(&real, cook.path());
    let rebuilt: Vec<String> = cargo_json(cook.path(), &["build", "--bin", "api", "--locked"])
        .into_iter()
        .filter(|a| !a.local && !a.fresh)
        .map(|a| a.package_id)
        .collect();
    assert!(
        rebuilt.iter().any(|id| id.contains("memchr")),
        "cargo no longer unifies other members' features into `--bin api`: {rebuilt:?}"
    );
}

#[test]
fn config_target_dir_rustflags_toolchain_no_std() {
    reuse(&scenario(
        "config",
        &[],
        &[("fixture-config", "fixture-config: 42")],
    ));
}

#[test]
fn config_same_version_and_lib_path_with_old_mtimes() {
    // The package is at version 0.0.0 with its lib at src/lib.rs, exactly like its dummy: only
    // the removal of the cooked workspace units keeps the dummy lib out of the real build.
    reuse(&Scenario {
        old_mtimes: true,
        ..scenario("config", &[], &[("fixture-config", "fixture-config: 42")])
    });
}

/// The `credentials` fixture: tokens in its cargo config (registries, a source, an included
/// file), a secret `[env]` value, and git URLs with userinfo in each kind of dependency table
/// and in the `[patch."<url>"]` key that points the git dependency at a local crate. The recipe
/// holds none of them and still cooks: the stripped patch key matches the stripped URLs, and
/// the real build, with every URL and value as written, reuses every external unit and sees
/// the real `[env]` value.
#[test]
fn credentials_left_out_of_the_recipe_keep_cook_and_reuse() {
    let (_g, real) = fixture("credentials");
    let recipe = prewarm_ok(&real, &["recipe", "--output", "-"]);
    assert!(
        !recipe.contains("FIXTURE-TOKEN"),
        "a credential is in the recipe"
    );
    reuse(&scenario(
        "credentials",
        &[],
        &[(
            "fixture-credentials",
            "fixture-credentials: the real value, 42",
        )],
    ));
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=prewarm",
            "-c",
            "user.email=prewarm@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A git dependency whose URL, in the manifest and in the lockfile's `source`, carries
/// userinfo: the recipe holds the URL without it, and the cook fetches from there (git's
/// `insteadOf` leads both URLs to one local repository, as a credential helper would let both
/// reach one server). Cargo tells sources apart by their whole URL, so the real build, whose
/// URL keeps the userinfo, compiles that package again (what `prewarm recipe` warns about);
/// every registry unit is still reused.
#[test]
fn a_git_source_with_userinfo_cooks_from_the_stripped_url() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("gitdep-src");
    common::add_crate(&src, "gitdep");
    git(&src, &["init", "-q"]);
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-q", "-m", "gitdep"]);
    let bare = tmp.path().join("gitdep.git");
    git(
        tmp.path(),
        &["clone", "-q", "--bare", "gitdep-src", "gitdep.git"],
    );
    let with = "https://prewarm-user:GIT-TOKEN-7@git.example.invalid/gitdep";
    let gitconfig = tmp.path().join("gitconfig");
    std::fs::write(
        &gitconfig,
        format!(
            "[url \"file://{}\"]\n\tinsteadOf = {with}\n\tinsteadOf = https://git.example.invalid/gitdep\n",
            bare.display()
        ),
    )
    .unwrap();
    let gitconfig = gitconfig.to_str().unwrap();
    let env = [
        ("GIT_CONFIG_GLOBAL", gitconfig),
        ("CARGO_NET_GIT_FETCH_WITH_CLI", "true"),
    ];

    let real = tmp.path().join("app");
    std::fs::create_dir_all(real.join("src")).unwrap();
    std::fs::write(
        real.join("Cargo.toml"),
        format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ngitdep = {{ git = \"{with}\" }}\nitoa = \"1\"\n\n[workspace]\n"),
    )
    .unwrap();
    std::fs::write(
        real.join("src/main.rs"),
        "use gitdep as _;\nfn main() {\n    println!(\"app: {}\", itoa::Buffer::new().format(7));\n}\n",
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let lock = |extra: &[&str]| {
        Command::new(&cargo)
            .arg("generate-lockfile")
            .args(extra)
            .envs(env)
            .current_dir(&real)
            .output()
            .unwrap()
    };
    if !lock(&["--offline"]).status.success() {
        let out = lock(&[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(std::fs::read_to_string(real.join("Cargo.lock"))
        .unwrap()
        .contains("source = \"git+https://prewarm-user:GIT-TOKEN-7@"));

    let recipe = prewarm_env_ok(&real, &["recipe", "--output", "-"], &env);
    assert!(
        !recipe.contains("GIT-TOKEN"),
        "a credential is in the recipe"
    );
    assert!(recipe.contains("git+https://git.example.invalid/gitdep#"));
    let cook = tempfile::tempdir().unwrap();
    std::fs::write(cook.path().join("recipe.json"), &recipe).unwrap();
    prewarm_env_ok(cook.path(), &["cook", "--quiet"], &env);

    copy_tree(&real, cook.path());
    let out = Command::new(&cargo)
        .args(["build", "--message-format=json-render-diagnostics"])
        .envs(env)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .current_dir(cook.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let artifacts: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(prewarm::messages::parse_artifact)
        .collect();
    let fresh = |name: &str| {
        artifacts
            .iter()
            .find(|a| a.package == name)
            .unwrap_or_else(|| panic!("no unit of {name}: {artifacts:#?}"))
            .fresh
    };
    assert!(fresh("itoa"), "the registry unit was not reused");
    assert!(
        !fresh("gitdep"),
        "cargo reused a unit of another source: this test's premise no longer holds"
    );
}

#[test]
fn cook_honours_config_target_dir_and_cleans_it() {
    let (_g, real) = fixture("config");
    let cook = recipe_in_fresh_dir(&real);
    prewarm_ok(cook.path(), &["cook", "--quiet"]);
    let out = cook.path().join("build-out/debug");
    assert!(
        out.join("deps").is_dir(),
        "config's build.target-dir was not used"
    );
    assert!(!cook.path().join("target").exists());
    assert_no_local_artifacts(&out, &["fixture-config", "fixture_config", "config_core"]);
    assert!(listing(&out.join("deps"))
        .iter()
        .any(|n| n.starts_with("libmemchr-")));
}

#[test]
fn cook_honours_cargo_target_dir_env() {
    let (_g, real) = fixture("single");
    let cook = recipe_in_fresh_dir(&real);
    let target = tempfile::tempdir().unwrap();
    prewarm_env_ok(
        cook.path(),
        &["cook", "--quiet", "--release"],
        &[("CARGO_TARGET_DIR", target.path().to_str().unwrap())],
    );
    let release = target.path().join("release");
    assert!(listing(&release.join("deps"))
        .iter()
        .any(|n| n.starts_with("libitoa-")));
    assert_no_local_artifacts(
        &release,
        &[
            "fixture-single",
            "fixture_single",
            "prewarm-dummy",
            "prewarm_dummy",
        ],
    );
}

#[test]
fn cook_cleans_the_build_target_set_by_environment() {
    let (_g, real) = fixture("workspace");
    let cook = recipe_in_fresh_dir(&real);
    prewarm_env_ok(
        cook.path(),
        &[
            "cook",
            "--quiet",
            "--workspace",
            "--exclude",
            "ws-app",
            "--exclude",
            "ws-macros",
        ],
        &[("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu")],
    );
    let debug = cook.path().join("target/x86_64-unknown-linux-gnu/debug");
    assert!(listing(&debug.join("deps"))
        .iter()
        .any(|n| n.starts_with("libitoa-")));
    assert_no_local_artifacts(&debug, &["ws-app", "ws_app", "ws-core", "ws_core", "app"]);
    // --exclude reached cargo: the excluded proc-macro's own dependency was not built
    assert!(!listing(&cook.path().join("target/debug/deps"))
        .iter()
        .any(|n| n.starts_with("libunicode_ident-")));
}

#[test]
fn cook_cleans_a_separate_build_dir_and_the_target_dir() {
    let (_g, real) = fixture("single");
    let cook = recipe_in_fresh_dir(&real);
    prewarm_env_ok(
        cook.path(),
        &["cook", "--quiet"],
        &[(
            "CARGO_BUILD_BUILD_DIR",
            cook.path().join("build-dir").to_str().unwrap(),
        )],
    );
    let names = [
        "fixture-single",
        "fixture_single",
        "prewarm-dummy",
        "prewarm_dummy",
    ];
    let intermediate = cook.path().join("build-dir/debug");
    assert!(listing(&intermediate.join("deps"))
        .iter()
        .any(|n| n.starts_with("libitoa-")));
    assert_no_local_artifacts(&intermediate, &names);
    // the uplifted dummy binary and lib in target/debug are gone too
    assert_no_local_artifacts(&cook.path().join("target/debug"), &names);
}

#[test]
fn cook_removes_every_workspace_artifact_and_dummy() {
    let (_g, real) = fixture("workspace");
    let cook = recipe_in_fresh_dir(&real);
    prewarm_ok(
        cook.path(),
        &["cook", "--quiet", "--all-targets", "--all-features"],
    );
    let debug = cook.path().join("target/debug");
    assert_no_local_artifacts(
        &debug,
        &[
            "ws-app",
            "ws_app",
            "ws-core",
            "ws_core",
            "ws-macros",
            "ws_macros",
            "app",
            "app-extra",
            "app_extra",
            "prewarm-dummy",
            "prewarm_dummy",
        ],
    );
    for dep in ["libitoa-", "libautocfg-", "libunicode_ident-", "libcfg_if-"] {
        assert!(
            listing(&debug.join("deps"))
                .iter()
                .any(|n| n.starts_with(dep)),
            "{dep} missing"
        );
    }
    // No dummy source is left to be mistaken for real code; manifests stay for the overlay.
    let leftover: Vec<_> = walkdir::WalkDir::new(cook.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.path().extension().is_some_and(|x| x == "rs")
                && !e.path().starts_with(cook.path().join("target"))
        })
        .map(|e| e.path().to_path_buf())
        .collect();
    assert!(leftover.is_empty(), "dummy sources left: {leftover:?}");
    assert!(cook.path().join("crates/app/Cargo.toml").is_file());
}

#[test]
fn dummies_compile_under_strict_settings() {
    let (_g, real) = fixture("workspace");
    // [lints] that deny missing docs and unused code, on every member
    for m in ["app", "core", "macros"] {
        let p = real.join("crates").join(m).join("Cargo.toml");
        let mut s = std::fs::read_to_string(&p).unwrap();
        s.push_str("\n[lints.rust]\nmissing_docs = \"deny\"\nunused = \"deny\"\n");
        std::fs::write(&p, s).unwrap();
    }
    let cook = recipe_in_fresh_dir(&real);
    for mode in [
        &[][..],
        &["--check"][..],
        &["--clippy"][..],
        &["--tests-no-run"][..],
        &["--doc"][..],
    ] {
        let mut args = vec!["cook", "--quiet", "--all-features"];
        args.extend_from_slice(mode);
        let out = prewarm_env(
            cook.path(),
            &args,
            &[
                ("RUSTFLAGS", "-D warnings -D missing_docs -D unused"),
                ("RUSTDOCFLAGS", "-D warnings"),
            ],
        );
        assert!(
            out.status.success(),
            "cook {mode:?} under strict flags: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn dummies_build_for_a_no_std_target() {
    let has_target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("thumbv7em-none-eabihf"));
    let (_g, real) = fixture("config");
    let cook = recipe_in_fresh_dir(&real);
    // Without a no_std target installed, check the dummies' no_std-ness on the host: a `--lib`
    // build with `-C panic=abort` and the lib alone.
    let flags: Vec<&str> = if has_target {
        vec![
            "cook",
            "--quiet",
            "--lib",
            "--target",
            "thumbv7em-none-eabihf",
        ]
    } else {
        vec!["cook", "--quiet", "--lib"]
    };
    prewarm_ok(cook.path(), &flags);
}

// ---- safety and bad input ------------------------------------------------------------

fn assert_no_local_artifacts(profile_dir: &Path, names: &[&str]) {
    for sub in [
        "",
        "deps",
        ".fingerprint",
        "build",
        "examples",
        "incremental",
    ] {
        for entry in listing(&profile_dir.join(sub)) {
            let stem = entry.strip_prefix("lib").unwrap_or(&entry);
            for name in names {
                let hit = stem == *name
                    || stem.strip_prefix(name).is_some_and(|r| {
                        r.starts_with('-')
                            && r[1..]
                                .chars()
                                .next()
                                .is_some_and(|c| c.is_ascii_hexdigit() || c.is_ascii_alphanumeric())
                            && !r[1..].contains('-')
                    })
                    || stem.strip_prefix(name).is_some_and(|r| r.starts_with('.'));
                assert!(
                    !hit,
                    "local artifact left: {}/{sub}/{entry}",
                    profile_dir.display()
                );
            }
        }
    }
}

#[test]
fn refuses_a_directory_with_other_files_unless_forced() {
    let (_c, dir, _g) = cook_dir();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() { println!(\"mine\"); }").unwrap();
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    let err = cook_error(&dir, &["cook", "--quiet"]);
    assert!(
        err.contains("notes.txt") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(
        !dir.join("Cargo.toml").exists(),
        "nothing may be written when refusing"
    );
    prewarm_ok(&dir, &["cook", "--quiet", "--force"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(
        dir.join("src/main.rs").is_file(),
        "a file at no skeleton path is left alone"
    );
}

#[test]
fn cooks_again_over_its_own_skeleton() {
    let (_c, dir, _g) = cook_dir();
    prewarm_ok(&dir, &["cook", "--quiet"]);
    prewarm_ok(&dir, &["cook", "--quiet", "--release"]);
}

#[test]
fn rejects_tampered_recipe() {
    let (_c, dir, _g) = cook_dir();
    common::edit_recipe(&dir, |v| {
        let files = v["files"].as_object_mut().unwrap();
        let m = files.get_mut("Cargo.toml").unwrap();
        *m = serde_json::Value::String(
            m.as_str()
                .unwrap()
                .replace("version = \"1\"", "version = \"0.4\""),
        );
    });
    let err = cook_error(&dir, &["cook"]);
    assert!(
        err.contains("recipe.json") && err.contains("modified"),
        "{err}"
    );
    assert!(!dir.join("Cargo.toml").exists());
}

#[test]
fn rejects_absolute_and_escaping_paths() {
    for bad in ["/etc/cron.d/evil", "../outside.toml", "a/../../b"] {
        let (_c, dir, _g) = cook_dir();
        common::restamp(&dir, |v| {
            v["files"]
                .as_object_mut()
                .unwrap()
                .insert(bad.into(), serde_json::Value::String("x".into()));
        });
        let err = cook_error(&dir, &["cook"]);
        assert!(err.contains(bad), "{err}");
        assert!(!dir.join("Cargo.toml").exists());
        assert!(!dir.parent().unwrap().join("outside.toml").exists());
    }
}

#[test]
fn rejects_unknown_format_and_foreign_recipes() {
    let (_c, dir, _g) = cook_dir();
    common::restamp(&dir, |v| v["prewarm"] = serde_json::json!(99));
    let err = cook_error(&dir, &["cook"]);
    assert!(err.contains("format 99"), "{err}");

    std::fs::write(
        dir.join("recipe.json"),
        r#"{"skeleton":{"manifests":[],"config_file":null,"lock_file":null}}"#,
    )
    .unwrap();
    let err = cook_error(&dir, &["cook"]);
    assert!(err.contains("cargo-chef"), "{err}");

    std::fs::write(dir.join("recipe.json"), "not json").unwrap();
    let err = cook_error(&dir, &["cook"]);
    assert!(err.contains("recipe.json"), "{err}");

    let err = cook_error(&dir, &["cook", "--recipe", "missing.json"]);
    assert!(
        err.contains("missing.json") && err.contains("prewarm recipe"),
        "{err}"
    );
}

#[test]
fn never_writes_through_a_symlink() {
    let (_c, dir, _g) = cook_dir();
    let outside = tempfile::tempdir().unwrap();
    // `.prewarm` and `src` lead outside the layout
    std::os::unix::fs::symlink(outside.path(), dir.join("src")).unwrap();
    let err = cook_error(&dir, &["cook", "--force"]);
    assert!(err.contains("symlink"), "{err}");
    assert!(
        listing(outside.path()).is_empty(),
        "wrote outside the layout: {:?}",
        listing(outside.path())
    );
}

#[test]
fn cargo_failure_shows_command_status_and_output() {
    let (_c, dir, _g) = cook_dir();
    let out = prewarm(&dir, &["cook", "--features", "no-such-feature"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cargo failed with exit status 101"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--features=no-such-feature"),
        "command line missing: {stderr}"
    );
    assert!(stderr.contains("no-such-feature"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // the dummies are gone even after a failure
    assert!(!dir.join("src/lib.rs").exists());
}

#[test]
fn unknown_package_of_a_dropped_member_is_skipped() {
    let (_g, real) = fixture("workspace");
    common::add_crate(&real.join("crates/newbie"), "newbie");
    let cook = recipe_in_fresh_dir(&real);
    let out = prewarm(cook.path(), &["cook", "-p", "newbie"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("`newbie` is not in the recipe"));
    // and the whole-workspace cook still reuses everything for the real build, newbie included
    let cook2 = tempfile::tempdir().unwrap();
    std::fs::copy(
        cook.path().join("recipe.json"),
        cook2.path().join("recipe.json"),
    )
    .unwrap();
    prewarm_ok(cook2.path(), &["cook", "--quiet"]);
    copy_tree(&real, cook2.path());
    let artifacts = cargo_json(cook2.path(), &["build"]);
    assert!(artifacts.iter().filter(|a| !a.local).all(|a| a.fresh));
    assert!(artifacts.iter().any(|a| a.package == "newbie" && !a.fresh));
}

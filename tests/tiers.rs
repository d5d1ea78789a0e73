//! Tiered build layers (issue 11), proven with cargo really running.
//!
//! The fixture is generated: eight crates in four levels over itoa, memchr and serde, one of
//! them (`tool`) outside what `--bin app` needs, and a local feature (`base/fast`) that only the
//! binary turns on, so that a tier built with `-p` would resolve other features.
//!
//! Host tests lay the tier stages out by hand (cook, the real manifests, each tier's crates,
//! `prewarm tier`) and check what cargo did; `buildah_tiers` builds the generated Dockerfile
//! for real (run it under the machine's engine lock):
//!
//!     flock -o /tmp/prewarm-engine.lock cargo test --test tiers -- --test-threads 1

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::engine::{self, Engine};
use common::services;
use common::{prewarm, prewarm_ok};
use prewarm::messages::{self, Artifact};

/// The crates, their local dependencies and extra manifest lines, and their source.
const CRATES: &[(&str, &str, &str)] = &[
    (
        "base",
        "itoa = \"1\"\n",
        "pub fn base() -> String {\n    let mut b = itoa::Buffer::new();\n    format!(\"base{}{}\", b.format(1), if cfg!(feature = \"fast\") { \"+fast\" } else { \"\" })\n}\n",
    ),
    (
        "bytes",
        "memchr = \"2\"\n",
        "pub fn bytes() -> String {\n    format!(\"bytes{}\", memchr::memchr(b'x', b\"abx\").unwrap_or(9))\n}\n",
    ),
    (
        "codec",
        "base = { path = \"../base\" }\nbytes = { path = \"../bytes\" }\nserde = { version = \"1\", default-features = false }\n",
        "pub fn codec() -> String {\n    format!(\"codec({},{})\", base::base(), bytes::bytes())\n}\n",
    ),
    (
        "store",
        "base = { path = \"../base\" }\n",
        "pub fn store() -> String {\n    format!(\"store({})\", base::base())\n}\n",
    ),
    (
        "engine",
        "codec = { path = \"../codec\" }\nstore = { path = \"../store\" }\n",
        "pub fn engine() -> String {\n    format!(\"engine({},{})\", codec::codec(), store::store())\n}\n",
    ),
    (
        "api",
        "codec = { path = \"../codec\" }\nserde = \"1\"\n",
        "pub fn api() -> String {\n    format!(\"api({})\", codec::codec())\n}\n",
    ),
    (
        "app",
        "engine = { path = \"../engine\" }\napi = { path = \"../api\" }\nbase = { path = \"../base\", features = [\"fast\"] }\n",
        "fn main() {\n    println!(\"app v1 {} {} {}\", engine::engine(), api::api(), base::base());\n}\n",
    ),
    (
        "tool",
        "store = { path = \"../store\" }\n",
        "fn main() {\n    println!(\"tool {}\", store::store());\n}\n",
    ),
];

/// The tiers the plan must find for `--bin app` (`tool` is not needed).
const TIERS: &[&[&str]] = &[
    &["base", "bytes"],
    &["codec", "store"],
    &["api", "engine"],
    &["app"],
];

/// The build flags of every test.
const FLAGS: &[&str] = &["--release", "--locked", "--bin=app"];

/// Writes the fixture workspace at `root`; `marker` goes into the workspace's description
/// (not into the recipe, but into the first tier's `COPY`), so a cold build is cold, and into
/// a feature that `base` declares and nothing enables (into the recipe, not into the
/// dependency recipe), so the deps stage runs in every test run while the cook may be cached.
fn write_fixture(root: &Path, marker: &str) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\"]\n\n[workspace.package]\nversion = \"0.3.1\"\nedition = \"2021\"\ndescription = \"tiers fixture {marker}\"\n"),
    )
    .unwrap();
    for (name, deps, source) in CRATES {
        let dir = root.join("crates").join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let marker_feature = if *name == "base" {
            format!("marker-{marker} = []\n")
        } else {
            String::new()
        };
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion.workspace = true\nedition.workspace = true\ndescription.workspace = true\n\n[features]\nfast = []\n{marker_feature}\n[dependencies]\n{deps}"),
        )
        .unwrap();
        let file = if source.contains("fn main") {
            "main.rs"
        } else {
            "lib.rs"
        };
        std::fs::write(dir.join("src").join(file), source).unwrap();
    }
    std::fs::write(root.join(".dockerignore"), "**/target\nDockerfile*\n").unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo generate-lockfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "`{}` has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Gives every file under `root` a new modification time, as a fresh checkout would.
fn new_mtimes(root: &Path, secs_from_now: i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let t = filetime::FileTime::from_unix_time(i64::try_from(now).unwrap() + secs_from_now, 0);
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        if e.file_type().is_file() && !e.path().components().any(|c| c.as_os_str() == "target") {
            filetime::set_file_mtime(e.path(), t).unwrap();
        }
    }
}

fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}", nanos % 0xffff_ffff)
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.env_remove("CARGO_TARGET_DIR").env_remove("RUSTFLAGS");
    c
}

fn artifacts(stdout: &[u8]) -> Vec<Artifact> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(messages::parse_artifact)
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

// ------------------------------------------------------------------ the generated file

#[test]
fn image_writes_one_stage_per_tier() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    write_fixture(&ws, "plan");
    let mut args = vec!["image", "--output", "-"];
    args.extend_from_slice(FLAGS);
    let text = prewarm_ok(&ws, &args);
    for (k, tier) in TIERS.iter().enumerate() {
        let k = k + 1;
        let from = if k == 1 {
            "cook".to_string()
        } else {
            format!("tier-{}", k - 1)
        };
        assert!(
            text.contains(&format!("FROM {from} AS tier-{k}\n")),
            "no tier-{k} from {from}:\n{text}"
        );
        assert!(
            text.contains(&format!("# Tier {k} of 4: {}.", tier.join(", "))),
            "{text}"
        );
    }
    assert!(text.contains("FROM tier-4 AS build\n"), "{text}");
    // The tier of `app` keeps every crate it needs, never `tool`.
    assert!(text.contains("prewarm tier --recipe /recipe.json --keep api --keep app --keep base --keep bytes --keep codec --keep engine --keep store --release --locked --bin=app"), "{text}");
    assert!(!text.contains("--keep tool"), "{text}");
    // Only the tier's own directories are copied in each tier.
    let tier2 = text
        .split("AS tier-2\n")
        .nth(1)
        .unwrap()
        .split("FROM")
        .next()
        .unwrap();
    let copies: Vec<&str> = tier2.lines().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(
        copies,
        [
            "COPY crates/codec crates/codec/",
            "COPY crates/store crates/store/"
        ]
    );

    // hadolint finds nothing.
    let file = tmp.path().join("tiers.Dockerfile");
    std::fs::write(&file, &text).unwrap();
    common::assert_hadolint_clean(&common::python_tool("hadolint"), &file);

    // --tiers off: the build stage comes from the cook, as before; --max-tiers merges.
    args.push("--tiers=off");
    let off = prewarm_ok(&ws, &args);
    assert!(
        !off.contains("tier-1") && off.contains("FROM cook AS build\n"),
        "{off}"
    );
    args.pop();
    args.push("--max-tiers=2");
    let two = prewarm_ok(&ws, &args);
    assert!(
        two.contains("AS tier-2\n") && !two.contains("AS tier-3\n"),
        "{two}"
    );
    assert!(two.contains("FROM tier-2 AS build\n"), "{two}");
    args.pop();
    args.push("--max-tiers=0");
    let out = prewarm(&ws, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("`--max-tiers 0`") && err.contains("--tiers off"),
        "{err}"
    );
}

// ------------------------------------------------------------------ tiers on the host

/// The image's layout root, laid out on the host the way the Dockerfile does it: the cook,
/// then the real manifests, then each tier's crates and `prewarm tier`.
struct Host {
    _tmp: tempfile::TempDir,
    ws: PathBuf,
    app: PathBuf,
    recipe: PathBuf,
}

impl Host {
    fn new() -> Host {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws");
        write_fixture(&ws, "host");
        let recipe = tmp.path().join("recipe.json");
        prewarm_ok(&ws, &["recipe", "-q", "--output", recipe.to_str().unwrap()]);
        let app = tmp.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        let mut cook = vec!["cook", "-q", "--recipe", recipe.to_str().unwrap()];
        cook.extend_from_slice(FLAGS);
        prewarm_ok(&app, &cook);
        let mut files = vec!["Cargo.toml".to_string(), "Cargo.lock".to_string()];
        files.extend(
            CRATES
                .iter()
                .map(|(n, _, _)| format!("crates/{n}/Cargo.toml")),
        );
        for f in files {
            std::fs::copy(ws.join(&f), app.join(&f)).unwrap();
        }
        Host {
            _tmp: tmp,
            ws,
            app,
            recipe,
        }
    }

    /// Copies tier `k`'s crates (0-based) and runs `prewarm tier`; returns its output.
    fn tier(&self, k: usize) -> std::process::Output {
        for name in TIERS[k] {
            common::copy_tree(
                &self.ws.join("crates").join(name),
                &self.app.join("crates").join(name),
            );
        }
        let keep: Vec<&str> = TIERS[..=k].iter().flat_map(|t| t.iter().copied()).collect();
        let mut args = vec!["tier", "--recipe", self.recipe.to_str().unwrap()];
        for k in &keep {
            args.extend(["--keep", k]);
        }
        args.extend_from_slice(FLAGS);
        prewarm(&self.app, &args)
    }
}

/// After the tiers, the final build (every source copied again, with new modification times,
/// then set to the tiers' fixed time) finds every crate fresh, with the features the binary
/// turns on; and without the fixed time cargo would rebuild them all.
#[test]
fn after_the_tiers_the_final_build_compiles_nothing() {
    let host = Host::new();
    for (k, tier) in TIERS.iter().enumerate() {
        let out = host.tier(k);
        assert!(
            out.status.success(),
            "tier {}: {}",
            k + 1,
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        let compiled: BTreeSet<String> = err
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("Compiling "))
            .map(|r| r.split(' ').next().unwrap().to_string())
            .filter(|n| CRATES.iter().any(|(c, _, _)| c == n))
            .collect();
        // The dummies compile too (the same command builds them), the kept crates for real.
        assert!(
            compiled.is_superset(&set(tier)),
            "tier {}: {compiled:?}",
            k + 1
        );
        assert!(
            err.contains(&format!("{} real crate(s) compiled", tier.len())),
            "{err}"
        );
    }
    // No dummy is left: neither a source nor an artifact of `tool`, and the manifests are real.
    assert!(!host.app.join("crates/tool/src").exists());
    assert_eq!(
        std::fs::read_to_string(host.app.join("crates/tool/Cargo.toml")).unwrap(),
        std::fs::read_to_string(host.ws.join("crates/tool/Cargo.toml")).unwrap()
    );
    let deps = host.app.join("target/release/deps");
    let names: Vec<String> = std::fs::read_dir(&deps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("tool-")), "{names:?}");

    // The final stage: `COPY . .` (a checkout's new times), then the fixed time.
    common::copy_tree(&host.ws, &host.app);
    new_mtimes(&host.app, 100);
    let dirs: Vec<PathBuf> = std::iter::once(host.app.join("Cargo.toml"))
        .chain([host.app.join("Cargo.lock")])
        .chain(
            CRATES
                .iter()
                .map(|(n, _, _)| host.app.join("crates").join(n)),
        )
        .collect();
    let mut touch = Command::new("find");
    touch.args(&dirs).args([
        "-exec",
        "touch",
        "-h",
        "-d",
        &format!("@{}", prewarm::tier_build::SOURCE_EPOCH),
        "{}",
        "+",
    ]);
    assert!(touch.status().unwrap().success());
    let out = cargo()
        .arg("build")
        .args(FLAGS)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&host.app)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let units = artifacts(&out.stdout);
    let local: Vec<&Artifact> = units.iter().filter(|a| a.local).collect();
    assert_eq!(local.len(), 7, "{local:#?}");
    let stale: Vec<&str> = local
        .iter()
        .filter(|a| !a.fresh)
        .map(|a| a.package.as_str())
        .collect();
    assert!(stale.is_empty(), "the final build compiled {stale:?}");
    let exe = host.app.join("target/release/app");
    let printed = String::from_utf8(Command::new(&exe).output().unwrap().stdout).unwrap();
    assert!(
        printed.contains("app v1") && printed.contains("base1+fast"),
        "{printed}"
    );

    // The same sources with a checkout's times and no fixed time: every crate rebuilds, so
    // the fixed time is what keeps them fresh.
    new_mtimes(&host.app, 200);
    let out = cargo()
        .arg("build")
        .args(FLAGS)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&host.app)
        .output()
        .unwrap();
    let rebuilt = artifacts(&out.stdout)
        .iter()
        .filter(|a| a.local && !a.fresh)
        .count();
    assert_eq!(rebuilt, 7);
}

/// A tier built with `-p` instead of the final build's selection resolves other features for
/// the crate (`base` without `fast`): a unit the final build does not use.
#[test]
fn a_tier_built_with_p_would_not_be_reused() {
    let host = Host::new();
    let out = host.tier(0);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deps = host.app.join("target/release/deps");
    let base_units = || -> BTreeSet<String> {
        std::fs::read_dir(&deps)
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n.strip_prefix("libbase-")
                    .and_then(|r| r.strip_suffix(".rlib"))
                    .map(str::to_string)
            })
            .collect()
    };
    let before = base_units();
    assert_eq!(before.len(), 1);
    // `-p base` (with every source in place) is what a per-crate tier would run.
    common::copy_tree(&host.ws, &host.app);
    let out = cargo()
        .args(["build", "--release", "--locked", "-p", "base"])
        .current_dir(&host.app)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = base_units();
    assert_eq!(
        after.len(),
        2,
        "`-p base` reused the tier's unit: {after:?}"
    );
}

/// A tier crate that reads a file of a crate that is still a dummy is refused, naming both.
#[test]
fn a_tier_crate_reading_a_later_crates_file_is_refused() {
    let host = Host::new();
    edit(
        &host.ws.join("crates/codec/src/lib.rs"),
        "pub fn codec",
        "pub const TOOL: &str = include_str!(\"../../tool/Cargo.toml\");\npub fn codec",
    );
    assert!(host.tier(0).status.success());
    let out = host.tier(1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the tier was built:\n{err}");
    assert!(
        err.contains("`codec` reads `") && err.contains("crates/tool/Cargo.toml`"),
        "{err}"
    );
    assert!(err.contains("--tiers off"), "{err}");
    // The dummies are gone and the real manifest is back even so.
    assert!(!host.app.join("crates/tool/src").exists());
    assert_eq!(
        std::fs::read_to_string(host.app.join("crates/tool/Cargo.toml")).unwrap(),
        std::fs::read_to_string(host.ws.join("crates/tool/Cargo.toml")).unwrap()
    );
}

/// `--keep` names a package the recipe does not have: the error names it and lists them.
#[test]
fn an_unknown_kept_package_is_named() {
    let host = Host::new();
    let out = prewarm(
        &host.app,
        &[
            "tier",
            "--recipe",
            host.recipe.to_str().unwrap(),
            "--keep",
            "nope",
            "--release",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("`--keep nope`") && err.contains("api, app, base"),
        "{err}"
    );
}

// ------------------------------------------------------------------ buildah

/// The `RUN` steps of the tiers and the final build.
fn tier_runs(b: &engine::Build) -> (Vec<&engine::StepLog>, &engine::StepLog) {
    let tiers = b.runs("prewarm tier");
    assert_eq!(tiers.len(), TIERS.len(), "log {}", b.log.display());
    let build = b.runs("cargo build");
    assert_eq!(build.len(), 1, "log {}", b.log.display());
    (tiers, build[0])
}

/// The per-tier report of a build (the `verify --tiers` of the issue, for the test log): each
/// tier's crates, whether its step came from the cache, and the crates it compiled for real.
fn report(b: &engine::Build, what: &str) {
    let (tiers, final_build) = tier_runs(b);
    eprintln!("[tiers] {what} ({:.1}s):", b.secs);
    for (k, step) in tiers.iter().enumerate() {
        let real: Vec<String> = step
            .compiled_local()
            .into_iter()
            .filter(|c| TIERS[k].contains(&c.as_str()))
            .collect();
        eprintln!(
            "[tiers]   tier-{} [{}]: {}, compiled {:?}",
            k + 1,
            TIERS[k].join(", "),
            if step.cached { "cached" } else { "ran" },
            real
        );
    }
    eprintln!(
        "[tiers]   build: {}, compiled {:?}",
        if final_build.cached { "cached" } else { "ran" },
        final_build.compiled_local()
    );
}

fn assert_tiers(b: &engine::Build, what: &str, ran: &[bool], compiled: &[&[&str]]) {
    report(b, what);
    let (tiers, final_build) = tier_runs(b);
    for (k, step) in tiers.iter().enumerate() {
        assert_eq!(
            !step.cached,
            ran[k],
            "{what}: tier {} {} (log {})",
            k + 1,
            if ran[k] { "came from the cache" } else { "ran" },
            b.log.display()
        );
        let local = step.compiled_local();
        // The kept crates compile for real; the dummies of later tiers also show up.
        let real: Vec<String> = local
            .into_iter()
            .filter(|c| TIERS[k].contains(&c.as_str()))
            .collect();
        let want: Vec<String> = compiled[k].iter().map(|s| (*s).to_string()).collect();
        assert_eq!(
            real,
            want,
            "{what}: tier {} compiled (log {})",
            k + 1,
            b.log.display()
        );
        let external: Vec<String> = step
            .compiled_any()
            .into_iter()
            .filter(|c| !CRATES.iter().any(|(n, _, _)| n == c))
            .collect();
        assert!(
            external.is_empty(),
            "{what}: tier {} compiled external {external:?}",
            k + 1
        );
    }
    assert!(
        final_build.compiled_any().is_empty(),
        "{what}: the final build compiled {:?} (log {})",
        final_build.compiled_any(),
        b.log.display()
    );
}

/// Builds a copy of the Dockerfile whose build step writes cargo's JSON, up to the build
/// stage: every tier comes from the cache and the final build finds every unit fresh (issue
/// 11, 1.4: the tiers built with the final build's features). Returns the probe's tag.
fn assert_final_build_fresh(ws: &Path, dockerfile: &Path, tag: &str, tmp: &Path) -> String {
    let text = std::fs::read_to_string(dockerfile).unwrap();
    let probe = text.replacen(
        " && cargo build --release --locked --bin=app ",
        " && cargo build --release --locked --bin=app --message-format=json-render-diagnostics >/build.json ",
        1,
    );
    assert_ne!(probe, text);
    let probe_file = tmp.join("probe.Dockerfile");
    std::fs::write(&probe_file, probe).unwrap();
    let probe_tag = format!("{tag}-probe");
    let probed = engine::build(
        Engine::Buildah,
        ws,
        &probe_file,
        &probe_tag,
        &["--target", "build"],
    );
    assert!(
        probed.runs("prewarm tier").iter().all(|s| s.cached),
        "log {}",
        probed.log.display()
    );
    let json = engine::run_in(Engine::Buildah, &probe_tag, &["cat", "/build.json"]);
    let units = artifacts(json.as_bytes());
    let local: Vec<&Artifact> = units.iter().filter(|a| a.local).collect();
    assert_eq!(local.len(), 7, "{json}");
    assert!(
        local.iter().all(|a| a.fresh),
        "the final build compiled: {local:#?}"
    );
    assert!(units.iter().all(|a| a.fresh), "{json}");
    probe_tag
}

/// A wiring edit (issue 11, 2): a path dependency from one member to another. The recipe
/// changes, so the planner and the deps stage run; the recipe of the external dependencies
/// does not, so the cook stays cached and no external crate compiles anywhere. The binary's
/// output holds each of `want`.
fn wiring_edit(ws: &Path, dockerfile: &Path, tag: &str, want: &[&str]) -> engine::Build {
    edit(
        &ws.join("crates/api/Cargo.toml"),
        "[dependencies]\n",
        "[dependencies]\nstore = { path = \"../store\" }\n",
    );
    // The lockfile follows, as cargo updates it on the developer's machine (the build is
    // --locked).
    let out = cargo()
        .args(["update", "--workspace", "--offline"])
        .current_dir(ws)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo update --workspace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    new_mtimes(ws, 40);
    let wired = engine::build(Engine::Buildah, ws, dockerfile, tag, &[]);
    report(&wired, "wiring edit");
    let deps = wired.step("prewarm deps");
    assert!(
        !deps.cached
            && deps
                .output
                .iter()
                .any(|l| l.contains("external units, apart from")),
        "the deps stage should run and separate the dependencies: {deps:#?} (log {})",
        wired.log.display()
    );
    assert!(
        wired.cook().cached,
        "a wiring edit rebuilt the cook layer (log {})",
        wired.log.display()
    );
    let (external, local) = wired.compiled();
    assert!(
        external.is_empty(),
        "a wiring edit compiled external crates {external:?} (log {})",
        wired.log.display()
    );
    assert!(local.iter().any(|c| c.starts_with("api ")), "{local:?}");
    let out = engine::run_in(Engine::Buildah, tag, &["/usr/local/bin/app"]);
    assert!(want.iter().all(|w| out.contains(w)), "{out}");
    wired
}

/// Cold build, the final build's JSON, a leaf edit, a mid-level edit, a rebuild with only new
/// modification times, each with a checkout's new times on every file of the context.
#[test]
fn buildah_tiers() {
    let image = engine::setup();
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    write_fixture(&ws, &nonce());
    let mut args = vec!["image", "--prewarm-image", image];
    args.extend_from_slice(FLAGS);
    prewarm_ok(&ws, &args);
    let dockerfile = ws.join("Dockerfile");
    let tag = format!("localhost/prewarm-test/tiers:run-{}", std::process::id());
    let run = |tag: &str| engine::run_in(Engine::Buildah, tag, &["/usr/local/bin/app"]);

    let cold = engine::build(Engine::Buildah, &ws, &dockerfile, &tag, &[]);
    assert_tiers(&cold, "cold", &[true; 4], TIERS);
    let deps = cold.step("prewarm deps");
    assert!(
        deps.output
            .iter()
            .any(|l| l.contains("external units, apart from")),
        "the deps stage did not separate the dependencies: {deps:#?}"
    );
    let out = run(&tag);
    assert!(
        out.contains("app v1") && out.contains("base1+fast"),
        "{out}"
    );

    let probe_tag = assert_final_build_fresh(&ws, &dockerfile, &tag, tmp.path());

    // A leaf edit: only the last tier runs, and compiles only the leaf.
    let n = nonce();
    edit(
        &ws.join("crates/app/src/main.rs"),
        "app v1",
        &format!("app {n}"),
    );
    new_mtimes(&ws, 10);
    let leaf = engine::build(Engine::Buildah, &ws, &dockerfile, &tag, &[]);
    assert_tiers(
        &leaf,
        "leaf edit",
        &[false, false, false, true],
        &[&[], &[], &[], &["app"]],
    );
    assert!(run(&tag).contains(&format!("app {n}")));

    // A mid-level edit: its tier and every later one run; what they compile is the tiers'
    // crates (the edited crate, its dependents and its tier-mates), nothing earlier.
    let m = nonce();
    edit(
        &ws.join("crates/codec/src/lib.rs"),
        "\"codec(",
        &format!("\"codec{m}("),
    );
    new_mtimes(&ws, 20);
    let mid = engine::build(Engine::Buildah, &ws, &dockerfile, &tag, &[]);
    assert_tiers(
        &mid,
        "mid-level edit",
        &[false, true, true, true],
        &TIERS
            .iter()
            .enumerate()
            .map(|(k, t)| if k == 0 { &[][..] } else { *t })
            .collect::<Vec<_>>(),
    );
    let out = run(&tag);
    assert!(
        out.contains(&format!("codec{m}(")) && out.contains(&format!("app {n}")),
        "{out}"
    );

    // Only new modification times: nothing runs at all.
    new_mtimes(&ws, 30);
    let again = engine::build(Engine::Buildah, &ws, &dockerfile, &tag, &[]);
    let ran: Vec<&str> = again
        .steps
        .iter()
        .filter(|s| s.instruction.starts_with("RUN") && !s.cached)
        .map(|s| s.instruction.as_str())
        .collect();
    assert!(
        ran.is_empty(),
        "a rebuild with only new times ran {ran:?} (log {})",
        again.log.display()
    );

    let wired = wiring_edit(
        &ws,
        &dockerfile,
        &tag,
        &[&format!("codec{m}("), &format!("app {n}")],
    );

    eprintln!(
        "[tiers] buildah: cold {:.1}s, leaf edit {:.1}s, mid-level edit {:.1}s, new times only {:.1}s, wiring edit {:.1}s",
        cold.secs, leaf.secs, mid.secs, again.secs, wired.secs
    );
    for t in [&tag, &probe_tag] {
        let _ = engine::cmd("buildah", &["rmi", t]).output();
    }
}

/// Issue 11, 3.2: two ephemeral runners that share only a registry cache. Runner 1 builds
/// cold and exports every layer (`--cache-to`); runner 2 starts from an empty storage, with a
/// leaf edit and a checkout's new times: the cook and tiers 1-3 come from the registry, tier 4
/// compiles only `app`, the final build compiles nothing and downloads nothing (`--ci`).
#[test]
fn buildah_tiers_two_runners() {
    let image = engine::setup();
    let registry = services::registry();
    let cache = format!("{}/tiers/cache", registry.addr());
    let push = [
        "--tls-verify=false",
        "--cache-to",
        cache.as_str(),
        "--cache-from",
        cache.as_str(),
    ];
    let pull = ["--tls-verify=false", "--cache-from", cache.as_str()];
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    write_fixture(&ws, &nonce());
    let mut args = vec!["image", "--prewarm-image", image, "--ci"];
    args.extend_from_slice(FLAGS);
    prewarm_ok(&ws, &args);
    let dockerfile = ws.join("Dockerfile");
    let tag = engine::run_tag("localhost/prewarm-test/tiers-runners");
    let archives = engine::Archives::new();

    let one = engine::runner(Engine::Buildah, &archives, image);
    let first = engine::build_in(Engine::Buildah, Some(&one), &ws, &dockerfile, &tag, &push);
    assert_tiers(&first, "runner 1 (cold)", &[true; 4], TIERS);
    drop(one);

    let n = nonce();
    edit(
        &ws.join("crates/app/src/main.rs"),
        "app v1",
        &format!("app {n}"),
    );
    new_mtimes(&ws, 10);
    let two = engine::runner(Engine::Buildah, &archives, image);
    let second = engine::build_in(Engine::Buildah, Some(&two), &ws, &dockerfile, &tag, &pull);
    assert_tiers(
        &second,
        "runner 2 after a leaf edit",
        &[false, false, false, true],
        &[&[], &[], &[], &["app"]],
    );
    let (tiers, _) = tier_runs(&second);
    let cook = second.cook();
    assert!(
        cook.remote && tiers[..3].iter().all(|t| t.remote),
        "runner 2: the cook and tiers 1-3 should come from the registry: {cook:#?} {:#?} (log {})",
        &tiers[..3],
        second.log.display()
    );
    let downloaded = second.downloaded();
    assert!(
        downloaded.is_empty(),
        "runner 2 downloaded {downloaded:?} (log {})",
        second.log.display()
    );
    let out = engine::run_in_store(Engine::Buildah, Some(&two), &tag, &["/usr/local/bin/app"]);
    assert!(out.contains(&format!("app {n}")), "{out}");
    eprintln!(
        "[tiers] two runners: runner 1 cold {:.1}s, runner 2 after a leaf edit {:.1}s",
        first.secs, second.secs
    );
}

/// The figures of the README: the same edits with `--tiers off`, side by side (ignored by
/// default; run it under the engine lock with `--ignored`).
#[test]
#[ignore = "figures: run with --ignored under the engine lock"]
fn buildah_figures_with_and_without_tiers() {
    let image = engine::setup();
    for tiers in ["auto", "off"] {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws");
        write_fixture(&ws, &nonce());
        let mut args = vec!["image", "--prewarm-image", image, "--tiers", tiers];
        args.extend_from_slice(FLAGS);
        prewarm_ok(&ws, &args);
        let dockerfile = ws.join("Dockerfile");
        let tag = format!(
            "localhost/prewarm-test/tiers-fig-{tiers}:run-{}",
            std::process::id()
        );
        let cold = engine::build(Engine::Buildah, &ws, &dockerfile, &tag, &[]);
        edit(
            &ws.join("crates/app/src/main.rs"),
            "app v1",
            &format!("app {}", nonce()),
        );
        new_mtimes(&ws, 10);
        let leaf = engine::build(Engine::Buildah, &ws, &dockerfile, &tag, &[]);
        edit(
            &ws.join("crates/codec/src/lib.rs"),
            "\"codec(",
            &format!("\"codec{}(", nonce()),
        );
        new_mtimes(&ws, 20);
        let mid = engine::build(Engine::Buildah, &ws, &dockerfile, &tag, &[]);
        // Real compilations: a tier's own crates (its dummies also print `Compiling`) and
        // everything the final build compiles.
        let count = |b: &engine::Build| -> usize {
            let in_tiers: usize = b
                .runs("prewarm tier")
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    s.compiled_local()
                        .iter()
                        .filter(|c| TIERS[k].contains(&c.as_str()))
                        .count()
                })
                .sum();
            in_tiers
                + b.runs("cargo build")
                    .iter()
                    .map(|s| s.compiled_local().len())
                    .sum::<usize>()
        };
        eprintln!(
            "[tiers] --tiers {tiers}: cold {:.1}s, leaf edit {:.1}s ({} local units compiled), mid-level edit {:.1}s ({} compiled)",
            cold.secs,
            leaf.secs,
            count(&leaf),
            mid.secs,
            count(&mid)
        );
        let _ = engine::cmd("buildah", &["rmi", &tag]).output();
    }
}

//! `just bench`: the figures of the README.
//!
//! 1. `prewarm recipe` on a generated 300-member workspace next to `cargo metadata --no-deps`.
//! 2. `prewarm cook` next to a plain `cargo build` of the same skeleton with the same flags.
//!
//! Each command runs several times; the median wall time is reported. This is a benchmark, not
//! a test: the numbers depend on the machine and its load.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("PREWARM_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let skip_cook = std::env::args().any(|a| a == "--recipe-only");
    println!("| what | median wall time | ratio |");
    println!("|---|---|---|");
    recipe_vs_metadata(runs);
    if !skip_cook {
        cook_vs_build(runs.min(3));
    }
}

fn prewarm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_prewarm"))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn time(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("command runs");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A virtual workspace of `n` members: each depends on `itoa` (inherited), every tenth on the
/// previous member by path, and members carry metadata, examples and tests like real crates.
fn generate_workspace(dir: &Path, n: usize) {
    let mut root = String::from("[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\"]\n\n[workspace.package]\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n[workspace.dependencies]\nitoa = \"1\"\n");
    root.push_str("\n[profile.release]\ndebug = 1\n");
    std::fs::write(dir.join("Cargo.toml"), root).unwrap();
    let mut lock = String::from("version = 4\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.19\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4\"\n");
    for i in 0..n {
        let name = format!("member-{i:03}");
        let d = dir.join("crates").join(&name);
        std::fs::create_dir_all(d.join("src")).unwrap();
        std::fs::create_dir_all(d.join("tests")).unwrap();
        let mut m = format!("[package]\nname = \"{name}\"\nversion.workspace = true\nedition.workspace = true\nlicense.workspace = true\ndescription = \"generated member {i}\"\n\n[dependencies]\nitoa.workspace = true\n");
        let mut deps = vec!["itoa".to_string()];
        if i % 10 == 9 {
            let prev = format!("member-{:03}", i - 1);
            let _ = writeln!(m, "{prev} = {{ path = \"../{prev}\" }}");
            deps.push(prev);
        }
        std::fs::write(d.join("Cargo.toml"), m).unwrap();
        std::fs::write(d.join("src/lib.rs"), "//! generated\n").unwrap();
        std::fs::write(d.join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(d.join("tests/t.rs"), "#[test]\nfn t() {}\n").unwrap();
        let _ = writeln!(
            lock,
            "\n[[package]]\nname = \"{name}\"\nversion = \"0.1.0\"\ndependencies = ["
        );
        deps.sort();
        for dep in deps {
            let _ = writeln!(lock, " \"{dep}\",");
        }
        lock.push_str("]\n");
    }
    std::fs::write(dir.join("Cargo.lock"), lock).unwrap();
}

fn recipe_vs_metadata(runs: usize) {
    let tmp = tempfile::tempdir().unwrap();
    generate_workspace(tmp.path(), 300);
    let dir = tmp.path();
    // warm-up (file cache, cargo's own start-up)
    time(
        cargo()
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(dir),
    );
    let mut meta = Vec::new();
    let mut recipe = Vec::new();
    for _ in 0..runs {
        meta.push(time(
            cargo()
                .args([
                    "metadata",
                    "--format-version",
                    "1",
                    "--no-deps",
                    "--offline",
                ])
                .current_dir(dir),
        ));
        recipe.push(time(
            prewarm().args(["recipe", "--output", "-"]).current_dir(dir),
        ));
    }
    let (m, r) = (median(meta), median(recipe));
    println!(
        "| `cargo metadata --no-deps`, 300 members | {} | 1.00x |",
        ms(m)
    );
    println!(
        "| `prewarm recipe`, 300 members | {} | {:.2}x (target <= 2x) |",
        ms(r),
        r.as_secs_f64() / m.as_secs_f64()
    );
}

fn cook_vs_build(runs: usize) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello-service");
    let planned = prewarm()
        .args(["recipe", "--output", "-"])
        .current_dir(&example)
        .output()
        .unwrap();
    assert!(
        planned.status.success(),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let recipe_text = String::from_utf8(planned.stdout).unwrap();
    let recipe =
        prewarm::recipe::Recipe::from_json(&recipe_text, Path::new("recipe.json")).unwrap();
    // make sure every crate is downloaded before timing
    let fetch = tempfile::tempdir().unwrap();
    prewarm::skeleton::lay_out(fetch.path(), &recipe).unwrap();
    time(
        cargo()
            .args(["fetch", "--locked"])
            .current_dir(fetch.path()),
    );

    let mut cook = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..runs {
        let a = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("recipe.json"), &recipe_text).unwrap();
        cook.push(time(
            prewarm()
                .args(["cook", "--quiet", "--release", "--locked"])
                .current_dir(a.path())
                .env_remove("CARGO_TARGET_DIR"),
        ));
        let b = tempfile::tempdir().unwrap();
        prewarm::skeleton::lay_out(b.path(), &recipe).unwrap();
        plain.push(time(
            cargo()
                .args(["build", "--release", "--locked"])
                .current_dir(b.path())
                .env_remove("CARGO_TARGET_DIR"),
        ));
    }
    let (c, p) = (median(cook), median(plain));
    println!(
        "| plain `cargo build --release` of the hello-service skeleton | {} | 1.00x |",
        ms(p)
    );
    println!(
        "| `prewarm cook --release` of the same recipe | {} | {:.3}x (target <= 1.05x) |",
        ms(c),
        c.as_secs_f64() / p.as_secs_f64()
    );
}

//! Fuzzing what `prewarm cook` does with a recipe it is handed: the real recipes of the
//! fixtures, mutated byte by byte and field by field (the digest recomputed, so a mutation gets
//! past the digest check and reaches the layout code), are read as `prewarm cook` reads them
//! and, when accepted, cooked into a fresh sandbox directory that sits beside sentinel files.
//! The cook runs the whole of `prewarm::cook::cook` but cargo: the layout, the foreign-file
//! check, on-demand targets, the cleanup of a planted target directory, the removal of the
//! dummies and the cook record. Half the cases cook a second time over the first layout.
//!
//! After every case: no panic, nothing outside the sandbox changed (the sentinels and every
//! other entry beside it are compared with the listing taken before), no symlink or hard link
//! made inside it, and every refusal is a prewarm error with a message.
//!
//! Plain `cargo test` runs it for 3 seconds. Controls (environment):
//! - `PREWARM_FUZZ_SECS`: how long to run (`just fuzz SECS="600"`; CI runs 60 seconds);
//! - `PREWARM_FUZZ_SEED`: the seed every case seed is drawn from (a fixed default);
//! - `PREWARM_FUZZ_CASE`: replays the one case with this case seed, printing its inputs;
//! - `PREWARM_FUZZ_DIR`: where the sandbox goes (default `/dev/shm` if present, else the
//!   temporary directory).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use prewarm::cook::{self, Options};
use prewarm::flags::{BuildFlags, Mode};
use prewarm::recipe::{DummyKind, Recipe};
use serde_json::{json, Value};

/// The seed of a run when `PREWARM_FUZZ_SEED` is not set.
const DEFAULT_SEED: u64 = 0x7072_6577_6172_6d31;
/// How long a run lasts when `PREWARM_FUZZ_SECS` is not set (plain `cargo test`).
const DEFAULT_SECS: f64 = 3.0;
/// A binary no recipe names: asking the cook for it alone leaves nothing to build, so the
/// cook lays out, cleans up and records without running cargo.
const ABSENT_BIN: &str = "prewarm-fuzz-absent-bin";
/// The content of every sentinel file, so a file written over one shows.
const SENTINEL: &str = "sentinel: prewarm must never write, replace or delete this\n";

fn main() -> ExitCode {
    // test runners list a binary's tests first (`--list`); this binary is one test
    if std::env::args().any(|a| a == "--list") {
        println!("fuzz: test");
        return ExitCode::SUCCESS;
    }
    let cfg = match Config::from_env() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seeds = seeds();
    let world = World::new();
    let mut stats = Stats::default();
    if let Some(case) = cfg.case {
        println!("fuzz: replaying case {case:#018x}");
        return match run_one(&world, &seeds, case, true, &mut stats) {
            Ok(()) => {
                stats.print(&cfg, Duration::ZERO);
                ExitCode::SUCCESS
            }
            Err(why) => {
                println!("fuzz: case {case:#018x} FAILED: {why}");
                ExitCode::FAILURE
            }
        };
    }
    let mut master = fastrand::Rng::with_seed(cfg.seed);
    let start = Instant::now();
    let deadline = Duration::from_secs_f64(cfg.secs);
    while start.elapsed() < deadline {
        let case = master.u64(..);
        let started = Instant::now();
        let outcome = run_one(&world, &seeds, case, false, &mut stats);
        let took = started.elapsed();
        if took > stats.slowest.0 {
            stats.slowest = (took, case);
        }
        if let Err(why) = outcome {
            println!(
                "fuzz: case #{} FAILED (PREWARM_FUZZ_SEED={}, case seed {case:#018x}): {why}",
                stats.cases, cfg.seed
            );
            println!(
                "fuzz: replay it with `PREWARM_FUZZ_CASE={case:#018x} cargo test --test fuzz`"
            );
            stats.print(&cfg, start.elapsed());
            return ExitCode::FAILURE;
        }
    }
    stats.print(&cfg, start.elapsed());
    ExitCode::SUCCESS
}

/// What a run does, from the environment.
struct Config {
    seed: u64,
    secs: f64,
    case: Option<u64>,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let seed = match var("PREWARM_FUZZ_SEED") {
            Some(v) => parse_u64(&v).ok_or(format!("PREWARM_FUZZ_SEED=`{v}` is not a number"))?,
            None => DEFAULT_SEED,
        };
        let secs = match var("PREWARM_FUZZ_SECS") {
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or(format!(
                    "PREWARM_FUZZ_SECS=`{v}` is not a number of seconds"
                ))?,
            None => DEFAULT_SECS,
        };
        let case = match var("PREWARM_FUZZ_CASE") {
            Some(v) => {
                Some(parse_u64(&v).ok_or(format!("PREWARM_FUZZ_CASE=`{v}` is not a number"))?)
            }
            None => None,
        };
        Ok(Config { seed, secs, case })
    }
}

/// A decimal or `0x` hexadecimal number.
fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

// ---- seeds -----------------------------------------------------------------------------

/// The fixtures whose recipes seed the mutations, and where in each to run `prewarm recipe`.
const FIXTURES: &[(&str, &str)] = &[
    ("single", "."),
    ("workspace", "."),
    ("outside", "ws"),
    ("config", "."),
    ("credentials", "."),
];

/// The valid recipes of the fixtures, made by the code of `prewarm recipe`.
fn seeds() -> Vec<Recipe> {
    FIXTURES
        .iter()
        .map(|(name, sub)| {
            let (_tmp, root) = common::fixture(name);
            let recipe = prewarm::plan::plan(&root.join(sub).join("Cargo.toml"))
                .unwrap_or_else(|e| panic!("the recipe of fixture `{name}`: {e}"))
                .recipe;
            let back = Recipe::from_json(&recipe.to_json(), Path::new("seed.json"))
                .unwrap_or_else(|e| panic!("the recipe of fixture `{name}` reads back: {e}"));
            assert_eq!(back, recipe, "fixture `{name}`");
            recipe
        })
        .collect()
}

// ---- the world: sentinels around the sandbox ----------------------------------------------

/// The parent directory: sentinels at every level, and the sandbox three levels down (so
/// `../../..` from inside it lands on sentinels).
struct World {
    _tmp: tempfile::TempDir,
    /// The parent directory, canonical.
    outer: PathBuf,
    /// The cook directory of every case, `outer/a/b/cook`, made afresh for each.
    sandbox: PathBuf,
    /// Everything outside the sandbox, as it was before the first case.
    baseline: Vec<Entry>,
}

impl World {
    fn new() -> World {
        // On a memory file system when there is one: every case makes and removes a tree, and
        // ext4's inode allocation after many deletions would take most of the time.
        let shm = Path::new("/dev/shm");
        let tmp = match std::env::var_os("PREWARM_FUZZ_DIR") {
            Some(dir) => tempfile::tempdir_in(dir),
            None if shm.is_dir() => tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir()),
            None => tempfile::tempdir(),
        }
        .expect("make the fuzz directory");
        let outer = std::fs::canonicalize(tmp.path()).unwrap();
        let sandbox = outer.join("a/b/cook");
        for dir in ["", "a/", "a/b/"] {
            for file in [
                "Cargo.toml",
                "Cargo.lock",
                "recipe.json",
                "esc.rs",
                "src/lib.rs",
                "src/main.rs",
                "examples/e.rs",
                "victim/keep.txt",
                "victim/src/lib.rs",
                ".prewarm/skeleton.json",
                "target/debug/victim",
                "target/doc/victim/index.html",
            ] {
                write_new(&outer.join(format!("{dir}{file}")), SENTINEL);
            }
        }
        // what planted symlinks and hard links in the sandbox point at (no `target` inside,
        // so a workspace reached through a link has no target directory to clean)
        for file in [
            "linked/keep.txt",
            "linked/lib.rs",
            "linked/src/lib.rs",
            "hard.txt",
        ] {
            write_new(&outer.join(file), SENTINEL);
        }
        let baseline = outside(&outer, &sandbox);
        World {
            _tmp: tmp,
            outer,
            sandbox,
            baseline,
        }
    }
}

fn write_new(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// One entry of a listing: path relative to the listed directory, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    rel: PathBuf,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum What {
    Dir,
    /// A regular file with the sha256 of its content and its link count.
    File(String, u64),
    Symlink(PathBuf),
    Other,
}

/// Everything below `outer` but the sandbox (which may not exist).
fn outside(outer: &Path, sandbox: &Path) -> Vec<Entry> {
    let mut out: Vec<Entry> = walkdir::WalkDir::new(outer)
        .follow_links(false)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| e.path() != sandbox)
        .map(|e| {
            let mut e = entry(outer, &e.expect("walk the parent directory"));
            // a hard link planted in the sandbox counts here, and is checked there
            if let What::File(_, nlink) = &mut e.what {
                *nlink = 0;
            }
            e
        })
        .collect();
    out.sort();
    out
}

fn entry(base: &Path, e: &walkdir::DirEntry) -> Entry {
    use std::os::unix::fs::MetadataExt;
    let rel = e.path().strip_prefix(base).unwrap().to_path_buf();
    let t = e.file_type();
    let what = if t.is_symlink() {
        What::Symlink(std::fs::read_link(e.path()).unwrap_or_default())
    } else if t.is_dir() {
        What::Dir
    } else if t.is_file() {
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        let nlink = e.metadata().map_or(0, |m| m.nlink());
        What::File(prewarm::fs::sha256_hex(&bytes), nlink)
    } else {
        What::Other
    };
    Entry { rel, what }
}

// ---- running a case --------------------------------------------------------------------

/// Runs one case, catching a panic; `Err` says what went wrong.
fn run_one(
    world: &World,
    seeds: &[Recipe],
    case: u64,
    verbose: bool,
    stats: &mut Stats,
) -> Result<(), String> {
    stats.cases += 1;
    let _ = std::fs::remove_dir_all(&world.sandbox);
    std::fs::create_dir_all(&world.sandbox).map_err(|e| format!("make the sandbox: {e}"))?;
    let mut run = Case {
        world,
        rng: fastrand::Rng::with_seed(case),
        verbose,
        planted: Planted::default(),
        log: String::new(),
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| run.run(seeds, stats)));
    let result = match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {msg}"))
        }
    };
    if verbose {
        println!("sandbox after the case:");
        for e in walkdir::WalkDir::new(&world.sandbox)
            .follow_links(false)
            .min_depth(1)
            .into_iter()
            .flatten()
        {
            println!("  {:?}", entry(&world.sandbox, &e));
        }
    }
    let result = result.and_then(|()| run.check_world());
    if let Err(why) = result {
        return Err(format!("{why}\n--- case log ---\n{}", run.log));
    }
    Ok(())
}

/// What a case planted in the sandbox, which the checks allow.
#[derive(Default)]
struct Planted {
    symlinks: BTreeMap<PathBuf, PathBuf>,
    hard_links: Vec<PathBuf>,
}

struct Case<'w> {
    world: &'w World,
    rng: fastrand::Rng,
    verbose: bool,
    planted: Planted,
    log: String,
}

/// How the input of a case was made.
#[derive(Clone, Copy)]
enum Made {
    /// Structural mutations of the JSON, digest recomputed.
    Structure,
    /// Byte mutations, digest recomputed where the result still parses as a recipe.
    BytesRestamped,
    /// Byte mutations, fed as they are.
    Bytes,
}

impl Case<'_> {
    fn note(&mut self, line: impl AsRef<str>) {
        let line = line.as_ref();
        let limit = if self.verbose { usize::MAX } else { 1500 };
        let shown: String = line.chars().take(limit).collect();
        if self.verbose {
            println!("{shown}");
        }
        let _ = writeln!(self.log, "{shown}");
    }

    fn run(&mut self, seeds: &[Recipe], stats: &mut Stats) -> Result<(), String> {
        let seed = &seeds[self.rng.usize(..seeds.len())];
        let (bytes, made) = self.input(seed, seeds);
        let Some(recipe) = self.read(&bytes, made, stats)? else {
            return Ok(());
        };
        self.plant(&recipe);
        let force = self.rng.bool();
        let opts = self.options(&recipe, force);
        let first = self.cook(&recipe, &opts, stats, "first")?;
        if self.rng.bool() {
            return Ok(());
        }
        // A second cook over the first layout: the same recipe again, or another mutation of
        // it, sometimes with the skeleton record tampered with in between.
        stats.second += 1;
        if self.rng.u8(..4) == 0 {
            self.tamper_record();
        }
        if self.rng.bool() {
            let again = self.cook(&recipe, &opts, stats, "again")?;
            // a cook that succeeded in a directory holding only its recipe succeeds there
            // again, unforced: its own layout is never foreign to it
            if first && !force && self.planted.is_empty() && !again {
                return Err("cooking the same recipe a second time was refused".into());
            }
        } else {
            let text = recipe.to_json();
            let (bytes, made) = self.mutate(text.into_bytes(), seeds);
            if let Some(other) = self.read(&bytes, made, stats)? {
                let force = self.rng.bool();
                let opts = self.options(&other, force);
                self.cook(&other, &opts, stats, "second")?;
            }
        }
        Ok(())
    }

    /// A mutated recipe text and how it was made.
    fn input(&mut self, seed: &Recipe, seeds: &[Recipe]) -> (Vec<u8>, Made) {
        let text = if self.rng.bool() {
            seed.to_json()
        } else {
            serde_json::to_string(seed).unwrap()
        };
        self.mutate(text.into_bytes(), seeds)
    }

    fn mutate(&mut self, bytes: Vec<u8>, seeds: &[Recipe]) -> (Vec<u8>, Made) {
        match self.rng.u8(..10) {
            0..=5 => {
                let mut v: Value = serde_json::from_slice(&bytes).unwrap();
                let mut m = Mutator {
                    rng: &mut self.rng,
                    world: self.world,
                };
                let n = if m.rng.u8(..4) == 0 { 6 } else { 2 };
                for _ in 0..m.rng.usize(1..=n) {
                    m.structure(&mut v);
                }
                restamp(&mut v);
                let text = if self.rng.bool() {
                    serde_json::to_vec_pretty(&v).unwrap()
                } else {
                    serde_json::to_vec(&v).unwrap()
                };
                (text, Made::Structure)
            }
            r => {
                let mut bytes = bytes;
                let other = seeds[self.rng.usize(..seeds.len())].to_json();
                for _ in 0..self.rng.usize(1..=4) {
                    mutate_bytes(&mut self.rng, &mut bytes, other.as_bytes());
                }
                if r <= 7 {
                    if let Some(v) = std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    {
                        let mut v = v;
                        if restamp(&mut v) {
                            return (serde_json::to_vec(&v).unwrap(), Made::BytesRestamped);
                        }
                    }
                }
                (bytes, Made::Bytes)
            }
        }
    }

    /// Writes `bytes` as the sandbox's `recipe.json` and reads it as `prewarm cook` does.
    fn read(
        &mut self,
        bytes: &[u8],
        made: Made,
        stats: &mut Stats,
    ) -> Result<Option<Recipe>, String> {
        let path = self.world.sandbox.join("recipe.json");
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Ok(None); // the first cook made it a directory; nothing to write the recipe to
        }
        std::fs::write(&path, bytes).map_err(|e| format!("write the recipe: {e}"))?;
        self.note(format!(
            "input ({} bytes): {}",
            bytes.len(),
            String::from_utf8_lossy(bytes)
        ));
        let read = prewarm::fs::read_to_string(&path).and_then(|t| Recipe::from_json(&t, &path));
        match read {
            Ok(recipe) => {
                stats.accepted += 1;
                match made {
                    Made::Structure => stats.accepted_structure += 1,
                    Made::BytesRestamped | Made::Bytes => stats.accepted_bytes += 1,
                }
                self.note("read: accepted");
                Ok(Some(recipe))
            }
            Err(e) => {
                check_error(&e)?;
                stats.rejected += 1;
                *stats.read_errors.entry(shape(&e)).or_default() += 1;
                self.note(format!("read: rejected: {e}"));
                Ok(None)
            }
        }
    }

    /// The cook's options: no cargo run (only an absent binary is asked for), a target
    /// directory inside the sandbox, and some on-demand targets.
    fn options(&mut self, recipe: &Recipe, force: bool) -> Options {
        let mut flags = BuildFlags {
            bin: vec![ABSENT_BIN.into()],
            target_dir: Some("target".into()),
            ..BuildFlags::default()
        };
        assert!(
            !recipe
                .packages
                .values()
                .any(|p| p.targets.iter().any(|t| t.name == ABSENT_BIN)),
            "a mutation named the absent binary"
        );
        match self.rng.u8(..4) {
            0 => flags.release = true,
            1 => flags.profile = Some(pick(&mut self.rng, &["ci", "dev", "bench", "x"]).into()),
            _ => {}
        }
        if self.rng.u8(..3) == 0 {
            if let Some(p) = pick_value(&mut self.rng, recipe.packages.values()) {
                flags.package.push(p.name.clone());
            }
        }
        if self.rng.u8(..3) == 0 {
            let mut m = Mutator {
                rng: &mut self.rng,
                world: self.world,
            };
            let name = m.name();
            match m.rng.u8(..3) {
                0 => flags.example.push(name),
                1 => flags.test.push(name),
                _ => flags.bench.push(name),
            }
        }
        let mode = pick(
            &mut self.rng,
            &[
                Mode::Build,
                Mode::Check,
                Mode::Clippy,
                Mode::TestsNoRun,
                Mode::Doc,
            ],
        );
        Options {
            dir: self.world.sandbox.clone(),
            recipe_path: Some(self.world.sandbox.join("recipe.json")),
            force,
            mode,
            flags,
            extra: Vec::new(),
            quiet: true,
        }
    }

    /// Cooks; `Ok(true)` when the cook succeeded, `Ok(false)` when it was refused properly.
    fn cook(
        &mut self,
        recipe: &Recipe,
        opts: &Options,
        stats: &mut Stats,
        which: &str,
    ) -> Result<bool, String> {
        self.note(format!(
            "{which} cook: force {}, mode {:?}, flags {:?}",
            opts.force, opts.mode, opts.flags
        ));
        match cook::cook(recipe, opts) {
            Ok(report) => {
                stats.cooked += 1;
                self.note(format!(
                    "{which} cook: ok, removed {} entries from {:?}",
                    report.removed, report.target_dirs
                ));
                if report.command.is_some() {
                    return Err("the cook ran cargo".into());
                }
                Ok(true)
            }
            Err(e) => {
                check_error(&e)?;
                stats.refused += 1;
                *stats.cook_errors.entry(shape(&e)).or_default() += 1;
                self.note(format!("{which} cook: refused: {e}"));
                Ok(false)
            }
        }
    }

    /// Plants what a cook directory may hold: a target directory with a build of the recipe's
    /// packages in cargo's layout, a user's real files, symlinks and hard links out of the
    /// sandbox. Symlinks last, so nothing here is written through one.
    fn plant(&mut self, recipe: &Recipe) {
        let sb = self.world.sandbox.clone();
        if self.rng.u8(..3) == 0 {
            let ws = if recipe.workspace == "." {
                sb.clone()
            } else {
                sb.join(&recipe.workspace)
            };
            let target = ws.join("target");
            // rarely a CACHEDIR.TAG: then the cook writes its record, which runs `rustc -vV`
            let tag = self.rng.u8(..50) == 0;
            let mut files = vec![
                "debug/.fingerprint/serde-0123456789abcdef/lib-serde".to_string(),
                "debug/deps/libserde-0123456789abcdef.rlib".to_string(),
                "doc/serde/index.html".to_string(),
                "doc/src/serde/lib.rs.html".to_string(),
                "release/build/serde-0123456789abcdef/output".to_string(),
            ];
            if tag {
                files.push("CACHEDIR.TAG".into());
            }
            for pkg in recipe.packages.values().take(8) {
                let krate = pkg.name.replace('-', "_");
                files.push(format!(
                    "debug/.fingerprint/{}-0123456789abcdef/lib",
                    pkg.name
                ));
                files.push(format!("debug/deps/lib{krate}-0123456789abcdef.rlib"));
                files.push(format!("doc/{krate}/index.html"));
                for t in pkg.targets.iter().take(4) {
                    files.push(format!("debug/{}", t.name));
                    files.push(format!("debug/examples/{}-0123456789abcdef", t.name));
                }
            }
            for f in &files {
                self.plant_file(&target, f, "built by cargo\n");
            }
            self.note(format!(
                "planted a target directory at {}",
                target.display()
            ));
        }
        if self.rng.u8(..4) == 0 {
            for rel in ["src/lib.rs", "Cargo.toml", "notes.txt"] {
                if self.rng.bool() {
                    self.plant_file(&sb, rel, "the user's own file\n");
                }
            }
        }
        if self.rng.u8(..4) == 0 {
            for _ in 0..self.rng.usize(1..=3) {
                let name = pick(
                    &mut self.rng,
                    &[
                        "src",
                        "link",
                        "examples",
                        ".prewarm",
                        "crates",
                        "Cargo.toml",
                        "src/bin",
                        "benches",
                    ],
                );
                let to = pick(
                    &mut self.rng,
                    &["linked", "linked/keep.txt", "linked/lib.rs", "victim", "."],
                );
                let to = self.world.outer.join(to);
                let at = sb.join(name);
                if !via_symlink(&sb, Path::new(name))
                    && std::fs::create_dir_all(at.parent().unwrap()).is_ok()
                    && std::os::unix::fs::symlink(&to, &at).is_ok()
                {
                    self.note(format!("planted symlink {name} -> {}", to.display()));
                    self.planted.symlinks.insert(at, to);
                }
            }
        }
        if self.rng.u8(..4) == 0 {
            let name = pick(
                &mut self.rng,
                &[
                    "Cargo.toml",
                    "Cargo.lock",
                    "src/lib.rs",
                    "src/main.rs",
                    ".prewarm/skeleton.json",
                ],
            );
            let at = sb.join(name);
            if !via_symlink(&sb, Path::new(name))
                && !at.exists()
                && std::fs::create_dir_all(at.parent().unwrap()).is_ok()
                && std::fs::hard_link(self.world.outer.join("hard.txt"), &at).is_ok()
            {
                self.note(format!("planted hard link {name}"));
                self.planted.hard_links.push(at);
            }
        }
    }

    /// Writes `base/rel` unless a symlink is on the way (so the harness itself never writes
    /// outside the sandbox).
    fn plant_file(&self, base: &Path, rel: &str, text: &str) {
        let Ok(rel_in_sb) = base
            .join(rel)
            .strip_prefix(&self.world.sandbox)
            .map(Path::to_path_buf)
        else {
            return;
        };
        if via_symlink(&self.world.sandbox, &rel_in_sb)
            || rel_in_sb
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return;
        }
        let path = self.world.sandbox.join(&rel_in_sb);
        if let Some(parent) = path.parent() {
            if std::fs::create_dir_all(parent).is_ok() {
                let _ = std::fs::write(&path, text);
            }
        }
    }

    /// Rewrites the skeleton record left by the first cook with a mutated one.
    fn tamper_record(&mut self) {
        let rel = Path::new(prewarm::skeleton::INVENTORY);
        if via_symlink(&self.world.sandbox, rel) {
            return;
        }
        let path = self.world.sandbox.join(rel);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return;
        };
        let Ok(mut v) = serde_json::from_str::<Value>(&text) else {
            return;
        };
        let mut m = Mutator {
            rng: &mut self.rng,
            world: self.world,
        };
        for _ in 0..m.rng.usize(1..=4) {
            if m.rng.bool() {
                // claim a file outside the sandbox, with its real hash
                let name = m.path();
                let hash = prewarm::fs::sha256_hex(SENTINEL.as_bytes());
                for key in ["files", "sources"] {
                    if let Some(map) = v.get_mut(key).and_then(Value::as_object_mut) {
                        map.insert(name.clone(), json!(hash));
                    }
                }
            } else {
                m.structure(&mut v);
            }
        }
        let _ = std::fs::write(&path, serde_json::to_vec(&v).unwrap());
        self.note(format!("tampered record: {v}"));
    }

    /// Nothing outside the sandbox changed; inside it, no symlink or hard link but the
    /// planted ones.
    fn check_world(&self) -> Result<(), String> {
        let now = outside(&self.world.outer, &self.world.sandbox);
        if now != self.world.baseline {
            let mut diff = String::new();
            for e in &self.world.baseline {
                if !now.contains(e) {
                    let _ = writeln!(
                        diff,
                        "  gone or changed: {} ({:?})",
                        e.rel.display(),
                        e.what
                    );
                }
            }
            for e in &now {
                if !self.world.baseline.contains(e) {
                    let _ = writeln!(diff, "  new or changed: {} ({:?})", e.rel.display(), e.what);
                }
            }
            return Err(format!(
                "something outside the sandbox `{}` changed:\n{diff}",
                self.world.sandbox.display()
            ));
        }
        for e in walkdir::WalkDir::new(&self.world.sandbox).follow_links(false) {
            let e = e.map_err(|e| format!("walk the sandbox: {e}"))?;
            let entry = entry(&self.world.sandbox, &e);
            match entry.what {
                What::Symlink(to) if self.planted.symlinks.get(e.path()) != Some(&to) => {
                    return Err(format!(
                        "a symlink was made: {} -> {}",
                        e.path().display(),
                        to.display()
                    ));
                }
                What::File(_, n)
                    if n > 1 && !self.planted.hard_links.iter().any(|h| h == e.path()) =>
                {
                    return Err(format!("a hard link was made: {}", e.path().display()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Whether a symlink is on the way from `base` to `base/rel` (the harness's own check, so a
/// broken check in prewarm cannot make the harness write outside the sandbox).
fn via_symlink(base: &Path, rel: &Path) -> bool {
    let mut cur = base.to_path_buf();
    rel.components().any(|c| {
        cur.push(c);
        std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink())
    })
}

impl Planted {
    fn is_empty(&self) -> bool {
        self.symlinks.is_empty() && self.hard_links.is_empty()
    }
}

/// A refusal must be a prewarm error a person can read: a message, and no panic text.
fn check_error(e: &prewarm::Error) -> Result<(), String> {
    let shown = e.to_string();
    if e.message().trim().is_empty() || shown.contains("panicked") {
        return Err(format!("not a proper error: {shown:?}"));
    }
    Ok(())
}

/// An error's first line with the quoted parts and the words holding digits or JSON (numbers,
/// hashes, values) masked: what kind of error it is.
fn shape(e: &prewarm::Error) -> String {
    let line = e.message().lines().next().unwrap_or_default();
    // serde's messages end with the position; the cut keeps their kind
    let line = &line[..line.find(" at line ").unwrap_or(line.len())];
    let mut unquoted = String::new();
    for (i, part) in line.split('`').enumerate() {
        unquoted.push_str(if i % 2 == 0 { part } else { "`…`" });
    }
    let words: Vec<&str> = unquoted
        .split(' ')
        .map(|w| {
            if w.contains(|c: char| c.is_ascii_digit() || "[]{}\"\\".contains(c)) {
                "N"
            } else {
                w
            }
        })
        .collect();
    let shape = format!("{:?}: {}", e.kind(), words.join(" "));
    shape.chars().take(100).collect()
}

/// Stamps the digest of the recipe `v` parses as, if it parses as one; true when it did.
fn restamp(v: &mut Value) -> bool {
    let Ok(recipe) = serde_json::from_value::<Recipe>(v.clone()) else {
        return false;
    };
    let digest = recipe.compute_digest();
    v.as_object_mut()
        .is_some_and(|o| o.insert("digest".into(), json!(digest)).is_some())
}

// ---- mutations -----------------------------------------------------------------------------

/// A byte-level mutation: flip, set, insert, delete, duplicate, splice, truncate.
fn mutate_bytes(rng: &mut fastrand::Rng, bytes: &mut Vec<u8>, other: &[u8]) {
    const INTERESTING: &[&[u8]] = &[
        b"..",
        b"/",
        b"../",
        b"\\",
        b"\\\\",
        b"\\u0000",
        b"\0",
        b"\"",
        b"\\\"",
        b",",
        b":",
        b"{",
        b"}",
        b"[",
        b"]",
        b"null",
        b"true",
        b"-1",
        b"1e999",
        b"18446744073709551616",
        b"\xc3\xa9",
        b"\xff",
        b"\xe2\x80\xae",
        b"\\ud800",
        b" ",
        b"\n",
        b"sha256:",
        b".prewarm",
    ];
    let len = bytes.len();
    let at = rng.usize(..=len);
    match rng.u8(..8) {
        0 if len > 0 => {
            let i = rng.usize(..len);
            bytes[i] ^= 1 << rng.u8(..8);
        }
        1 if len > 0 => {
            let i = rng.usize(..len);
            bytes[i] = if rng.bool() {
                rng.u8(..)
            } else {
                pick(rng, b"\"\\/.{}[],:0 \nx")
            };
        }
        2 => {
            let ins = pick(rng, INTERESTING);
            bytes.splice(at..at, ins.iter().copied());
        }
        3 if len > 0 => {
            let n = rng.usize(1..=len.min(64));
            let from = rng.usize(..=len - n);
            bytes.drain(from..from + n);
        }
        4 if len > 0 => {
            let n = rng.usize(1..=len.min(256));
            let from = rng.usize(..=len - n);
            let piece: Vec<u8> = bytes[from..from + n].to_vec();
            bytes.splice(at..at, piece);
        }
        5 if !other.is_empty() => {
            let n = rng.usize(1..=other.len().min(512));
            let from = rng.usize(..=other.len() - n);
            let end = (at + rng.usize(..=n)).min(len);
            bytes.splice(at..end, other[from..from + n].iter().copied());
        }
        6 if len > 0 => bytes.truncate(rng.usize(..len)),
        _ => {
            let n = rng.usize(1..=8);
            let junk: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            bytes.splice(at..at, junk);
        }
    }
}

/// Path components for hostile paths.
const PARTS: &[&str] = &[
    "..",
    "..",
    ".",
    "",
    "src",
    "lib.rs",
    "main.rs",
    "Cargo.toml",
    "Cargo.lock",
    ".prewarm",
    "skeleton.json",
    "target",
    "doc",
    "debug",
    "deps",
    "victim",
    "esc.rs",
    "examples",
    "bin",
    "link",
    "linked",
    "recipe.json",
    "CACHEDIR.TAG",
    ".cargo",
    "config.toml",
    "a",
    "b",
    "cook",
    "é",
    "日本",
    "\u{202e}sr.bil",
    "con",
    "nul",
    " ",
    "-",
    "x\\y",
    "\\",
    "a\0b",
    "\0",
    "~",
    "$HOME",
    "*",
    "lib.rs\n",
    "keep.txt",
    "hard.txt",
];
/// Path components the reader lets through.
const PLAIN: &[&str] = &[
    "src",
    "lib.rs",
    "main.rs",
    "Cargo.toml",
    "Cargo.lock",
    "target",
    "doc",
    "debug",
    "deps",
    "victim",
    "examples",
    "bin",
    "link",
    "recipe.json",
    "CACHEDIR.TAG",
    ".cargo",
    "config.toml",
    "a",
    "b",
    "é",
    "日本",
    "\u{202e}sr.bil",
    " ",
    "-",
    "~",
    "$HOME",
    "*",
    "lib.rs\n",
    "build.rs",
    "benches",
    "tests",
];

/// Structural mutations of a recipe's JSON.
struct Mutator<'a> {
    rng: &'a mut fastrand::Rng,
    world: &'a World,
}

impl Mutator<'_> {
    fn structure(&mut self, v: &mut Value) {
        match self.rng.u8(..36) {
            0..=7 => self.some_string(v),
            8..=10 => self.some_key(v),
            11..=14 => self.add_file(v),
            15..=17 => self.add_package(v),
            18..=20 => self.add_target(v),
            21..=23 => self.clash(v),
            24..=26 => self.rename_package(v),
            27 | 28 => self.kind(v),
            29 | 30 => self.reshape_packages(v),
            31 => {
                if let Some(o) = v.as_object_mut() {
                    o.insert("workspace".into(), json!(self.path()));
                }
            }
            32 => self.format(v),
            33 => self.retype(v),
            34 => self.nest(v),
            _ => self.drop_or_add_field(v),
        }
    }

    /// A package's name replaced (package names reach the cleanup of the target directory).
    fn rename_package(&mut self, v: &mut Value) {
        let name = self.name();
        let rng = &mut *self.rng;
        let Some(map) = v.get_mut("packages").and_then(Value::as_object_mut) else {
            return;
        };
        if let Some(o) = pick_value(rng, map.values_mut()).and_then(Value::as_object_mut) {
            o.insert("name".into(), json!(name));
        }
    }

    /// A path made to break a layout: `..`, absolute, NUL, backslashes, very long, unicode,
    /// names of links and sentinels, prewarm's own files.
    fn path(&mut self) -> String {
        if self.rng.bool() {
            // a path the reader lets through, to reach the layout
            let parts: Vec<&str> = (0..self.rng.usize(1..=4))
                .map(|_| pick(self.rng, PLAIN))
                .collect();
            return parts.join("/");
        }
        let r = self.rng.u8(..20);
        if r == 0 {
            // very long: a component over NAME_MAX, or a path over PATH_MAX
            return if self.rng.bool() {
                "a".repeat(self.rng.usize(250..300))
            } else {
                "d/".repeat(self.rng.usize(1000..3000)) + "f.rs"
            };
        }
        let mut s = String::new();
        match r {
            1 | 2 => {
                let sentinel = pick(
                    self.rng,
                    &["", "victim", "a", "a/b", "a/b/victim", "linked"],
                );
                s.push_str(&self.world.outer.join(sentinel).to_string_lossy());
                s.push('/');
            }
            3 => s.push('/'),
            4 => s.push_str("./"),
            5 => {
                for _ in 0..self.rng.usize(1..6) {
                    s.push_str("../");
                }
            }
            _ => {}
        }
        // after an escaping prefix, half the time a plain tail, so that only the prefix is
        // left for the reader to catch
        let plain = (1..=5).contains(&r) && self.rng.bool();
        for i in 0..self.rng.usize(1..=5) {
            if i > 0 {
                let seps: &[&str] = if plain {
                    &["/"]
                } else {
                    &["/", "/", "/", "//", "\\", "/./"]
                };
                s.push_str(pick(self.rng, seps));
            }
            s.push_str(pick(self.rng, if plain { PLAIN } else { PARTS }));
        }
        if self.rng.u8(..10) == 0 {
            s.push('/');
        }
        s
    }

    /// A package or target name: mostly a plausible one, often one that names a path.
    fn name(&mut self) -> String {
        const NAMES: &[&str] = &[
            "app",
            "fixture-single",
            "ws-macros",
            "util",
            "lib",
            "build",
            "deps",
            "victim",
            "é",
            "日本",
            "a_b",
            "x-",
            "-x",
            "_",
            "0",
            "CACHEDIR",
            "doc",
            "src",
        ];
        match self.rng.u8(..4) {
            0 | 1 => (pick(self.rng, NAMES)).to_string(),
            2 => self.path(),
            _ => {
                let ups = "../".repeat(self.rng.usize(1..=6));
                format!(
                    "{ups}{}",
                    pick(self.rng, &["victim", "a/victim", "src", "linked"])
                )
            }
        }
    }

    /// Content for a file of the skeleton.
    fn content(&mut self) -> String {
        match self.rng.u8(..12) {
            0 => String::new(),
            1 if self.rng.u8(..10) == 0 => "x".repeat(self.rng.usize(1 << 16..1 << 18)),
            2 => DummyKind::Lib.dummy_source().to_string(),
            3 => SENTINEL.to_string(),
            4 => "[package]\nname = \"x\"\n[[example]]\nname = 1\n".to_string(),
            5 => "not toml = = [".to_string(),
            6 => "\0\u{202e}é\r\n".to_string(),
            _ => {
                "[package]\nname = \"fuzz\"\nversion = \"0.0.0\"\nedition = \"2021\"\n[workspace]\n"
                    .to_string()
            }
        }
    }

    /// One string anywhere in the tree (a value, not a key) made hostile.
    fn some_string(&mut self, v: &mut Value) {
        let mut count = 0;
        count_strings(v, &mut count);
        if count == 0 {
            return;
        }
        let mut target = self.rng.usize(..count);
        let replacement = match self.rng.u8(..3) {
            0 => self.name(),
            1 => self.path(),
            _ => self.content(),
        };
        replace_string(v, &mut target, replacement);
    }

    /// One key of `packages` or `files` made hostile (the value kept).
    fn some_key(&mut self, v: &mut Value) {
        let field = if self.rng.bool() { "packages" } else { "files" };
        let new_key = self.path();
        let Some(map) = v.get_mut(field).and_then(Value::as_object_mut) else {
            return;
        };
        let Some(old) = pick_value(self.rng, map.keys()).cloned() else {
            return;
        };
        let value = map.remove(&old).unwrap();
        map.insert(new_key, value);
    }

    fn add_file(&mut self, v: &mut Value) {
        let path = self.path();
        let content = self.content();
        if let Some(files) = v.get_mut("files").and_then(Value::as_object_mut) {
            files.insert(path, json!(content));
        }
    }

    fn target(&mut self) -> Value {
        let kind = self.kind_value();
        let name = self.name();
        let path = if self.rng.bool() {
            self.path()
        } else {
            format!("src/{}.rs", self.name())
        };
        json!({ "kind": kind, "name": name, "path": path })
    }

    fn add_package(&mut self, v: &mut Value) {
        let dir = if self.rng.bool() {
            self.path()
        } else {
            self.name()
        };
        let name = self.name();
        let targets: Vec<Value> = (0..self.rng.usize(0..4)).map(|_| self.target()).collect();
        let member = self.rng.bool();
        if let Some(map) = v.get_mut("packages").and_then(Value::as_object_mut) {
            map.insert(
                dir,
                json!({ "name": name, "member": member, "targets": targets }),
            );
        }
    }

    fn add_target(&mut self, v: &mut Value) {
        let t = self.target();
        let rng = &mut *self.rng;
        let Some(map) = v.get_mut("packages").and_then(Value::as_object_mut) else {
            return;
        };
        if let Some(pkg) = pick_value(rng, map.values_mut()) {
            if let Some(list) = pkg.get_mut("targets").and_then(Value::as_array_mut) {
                let at = rng.usize(..=list.len());
                list.insert(at, t);
            }
        }
    }

    /// A file where the layout needs a directory, a directory where it writes a file, or one
    /// path under two spellings.
    fn clash(&mut self, v: &mut Value) {
        let mut paths: Vec<String> = v
            .get("files")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(pkgs) = v.get("packages").and_then(Value::as_object) {
            for (dir, pkg) in pkgs {
                for t in pkg
                    .get("targets")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(p) = t.get("path").and_then(Value::as_str) {
                        paths.push(prewarm::recipe::join(dir, p).to_string_lossy().into_owned());
                    }
                }
                paths.push(dir.clone());
            }
        }
        let Some(p) = pick_value(self.rng, paths.iter()).cloned() else {
            return;
        };
        let parent = Path::new(&p)
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|d| !d.is_empty());
        let new = match self.rng.u8(..5) {
            0 => format!("{p}/x.rs"),
            1 => parent.unwrap_or_else(|| ".".into()),
            2 => format!("./{p}"),
            3 => p.replace('/', "//"),
            _ => format!("{p}/"),
        };
        let content = self.content();
        if let Some(files) = v.get_mut("files").and_then(Value::as_object_mut) {
            files.insert(new, json!(content));
        }
    }

    fn kind_value(&mut self) -> Value {
        const KINDS: &[&str] = &[
            "lib",
            "std-lib",
            "proc-macro",
            "bin",
            "example",
            "test",
            "bench",
            "build-script",
        ];
        match self.rng.u8(..10) {
            0 => json!("Lib"),
            1 => json!(7),
            2 => Value::Null,
            3 => json!("cdylib"),
            _ => json!(pick(self.rng, KINDS)),
        }
    }

    fn kind(&mut self, v: &mut Value) {
        let kind = self.kind_value();
        let rng = &mut *self.rng;
        let Some(map) = v.get_mut("packages").and_then(Value::as_object_mut) else {
            return;
        };
        if let Some(pkg) = pick_value(rng, map.values_mut()) {
            if let Some(list) = pkg.get_mut("targets").and_then(Value::as_array_mut) {
                if let Some(t) = pick_value(rng, list.iter_mut()) {
                    if let Some(o) = t.as_object_mut() {
                        o.insert("kind".into(), kind);
                    }
                }
            }
        }
    }

    fn format(&mut self, v: &mut Value) {
        let version = match self.rng.u8(..8) {
            0 => json!(0),
            1 => json!(2),
            2 => json!(1.0),
            3 => json!("1"),
            4 => json!(-1),
            5 => json!(u64::MAX),
            6 => Value::Null,
            _ => json!(1),
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("prewarm".into(), version);
        }
    }

    /// One node replaced by a value of another type.
    fn retype(&mut self, v: &mut Value) {
        let replacement = match self.rng.u8(..6) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(-3),
            3 => json!([]),
            4 => json!({}),
            _ => json!("x"),
        };
        let mut count = 0;
        count_nodes(v, &mut count);
        let mut target = self.rng.usize(1..count.max(2));
        replace_node(v, &mut target, replacement);
    }

    /// One node wrapped in arrays or objects, up to far beyond `serde_json`'s recursion limit.
    fn nest(&mut self, v: &mut Value) {
        let depth = if self.rng.bool() {
            self.rng.usize(1..8)
        } else {
            self.rng.usize(100..400)
        };
        let mut count = 0;
        count_nodes(v, &mut count);
        let mut target = self.rng.usize(1..count.max(2));
        let mut inner = json!("leaf");
        for _ in 0..depth {
            inner = if self.rng.bool() {
                json!([inner])
            } else {
                json!({ "k": inner })
            };
        }
        replace_node(v, &mut target, inner);
    }

    fn drop_or_add_field(&mut self, v: &mut Value) {
        let Some(o) = v.as_object_mut() else { return };
        if self.rng.bool() {
            if let Some(k) = pick_value(self.rng, o.keys()).cloned() {
                o.remove(&k);
            }
        } else {
            o.insert(
                (pick(self.rng, &["extra", "skeleton", "Digest"])).into(),
                json!(1),
            );
        }
    }

    /// Whole-package changes: a package duplicated under another directory (same name),
    /// its targets emptied or multiplied, its member flag flipped.
    fn reshape_packages(&mut self, v: &mut Value) {
        let new_dir = self.path();
        let rng = &mut *self.rng;
        let Some(map) = v.get_mut("packages").and_then(Value::as_object_mut) else {
            return;
        };
        let Some(key) = pick_value(rng, map.keys()).cloned() else {
            return;
        };
        match rng.u8(..4) {
            0 => {
                let copy = map[&key].clone();
                map.insert(new_dir, copy);
            }
            1 => {
                if let Some(list) = map[&key].get_mut("targets").and_then(Value::as_array_mut) {
                    list.clear();
                }
            }
            2 => {
                if let Some(list) = map[&key].get_mut("targets").and_then(Value::as_array_mut) {
                    if let Some(t) = list.first().cloned() {
                        for i in 0..rng.usize(2..100) {
                            let mut t = t.clone();
                            if let Some(o) = t.as_object_mut() {
                                o.insert("name".into(), json!(format!("t{i}")));
                            }
                            list.push(t);
                        }
                    }
                }
            }
            _ => {
                if let Some(o) = map[&key].as_object_mut() {
                    let member = o.get("member").and_then(Value::as_bool).unwrap_or(false);
                    o.insert("member".into(), json!(!member));
                }
            }
        }
    }
}

fn count_strings(v: &Value, n: &mut usize) {
    match v {
        Value::String(_) => *n += 1,
        Value::Array(a) => a.iter().for_each(|x| count_strings(x, n)),
        Value::Object(o) => o.values().for_each(|x| count_strings(x, n)),
        _ => {}
    }
}

/// Replaces the `target`-th string (depth first) with `with`.
fn replace_string(v: &mut Value, target: &mut usize, with: String) -> bool {
    match v {
        Value::String(s) => {
            if *target == 0 {
                *s = with;
                return true;
            }
            *target -= 1;
            false
        }
        Value::Array(a) => {
            for x in a {
                if replace_string(x, target, with.clone()) {
                    return true;
                }
            }
            false
        }
        Value::Object(o) => {
            for x in o.values_mut() {
                if replace_string(x, target, with.clone()) {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

fn count_nodes(v: &Value, n: &mut usize) {
    *n += 1;
    match v {
        Value::Array(a) => a.iter().for_each(|x| count_nodes(x, n)),
        Value::Object(o) => o.values().for_each(|x| count_nodes(x, n)),
        _ => {}
    }
}

/// Replaces the `target`-th node (depth first, the root being 0) with `with`.
fn replace_node(v: &mut Value, target: &mut usize, with: Value) -> bool {
    if *target == 0 {
        *v = with;
        return true;
    }
    *target -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| replace_node(x, target, with.clone())),
        Value::Object(o) => o
            .values_mut()
            .any(|x| replace_node(x, target, with.clone())),
        _ => false,
    }
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

fn pick_value<T>(rng: &mut fastrand::Rng, items: impl Iterator<Item = T>) -> Option<T> {
    let items: Vec<T> = items.collect();
    if items.is_empty() {
        return None;
    }
    let i = rng.usize(..items.len());
    items.into_iter().nth(i)
}

// ---- figures -------------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    cases: u64,
    accepted: u64,
    accepted_structure: u64,
    accepted_bytes: u64,
    rejected: u64,
    cooked: u64,
    refused: u64,
    second: u64,
    /// The slowest case and its seed.
    slowest: (Duration, u64),
    read_errors: BTreeMap<String, u64>,
    cook_errors: BTreeMap<String, u64>,
}

impl Stats {
    #[allow(clippy::cast_precision_loss)] // reason: a rate to read, not a count to keep
    fn print(&self, cfg: &Config, elapsed: Duration) {
        println!(
            "fuzz: seed {} ({:#x}), {:.1} s, {} iterations ({:.0}/s)",
            cfg.seed,
            cfg.seed,
            elapsed.as_secs_f64(),
            self.cases,
            self.cases as f64 / elapsed.as_secs_f64().max(1e-9)
        );
        println!(
            "fuzz: recipes read: {} accepted ({} from structural mutations, {} from byte mutations), {} rejected",
            self.accepted, self.accepted_structure, self.accepted_bytes, self.rejected
        );
        println!(
            "fuzz: cooks: {} laid out and cleaned up, {} refused; {} cases cooked twice",
            self.cooked, self.refused, self.second
        );
        println!(
            "fuzz: slowest case {:.2} s (case seed {:#018x})",
            self.slowest.0.as_secs_f64(),
            self.slowest.1
        );
        for (what, errors) in [("reader", &self.read_errors), ("cook", &self.cook_errors)] {
            println!(
                "fuzz: {} distinct {what} errors (kinds of message):",
                errors.len()
            );
            let mut by_count: Vec<(&String, &u64)> = errors.iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (shape, n) in by_count.iter().take(15) {
                println!("fuzz:   {n:>8}  {shape}");
            }
            if by_count.len() > 15 {
                println!("fuzz:   ... and {} rarer ones", by_count.len() - 15);
            }
        }
    }
}

//! The recipe of the external dependencies alone (`prewarm deps`): what the cook stage of an
//! image reads, so that an edit of the workspace's own wiring (a path dependency between two
//! members, a new member that uses crates already built with the same features, a renamed
//! crate) leaves the cooked layer cached.
//!
//! The full recipe names every local package, its manifest and the lockfile's local entries,
//! so each of those edits changes it. The units the cook builds, though, are only the external
//! ones, and cargo says exactly which for a build's flags: its unit graph (`cargo build
//! --unit-graph`, each unit with its package, target, profile, platform and features). From it
//! this module writes a synthetic workspace of one package, [`PACKAGE`], that depends on each
//! external library unit with exactly its features (`default-features = false`), the target
//! side's in `[dependencies]` and the host side's (build scripts' dependencies, proc macros
//! and what they use) in `[build-dependencies]`; with the workspace's profiles, cargo config
//! and toolchain file, and the lockfile's external entries narrowed by cargo to what it needs.
//!
//! Sound by check, not by argument: the synthetic workspace's unit graph is computed too and
//! must hold the very same external units (package, target, mode, platform, profile, features,
//! and the same for every dependency, recursively) as the real one. When it does not, or when
//! the dependencies cannot be separated (a `[patch]`, a git or alternative-registry dependency,
//! an external crate depending on a local one, arguments prewarm does not interpret), the
//! result is the full recipe itself and the reason is reported: the cook is then what it always
//! was.
//!
//! The unit graph is an unstable cargo interface (`-Z unstable-options`, enabled on a stable
//! toolchain with `RUSTC_BOOTSTRAP=1` for that one command, which compiles nothing). Should a
//! future cargo change its shape, the check above fails and the full recipe is used.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;
use toml::Table;

use crate::error::{Error, ErrorKind, Result};
use crate::flags::{BuildFlags, Mode};
use crate::process::Process;
use crate::recipe::{self, DummyKind, Recipe};

/// The name of the synthetic package of a dependency recipe.
pub const PACKAGE: &str = "prewarm-deps";

/// crates.io's source id, as cargo writes it in unit graphs and lockfiles.
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// What [`separate`] produced.
#[derive(Debug, Clone)]
pub struct Separated {
    /// The recipe to cook: the dependency recipe, or the full one (see `whole`).
    pub recipe: Recipe,
    /// External library units the dependency recipe builds (0 when it is the full recipe).
    pub units: usize,
    /// Why the full recipe is cooked instead, if it is.
    pub whole: Option<String>,
}

/// The dependency recipe of `recipe` for a build with `mode`, `flags` and `extra`, or the full
/// recipe with the reason when the external dependencies cannot be separated.
///
/// # Errors
/// When cargo cannot compute the unit graph of the skeleton (the full build would fail too:
/// a manifest cargo rejects, a lockfile out of date under `--locked`, no registry access).
pub fn separate(
    recipe: &Recipe,
    mode: Mode,
    flags: &BuildFlags,
    extra: &[String],
) -> Result<Separated> {
    if recipe.external {
        return Ok(whole(recipe, "it is a dependency recipe already".into()));
    }
    if let Some(why) = unsupported(recipe, mode, extra) {
        return Ok(whole(recipe, why));
    }
    let mut narrowed = recipe.clone();
    let mut selected = flags.clone();
    if !crate::cook::select(&mut narrowed, &mut selected, true)? {
        return Ok(whole(
            recipe,
            "the build selects nothing the recipe holds".into(),
        ));
    }
    let real = unit_graph(&narrowed, mode, &selected)?;
    let cross = !flags.target.is_empty();
    let wanted = match Externals::of(&real, cross) {
        Ok(w) => w,
        Err(why) => return Ok(whole(recipe, why)),
    };
    let draft = synthetic(recipe, &wanted, None)?;
    let lock_rel = lock_path(recipe);
    let lock = crate::prune::resolve_lockfile(&draft, &lock_rel, &flags.bin)?;
    let deps = synthetic(recipe, &wanted, Some(lock))?;
    let own = unit_graph(&deps, mode, &dependency_flags(flags))?;
    let (theirs, ours) = (real.external_keys(), own.external_keys());
    if theirs != ours {
        let missing = theirs.difference(&ours).count();
        let extra = ours.difference(&theirs).count();
        return Ok(whole(
            recipe,
            format!("the synthetic workspace's units differ from the build's ({missing} missing, {extra} more)"),
        ));
    }
    Ok(Separated {
        units: theirs.len(),
        recipe: deps,
        whole: None,
    })
}

/// The flags a dependency recipe is cooked with: the build's profile, target and lockfile
/// switches; no package, target or feature selection (the synthetic package has none of the
/// real ones, and the features are written into its manifest).
pub fn dependency_flags(flags: &BuildFlags) -> BuildFlags {
    BuildFlags {
        release: flags.release,
        profile: flags.profile.clone(),
        target: flags.target.clone(),
        locked: flags.locked,
        frozen: flags.frozen,
        offline: flags.offline,
        jobs: flags.jobs.clone(),
        target_dir: flags.target_dir.clone(),
        unstable: flags.unstable.clone(),
        ..BuildFlags::default()
    }
}

fn whole(recipe: &Recipe, why: String) -> Separated {
    Separated {
        recipe: recipe.clone(),
        units: 0,
        whole: Some(why),
    }
}

/// Why a build cannot have its dependencies separated, checked before cargo runs.
fn unsupported(recipe: &Recipe, mode: Mode, extra: &[String]) -> Option<String> {
    if !matches!(mode, Mode::Build | Mode::Check | Mode::TestsNoRun) {
        return Some(format!(
            "`cargo {}` builds are cooked whole",
            mode.subcommand()[0]
        ));
    }
    if !extra.is_empty() {
        return Some("arguments after `--` go to cargo unread, so the dependencies are cooked with the whole recipe".into());
    }
    let root: Table = recipe
        .files
        .get(&root_manifest_path(recipe))
        .and_then(|t| toml::from_str(t).ok())?;
    for table in ["patch", "replace", "cargo-features"] {
        if root.contains_key(table) {
            return Some(format!("the root manifest has `{table}`"));
        }
    }
    None
}

fn root_manifest_path(recipe: &Recipe) -> String {
    slash(&recipe::join(&recipe.workspace, "Cargo.toml"))
}

fn lock_path(recipe: &Recipe) -> String {
    slash(&recipe::join(&recipe.workspace, "Cargo.lock"))
}

fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Lays `recipe` out in a temporary directory and asks cargo for the unit graph of the build.
fn unit_graph(recipe: &Recipe, mode: Mode, flags: &BuildFlags) -> Result<Graph> {
    let tmp = tempfile::Builder::new()
        .prefix("prewarm-deps-")
        .tempdir()
        .map_err(|e| Error::io("create a temporary directory in", &std::env::temp_dir(), &e))?;
    let root = tmp.path();
    for (rel, content, _) in recipe.skeleton_files() {
        crate::fs::write_under(root, &rel, content)?;
    }
    let workspace = root.join(recipe::join(&recipe.workspace, "."));
    let cargo = Process::cargo()
        .current_dir(&workspace)
        .args(mode.subcommand())
        .args(["--unit-graph", "-Z", "unstable-options", "--quiet"])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args(flags.to_args())
        // Enables `-Z unstable-options` for this one command on a stable toolchain; it
        // compiles nothing.
        .env("RUSTC_BOOTSTRAP", "1")
        // A wrapper such as sccache has nothing to do here (cargo only asks rustc for its
        // version and target facts), and must not start a server.
        .env("RUSTC_WRAPPER", "")
        .env("CARGO_BUILD_RUSTC_WRAPPER", "")
        .env("CARGO_TERM_COLOR", "never");
    let out = cargo.output()?;
    if !out.status.success() {
        return Err(Error::new(
            ErrorKind::Tool,
            format!("cargo cannot plan the build of the skeleton: `{cargo}` failed"),
        )
        .with_detail(crate::process::tail(&out.stderr, 40))
        .with_hint(
            "the real build would fail the same way; `cargo build` with the same flags shows why",
        ));
    }
    Graph::parse(&out.stdout).map_err(|why| {
        Error::new(
            ErrorKind::Tool,
            format!("cargo's unit graph (`{cargo}`) is not what prewarm reads: {why}"),
        )
        .with_hint("this cargo may be newer than prewarm knows; report it, and cook with the full recipe meanwhile (`prewarm cook --recipe recipe.json`)")
    })
}

/// One unit of cargo's unit graph.
#[derive(Debug, Clone)]
struct Unit {
    pkg: Pkg,
    kind: Vec<String>,
    target_name: String,
    mode: String,
    platform: Option<String>,
    features: Vec<String>,
    profile: String,
    deps: Vec<usize>,
}

/// A package id of a unit graph: its source (`None` for a path package), name and version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Pkg {
    source: Option<String>,
    name: String,
    version: String,
}

impl Pkg {
    /// Reads `registry+https://…#serde@1.0.1` or `path+file:///ws/core#0.1.0` (the package
    /// id spec form, cargo 1.77 and later) and `serde 1.0.1 (registry+https://…)`.
    fn parse(id: &str) -> Option<Pkg> {
        if let Some((url, frag)) = id.rsplit_once('#') {
            let (name, version) = match frag.split_once('@') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (url.rsplit('/').next()?.to_string(), frag.to_string()),
            };
            let source = (!url.starts_with("path+")).then(|| url.to_string());
            return Some(Pkg {
                source,
                name,
                version,
            });
        }
        let mut words = id.splitn(3, ' ');
        let name = words.next()?.to_string();
        let version = words.next()?.to_string();
        let url = words.next()?.trim_start_matches('(').trim_end_matches(')');
        let source = (!url.starts_with("path+")).then(|| url.to_string());
        Some(Pkg {
            source,
            name,
            version,
        })
    }
}

impl Unit {
    fn is(&self, kind: &str) -> bool {
        self.kind.iter().any(|k| k == kind)
    }

    /// A build script's compilation (not its run): what it depends on is built for the host.
    fn compiles_build_script(&self) -> bool {
        self.is("custom-build") && self.mode == "build"
    }

    fn is_library(&self) -> bool {
        !self.is("custom-build") && (self.mode == "build" || self.mode == "check")
    }
}

/// Cargo's unit graph.
#[derive(Debug, Clone)]
struct Graph {
    units: Vec<Unit>,
    roots: Vec<usize>,
}

impl Graph {
    fn parse(json: &str) -> std::result::Result<Graph, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON ({e})"))?;
        let units = v["units"].as_array().ok_or("no `units` array")?;
        let mut out = Vec::with_capacity(units.len());
        for (i, u) in units.iter().enumerate() {
            out.push(Self::unit(u).ok_or_else(|| format!("unit {i} lacks a field"))?);
        }
        let roots = v["roots"]
            .as_array()
            .ok_or("no `roots` array")?
            .iter()
            .map(|r| r.as_u64().and_then(|r| usize::try_from(r).ok()))
            .collect::<Option<Vec<_>>>()
            .ok_or("a root is not an index")?;
        if roots
            .iter()
            .chain(out.iter().flat_map(|u| &u.deps))
            .any(|&i| i >= out.len())
        {
            return Err("an index points past the units".into());
        }
        Ok(Graph { units: out, roots })
    }

    fn unit(u: &Value) -> Option<Unit> {
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        Some(Unit {
            pkg: Pkg::parse(u["pkg_id"].as_str()?)?,
            kind: strings(&u["target"]["kind"])?,
            target_name: u["target"]["name"].as_str()?.to_string(),
            mode: u["mode"].as_str()?.to_string(),
            platform: u["platform"].as_str().map(str::to_string),
            features: strings(&u["features"])?,
            profile: serde_json::to_string(u.get("profile")?).ok()?,
            deps: u["dependencies"]
                .as_array()?
                .iter()
                .map(|d| d["index"].as_u64().and_then(|i| usize::try_from(i).ok()))
                .collect::<Option<Vec<_>>>()?,
        })
    }

    /// Every external unit as a key that holds what its compilation depends on: its own
    /// attributes and, recursively, its dependencies' keys.
    fn external_keys(&self) -> BTreeSet<String> {
        let mut memo = HashMap::new();
        (0..self.units.len())
            .filter(|&i| self.units[i].pkg.source.is_some())
            .map(|i| self.key(i, &mut memo))
            .collect()
    }

    fn key(&self, i: usize, memo: &mut HashMap<usize, String>) -> String {
        if let Some(k) = memo.get(&i) {
            return k.clone();
        }
        let u = &self.units[i];
        let mut deps: Vec<String> = u.deps.iter().map(|&d| self.key(d, memo)).collect();
        deps.sort_unstable();
        let key = format!(
            "{:?} {} {:?} {} {:?} {:?} {} [{}]",
            u.pkg,
            u.target_name,
            u.kind,
            u.mode,
            u.platform,
            u.features,
            u.profile,
            deps.join(", ")
        );
        memo.insert(i, key.clone());
        key
    }
}

/// Which side of a build a unit is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Side {
    /// The target: `[dependencies]` of the synthetic package.
    Target,
    /// The host (build scripts, proc macros and what they use): `[build-dependencies]`.
    Host,
}

/// The external library units of a graph, by side, package and features.
#[derive(Debug, Clone, Default)]
struct Externals {
    wanted: BTreeMap<(Side, Pkg), BTreeSet<String>>,
}

impl Externals {
    /// Walks the graph from its roots; a dependency of a build script's compilation, of a proc
    /// macro or of a host unit is on the host side (with `--target`, cargo says so itself: a
    /// host unit has no platform).
    fn of(graph: &Graph, cross: bool) -> std::result::Result<Externals, String> {
        let mut out = Externals::default();
        let mut seen = BTreeSet::new();
        let mut queue: Vec<(usize, Side)> =
            graph.roots.iter().map(|&r| (r, Side::Target)).collect();
        while let Some((i, side)) = queue.pop() {
            let u = &graph.units[i];
            let side = match (cross, &u.platform) {
                (true, None) => Side::Host,
                (true, Some(_)) => Side::Target,
                (false, _) => side,
            };
            if !seen.insert((i, side)) {
                continue;
            }
            out.add(graph, u, side)?;
            let host = side == Side::Host || u.compiles_build_script() || u.is("proc-macro");
            let child = if host { Side::Host } else { Side::Target };
            queue.extend(u.deps.iter().map(|&d| (d, child)));
        }
        Ok(out)
    }

    fn add(&mut self, graph: &Graph, u: &Unit, side: Side) -> std::result::Result<(), String> {
        let Some(source) = &u.pkg.source else {
            return Ok(());
        };
        let shown = format!("`{} {}`", u.pkg.name, u.pkg.version);
        if source != CRATES_IO {
            return Err(format!("{shown} comes from `{source}`, not crates.io"));
        }
        if let Some(local) = u
            .deps
            .iter()
            .map(|&d| &graph.units[d].pkg)
            .find(|p| p.source.is_none())
        {
            return Err(format!(
                "{shown} depends on the local package `{}`",
                local.name
            ));
        }
        if !u.is_library() {
            return Ok(());
        }
        let features: BTreeSet<String> = u.features.iter().cloned().collect();
        match self.wanted.get(&(side, u.pkg.clone())) {
            Some(f) if *f != features => Err(format!(
                "{shown} is built twice on one side with different features"
            )),
            Some(_) => Ok(()),
            None => {
                self.wanted.insert((side, u.pkg.clone()), features);
                Ok(())
            }
        }
    }
}

/// The dependency recipe's content: the synthetic manifest, the external lock entries (`lock`,
/// or the full recipe's with its local entries left out), and the recipe's other files.
fn synthetic(recipe: &Recipe, wanted: &Externals, lock: Option<String>) -> Result<Recipe> {
    let root_path = root_manifest_path(recipe);
    let lock_path = lock_path(recipe);
    let profiles = recipe
        .files
        .get(&root_path)
        .and_then(|t| toml::from_str::<Table>(t).ok())
        .and_then(|mut t| t.remove("profile"));
    let host = wanted.wanted.keys().any(|(side, _)| *side == Side::Host);
    let mut files: BTreeMap<String, String> = recipe
        .files
        .iter()
        .filter(|(path, _)| {
            let name = Path::new(path).file_name().and_then(|n| n.to_str());
            !matches!(name, Some("Cargo.toml" | "Cargo.lock"))
        })
        .map(|(p, c)| (p.clone(), c.clone()))
        .collect();
    files.insert(root_path, manifest(wanted, profiles, host)?);
    let lock = match lock {
        Some(lock) => lock,
        // The synthetic package's own entry, which cargo completes: narrowing may then remove
        // entries, never add one (`prune::resolve_lockfile` checks).
        None => format!(
            "{}\n[[package]]\nname = \"{PACKAGE}\"\nversion = \"0.0.0\"\n",
            external_entries(recipe.files.get(&lock_path).map_or("", String::as_str))
        ),
    };
    files.insert(lock_path, lock);
    let mut targets = vec![recipe::Target {
        kind: DummyKind::Lib,
        name: PACKAGE.replace('-', "_"),
        path: "src/lib.rs".into(),
    }];
    if host {
        targets.push(recipe::Target {
            kind: DummyKind::BuildScript,
            name: "build-script-build".into(),
            path: "build.rs".into(),
        });
    }
    let package = recipe::Package {
        name: PACKAGE.into(),
        member: true,
        targets,
    };
    let packages = BTreeMap::from([(recipe.workspace.clone(), package)]);
    let mut deps = Recipe::new(recipe.workspace.clone(), packages, files);
    deps.external = true;
    deps.digest = deps.compute_digest();
    Ok(deps)
}

/// The synthetic package's manifest.
fn manifest(wanted: &Externals, profiles: Option<toml::Value>, host: bool) -> Result<String> {
    let mut versions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, pkg) in wanted.wanted.keys() {
        versions.entry(&pkg.name).or_default().insert(&pkg.version);
    }
    let mut tables = [Table::new(), Table::new()];
    for ((side, pkg), features) in &wanted.wanted {
        let key = if versions[pkg.name.as_str()].len() > 1 {
            format!("{}-{}", pkg.name, pkg.version.replace(['.', '+'], "-"))
        } else {
            pkg.name.clone()
        };
        let mut dep = Table::new();
        if key != pkg.name {
            dep.insert("package".into(), pkg.name.clone().into());
        }
        dep.insert("version".into(), format!("={}", pkg.version).into());
        dep.insert("default-features".into(), false.into());
        let features: Vec<toml::Value> = features.iter().map(|f| f.clone().into()).collect();
        dep.insert("features".into(), features.into());
        tables[usize::from(*side == Side::Host)].insert(key, dep.into());
    }
    let [normal, build] = tables;
    let mut package = Table::new();
    package.insert("name".into(), PACKAGE.into());
    package.insert("version".into(), "0.0.0".into());
    package.insert("edition".into(), "2021".into());
    package.insert("publish".into(), false.into());
    for auto in ["autobins", "autoexamples", "autotests", "autobenches"] {
        package.insert(auto.into(), false.into());
    }
    package.insert(
        "build".into(),
        if host {
            "build.rs".into()
        } else {
            false.into()
        },
    );
    let mut lib = Table::new();
    lib.insert("path".into(), "src/lib.rs".into());
    let mut workspace = Table::new();
    workspace.insert("resolver".into(), "2".into());
    let mut doc = Table::new();
    doc.insert("package".into(), package.into());
    doc.insert("lib".into(), lib.into());
    doc.insert("dependencies".into(), normal.into());
    doc.insert("build-dependencies".into(), build.into());
    doc.insert("workspace".into(), workspace.into());
    if let Some(profiles) = profiles {
        doc.insert("profile".into(), profiles);
    }
    let body = toml::to_string(&doc).map_err(|e| {
        Error::new(
            ErrorKind::Tool,
            format!("cannot write the dependency manifest: {e}"),
        )
    })?;
    Ok(format!(
        "# The external dependencies of a build, written by `prewarm deps`: each crate with\n# exactly the features the build resolves for it.\n{body}"
    ))
}

/// The lockfile without its local packages (the entries without a `source`).
fn external_entries(lock: &str) -> String {
    crate::lockfile::split_blocks(lock)
        .into_iter()
        .filter(|block| {
            !block.starts_with("[[package]]") || block.lines().any(|l| l.starts_with("source = "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_of_both_forms_are_read() {
        let new = Pkg::parse("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.219")
            .unwrap();
        assert_eq!(
            (new.name.as_str(), new.version.as_str()),
            ("serde", "1.0.219")
        );
        assert_eq!(new.source.as_deref(), Some(CRATES_IO));
        let path = Pkg::parse("path+file:///ws/crates/core#0.3.0").unwrap();
        assert_eq!((path.name.as_str(), path.source), ("core", None));
        let named = Pkg::parse("path+file:///ws/crates/core#ws-core@0.3.0").unwrap();
        assert_eq!(named.name, "ws-core");
        let old = Pkg::parse("itoa 1.0.1 (registry+https://github.com/rust-lang/crates.io-index)")
            .unwrap();
        assert_eq!(
            (old.name.as_str(), old.source.as_deref()),
            ("itoa", Some(CRATES_IO))
        );
    }

    #[test]
    fn the_lockfile_loses_its_local_entries_only() {
        let lock = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.0.0\"\ndependencies = [\n \"itoa\",\n]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.10\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let kept = external_entries(lock);
        assert!(!kept.contains("\"app\""), "{kept}");
        assert!(
            kept.starts_with("version = 4\n") && kept.contains("name = \"itoa\""),
            "{kept}"
        );
    }

    #[test]
    fn host_side_follows_build_scripts_and_proc_macros() {
        let json = r#"{"version":1,"roots":[0],"units":[
          {"pkg_id":"path+file:///w#app@0.1.0","target":{"kind":["bin"],"name":"app"},"profile":{"opt_level":"3"},"platform":null,"mode":"build","features":[],"dependencies":[{"index":1},{"index":2},{"index":4}]},
          {"pkg_id":"registry+https://github.com/rust-lang/crates.io-index#itoa@1.0.1","target":{"kind":["lib"],"name":"itoa"},"profile":{"opt_level":"3"},"platform":null,"mode":"build","features":["std"],"dependencies":[]},
          {"pkg_id":"path+file:///w#app@0.1.0","target":{"kind":["custom-build"],"name":"build-script-build"},"profile":{"opt_level":"0"},"platform":null,"mode":"run-custom-build","features":[],"dependencies":[{"index":3}]},
          {"pkg_id":"path+file:///w#app@0.1.0","target":{"kind":["custom-build"],"name":"build-script-build"},"profile":{"opt_level":"0"},"platform":null,"mode":"build","features":[],"dependencies":[{"index":5}]},
          {"pkg_id":"registry+https://github.com/rust-lang/crates.io-index#derive@1.0.0","target":{"kind":["proc-macro"],"name":"derive"},"profile":{"opt_level":"0"},"platform":null,"mode":"build","features":[],"dependencies":[{"index":6}]},
          {"pkg_id":"registry+https://github.com/rust-lang/crates.io-index#cc@1.0.0","target":{"kind":["lib"],"name":"cc"},"profile":{"opt_level":"0"},"platform":null,"mode":"build","features":[],"dependencies":[]},
          {"pkg_id":"registry+https://github.com/rust-lang/crates.io-index#syn@2.0.0","target":{"kind":["lib"],"name":"syn"},"profile":{"opt_level":"0"},"platform":null,"mode":"build","features":["full"],"dependencies":[]}
        ]}"#;
        let graph = Graph::parse(json).unwrap();
        let ext = Externals::of(&graph, false).unwrap();
        let sides: Vec<(Side, &str)> = ext
            .wanted
            .keys()
            .map(|(s, p)| (*s, p.name.as_str()))
            .collect();
        assert_eq!(
            sides,
            [
                (Side::Target, "derive"),
                (Side::Target, "itoa"),
                (Side::Host, "cc"),
                (Side::Host, "syn")
            ]
        );
        let text = manifest(&ext, None, true).unwrap();
        assert!(text.contains("[dependencies.itoa]\ndefault-features = false\nfeatures = [\"std\"]\nversion = \"=1.0.1\""), "{text}");
        assert!(text.contains("[build-dependencies.syn]"), "{text}");
    }

    #[test]
    fn an_external_crate_on_a_local_one_cannot_be_separated() {
        let json = r#"{"version":1,"roots":[0],"units":[
          {"pkg_id":"registry+https://github.com/rust-lang/crates.io-index#itoa@1.0.1","target":{"kind":["lib"],"name":"itoa"},"profile":{},"platform":null,"mode":"build","features":[],"dependencies":[{"index":1}]},
          {"pkg_id":"path+file:///w/vendor#shim@0.1.0","target":{"kind":["lib"],"name":"shim"},"profile":{},"platform":null,"mode":"build","features":[],"dependencies":[]}
        ]}"#;
        let why = Externals::of(&Graph::parse(json).unwrap(), false).unwrap_err();
        assert!(why.contains("depends on the local package `shim`"), "{why}");
    }
}

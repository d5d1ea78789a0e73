//! The tier plan: the local crates a build needs, in the order of their local dependency
//! graph, grouped into tiers, each a build layer of its own (see [`crate::dockerfile::tiers`]).
//!
//! A tier is a set of crates whose local dependencies are all in earlier tiers (or, for a
//! dependency cycle through dev-dependencies, in the same tier). Tier `k` is built on top of
//! tier `k - 1` with the real sources of tiers `1..=k` and dummies for every later crate, so an
//! edit in a crate re-runs its tier and every later one, and no other.
//!
//! A crate whose directory holds another local crate's directory (a workspace root that is
//! also a package, say) cannot be copied on its own: it and every crate that depends on it are
//! left to the final build stage, which copies everything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::ValueEnum;

use crate::error::{Error, Result};
use crate::flags::BuildFlags;
use crate::manifest::relative_to;

/// The tier count `prewarm image` caps at unless `--max-tiers` says otherwise.
pub const DEFAULT_MAX_TIERS: usize = 8;

/// Whether `prewarm image` writes tier stages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum TiersMode {
    /// Tiers when the build compiles at least two local crates that can have one.
    #[default]
    Auto,
    /// No tiers: the build stage compiles every local crate after any edit.
    Off,
}

/// One local crate, as the tier plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its directory relative to the layout root (`/`-separated, `.` for the root).
    pub dir: String,
    /// The local crates it depends on (by name), with the kinds that matter to the build.
    pub deps: BTreeSet<String>,
    /// Whether the recipe has it (a member without any dependency is left out of the recipe:
    /// the skeleton has nothing of it, so its real directory is copied into the first tier).
    pub in_recipe: bool,
}

/// The local dependency graph: every local crate by name.
pub type Graph = BTreeMap<String, Node>;

/// A crate of a tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// Package name.
    pub name: String,
    /// Directory relative to the layout root.
    pub dir: String,
    /// Whether the recipe has it (see [`Node::in_recipe`]).
    pub in_recipe: bool,
}

/// One tier: crates whose local dependencies are all in earlier tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Its crates, sorted by name.
    pub crates: Vec<Crate>,
}

/// The tiers of a build, and what they leave to the final build stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPlan {
    /// The tiers, in build order.
    pub tiers: Vec<Tier>,
    /// Crates the build needs that no tier can hold (nested directories and their
    /// dependents): the final build stage compiles them.
    pub untiered: Vec<String>,
    /// Directories of crates the recipe leaves out and the build does not compile, which the
    /// workspace still needs to load: copied into the first tier, never compiled there.
    pub carried: Vec<String>,
}

impl TierPlan {
    /// Every crate of every tier, in tier order.
    pub fn crates(&self) -> impl Iterator<Item = &Crate> {
        self.tiers.iter().flat_map(|t| t.crates.iter())
    }
}

/// The crates a build with `flags` selects directly: the packages of the `--bin` targets, the
/// `-p` packages, every member with `--workspace` (less `--exclude`), else the root package,
/// else every member. `bins` maps each binary target to its package.
pub fn selected(
    graph: &Graph,
    members: &BTreeSet<String>,
    root_package: Option<&str>,
    bins: &BTreeMap<String, String>,
    flags: &BuildFlags,
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    let spec_name = |s: &str| s.split(['@', ':']).next().unwrap_or(s).to_string();
    if flags.workspace {
        let excluded: BTreeSet<String> = flags.exclude.iter().map(|s| spec_name(s)).collect();
        out.extend(members.iter().filter(|m| !excluded.contains(*m)).cloned());
    } else if !flags.package.is_empty() {
        out.extend(flags.package.iter().map(|s| spec_name(s)));
    } else if let Some(root) = root_package {
        out.insert(root.to_string());
    } else {
        out.extend(members.iter().cloned());
    }
    if !flags.bin.is_empty() && !flags.workspace && flags.package.is_empty() {
        // `--bin` alone narrows the default selection to the packages of those binaries.
        out = flags
            .bin
            .iter()
            .filter_map(|b| bins.get(b).cloned())
            .collect();
    }
    out.retain(|n| graph.contains_key(n));
    out
}

/// Whether a build with `flags` compiles targets that use dev-dependencies.
pub fn uses_dev_dependencies(flags: &BuildFlags) -> bool {
    flags.tests
        || flags.benches
        || flags.examples
        || flags.all_targets
        || !flags.test.is_empty()
        || !flags.bench.is_empty()
        || !flags.example.is_empty()
}

/// The tier plan for the crates `roots` need, at most `max_tiers` tiers; `None` when fewer
/// than two crates could be tiered (a single crate gains nothing from a layer of its own).
pub fn plan(graph: &Graph, roots: &BTreeSet<String>, max_tiers: usize) -> Result<Option<TierPlan>> {
    check_max_tiers(max_tiers)?;
    let needed = needed(graph, roots);

    // Crates that cannot be copied alone, and everything that depends on them.
    let nested: BTreeSet<String> = graph
        .iter()
        .filter(|(name, node)| {
            graph
                .iter()
                .any(|(other, o)| other != *name && contains_dir(&node.dir, &o.dir))
        })
        .map(|(n, _)| n.clone())
        .collect();
    let mut untiered: BTreeSet<String> = needed.intersection(&nested).cloned().collect();
    loop {
        let more: Vec<String> = needed
            .iter()
            .filter(|n| !untiered.contains(*n))
            .filter(|n| graph[*n].deps.iter().any(|d| untiered.contains(d)))
            .cloned()
            .collect();
        if more.is_empty() {
            break;
        }
        untiered.extend(more);
    }
    let tierable: BTreeSet<String> = needed.difference(&untiered).cloned().collect();

    let carried: Vec<String> = graph
        .iter()
        .filter(|(n, node)| !node.in_recipe && !needed.contains(*n) && !nested.contains(*n))
        .map(|(_, node)| node.dir.clone())
        .collect();

    if tierable.len() < 2 {
        return Ok(None);
    }
    let tiers = grouped(graph, &tierable, max_tiers);
    let tiers = tiers
        .into_iter()
        .map(|mut names| {
            names.sort();
            Tier {
                crates: names
                    .into_iter()
                    .map(|name| Crate {
                        dir: graph[&name].dir.clone(),
                        in_recipe: graph[&name].in_recipe,
                        name,
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Some(TierPlan {
        tiers,
        untiered: untiered.into_iter().collect(),
        carried,
    }))
}

/// Every crate the roots need, transitively (the roots included).
fn needed(graph: &Graph, roots: &BTreeSet<String>) -> BTreeSet<String> {
    let mut needed: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = roots.iter().cloned().collect();
    while let Some(n) = stack.pop() {
        if !needed.insert(n.clone()) {
            continue;
        }
        if let Some(node) = graph.get(&n) {
            stack.extend(node.deps.iter().filter(|d| graph.contains_key(*d)).cloned());
        }
    }
    needed
}

/// The tierable crates by level of local dependencies, at most `max_tiers` groups.
fn grouped(graph: &Graph, tierable: &BTreeSet<String>, max_tiers: usize) -> Vec<Vec<String>> {
    let levels = levels(graph, tierable);
    let mut tiers: Vec<Vec<String>> = Vec::new();
    for (name, level) in &levels {
        if tiers.len() <= *level {
            tiers.resize(level + 1, Vec::new());
        }
        tiers[*level].push(name.clone());
    }
    tiers.retain(|t| !t.is_empty());
    while tiers.len() > max_tiers {
        // Merge the adjacent pair with the fewest crates between them (the earliest on a tie):
        // a merged tier still holds only crates whose dependencies come before or within it.
        let i = (0..tiers.len() - 1)
            .min_by_key(|&i| tiers[i].len() + tiers[i + 1].len())
            .unwrap_or(0);
        let next = tiers.remove(i + 1);
        tiers[i].extend(next);
    }
    tiers
}

/// `--max-tiers` must allow at least one tier.
pub fn check_max_tiers(max_tiers: usize) -> Result<()> {
    if max_tiers == 0 {
        return Err(Error::input("`--max-tiers 0` allows no tier at all")
            .with_hint("pass --tiers off to build without tiers, or a --max-tiers of 1 or more"));
    }
    Ok(())
}

/// Whether directory `outer` holds directory `inner` (both relative to the layout root).
fn contains_dir(outer: &str, inner: &str) -> bool {
    if outer == inner {
        return false;
    }
    outer == "." || Path::new(inner).starts_with(Path::new(outer))
}

/// The level (0-based) of each crate of `set`: one more than the highest level among its local
/// dependencies in `set`. Crates on a dependency cycle (possible through dev-dependencies) are
/// one strongly connected component and share a level.
fn levels(graph: &Graph, set: &BTreeSet<String>) -> BTreeMap<String, usize> {
    let comps = components(graph, set);
    let comp_of: BTreeMap<&str, usize> = comps
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.iter().map(move |n| (n.as_str(), i)))
        .collect();
    // Tarjan's algorithm emits components dependencies-first.
    let mut level_of_comp = vec![0usize; comps.len()];
    for (i, comp) in comps.iter().enumerate() {
        let mut level = 0;
        for n in comp {
            for d in &graph[n].deps {
                if let Some(&j) = comp_of.get(d.as_str()) {
                    if j != i {
                        level = level.max(level_of_comp[j] + 1);
                    }
                }
            }
        }
        level_of_comp[i] = level;
    }
    set.iter()
        .map(|n| (n.clone(), level_of_comp[comp_of[n.as_str()]]))
        .collect()
}

/// Strongly connected components of the graph restricted to `set`, dependencies first.
fn components(graph: &Graph, set: &BTreeSet<String>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        set: &'a BTreeSet<String>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        on_stack: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in &s.graph[v].deps {
            if !s.set.contains(w) {
                continue;
            }
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            comp.sort();
            s.out.push(comp);
        }
    }
    let mut s = State {
        graph,
        set,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in set {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v.as_str());
        }
    }
    s.out
}

/// What the tier plan reads of a planned workspace ([`crate::plan::Plan`]'s fields).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The recipe (which packages it has).
    pub recipe: &'a crate::recipe::Recipe,
    /// The workspace (members, root, binaries).
    pub workspace: &'a crate::metadata::Workspace,
    /// The layout root every directory is relative to.
    pub layout_root: &'a Path,
    /// Every local package.
    pub locals: &'a [crate::metadata::Package],
}

impl<'a> Input<'a> {
    /// The input from a plan's parts.
    pub fn new(
        recipe: &'a crate::recipe::Recipe,
        workspace: &'a crate::metadata::Workspace,
        layout_root: &'a Path,
        locals: &'a [crate::metadata::Package],
    ) -> Input<'a> {
        Input {
            recipe,
            workspace,
            layout_root,
            locals,
        }
    }
}

/// The tier plan of a planned workspace for a build with `flags`: the graph of every local
/// package (normal and build dependencies, and dev-dependencies when the flags build targets
/// that use them), the crates the flags select, and the cap.
pub fn for_plan(
    input: Input<'_>,
    flags: &BuildFlags,
    max_tiers: usize,
) -> Result<Option<TierPlan>> {
    use crate::metadata::{DependencyKind, TargetKind};
    let dev = uses_dev_dependencies(flags);
    let in_recipe: BTreeSet<&str> = input
        .recipe
        .packages
        .values()
        .map(|p| p.name.as_str())
        .collect();
    let by_dir: BTreeMap<&Path, &str> = input
        .locals
        .iter()
        .map(|p| (p.dir(), p.name.as_str()))
        .collect();
    let mut graph = Graph::new();
    for p in input.locals {
        let deps = p
            .dependencies
            .iter()
            .filter(|d| dev || d.kind != DependencyKind::Dev)
            .filter_map(|d| {
                let path = std::fs::canonicalize(d.path.as_ref()?).ok()?;
                by_dir.get(path.as_path()).map(|n| (*n).to_string())
            })
            .filter(|n| *n != p.name)
            .collect();
        graph.insert(
            p.name.clone(),
            Node {
                dir: relative_to(p.dir(), input.layout_root),
                deps,
                in_recipe: in_recipe.contains(p.name.as_str()),
            },
        );
    }
    let ws = input.workspace;
    let members: BTreeSet<String> = ws.packages.iter().map(|p| p.name.clone()).collect();
    let root_package = ws
        .packages
        .iter()
        .find(|p| p.dir() == ws.root)
        .map(|p| p.name.as_str());
    let bins: BTreeMap<String, String> = ws
        .packages
        .iter()
        .flat_map(|p| {
            p.targets
                .iter()
                .filter(|t| t.kind == TargetKind::Bin)
                .map(move |t| (t.name.clone(), p.name.clone()))
        })
        .collect();
    let roots = selected(&graph, &members, root_package, &bins, flags);
    plan_checked(&graph, &roots, max_tiers)
}

/// The tier stages of `prewarm image`: `None` with `--tiers off` or when fewer than two crates
/// can be tiered.
pub fn image_stages(
    input: Input<'_>,
    flags: &BuildFlags,
    mode: TiersMode,
    max_tiers: usize,
    target_dir_in_image: &str,
) -> Result<Option<crate::dockerfile::tiers::TierStages>> {
    check_max_tiers(max_tiers)?;
    if mode == TiersMode::Off {
        return Ok(None);
    }
    let Some(plan) = for_plan(input, flags, max_tiers)? else {
        return Ok(None);
    };
    let ws_root = relative_to(&input.workspace.root, input.layout_root);
    let in_ws = |file: &str| {
        if ws_root == "." {
            file.to_string()
        } else {
            format!("{ws_root}/{file}")
        }
    };
    let mut manifests: BTreeSet<String> = input
        .locals
        .iter()
        .map(|p| relative_to(&p.manifest_path, input.layout_root))
        .collect();
    manifests.insert(in_ws("Cargo.toml"));
    manifests.insert(in_ws("Cargo.lock"));
    for m in &manifests {
        crate::dockerfile::check::path(m, "a local manifest's path")?;
    }
    let mut keep: Vec<String> = Vec::new();
    let tiers = plan
        .tiers
        .iter()
        .map(|t| {
            keep.extend(
                t.crates
                    .iter()
                    .filter(|c| c.in_recipe)
                    .map(|c| c.name.clone()),
            );
            keep.sort();
            crate::dockerfile::tiers::TierStage {
                crates: t
                    .crates
                    .iter()
                    .map(|c| (c.name.clone(), c.dir.clone()))
                    .collect(),
                keep: keep.clone(),
            }
        })
        .collect();
    for c in plan.crates() {
        crate::dockerfile::check::path(&c.dir, "a local crate's directory")?;
    }
    crate::dockerfile::check::path(target_dir_in_image, "the target directory")?;
    Ok(Some(crate::dockerfile::tiers::TierStages {
        tiers,
        manifests: manifests.into_iter().collect(),
        carried: plan.carried,
        untiered: plan.untiered,
        target_dir: target_dir_in_image.trim_end_matches('/').to_string(),
    }))
}

fn plan_checked(graph: &Graph, roots: &BTreeSet<String>, max: usize) -> Result<Option<TierPlan>> {
    for name in graph.keys() {
        crate::dockerfile::check::cargo_name(name, "the workspace's packages")?;
    }
    plan(graph, roots, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        edges
            .iter()
            .map(|(n, deps)| {
                (
                    (*n).to_string(),
                    Node {
                        dir: format!("crates/{n}"),
                        deps: deps.iter().map(|d| (*d).to_string()).collect(),
                        in_recipe: true,
                    },
                )
            })
            .collect()
    }

    fn names(plan: &TierPlan) -> Vec<Vec<&str>> {
        plan.tiers
            .iter()
            .map(|t| t.crates.iter().map(|c| c.name.as_str()).collect())
            .collect()
    }

    fn roots(r: &[&str]) -> BTreeSet<String> {
        r.iter().map(|s| (*s).to_string()).collect()
    }

    /// Four levels, two crates each; `app` needs all but the unrelated `tool`.
    fn four_levels() -> Graph {
        graph(&[
            ("base", &[]),
            ("bytes", &[]),
            ("codec", &["base", "bytes"]),
            ("store", &["base"]),
            ("engine", &["codec", "store"]),
            ("api", &["codec"]),
            ("app", &["engine", "api"]),
            ("tool", &["store"]),
        ])
    }

    #[test]
    fn tiers_follow_the_dependency_levels() {
        let p = plan(&four_levels(), &roots(&["app"]), 8).unwrap().unwrap();
        assert_eq!(
            names(&p),
            vec![
                vec!["base", "bytes"],
                vec!["codec", "store"],
                vec!["api", "engine"],
                vec!["app"]
            ]
        );
        assert!(p.untiered.is_empty());
        // Every crate's local dependencies are in earlier tiers.
        let g = four_levels();
        for (i, tier) in p.tiers.iter().enumerate() {
            let earlier: BTreeSet<&str> = p.tiers[..i]
                .iter()
                .flat_map(|t| t.crates.iter().map(|c| c.name.as_str()))
                .collect();
            for c in &tier.crates {
                for d in &g[&c.name].deps {
                    assert!(earlier.contains(d.as_str()), "{} needs {d}", c.name);
                }
            }
        }
    }

    #[test]
    fn only_what_the_selection_needs() {
        let p = plan(&four_levels(), &roots(&["tool"]), 8).unwrap().unwrap();
        assert_eq!(names(&p), vec![vec!["base"], vec!["store"], vec!["tool"]]);
        // A single crate gains nothing from a tier.
        assert_eq!(plan(&four_levels(), &roots(&["base"]), 8).unwrap(), None);
    }

    #[test]
    fn the_cap_merges_the_smallest_adjacent_tiers() {
        let p = plan(&four_levels(), &roots(&["app"]), 3).unwrap().unwrap();
        // Sizes 2,2,2,1: the smallest adjacent pair is the last two (3 crates).
        assert_eq!(
            names(&p),
            vec![
                vec!["base", "bytes"],
                vec!["codec", "store"],
                vec!["api", "app", "engine"]
            ]
        );
        let one = plan(&four_levels(), &roots(&["app"]), 1).unwrap().unwrap();
        assert_eq!(one.tiers.len(), 1);
        assert_eq!(one.tiers[0].crates.len(), 7);
        let err = plan(&four_levels(), &roots(&["app"]), 0).unwrap_err();
        assert!(err.message().contains("--max-tiers 0"), "{err}");
        assert!(err.hint().unwrap_or_default().contains("--tiers off"));
    }

    #[test]
    fn a_nested_crate_and_its_dependents_are_left_to_the_final_build() {
        let mut g = four_levels();
        // `engine` lives at the workspace root, around every other crate.
        g.get_mut("engine").unwrap().dir = ".".into();
        let p = plan(&g, &roots(&["app"]), 8).unwrap().unwrap();
        assert_eq!(p.untiered, vec!["app".to_string(), "engine".to_string()]);
        assert_eq!(
            names(&p),
            vec![vec!["base", "bytes"], vec!["codec", "store"], vec!["api"]]
        );
    }

    #[test]
    fn a_dev_dependency_cycle_shares_a_tier() {
        let g = graph(&[("a", &["b"]), ("b", &["a", "c"]), ("c", &[]), ("d", &["a"])]);
        let p = plan(&g, &roots(&["d"]), 8).unwrap().unwrap();
        assert_eq!(names(&p), vec![vec!["c"], vec!["a", "b"], vec!["d"]]);
    }

    #[test]
    fn members_left_out_of_the_recipe_are_carried_when_not_built() {
        let mut g = four_levels();
        g.insert(
            "lonely".into(),
            Node {
                dir: "crates/lonely".into(),
                deps: BTreeSet::new(),
                in_recipe: false,
            },
        );
        let p = plan(&g, &roots(&["app"]), 8).unwrap().unwrap();
        assert_eq!(p.carried, vec!["crates/lonely".to_string()]);
        assert!(p.crates().all(|c| c.name != "lonely"));
        let p = plan(&g, &roots(&["app", "lonely"]), 8).unwrap().unwrap();
        assert!(p.carried.is_empty());
        assert!(p.tiers[0]
            .crates
            .iter()
            .any(|c| c.name == "lonely" && !c.in_recipe));
    }

    #[test]
    fn the_selection_follows_cargo() {
        let g = four_levels();
        let members: BTreeSet<String> = g.keys().cloned().collect();
        let bins: BTreeMap<String, String> = [("app-bin".to_string(), "app".to_string())]
            .into_iter()
            .collect();
        let mut flags = BuildFlags::default();
        assert_eq!(selected(&g, &members, None, &bins, &flags), members);
        assert_eq!(
            selected(&g, &members, Some("app"), &bins, &flags),
            roots(&["app"])
        );
        flags.bin = vec!["app-bin".into()];
        assert_eq!(selected(&g, &members, None, &bins, &flags), roots(&["app"]));
        flags.bin.clear();
        flags.package = vec!["tool@0.1.0".into(), "store".into()];
        assert_eq!(
            selected(&g, &members, None, &bins, &flags),
            roots(&["store", "tool"])
        );
        flags.package.clear();
        flags.workspace = true;
        flags.exclude = vec!["tool".into()];
        let mut all = members.clone();
        all.remove("tool");
        assert_eq!(selected(&g, &members, None, &bins, &flags), all);
    }
}

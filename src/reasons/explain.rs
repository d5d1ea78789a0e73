//! Explaining rebuilt units: each external unit the real build compiled gets its own reason
//! (from cargo's fingerprint log, or by comparing fingerprints with the cook's), and cascades
//! are traced back to the unit that caused them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::messages::package_version;
use crate::messages::Artifact;
use crate::reasons::{self, Category, Entry, FieldDiff, Status};
use crate::record::Difference;
use crate::verify::{ReasonGroup, Rebuilt};

/// The reason of one log entry, before cascades are resolved.
#[derive(Debug, Clone)]
struct Own {
    categories: Vec<Category>,
    detail: String,
    dependencies: Vec<String>,
    fields: Vec<FieldDiff>,
}

fn own_reason(entry: &Entry, before: &BTreeSet<PathBuf>, target_dirs: &[PathBuf]) -> Own {
    match entry.status {
        Status::Dirty => {
            let classified: Vec<reasons::Classified> = entry
                .details
                .iter()
                .map(|d| reasons::classify_detail(d))
                .collect();
            let mut categories: Vec<Category> = Vec::new();
            for c in &classified {
                if !categories.contains(&c.category) {
                    categories.push(c.category);
                }
            }
            if categories.is_empty() {
                categories.push(Category::Unknown);
            }
            Own {
                categories,
                detail: entry.details.join("; "),
                dependencies: classified
                    .into_iter()
                    .filter_map(|c| c.dependency)
                    .collect(),
                fields: Vec::new(),
            }
        }
        Status::Missing => missing_reason(entry, before, target_dirs),
    }
}

/// The fingerprint file the build wrote for `entry`: the one its log line names, else one in
/// the fingerprint directories the build added for its package and target.
fn new_fingerprint_file(
    entry: &Entry,
    before: &BTreeSet<PathBuf>,
    target_dirs: &[PathBuf],
) -> Option<PathBuf> {
    let named = entry.fingerprint.as_ref().map(|p| {
        let mut s = p.clone().into_os_string();
        s.push(".json");
        PathBuf::from(s)
    });
    named.filter(|p| p.is_file()).or_else(|| {
        let dirs: Vec<PathBuf> = reasons::fingerprint_dirs(target_dirs)
            .into_iter()
            .filter(|d| {
                !before.contains(d)
                    && reasons::dir_package(d).as_deref() == Some(entry.package.as_str())
            })
            .collect();
        reasons::fingerprint_files(&dirs).into_iter().find(|p| {
            p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| {
                s.ends_with(&format!("-{}", entry.target.replace('-', "_")))
                    || s.ends_with(&format!("-{}", entry.target))
            })
        })
    })
}

/// A unit with no fingerprint: compare its new fingerprint file with the cook's for the same
/// package and target.
fn missing_reason(entry: &Entry, before: &BTreeSet<PathBuf>, target_dirs: &[PathBuf]) -> Own {
    let new_file = new_fingerprint_file(entry, before, target_dirs);
    let not_cooked = |detail: &str| Own {
        categories: vec![Category::NotCooked],
        detail: detail.to_string(),
        dependencies: Vec::new(),
        fields: Vec::new(),
    };
    let Some(new_file) = new_file else {
        return not_cooked("new unit; its fingerprint file was not found");
    };
    let Some(new_fp) = reasons::read_fingerprint(&new_file) else {
        return not_cooked("new unit; its fingerprint file could not be read");
    };
    let file_name = new_file
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    let candidates: Vec<(PathBuf, serde_json::Value)> = before
        .iter()
        .filter(|d| reasons::dir_package(d).as_deref() == Some(entry.package.as_str()))
        .filter_map(|d| {
            let p = d.join(&file_name);
            reasons::read_fingerprint(&p).map(|v| (p, v))
        })
        .collect();
    let Some((_, diffs)) = reasons::closest(&new_fp, &candidates) else {
        return not_cooked("the cook did not build this unit at all");
    };
    if diffs.is_empty() {
        return Own {
            categories: vec![Category::NotCooked],
            detail: "the cook built this unit with identical fingerprint fields but a different unit hash (another cargo command or dependency graph)".into(),
            dependencies: Vec::new(),
            fields: Vec::new(),
        };
    }
    Own::from_diffs(diffs)
}

impl Own {
    /// The reason that fingerprint differences give: their categories, the dependencies that
    /// rebuilt, and a line naming each difference.
    fn from_diffs(diffs: Vec<FieldDiff>) -> Own {
        let mut categories: Vec<Category> = Vec::new();
        for d in &diffs {
            if !categories.contains(&d.category) {
                categories.push(d.category);
            }
        }
        let dependencies = diffs
            .iter()
            .filter(|d| d.category == Category::Dependency)
            .flat_map(|d| d.build.split(", ").map(str::to_string))
            .filter(|s| !s.is_empty())
            .collect();
        let detail = diffs
            .iter()
            .map(|d| match d.category {
                Category::Dependency => format!("dependencies rebuilt: {}", d.build),
                _ => format!("{}: cook {} / build {}", d.field, d.cook, d.build),
            })
            .collect::<Vec<_>>()
            .join("; ");
        Own {
            categories,
            detail,
            dependencies,
            fields: diffs,
        }
    }
}

/// Crate names as cargo writes them in fingerprints (`-` → `_`).
fn crate_name(s: &str) -> String {
    s.replace('-', "_")
}

/// The root causes found in the log: the first non-cascade category of each package's own
/// reason (and of each build-script run), for following cascades.
struct Roots {
    by_build_run: BTreeMap<String, (Category, String)>,
    /// By crate name (`-` → `_`): (category, detail, package).
    by_crate: BTreeMap<String, (Category, String, String)>,
    all: BTreeSet<Category>,
}

impl Roots {
    fn new(log: &[Entry], owns: &[Option<Own>]) -> Roots {
        let mut by_package: BTreeMap<String, (Category, String)> = BTreeMap::new();
        let mut by_build_run: BTreeMap<String, (Category, String)> = BTreeMap::new();
        let mut all: BTreeSet<Category> = BTreeSet::new();
        for (e, own) in log.iter().zip(owns) {
            let Some(own) = own else { continue };
            let Some(c) = own.categories.iter().copied().find(|c| !c.is_cascade()) else {
                continue;
            };
            all.insert(c);
            let map = if e.is_build_run() {
                &mut by_build_run
            } else {
                &mut by_package
            };
            map.entry(e.package.clone())
                .or_insert((c, own.detail.clone()));
        }
        let by_crate = by_package
            .iter()
            .map(|(p, (c, d))| (crate_name(p), (*c, d.clone(), p.clone())))
            .collect();
        Roots {
            by_build_run,
            by_crate,
            all,
        }
    }

    /// The root cause a cascade of `package` (naming `dependencies`) goes back to: a named
    /// dependency's, the package's own build script's, or the only root cause there is.
    fn follow(&self, package: &str, dependencies: &[String]) -> Option<(Category, String, String)> {
        let build_run = || {
            self.by_build_run
                .get(package)
                .map(|(c, det)| (*c, det.clone(), format!("{package} build script")))
        };
        dependencies
            .iter()
            .find_map(|d| {
                if d == "build_script_build" {
                    build_run()
                } else {
                    self.by_crate.get(&crate_name(d)).cloned()
                }
            })
            .or_else(build_run)
            .or_else(|| {
                (self.all.len() == 1).then(|| {
                    let c = *self.all.iter().next().expect("one root");
                    (c, String::new(), "a dependency".to_string())
                })
            })
    }
}

/// Explains every rebuilt external unit.
pub(crate) fn explain(
    external: &[&Artifact],
    log: &[Entry],
    before: &BTreeSet<PathBuf>,
    target_dirs: &[PathBuf],
    drift: &[Difference],
) -> Vec<Rebuilt> {
    let external_names: BTreeSet<(String, String)> = external
        .iter()
        .map(|a| (a.package.clone(), package_version(&a.package_id)))
        .collect();
    // Own reasons of every external log entry (build-script runs included).
    let owns: Vec<Option<Own>> = log
        .iter()
        .map(|e| {
            external_names
                .contains(&(e.package.clone(), e.version.clone()))
                .then(|| own_reason(e, before, target_dirs))
        })
        .collect();
    let roots = Roots::new(log, &owns);
    let mut used = vec![false; log.len()];
    let mut out = Vec::new();
    for a in external.iter().filter(|a| !a.fresh) {
        let version = package_version(&a.package_id);
        let index = log_entry(log, &used, a, &version);
        let (entry, own) = match index {
            Some(i) => {
                used[i] = true;
                (Some(&log[i]), owns[i].clone())
            }
            None => (None, None),
        };
        let mut own = own.unwrap_or_else(|| Own {
            categories: vec![Category::Unknown],
            detail: "cargo's fingerprint log says nothing about this unit".into(),
            dependencies: Vec::new(),
            fields: Vec::new(),
        });
        let mut via = None;
        if own.categories.iter().all(|c| c.is_cascade()) {
            if let Some((c, det, through)) = roots.follow(&a.package, &own.dependencies) {
                own.categories.insert(0, c);
                if !det.is_empty() {
                    own.detail = format!("{}; via {through}: {det}", own.detail);
                }
                via = Some(through);
            }
        }
        refine_with_drift(&mut own, drift);
        let mut categories = Vec::new();
        for c in own.categories {
            if !categories.contains(&c) {
                categories.push(c);
            }
        }
        out.push(Rebuilt {
            package: a.package.clone(),
            version,
            target: a.target.clone(),
            kind: a.kinds.clone(),
            reason: categories[0],
            reasons: categories,
            detail: own.detail,
            via,
            fields: own.fields,
            log: entry.map(|e| e.raw.clone()).unwrap_or_default(),
        });
    }
    out
}

/// The unused log entry of unit `a`: the same package, version and target, else the same
/// package and version.
fn log_entry(log: &[Entry], used: &[bool], a: &Artifact, version: &str) -> Option<usize> {
    let pick = |exact: bool| {
        log.iter().enumerate().position(|(i, e)| {
            !used[i]
                && !e.is_build_run()
                && e.package == a.package
                && e.version == version
                && (!exact || e.target == a.target)
        })
    };
    pick(true).or_else(|| pick(false))
}

/// What the cook record's drift adds: for a unit the cook never built, the flag difference that
/// explains it; for hashed fingerprint fields, the drift's readable values.
fn refine_with_drift(own: &mut Own, drift: &[Difference]) {
    if own.categories.first() == Some(&Category::NotCooked) {
        let explaining = [
            Category::Features,
            Category::Selection,
            Category::Mode,
            Category::Profile,
            Category::Target,
        ]
        .into_iter()
        .find_map(|c| drift.iter().find(|d| d.category == c && !d.harmless));
        if let Some(d) = explaining {
            own.categories.insert(0, d.category);
            own.detail = format!(
                "{}; the build's {} differs from the cook's (cook: {}, build: {})",
                own.detail, d.setting, d.cook, d.build
            );
        }
    }
    if let Some(first) = own.categories.first() {
        if own.fields.iter().any(|f| f.cook.starts_with('#')) {
            if let Some(d) = drift.iter().find(|d| d.category == *first && !d.harmless) {
                own.detail = format!(
                    "{} (cook: {}, build: {}); {}",
                    d.setting, d.cook, d.build, own.detail
                );
            }
        }
    }
}

pub(crate) fn group(rebuilt: &[Rebuilt]) -> Vec<ReasonGroup> {
    let mut groups: Vec<ReasonGroup> = Category::ALL
        .iter()
        .filter_map(|c| {
            let units: Vec<String> = rebuilt
                .iter()
                .filter(|r| r.reason == *c)
                .map(|r| {
                    if r.target == crate_name(&r.package) || r.target == r.package {
                        format!("{} {}", r.package, r.version)
                    } else {
                        format!("{} {} ({})", r.package, r.version, r.target)
                    }
                })
                .collect();
            (!units.is_empty()).then(|| ReasonGroup {
                reason: *c,
                label: c.label().to_string(),
                hint: c.hint().to_string(),
                count: units.len(),
                units,
            })
        })
        .collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

//! The tier stages of a project image (issue 11): between the cook and the build, one stage
//! per tier of the [tier plan](crate::tiers), each `FROM` the one before, copying only its own
//! crates' directories and building them with the final build's cargo command
//! (`prewarm tier`, [`crate::tier_build`]).
//!
//! An edit in a crate changes its tier's `COPY`, so that tier re-runs, and every later tier
//! with it (its parent layer changed); earlier tiers stay cached. The `RUN` of a tier first
//! sets every file it copied to one fixed modification time, and so does the final build for
//! the tiers' crates after `COPY . .`: a fresh checkout's new times cannot make cargo rebuild a
//! crate whose content the tier built, and the content of every tier crate in the final stage
//! is, by the layer cache's content keys, the content that tier built.

use super::{Command, Instruction, Mount, ProjectImage, Run, Stage, Step, RECIPE_PATH};
use crate::tier_build::SOURCE_EPOCH;

/// The tier stages of an image, resolved from the tier plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierStages {
    /// The tiers in build order.
    pub tiers: Vec<TierStage>,
    /// The real manifests of every local package and the lockfile (paths relative to the
    /// layout root), copied into the first tier.
    pub manifests: Vec<String>,
    /// Directories of packages the recipe leaves out and the build does not compile, which
    /// the workspace needs to load (copied into the first tier).
    pub carried: Vec<String>,
    /// Crates the final build compiles because no tier can hold them (for the comments).
    pub untiered: Vec<String>,
    /// The target directory in the image (absolute), which the fixed time never touches: it
    /// holds the build's own output (and may be inside a crate's directory).
    pub target_dir: String,
}

/// One tier's stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierStage {
    /// Its crates: (package name, directory relative to the layout root).
    pub crates: Vec<(String, String)>,
    /// The recipe's packages that are real in this tier (its crates and every earlier tier's).
    pub keep: Vec<String>,
}

/// The name of the stage of tier `k` (1-based).
pub fn stage_name(k: usize) -> String {
    format!("tier-{k}")
}

/// The value of `touch -d` that sets [`SOURCE_EPOCH`].
fn epoch_arg() -> String {
    format!("@{SOURCE_EPOCH}")
}

impl ProjectImage {
    /// The stage the build stage starts from: the last tier, else the cook.
    pub(super) fn build_parent(&self) -> String {
        match &self.tiers {
            Some(t) if !t.tiers.is_empty() => stage_name(t.tiers.len()),
            _ => "cook".into(),
        }
    }

    /// An absolute path in the image for a path relative to the layout root.
    fn in_image(&self, rel: &str) -> String {
        if rel == "." {
            self.workdir.clone()
        } else {
            format!("{}/{rel}", self.workdir.trim_end_matches('/'))
        }
    }

    /// `find PATHS -path TARGET -prune -o -exec touch -h -d @EPOCH {} +`: every file and
    /// directory under `paths` but the target directory gets the fixed time (links
    /// themselves, never what they point at).
    fn touch(&self, target_dir: &str, paths: impl IntoIterator<Item = String>) -> Command {
        let mut words = vec!["find".to_string()];
        words.extend(paths.into_iter().map(|p| self.in_image(&p)));
        words.extend([
            "-path".to_string(),
            target_dir.to_string(),
            "-prune".into(),
            "-o".into(),
        ]);
        words.extend(
            ["-exec", "touch", "-h", "-d"]
                .into_iter()
                .map(str::to_string),
        );
        words.push(epoch_arg());
        words.push("{}".into());
        words.push("+".into());
        Command::args(words)
    }

    /// The command of the build stage that gives the tiers' sources their fixed time again
    /// after `COPY . .` (`None` without tiers).
    pub(super) fn tier_touch(&self) -> Option<Command> {
        let t = self.tiers.as_ref().filter(|t| !t.tiers.is_empty())?;
        let mut paths: Vec<String> = t.manifests.clone();
        paths.extend(t.carried.iter().cloned());
        for tier in &t.tiers {
            paths.extend(tier.crates.iter().map(|(_, d)| d.clone()));
        }
        Some(self.touch(&t.target_dir, paths))
    }

    /// The comment of the build stage's touch.
    pub(super) fn tier_touch_comment(&self) -> Vec<String> {
        if self.tier_touch().is_none() {
            return Vec::new();
        }
        vec![
            "The tiers' crates get the fixed modification time they were built with: their content"
                .into(),
            "is what the tiers built (an edit would have re-run the tier), so cargo finds them fresh"
                .into(),
            "whatever times the checkout gave them.".into(),
        ]
    }

    /// The header lines on the tiers.
    pub(super) fn tiers_header(&self) -> Vec<String> {
        let Some(t) = self.tiers.as_ref().filter(|t| !t.tiers.is_empty()) else {
            return Vec::new();
        };
        let mut h = vec![
            "  tier-N   `prewarm tier`: the workspace's own crates in the order of their local"
                .into(),
            "           dependencies, one layer per tier; an edit re-runs its crate's tier and the"
                .into(),
            "           later ones only (pass --tiers off to build without them):".into(),
        ];
        for (k, tier) in t.tiers.iter().enumerate() {
            let names: Vec<&str> = tier.crates.iter().map(|(n, _)| n.as_str()).collect();
            h.push(format!(
                "           {}: {}",
                stage_name(k + 1),
                names.join(", ")
            ));
        }
        if !t.untiered.is_empty() {
            h.push(format!(
                "           left to the build stage (a directory holding other crates, and what needs it): {}",
                t.untiered.join(", ")
            ));
        }
        h
    }

    /// The tier stages (none without tiers).
    pub(super) fn tier_stages(&self) -> Vec<Stage> {
        let Some(t) = &self.tiers else {
            return Vec::new();
        };
        let mut stages = Vec::new();
        for (i, tier) in t.tiers.iter().enumerate() {
            let k = i + 1;
            // Build arguments are scoped to a stage: each cargo stage declares them, so that
            // the tiers build in the environment of the cook and the final build.
            let mut steps = self.build_arg_steps();
            let mut touched: Vec<String> = Vec::new();
            if k == 1 {
                steps.extend(self.tier_recipe_copy());
                first_tier_copies(t, &mut steps, &mut touched);
            }
            for (n, (_, dir)) in tier.crates.iter().enumerate() {
                let mut step = Step::new(Instruction::Copy {
                    from: None,
                    src: vec![dir.clone()],
                    dst: copy_dst_dir(dir),
                });
                if n == 0 {
                    step.comment = vec![format!(
                        "This tier's crates: their sources only, so that an edit elsewhere leaves this layer cached."
                    )];
                }
                steps.push(step);
                touched.push(dir.clone());
            }
            steps.push(self.tier_run(t, tier, touched));
            let names: Vec<&str> = tier.crates.iter().map(|(n, _)| n.as_str()).collect();
            stages.push(Stage {
                name: stage_name(k),
                from: if k == 1 {
                    "cook".into()
                } else {
                    stage_name(k - 1)
                },
                comment: vec![format!(
                    "Tier {k} of {}: {}.",
                    t.tiers.len(),
                    names.join(", ")
                )],
                steps,
            });
        }
        stages
    }

    /// A tier's `RUN`: the copied files' times fixed, then `prewarm tier` with the build's flags.
    fn tier_run(&self, t: &TierStages, tier: &TierStage, touched: Vec<String>) -> Step {
        let mut cmd = vec![
            "prewarm".to_string(),
            "tier".into(),
            "--recipe".into(),
            RECIPE_PATH.into(),
        ];
        for name in &tier.keep {
            cmd.push("--keep".into());
            cmd.push(name.clone());
        }
        cmd.extend(self.flags.to_args());
        let mut commands = vec![self.touch(&t.target_dir, touched)];
        commands.extend(self.cargo_prologue());
        commands.push(Command::args(cmd));
        commands.extend(self.cargo_epilogue());
        let mut mounts: Vec<Mount> = self.cargo_mounts();
        if let Some(inc) = &self.incremental {
            let id = format!("{}-incremental-{}", self.name, self.flags.profile_dir());
            mounts.push(Mount::shared_cache(&inc.dir, Some(&id)));
        }
        Step::commented(
            &[
                "The copied files get one fixed modification time (a checkout's times must not make",
                "cargo rebuild what did not change); then the final build's cargo command, every",
                "later crate a dummy whose artifacts are removed again.",
            ],
            Instruction::Run(Run { mounts, commands }),
        )
    }
}

/// The first tier's own copies, after its build arguments: the real manifests and lockfile,
/// and the members the build needs but does not compile.
fn first_tier_copies(t: &TierStages, steps: &mut Vec<Step>, touched: &mut Vec<String>) {
    let first_own = steps.len();
    for m in &t.manifests {
        steps.push(Step::new(Instruction::Copy {
            from: None,
            src: vec![m.clone()],
            dst: copy_dst_file(m),
        }));
        touched.push(m.clone());
    }
    if let Some(first) = steps.get_mut(first_own) {
        first.comment = vec![
            "The real manifests and lockfile (real versions: a crate's unit hash includes".into(),
            "its version), so that the resolve, and every unit hash, is the final build's.".into(),
        ];
    }
    for dir in &t.carried {
        steps.push(Step::commented(
            &["A member the recipe leaves out and the build does not compile; the workspace needs it."],
            Instruction::Copy {
                from: None,
                src: vec![dir.clone()],
                dst: copy_dst_dir(dir),
            },
        ));
        touched.push(dir.clone());
    }
}

/// The destination of a `COPY` of one file: its directory, with a trailing slash.
fn copy_dst_file(rel: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/"),
        None => "./".into(),
    }
}

/// The destination of a `COPY` of a directory's content: the same directory.
fn copy_dst_dir(rel: &str) -> String {
    format!("{}/", rel.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_destinations() {
        assert_eq!(copy_dst_file("Cargo.toml"), "./");
        assert_eq!(copy_dst_file("crates/a/Cargo.toml"), "crates/a/");
        assert_eq!(copy_dst_dir("crates/a"), "crates/a/");
    }
}

//! The deps stage of a project image (issue 11, 2): between the planner and the cook, `prewarm
//! deps` turns the recipe into the recipe of the build's external dependencies alone
//! ([`crate::deps`]), and the cook cooks that.
//!
//! The full recipe changes with the workspace's own wiring (a path dependency between
//! members, a member added on crates already built, a renamed crate); the dependency recipe
//! does not, as long as the external units stay the same. So such an edit re-runs the planner
//! and this stage, which compile nothing, and the cook's `COPY --from=deps` finds the same
//! bytes: the cooked layer stays cached. The tiers (and `prewarm tier`) still read the full
//! recipe, from the planner.
//!
//! Crate sources go through cache mounts here whatever `--ci` says: this stage only needs them
//! to plan, and its layer should hold the two recipes alone.

use super::{Command, Instruction, ProjectImage, Run, Stage, Step, RECIPE_PATH};

/// Where the deps stage writes the dependency recipe and the cook reads it.
pub const DEPS_PATH: &str = "/deps.json";

/// The name of the deps stage.
pub const STAGE: &str = "deps";

impl ProjectImage {
    /// The recipe the cook reads, and the stage it comes from.
    pub(super) fn cook_input(&self) -> (&'static str, &'static str) {
        if self.deps_stage {
            (DEPS_PATH, STAGE)
        } else {
            (RECIPE_PATH, "planner")
        }
    }

    /// The deps stage, if on.
    pub(super) fn deps_stage(&self) -> Option<Stage> {
        if !self.deps_stage {
            return None;
        }
        let mut cmd = vec![
            "prewarm".to_string(),
            "deps".into(),
            "--recipe".into(),
            RECIPE_PATH.into(),
            "--output".into(),
            DEPS_PATH.into(),
        ];
        cmd.extend(self.flags.to_args());
        let mut mounts = self.source_mounts();
        mounts.extend(self.credential_mounts());
        let mut steps = self.build_arg_steps();
        steps.push(Step::new(Instruction::Copy {
            from: Some("planner".into()),
            src: vec![RECIPE_PATH.into()],
            dst: RECIPE_PATH.into(),
        }));
        steps.push(Step::commented(
            &[
                "cargo's plan of the build (its unit graph; nothing compiles), with the cook's and the",
                "build's flags. Where the dependencies cannot be separated (a [patch], a git",
                "dependency, ...) it writes the full recipe and says why.",
            ],
            Instruction::Run(Run {
                mounts,
                commands: vec![Command::args(cmd)],
            }),
        ));
        Some(Stage {
            name: STAGE.into(),
            from: "base".into(),
            comment: vec![
                "The recipe of the external dependencies alone: it stays byte-identical when an edit"
                    .into(),
                "changes only how the workspace's own crates are wired (a path dependency between"
                    .into(),
                "members, a new member on crates already built, a renamed crate), so the cook stays"
                    .into(),
                "cached.".into(),
            ],
            steps,
        })
    }

    /// The header's line on the deps stage.
    pub(super) fn deps_header(&self) -> Vec<String> {
        if !self.deps_stage {
            return Vec::new();
        }
        vec![
            "  deps     `prewarm deps`: of the recipe, the external dependencies alone; it stays the"
                .into(),
            "           same when only the wiring of the workspace's own crates changes".into(),
        ]
    }

    /// The first tier's copy of the full recipe, which `prewarm tier` reads (the cook read the
    /// dependency recipe).
    pub(super) fn tier_recipe_copy(&self) -> Option<Step> {
        self.deps_stage.then(|| {
            Step::commented(
                &["The full recipe, which names the workspace's crates (the cook had the dependencies' alone)."],
                Instruction::Copy {
                    from: Some("planner".into()),
                    src: vec![RECIPE_PATH.into()],
                    dst: RECIPE_PATH.into(),
                },
            )
        })
    }
}

//! The runtime stages of a project image: what ships, and nothing of the toolchain. One stage
//! for one binary; for several, a shared `runtime` stage and one `runtime-<binary>` stage per
//! binary on top of it (built with `--target runtime-<binary>`), the last the default.

use super::project::apt_install;
use super::{Binary, Instruction, ProjectImage, Stage, Step, BIN_DIR};

/// The runtime image and what goes into it, resolved and checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeImage {
    /// The image of the runtime stage (`scratch` for an empty one).
    pub image: String,
    /// What the image is, for the header (`a slim Debian image`).
    pub describe: String,
    /// Debian packages to install (only where the image has apt).
    pub packages: Vec<String>,
    /// The working directory (absolute).
    pub workdir: String,
    /// `ENV` of the runtime stage.
    pub env: Vec<(String, String)>,
    /// Files and directories copied from the build context: (source relative to the
    /// context, absolute destination).
    pub copies: Vec<(String, String)>,
    /// `EXPOSE`d ports (`8080`, `53/udp`).
    pub expose: Vec<String>,
    /// The user the binary runs as (`uid[:gid]`).
    pub user: String,
    /// The default arguments (`CMD`).
    pub cmd: Vec<String>,
}

/// One runtime stage per binary when there are several: its stage name.
pub fn stage_name(binary: &str) -> String {
    let clean: String = binary
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("runtime-{clean}")
}

impl ProjectImage {
    /// The runtime stages (none without a runtime image).
    pub(super) fn runtime_stages(&self) -> Vec<Stage> {
        let Some(rt) = &self.runtime else {
            return Vec::new();
        };
        let mut steps = common_steps(rt);
        if let [one] = self.binaries.as_slice() {
            steps.extend(binary_steps(rt, one));
        }
        let common = Stage {
            name: "runtime".into(),
            from: rt.image.clone(),
            comment: vec!["What ships: the binary and nothing of the toolchain.".into()],
            steps,
        };
        if self.binaries.len() < 2 {
            return vec![common];
        }
        let mut stages = vec![Stage {
            comment: vec![
                "What every runtime image shares; each binary gets a stage of its own below, the"
                    .into(),
                "last one the default.".into(),
            ],
            ..common
        }];
        for b in &self.binaries {
            stages.push(Stage {
                name: stage_name(&b.name),
                from: "runtime".into(),
                comment: vec![format!(
                    "`{}` alone (`--target {}`).",
                    b.name,
                    stage_name(&b.name)
                )],
                steps: binary_steps(rt, b),
            });
        }
        stages
    }

    /// The runtime stages the header describes: (stage, what it is).
    pub(super) fn runtime_header(&self) -> Vec<String> {
        let Some(rt) = &self.runtime else {
            return Vec::new();
        };
        if self.binaries.len() < 2 {
            return vec![format!(
                "  runtime  {} with just the binary, run as a non-root user",
                rt.describe
            )];
        }
        let mut lines = vec![format!(
            "  runtime  {}, run as a non-root user; under it, one stage per binary:",
            rt.describe
        )];
        for b in &self.binaries {
            lines.push(format!(
                "           {} (just `{}`)",
                stage_name(&b.name),
                b.name
            ));
        }
        lines
    }

    /// The build targets of the header's commands: (`--target` stage, image tag).
    pub(super) fn build_targets(&self) -> Vec<(Option<String>, String)> {
        if self.runtime.is_none() || self.binaries.len() < 2 {
            return vec![(None, self.context.tag.clone())];
        }
        self.binaries
            .iter()
            .map(|b| {
                (
                    Some(stage_name(&b.name)),
                    stage_name(&b.name)[8..].to_string(),
                )
            })
            .collect()
    }
}

/// What every runtime image of the project shares: packages, directory, environment,
/// files, ports and user.
fn common_steps(rt: &RuntimeImage) -> Vec<Step> {
    let mut steps = Vec::new();
    if !rt.packages.is_empty() {
        let mut packages = rt.packages.clone();
        packages.sort();
        packages.dedup();
        steps.push(apt_install(&packages, Some("runtime"), &[]));
    }
    steps.push(Step::new(Instruction::Workdir(rt.workdir.clone())));
    if !rt.env.is_empty() {
        steps.push(Step::new(Instruction::Env(rt.env.clone())));
    }
    if !rt.copies.is_empty() {
        let mut comment =
            vec!["Files the service reads at run time, from the build context.".to_string()];
        let mut copies = rt.copies.iter();
        if let Some((src, dst)) = copies.next() {
            steps.push(Step {
                comment: std::mem::take(&mut comment),
                hadolint_ignore: Vec::new(),
                spaced: false,
                instruction: Instruction::Copy {
                    from: None,
                    src: vec![src.clone()],
                    dst: dst.clone(),
                },
            });
        }
        for (src, dst) in copies {
            steps.push(Step::new(Instruction::Copy {
                from: None,
                src: vec![src.clone()],
                dst: dst.clone(),
            }));
        }
    }
    if !rt.expose.is_empty() {
        steps.push(Step::new(Instruction::Expose(rt.expose.clone())));
    }
    steps.push(Step::commented(
        &[
            "An unprivileged user, by number: it needs no entry in /etc/passwd, so any runtime",
            "image works, distroless ones included. The binary comes last, so that a rebuild",
            "after an edit redoes nothing else here.",
        ],
        Instruction::User(rt.user.clone()),
    ));
    steps
}

/// The steps that put one binary into a runtime image: its entrypoint and arguments, then the
/// binary itself (last, so that a rebuild after an edit redoes nothing else).
fn binary_steps(rt: &RuntimeImage, b: &Binary) -> Vec<Step> {
    let mut steps = vec![Step::new(Instruction::Entrypoint(vec![format!(
        "{BIN_DIR}/{}",
        b.name
    )]))];
    if !rt.cmd.is_empty() {
        steps.push(Step::new(Instruction::Cmd(rt.cmd.clone())));
    }
    steps.push(Step::new(Instruction::Copy {
        from: Some("build".into()),
        src: vec![format!("{BIN_DIR}/{}", b.name)],
        dst: format!("{BIN_DIR}/"),
    }));
    steps
}

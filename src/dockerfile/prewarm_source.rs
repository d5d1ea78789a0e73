//! Where a project image gets prewarm itself (`prewarm image --prewarm-from`), and the
//! sccache of a remote `--sccache` backend with it:
//!
//! - `image` (the default): `COPY --from` the published prewarm image, whose tag is the
//!   running prewarm's version; it carries the remote-backend sccache too;
//! - `crates`: `cargo install prewarm --locked --version =<version>` in the base stage, a
//!   layer that stays cached until the version changes;
//! - `context`: a prewarm binary, or a prewarm source checkout, inside the build context (for
//!   air-gapped builds and for prewarm's own tests): the binary is copied, the checkout is
//!   built in a stage of its own.
//!
//! Outside the image, the remote-backend sccache is installed from crates.io with exactly the
//! backends `--sccache` offers.

use super::model::{Command, Instruction, Mount, Run, Stage, Step};
use super::project::{ProjectImage, BIN_DIR};
use super::sccache;

/// Where the project image's prewarm comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrewarmSource {
    /// `COPY --from=<image>`: the published image, or `--prewarm-image`.
    Image(String),
    /// `cargo install prewarm --locked --version =<version>` from crates.io.
    Crates(String),
    /// A prewarm binary in the build context (its path there).
    ContextBinary(String),
    /// A prewarm source checkout in the build context (its path there), built in
    /// [`STAGE`].
    ContextSource(String),
}

/// The stage that builds a source checkout of prewarm (`--prewarm-from context`).
pub const STAGE: &str = "prewarm";

/// Where that stage builds (its own directory, outside the project's layout root, so no cargo
/// config of the project applies to it).
const SOURCE_DIR: &str = "/prewarm";

impl PrewarmSource {
    /// The `--prewarm-from` value.
    pub fn kind(&self) -> &'static str {
        match self {
            PrewarmSource::Image(_) => "image",
            PrewarmSource::Crates(_) => "crates",
            PrewarmSource::ContextBinary(_) | PrewarmSource::ContextSource(_) => "context",
        }
    }

    /// The image prewarm is copied from, for `image`.
    pub fn image(&self) -> Option<&str> {
        match self {
            PrewarmSource::Image(image) => Some(image),
            _ => None,
        }
    }
}

impl ProjectImage {
    /// The stage that builds prewarm from a source checkout in the build context, if that is
    /// where it comes from. A debug build: prewarm only plans and cooks (cargo compiles), and
    /// a debug build takes a fraction of a release build's time. Its target directory is a
    /// cache mount, so an edit of the checkout recompiles prewarm alone.
    pub(super) fn prewarm_stage(&self, from: &str) -> Option<Stage> {
        let PrewarmSource::ContextSource(path) = &self.prewarm else {
            return None;
        };
        let target = format!("{SOURCE_DIR}/target");
        let mut mounts = self.source_mounts();
        mounts.push(Mount::shared_cache(
            &target,
            Some(&format!("{}-prewarm-target", self.name)),
        ));
        Some(Stage {
            name: STAGE.into(),
            from: from.to_string(),
            comment: vec![
                format!("prewarm itself, built from the source checkout `{path}` in the build context"),
                "(--prewarm-from context). A debug build: prewarm only plans and cooks, cargo does the".into(),
                "compiling. Its target directory is a cache mount, so an edit of the checkout".into(),
                "recompiles prewarm alone.".into(),
            ],
            steps: vec![
                Step::new(Instruction::Workdir(SOURCE_DIR.into())),
                Step::new(Instruction::Copy {
                    from: None,
                    src: vec![path.clone()],
                    dst: format!("{SOURCE_DIR}/"),
                }),
                Step::new(Instruction::Run(Run {
                    mounts,
                    commands: vec![
                        Command::args([
                            "cargo",
                            "build",
                            "--locked",
                            "--bin",
                            "prewarm",
                            "--target-dir",
                            &target,
                        ]),
                        Command::args([
                            "cp".to_string(),
                            format!("{target}/debug/prewarm"),
                            format!("{BIN_DIR}/prewarm"),
                        ]),
                    ],
                })),
            ],
        })
    }

    /// The base stage's steps that bring prewarm (and a remote backend's sccache) in.
    /// `cargo install` steps come before the stage's `ENV`, so that the project's linker
    /// flags and `RUSTC_WRAPPER` do not apply to them; copies come after it.
    pub(super) fn prewarm_steps(&self) -> (Vec<Step>, Vec<Step>) {
        let remote = self.sccache.is_some_and(sccache::Backend::is_remote);
        let copy = |comment: &str, from: Option<String>, src: &str| {
            Step::commented(
                &[comment],
                Instruction::Copy {
                    from,
                    src: vec![src.to_string()],
                    dst: format!("{BIN_DIR}/prewarm"),
                },
            )
        };
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut installs = Vec::new();
        let mut comment = Vec::new();
        match &self.prewarm {
            PrewarmSource::Image(image) => {
                after.push(copy(
                    "prewarm itself, from its image.",
                    Some(image.clone()),
                    &format!("{BIN_DIR}/prewarm"),
                ));
                if remote {
                    after.push(Step::commented(
                        &["sccache with its remote backends (built from crates.io), from the same image."],
                        Instruction::Copy {
                            from: Some(image.clone()),
                            src: vec![sccache::IMAGE_PATH.into()],
                            dst: sccache::IMAGE_PATH.into(),
                        },
                    ));
                }
                return (before, after);
            }
            PrewarmSource::Crates(version) => {
                installs.push(cargo_install(&["prewarm".into(), "--version".into(), format!("={version}")]));
                comment.push("prewarm itself, from crates.io (--prewarm-from crates), the version that wrote this".to_string());
                comment.push("file: this layer stays cached until the version (or the options) change.".to_string());
            }
            PrewarmSource::ContextBinary(path) => after.push(copy(
                &format!("prewarm itself, the binary `{path}` of the build context (--prewarm-from context)."),
                None,
                path,
            )),
            PrewarmSource::ContextSource(_) => after.push(copy(
                "prewarm itself, from the stage that built it.",
                Some(STAGE.into()),
                &format!("{BIN_DIR}/prewarm"),
            )),
        }
        if remote {
            installs.push(cargo_install(&[
                "sccache".into(),
                "--version".into(),
                sccache::CRATES_IO_VERSION.into(),
                "--no-default-features".into(),
                "--features".into(),
                sccache::CRATES_IO_FEATURES.into(),
            ]));
            comment.push("sccache with its remote backends, from crates.io (Debian's package has none of them).".to_string());
        }
        if !installs.is_empty() {
            comment.push("Each is installed without fat LTO, which would make this the slowest step of a cold".to_string());
            comment.push(
                "build, and without the project's wrapper or flags (it runs before the ENV below)."
                    .to_string(),
            );
            let mut step = Step::new(Instruction::Run(Run {
                mounts: self.source_mounts(),
                commands: installs,
            }));
            step.comment = comment;
            before.push(step);
        }
        (before, after)
    }
}

/// `env RUSTC_WRAPPER= … cargo install <what> --locked --root /usr/local`: no wrapper and a
/// quick release profile; the caller's step mounts the download caches.
fn cargo_install(what: &[String]) -> Command {
    let mut cmd: Vec<String> = [
        "env",
        "RUSTC_WRAPPER=",
        "CARGO_PROFILE_RELEASE_LTO=false",
        "CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16",
        "cargo",
        "install",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    cmd.extend(what.iter().cloned());
    cmd.extend(["--locked".into(), "--root".into(), "/usr/local".into()]);
    Command::args(cmd)
}

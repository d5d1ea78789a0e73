//! The project image `prewarm image` writes: a base stage, the planner (the recipe), the
//! cook (dependencies only, the cached layer), the build (the real sources over the cooked
//! skeleton) and the runtime stage(s), described with the [`super::model`] and rendered by it.
//!
//! Everything here is pure: the caller resolves the workspace (names, paths, toolchain) into a
//! [`ProjectImage`], and [`ProjectImage::dockerfile`] only arranges. The output uses no feature
//! that one of Docker `BuildKit`, Podman or Buildah lacks: no heredocs, no `COPY --link`, no
//! `RUN --network`.

use std::fmt::Write as _;

use super::model::{Command, Dockerfile, Instruction, Mount, Run, Stage, Step};
use super::quote::shell_word;
use super::{runtime, sccache, tiers};
use crate::flags::BuildFlags;
pub use crate::linker::Linker;

/// `CARGO_HOME` of the official rust images, which the cache mounts and secrets point into.
pub const CARGO_HOME: &str = "/usr/local/cargo";

/// Where sccache keeps its cache (a cache mount) when `--sccache` is on.
pub const SCCACHE_DIR: &str = "/var/cache/sccache";

/// Where the planner writes the recipe and the cook reads it (outside the layout root, so
/// the cook directory holds nothing but the skeleton).
pub const RECIPE_PATH: &str = "/recipe.json";

/// Where the build stage puts the binaries it built, outside any cache mount.
pub const BIN_DIR: &str = "/usr/local/bin";

/// Whether the workspace's crates keep their incremental compilation state in a cache mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incremental {
    /// The incremental directory (absolute), mounted as a cache in the build step.
    pub dir: String,
    /// `CARGO_PROFILE_<NAME>_INCREMENTAL`, set when the profile is not incremental by default.
    pub profile_env: Option<String>,
}

/// A binary the build stage produces and the runtime stage runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// Its name (`--bin`).
    pub name: String,
    /// Where cargo writes it, relative to the workspace directory (or absolute).
    pub built_at: String,
}

/// How to build the Dockerfile: where the build context is, relative to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    /// The Dockerfile's path relative to the build context.
    pub dockerfile: String,
    /// The build context relative to the workspace root (`.` when they are the same).
    pub from_workspace: String,
    /// The image tag suggested in the build command.
    pub tag: String,
}

/// Everything that decides the project image, resolved from the workspace and the options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // reason: one switch per user-facing option
pub struct ProjectImage {
    /// A name for the project (comments and cache ids).
    pub name: String,
    /// The `prewarm image ...` command line that writes this file (for the header).
    pub invocation: String,
    /// prewarm's version (for the header).
    pub version: String,
    /// Write the `# syntax` line.
    pub syntax: bool,
    /// The Rust image of the base stage.
    pub base_image: String,
    /// The runtime stage(s); `None` for none (the build stage is the image).
    pub runtime: Option<runtime::RuntimeImage>,
    /// Where prewarm itself comes from (`--prewarm-from`).
    pub prewarm: super::prewarm_source::PrewarmSource,
    /// The layout root inside the image.
    pub workdir: String,
    /// The workspace root relative to the layout root (`.` when the same).
    pub workspace: String,
    /// The cargo flags, identical for the cook and the build.
    pub flags: BuildFlags,
    /// Binaries to copy out of the build stage.
    pub binaries: Vec<Binary>,
    /// The linker.
    pub linker: Linker,
    /// sccache as `RUSTC_WRAPPER`, and where its cache is.
    pub sccache: Option<sccache::Backend>,
    /// Crate sources (cargo's registry and git checkouts) in the cook layer instead of cache
    /// mounts (`--ci`): an ephemeral runner gets them with the cached layer, and its build step
    /// downloads nothing.
    pub sources_in_layer: bool,
    /// Incremental state in a cache mount, if on.
    pub incremental: Option<Incremental>,
    /// Targets whose standard library the base stage adds (`rustup target add`).
    pub rustup_targets: Vec<String>,
    /// Extra Debian packages for the build (`--apt`).
    pub build_packages: Vec<String>,
    /// Debian packages the workspace's cargo config needs (its linker), or a cross linker.
    pub config_packages: Vec<crate::linker::Need>,
    /// Environment of the build stages that the linker needs (a cross linker's
    /// `CARGO_TARGET_<TRIPLE>_LINKER`).
    pub linker_env: Vec<(String, String)>,
    /// `--env`: environment of every build stage, set in the base stage.
    pub env: Vec<(String, String)>,
    /// `--build-arg`: build arguments of the cargo stages, with their defaults.
    pub build_args: Vec<(String, Option<String>)>,
    /// Mount the `cargo-credentials` secret as `$CARGO_HOME/credentials.toml`.
    pub cargo_credentials: bool,
    /// Mount the `git-credentials` secret and let git use it.
    pub git_credentials: bool,
    /// Where the build context is.
    pub context: BuildContext,
    /// tiers (issue 11): the tier stages between the cook and the build, if any.
    pub tiers: Option<tiers::TierStages>,
    /// The deps stage between the planner and the cook (issue 11, 2): the cook reads the
    /// recipe of the external dependencies alone.
    pub deps_stage: bool,
    /// The base image is a rust-builder image (`--builder-image`, or a `--base-image` with its
    /// label): it holds sccache already.
    pub builder_base: bool,
    /// `--builder-image`: the base image is named by the build argument [`BUILDER_ARG`], its
    /// default the image given.
    pub builder_arg: bool,
}

/// The build argument that names the rust-builder image a Dockerfile written with
/// `--builder-image` builds FROM (CI passes the digest it just built).
pub const BUILDER_ARG: &str = "BUILDER_IMAGE";

/// The secret id for cargo's credentials file.
pub const CARGO_CREDENTIALS: &str = "cargo-credentials";
/// The secret id for git's credential-store file.
pub const GIT_CREDENTIALS: &str = "git-credentials";
/// Where the git credentials appear during a `RUN`.
const GIT_CREDENTIALS_PATH: &str = "/run/secrets/git-credentials";

impl ProjectImage {
    /// The workspace directory inside the image.
    pub fn workspace_dir(&self) -> String {
        if self.workspace == "." {
            self.workdir.clone()
        } else {
            format!("{}/{}", self.workdir.trim_end_matches('/'), self.workspace)
        }
    }

    /// The build commands for this Dockerfile, run from the build context (docker, buildah).
    pub fn build_commands(&self) -> Vec<String> {
        let mut opts = Vec::new();
        if self.context.dockerfile != "Dockerfile" {
            opts.push(format!("-f {}", shell_word(&self.context.dockerfile)));
        }
        if self.cargo_credentials {
            opts.push(format!(
                "--secret id={CARGO_CREDENTIALS},src=\"$HOME/.cargo/credentials.toml\""
            ));
        }
        if self.git_credentials {
            opts.push(format!(
                "--secret id={GIT_CREDENTIALS},src=\"$HOME/.git-credentials\""
            ));
        }
        if self.sccache.is_some_and(sccache::Backend::is_remote) {
            opts.push(format!(
                "--secret id={},src=sccache.env",
                sccache::SECRET_ID
            ));
        }
        let opts = opts.join(" ");
        let mut commands = Vec::new();
        for (target, tag) in self.build_targets() {
            let mut o = opts.clone();
            if let Some(t) = target {
                let _ = write!(o, "{}--target {t}", if o.is_empty() { "" } else { " " });
            }
            let _ = write!(
                o,
                "{}-t {}",
                if o.is_empty() { "" } else { " " },
                shell_word(&tag)
            );
            commands.push(format!("DOCKER_BUILDKIT=1 docker build {o} ."));
            commands.push(format!("buildah build --layers {o} ."));
        }
        commands
    }

    /// The cache mounts of every cargo step: registry, git checkouts, sccache.
    ///
    /// The registry and git caches are the project's own (`id=<name>-cargo-...`): cargo's
    /// lock on them lives outside the mount, so only builds of one project share them (and
    /// those rarely run at once). They are not `sharing=locked`: the cook and the build both
    /// mount them, which hangs Buildah 1.28 (see [`Mount::Cache`]), and a lock would make an
    /// unrelated project's long step stall this one. sccache's cache is for every project.
    pub(super) fn cargo_mounts(&self) -> Vec<Mount> {
        let mut mounts = if self.sources_in_layer {
            Vec::new()
        } else {
            self.source_mounts()
        };
        match self.sccache {
            Some(sccache::Backend::Local) => mounts.push(Mount::shared_cache(SCCACHE_DIR, None)),
            Some(_) => mounts.push(Mount::Secret {
                id: sccache::SECRET_ID.into(),
                target: sccache::SECRET_PATH.into(),
            }),
            None => {}
        }
        mounts.extend(self.credential_mounts());
        mounts
    }

    /// The cache mounts of cargo's registry and git checkouts (the project's own ids).
    pub(super) fn source_mounts(&self) -> Vec<Mount> {
        let registry = format!("{}-cargo-registry", self.name);
        let git = format!("{}-cargo-git", self.name);
        vec![
            Mount::shared_cache(&format!("{CARGO_HOME}/registry"), Some(&registry)),
            Mount::shared_cache(&format!("{CARGO_HOME}/git"), Some(&git)),
        ]
    }

    /// The secret mounts of a private registry's and git's credentials, if asked for.
    pub(super) fn credential_mounts(&self) -> Vec<Mount> {
        let mut mounts = Vec::new();
        if self.cargo_credentials {
            mounts.push(Mount::Secret {
                id: CARGO_CREDENTIALS.into(),
                target: format!("{CARGO_HOME}/credentials.toml"),
            });
        }
        if self.git_credentials {
            mounts.push(Mount::Secret {
                id: GIT_CREDENTIALS.into(),
                target: GIT_CREDENTIALS_PATH.into(),
            });
        }
        mounts
    }

    /// Commands that start a cargo step. sccache's client talks to its server over a TCP
    /// port on localhost; a builder that runs steps in the host's network (Buildah with chroot
    /// isolation) would let concurrent builds meet on the default port, each with the other's
    /// cache directory, so each step takes a port of its own.
    /// A remote backend's settings are loaded from their secret here, for this step alone.
    pub(super) fn cargo_prologue(&self) -> Vec<Command> {
        let Some(backend) = self.sccache else {
            return Vec::new();
        };
        let mut commands = backend.load_secret();
        commands.push(Command::shell(
            "export SCCACHE_SERVER_PORT=$((4227 + $$ % 20000))",
        ));
        commands
    }

    /// Commands that end a cargo step: print sccache's statistics (the hit rate shows in the
    /// build log), then stop its server, which would outlive the step. A step that compiled
    /// nothing (every crate fresh after the tiers) may have no server left to stop: that is
    /// not a failure of the step.
    pub(super) fn cargo_epilogue(&self) -> Vec<Command> {
        if self.sccache.is_some() {
            vec![
                Command::args(["sccache", "--show-stats"]),
                Command::shell("{ sccache --stop-server >/dev/null 2>&1 || true; }"),
            ]
        } else {
            Vec::new()
        }
    }

    /// The environment of every cargo step, set once in the base stage.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        let rustflags = self.linker.rustflags();
        if !rustflags.is_empty() {
            // CARGO_BUILD_RUSTFLAGS adds to the project's `build.rustflags` (RUSTFLAGS would
            // replace them).
            env.push(("CARGO_BUILD_RUSTFLAGS".to_string(), rustflags.to_string()));
        }
        if let Some(inc) = &self.incremental {
            if let Some(var) = &inc.profile_env {
                env.push((var.clone(), "true".into()));
            }
        }
        if let Some(backend) = self.sccache {
            env.push(("RUSTC_WRAPPER".into(), "sccache".into()));
            if !backend.is_remote() {
                env.push(("SCCACHE_DIR".into(), SCCACHE_DIR.into()));
            }
        }
        if self.git_credentials {
            env.push(("CARGO_NET_GIT_FETCH_WITH_CLI".into(), "true".into()));
            env.push(("GIT_CONFIG_COUNT".into(), "1".into()));
            env.push(("GIT_CONFIG_KEY_0".into(), "credential.helper".into()));
            env.push((
                "GIT_CONFIG_VALUE_0".into(),
                format!("store --file={GIT_CREDENTIALS_PATH}"),
            ));
        }
        env.extend(self.linker_env.iter().cloned());
        env.extend(self.env.iter().cloned());
        env
    }

    /// `ARG` lines for the start of a cargo stage: a build argument is in scope until its
    /// stage ends, and a stage `FROM` another does not inherit it, so each declares it again.
    pub(super) fn build_arg_steps(&self) -> Vec<Step> {
        if self.build_args.is_empty() {
            return Vec::new();
        }
        let mut steps: Vec<Step> = self
            .build_args
            .iter()
            .map(|(k, v)| Step::new(Instruction::Arg(k.clone(), v.clone())))
            .collect();
        steps[0].comment = vec![
            "Build arguments (--build-arg on the command line): an ARG is scoped to its stage, so"
                .into(),
            "each cargo stage declares them.".into(),
        ];
        steps
    }

    fn build_packages(&self) -> Vec<String> {
        let mut packages: Vec<String> = self
            .linker
            .packages()
            .iter()
            .map(|p| (*p).to_string())
            .collect();
        if self.sccache == Some(sccache::Backend::Local) && !self.builder_base {
            packages.push("sccache".into());
        }
        packages.extend(self.build_packages.iter().cloned());
        packages.extend(self.config_packages.iter().map(|n| n.package.clone()));
        packages.sort();
        packages.dedup();
        packages
    }

    /// The Dockerfile.
    pub fn dockerfile(&self) -> Dockerfile {
        let mut stages: Vec<Stage> = self.prewarm_stage(&self.base_from()).into_iter().collect();
        stages.extend([self.base_stage(), self.planner_stage()]);
        stages.extend(self.deps_stage());
        stages.push(self.cook_stage());
        // tiers (issue 11): the tier stages, then the build stage from the last of them.
        stages.extend(self.tier_stages());
        stages.push(self.build_stage());
        stages.extend(self.runtime_stages());
        Dockerfile {
            syntax: self.syntax,
            header: self.header(),
            args: if self.builder_arg {
                vec![(BUILDER_ARG.to_string(), self.base_image.clone())]
            } else {
                Vec::new()
            },
            stages,
            layout: super::model::Layout::Flush,
        }
    }

    /// What the base stage (and the stage that builds prewarm from source) starts from.
    fn base_from(&self) -> String {
        if self.builder_arg {
            format!("${{{BUILDER_ARG}}}")
        } else {
            self.base_image.clone()
        }
    }

    fn base_stage(&self) -> Stage {
        let mut steps = Vec::new();
        let packages = self.build_packages();
        if !packages.is_empty() {
            let why: Vec<String> = self
                .config_packages
                .iter()
                .map(|n| format!("{}: {}.", n.package, n.why))
                .collect();
            steps.push(apt_install(&packages, None, &why));
        }
        if !self.rustup_targets.is_empty() {
            let mut cmd = vec!["rustup".to_string(), "target".into(), "add".into()];
            cmd.extend(self.rustup_targets.iter().cloned());
            steps.push(Step::commented(
                &["The standard library of the target the build is for."],
                Instruction::Run(Run {
                    mounts: Vec::new(),
                    commands: vec![Command::args(cmd)],
                }),
            ));
        }
        let (before, after) = self.prewarm_steps();
        steps.extend(before);
        let env = self.env();
        if !env.is_empty() {
            steps.push(Step::commented(
                &[
                    "Set once here, so that the cook and the build see the same environment: a",
                    "difference in rustc flags or wrapper would make cargo rebuild every dependency.",
                ],
                Instruction::Env(env),
            ));
        }
        steps.extend(after);
        steps.push(Step::new(Instruction::Workdir(self.workdir.clone())));
        Stage {
            name: "base".into(),
            from: self.base_from(),
            comment: if self.builder_arg {
                vec![
                    "The rust-builder image (--build-arg BUILDER_IMAGE=<ref>, e.g. the digest CI just built):".into(),
                    "its toolchain, sccache and the prewarmed units in the target directory the cargo".into(),
                    "steps build into, so the cook finds every unit the image holds fresh.".into(),
                ]
            } else {
                vec!["The toolchain and tools every later stage shares.".into()]
            },
            steps,
        }
    }

    fn planner_stage(&self) -> Stage {
        let mut cmd = vec!["prewarm".to_string(), "recipe".into()];
        if self.workspace != "." {
            cmd.push("--manifest-path".into());
            cmd.push(format!("{}/Cargo.toml", self.workspace));
        }
        cmd.push("--output".into());
        cmd.push(RECIPE_PATH.into());
        Stage {
            name: "planner".into(),
            from: "base".into(),
            comment: vec![
                "Any change to the sources reruns this stage, which is cheap; the recipe it writes"
                    .into(),
                "only changes when the dependency build would.".into(),
            ],
            steps: vec![
                Step::new(Instruction::Copy {
                    from: None,
                    src: vec![".".into()],
                    dst: ".".into(),
                }),
                Step::new(Instruction::Run(Run {
                    mounts: Vec::new(),
                    commands: vec![Command::args(cmd)],
                })),
            ],
        }
    }

    fn cook_stage(&self) -> Stage {
        let (recipe, from) = self.cook_input();
        let mut cook = vec![
            "prewarm".to_string(),
            "cook".into(),
            "--recipe".into(),
            recipe.into(),
        ];
        cook.extend(self.flags.to_args());
        let mut commands = self.cargo_prologue();
        commands.push(Command::args(cook));
        commands.extend(self.cargo_epilogue());
        Stage {
            name: "cook".into(),
            from: "base".into(),
            comment: if self.sources_in_layer {
                vec![
                    "The dependencies, compiled into this stage's own layer (not a cache mount), so that".into(),
                    "the build stage starts from them. The crate sources stay in the layer too (--ci):".into(),
                    "a runner that gets this layer from a registry cache downloads nothing.".into(),
                ]
            } else {
                vec![
                    "The dependencies, compiled into this stage's own layer (not a cache mount), so that".into(),
                    "the build stage starts from them. Downloads go through cache mounts.".into(),
                ]
            },
            steps: self
                .build_arg_steps()
                .into_iter()
                .chain([
                    Step::new(Instruction::Copy {
                        from: Some(from.into()),
                        src: vec![recipe.into()],
                        dst: recipe.into(),
                    }),
                    Step::new(Instruction::Run(Run {
                        mounts: self.cargo_mounts(),
                        commands,
                    })),
                ])
                .collect(),
        }
    }

    fn build_stage(&self) -> Stage {
        let mut steps = self.build_arg_steps();
        steps.push(Step::new(Instruction::Copy {
            from: None,
            src: vec![".".into()],
            dst: ".".into(),
        }));
        if self.workspace != "." {
            steps.push(Step::commented(
                &["cargo runs in the workspace root, as in the cook, so it reads the same cargo config."],
                Instruction::Workdir(self.workspace_dir()),
            ));
        }
        let mut mounts = self.cargo_mounts();
        let mut comment = vec![
            "The same cargo flags as the cook: the dependencies are fresh, only the workspace's"
                .to_string(),
            "own crates compile.".to_string(),
        ];
        if let Some(inc) = &self.incremental {
            // rustc locks its own session directories inside, so builds may share it.
            let id = format!("{}-incremental-{}", self.name, self.flags.profile_dir());
            mounts.push(Mount::shared_cache(&inc.dir, Some(&id)));
            comment.push(
                "Their incremental state is kept in a cache mount, so a rebuild after an edit reuses".into(),
            );
            comment.push("what did not change.".into());
        }
        let mut build = vec!["cargo".to_string(), "build".into()];
        build.extend(self.flags.to_args());
        let mut commands = self.cargo_prologue();
        // tiers (issue 11): the tiers' sources get the time they were built with.
        commands.extend(self.tier_touch());
        comment.extend(self.tier_touch_comment());
        commands.push(Command::args(build));
        if !self.binaries.is_empty() {
            comment.push(format!(
                "The binar{} copied to {BIN_DIR}, out of the target directory.",
                if self.binaries.len() == 1 {
                    "y is"
                } else {
                    "ies are"
                }
            ));
            let mut cp = vec!["cp".to_string()];
            cp.extend(self.binaries.iter().map(|b| b.built_at.clone()));
            cp.push(format!("{BIN_DIR}/"));
            commands.push(Command::args(cp));
        }
        commands.extend(self.cargo_epilogue());
        steps.push(Step {
            comment,
            hadolint_ignore: Vec::new(),
            spaced: false,
            instruction: Instruction::Run(Run { mounts, commands }),
        });
        Stage {
            name: "build".into(),
            from: self.build_parent(), // tiers (issue 11)
            comment: vec!["The real sources, over the cooked skeleton.".into()],
            steps,
        }
    }
}

/// `apt-get install` of `packages` under locked cache mounts (apt keeps its locks inside them,
/// but fails rather than waits on one), with the base image's clean-up hook (which would
/// delete every download, so the cache would never hold anything) removed. `stage` names the
/// caches of a stage other than the base: one locked id per Dockerfile (see [`Mount::Cache`]).
/// `why` adds a comment line per package that the options did not name.
pub(super) fn apt_install(packages: &[String], stage: Option<&str>, why: &[String]) -> Step {
    let ids = stage.map(|s| (format!("{s}-var-cache-apt"), format!("{s}-var-lib-apt")));
    let mut comment: Vec<String> = vec![
        "System packages. Downloads and package lists live in cache mounts, kept between builds"
            .into(),
        "and never part of the image; Debian images delete every download after installing".into(),
        "(`docker-clean`), so that goes first. Versions are not pinned (DL3008): they follow"
            .into(),
        "the base image's Debian release, whose updates are security fixes.".into(),
    ];
    if !why.is_empty() {
        comment.push("For linking, as the workspace's cargo config or --cross asks:".into());
        comment.extend(why.iter().map(|w| format!("  {w}")));
    }
    Step {
        comment,
        hadolint_ignore: vec!["DL3008"],
        spaced: false,
        instruction: Instruction::Run(Run {
            mounts: vec![
                Mount::locked_cache("/var/cache/apt", ids.as_ref().map(|i| i.0.as_str())),
                Mount::locked_cache("/var/lib/apt", ids.as_ref().map(|i| i.1.as_str())),
            ],
            commands: vec![
                Command::args(["rm", "-f", "/etc/apt/apt.conf.d/docker-clean"]),
                Command::shell("echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > /etc/apt/apt.conf.d/keep-cache"),
                Command::args(["apt-get", "update"]),
                Command::args(
                    ["apt-get", "install", "-y", "--no-install-recommends"]
                        .into_iter()
                        .map(str::to_string)
                        .chain(packages.iter().cloned()),
                ),
            ],
        }),
    }
}

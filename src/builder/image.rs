//! The builder Dockerfile, described with the one Dockerfile model ([`crate::dockerfile::model`])
//! and rendered by it: one stage that installs the tools a Rust CI job needs and prewarms the
//! warm workspace's units at [`TARGET_DIR`].

use super::{Options, Variant, MARKER, SCCACHE_DIR, TARGET_DIR, TARGET_DIR_LABEL, WARM_DIR};
use crate::dockerfile::{
    Command, Dockerfile, Instruction, Layout, Mount, Run, Sharing, Stage, Step,
};
use crate::error::Result;

/// What the warm build leaves behind of the warm packages' own (empty) units: globs under
/// [`TARGET_DIR`] (shell text, so a literal; a unit test keeps it in step).
const WARM_LEFTOVERS: &str = "/opt/prewarm/target/*/.fingerprint/warm-* /opt/prewarm/target/*/deps/*warm_* /opt/prewarm/target/*/libwarm_*";

/// Renders the builder Dockerfile, once [`Options::check`] has found every value fit for it.
pub fn render(opts: &Options) -> Result<String> {
    opts.check()?;
    let variants = opts.variants();
    let mut steps = tool_steps(opts);
    steps.extend(warm_steps(opts, &variants));
    steps.push(Step::commented(
        &[
            "The compiler cache for the builds that run FROM this image (mount SCCACHE_DIR, or point",
            "sccache at a remote backend with its SCCACHE_* variables).",
        ],
        env(&[("SCCACHE_DIR", SCCACHE_DIR), ("RUSTC_WRAPPER", "sccache")]),
    ));
    steps.push(Step {
        spaced: true,
        ..Step::new(Instruction::Workdir("/src".into()))
    });
    steps.push(Step::new(Instruction::Label(vec![
        (
            "org.opencontainers.image.title".into(),
            "rust-builder".into(),
        ),
        (
            "org.opencontainers.image.description".into(),
            format!(
                "Rust toolchain, {}mold, clang, sccache; prewarmed: {}",
                if opts.nextest.is_some() {
                    "cargo-nextest, "
                } else {
                    ""
                },
                summary(&variants)
            ),
        ),
        (TARGET_DIR_LABEL.into(), TARGET_DIR.into()),
    ])));
    Dockerfile {
        syntax: false,
        header: header(opts),
        stages: vec![Stage {
            name: String::new(),
            from: opts.base_image.clone(),
            comment: Vec::new(),
            steps,
        }],
        args: Vec::new(),
        layout: Layout::Indented,
    }
    .render()
}

fn header(opts: &Options) -> Vec<String> {
    let mut lines = vec![
        "rust-builder: a shared image for building and testing Rust projects, with commonly used"
            .to_string(),
        format!(
            "dependencies compiled ahead of time. {MARKER}; do not edit by hand. Regenerate with:"
        ),
        format!("  {}", opts.command_line()),
    ];
    lines.extend(
        [
            "",
            "Projects built FROM this image keep CARGO_TARGET_DIR (set below) and so reuse every prewarmed",
            "unit whose crate version, features, profile and flags match their own; the rest compile as",
            "usual. `prewarm image --builder-image IMAGE` writes a project Dockerfile FROM it that builds",
            "into that directory (read from the label io.prewarm.target-dir). To see how many units a",
            "project reuses:",
            "  prewarm builder-report --image IMAGE --manifest-path path/to/Cargo.toml [cargo flags]",
            "",
            "Portable: no heredocs, no COPY --link, no RUN --network, so BuildKit, Podman and Buildah all",
            "build it. Cache mounts (apt, the cargo registry for tool installs) never enter a layer.",
        ]
        .map(str::to_string),
    );
    lines
}

fn env(vars: &[(&str, &str)]) -> Instruction {
    Instruction::Env(
        vars.iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    )
}

fn run(mounts: Vec<Mount>, commands: Vec<Command>) -> Instruction {
    Instruction::Run(Run { mounts, commands })
}

/// The toolchain's environment, Debian's linkers and sccache, clippy and rustfmt, nextest.
fn tool_steps(opts: &Options) -> Vec<Step> {
    let mut steps = vec![
        Step::commented(
            &[
                "The toolchain's locations, as in the official rust image, stated so that tools and later",
                "stages can rely on them. CARGO_INCREMENTAL=0: sccache cannot cache incremental builds, and",
                "CI builds start from a clean workspace anyway.",
            ],
            env(&[
                ("CARGO_HOME", "/usr/local/cargo"),
                ("RUSTUP_HOME", "/usr/local/rustup"),
                ("CARGO_INCREMENTAL", "0"),
            ]),
        ),
        Step {
            hadolint_ignore: vec!["DL3008"],
            ..Step::commented(
                &[
                    "Linkers and the compiler cache from Debian: clang and mold (`-C link-arg=-fuse-ld=mold`),",
                    "sccache. apt's caches are cache mounts shared by concurrent builds (sharing=locked); the",
                    "image's docker-clean hook would empty them after every install, so it goes (builds FROM",
                    "this image should keep apt's caches in cache mounts too, or clean up after apt-get).",
                    "DL3008 (pin apt versions): the versions are those of the base image's Debian release;",
                    "pinning would break the build at each Debian point release.",
                ],
                run(
                    vec![
                        Mount::locked_cache("/var/cache/apt", None),
                        Mount::locked_cache("/var/lib/apt", None),
                    ],
                    vec![
                        Command::shell("rm -f /etc/apt/apt.conf.d/docker-clean"),
                        Command::args(["echo", "Binary::apt::APT::Keep-Downloaded-Packages \"true\";"])
                            .then_shell("> /etc/apt/apt.conf.d/keep-cache"),
                        Command::shell("apt-get update"),
                        Command::shell("apt-get install -y --no-install-recommends clang mold sccache"),
                        Command::shell("mold --version && sccache --version"),
                    ],
                ),
            )
        },
        Step::commented(
            &["clippy and rustfmt: most rust images have them; add whichever is missing."],
            run(
                Vec::new(),
                vec![
                    Command::shell("(cargo clippy --version || rustup component add clippy)"),
                    Command::shell("(cargo fmt --version || rustup component add rustfmt)"),
                    Command::shell("cargo clippy --version && cargo fmt --version"),
                ],
            ),
        ),
    ];
    if let Some(v) = &opts.nextest {
        steps.push(Step::commented(
            &[
                "cargo-nextest, built with its own lockfile (--locked). Its downloads stay in a cache mount",
                "and its build directory is temporary: only the binary enters the layer. The mount is",
                "shared, not locked: cargo locks the registry itself, and a locked mount would make this",
                "step wait for every other build that holds the same registry cache.",
            ],
            run(
                vec![Mount::cache("/usr/local/cargo/registry", None, Sharing::Shared)],
                vec![
                    Command::args(["cargo", "install", "--locked"])
                        .then_args([format!("cargo-nextest@{v}")]),
                    Command::shell("cargo nextest --version"),
                ],
            ),
        ));
    }
    steps
}

/// The warm workspace: written, resolved, and its dependencies compiled for every kind.
fn warm_steps(opts: &Options, variants: &[Variant]) -> Vec<Step> {
    let mut comment = vec![
        "The warm workspace: one package per feature set, built one at a time (-p), so that the"
            .to_string(),
        "feature sets are not unified with each other:".to_string(),
    ];
    for v in variants {
        comment.extend(wrapped(&format!("- {}:", v.package()), &v.about));
    }
    let mut steps = vec![
        Step::commented(
            &[
                "The prewarmed units live in a target directory at a fixed path. The variable stays set for",
                "every build FROM this image: that is what makes those builds find the units.",
            ],
            env(&[("CARGO_TARGET_DIR", TARGET_DIR)]),
        ),
        Step {
            comment,
            ..Step::new(Instruction::Workdir(WARM_DIR.into()))
        },
        Step::new(run(Vec::new(), workspace_commands(variants))),
    ];
    if let Some(lock) = &opts.lockfile {
        steps.push(Step::commented(
            &[
                "Versions pinned by a lockfile from the build context: cargo keeps every version it",
                "lists that the warm packages still use, and resolves only what it lacks.",
            ],
            Instruction::Copy {
                from: None,
                src: vec![lock.clone()],
                dst: "Cargo.lock".into(),
            },
        ));
        steps.push(Step::new(run(
            Vec::new(),
            vec![Command::shell("cargo fetch")],
        )));
    } else {
        steps.push(Step::commented(
            &[
                "Versions: the newest compatible ones when the image is built. Rebuild the image on a",
                "schedule (as projects run `cargo update`), or pin them with --lockfile.",
            ],
            run(Vec::new(), vec![Command::shell("cargo generate-lockfile && cargo fetch")]),
        ));
    }
    steps.push(compile_step(opts, variants));
    steps
}

/// `first` and the words of `text` as comment lines of at most 96 characters with their `# `,
/// later lines indented by two.
fn wrapped(first: &str, text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    for word in text.split_whitespace() {
        if line.len() + word.len() + 3 > 96 {
            lines.push(std::mem::replace(&mut line, " ".to_string()));
        }
        line.push(' ');
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// `mkdir`, the manifests written with `printf`, `touch` of the empty libraries.
fn workspace_commands(variants: &[Variant]) -> Vec<Command> {
    let members: Vec<String> = variants.iter().map(|v| format!("\"{}\"", v.name)).collect();
    let printf = |file: String, lines: &[String]| {
        let mut c = Command::args(["printf", "%s\\n"]);
        for l in lines {
            c = c.then_break().then_args([l.as_str()]);
        }
        c.then_break().then_shell(">").then_args([file])
    };
    let mut commands = vec![
        Command::args(["mkdir", "-p"])
            .then_args(variants.iter().map(|v| format!("{}/src", v.name))),
        printf(
            "Cargo.toml".into(),
            &[
                "[workspace]".to_string(),
                "resolver = \"2\"".to_string(),
                format!("members = [{}]", members.join(", ")),
            ],
        ),
    ];
    for v in variants {
        commands.push(printf(format!("{}/Cargo.toml", v.name), &v.manifest()));
    }
    commands.push(
        Command::shell("touch")
            .then_args(variants.iter().map(|v| format!("{}/src/lib.rs", v.name))),
    );
    commands
}

/// Every variant's dependencies compiled for every kind; the warm packages' own units removed.
fn compile_step(opts: &Options, variants: &[Variant]) -> Step {
    let kinds: Vec<&str> = opts.warm.iter().map(|k| k.name()).collect();
    let mut commands = Vec::new();
    for v in variants {
        for k in &opts.warm {
            commands.push(Command::shell(k.command()).then_args(["--locked", "-p", &v.package()]));
        }
    }
    commands.push(Command::shell("rm -rf").then_shell(WARM_LEFTOVERS));
    commands.push(Command::args(["du", "-sh", TARGET_DIR]));
    Step {
        comment: vec![
            format!(
                "Compile every variant's dependencies for: {}. No RUSTC_WRAPPER yet: the units",
                kinds.join(", ")
            ),
            "themselves are what the image keeps, and a wrapper is no part of their fingerprints.".into(),
            "The warm packages' own (empty) units go; the cargo registry (sources) stays, so builds FROM".into(),
            "the image need not download these crates again.".into(),
        ],
        ..Step::new(run(Vec::new(), commands))
    }
}

/// `tokio serde ...` of all variants, deduplicated, for the image's label.
fn summary(variants: &[Variant]) -> String {
    let mut names: Vec<&str> = variants
        .iter()
        .flat_map(|v| v.crates.iter().map(|c| c.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_leftovers_are_under_the_target_dir() {
        for glob in WARM_LEFTOVERS.split(' ') {
            assert!(glob.starts_with(&format!("{TARGET_DIR}/")), "{glob}");
        }
    }
}

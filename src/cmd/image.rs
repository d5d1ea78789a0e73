//! `prewarm image`: write a project's multi-stage Dockerfile (and a `.dockerignore`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::image_config::Config;
pub use super::image_runtime::Runtime;
use super::image_runtime::RuntimeArgs;
use crate::dockerfile::{self, check, Binary, BuildContext, Incremental, Linker, ProjectImage};
use crate::error::{Error, Result};
use crate::flags::BuildFlags;
use crate::manifest::relative_to;

/// The layout root inside the image when `--workdir` is not given.
pub const DEFAULT_WORKDIR: &str = "/app";

/// The image prewarm itself is copied from, unless `--prewarm-image` says otherwise: the one
/// published for this very version.
pub fn default_prewarm_image() -> String {
    format!("ghcr.io/prewarm-rs/prewarm:{}", env!("CARGO_PKG_VERSION"))
}

/// Write a project's multi-stage Dockerfile (planner, cook, build and runtime stages).
///
/// The planner stage writes the recipe, the cook stage builds only the dependencies into a
/// layer of their own, which stays cached for as long as the recipe does, the build stage
/// compiles the workspace's crates with the very same cargo flags, and a slim runtime stage
/// runs the binary as an unprivileged user. Downloads, and the incremental state of debug
/// builds, live in `BuildKit` cache mounts; credentials come in as secrets, never in a layer.
///
/// The Rust version comes from the workspace's rust-toolchain file, else `--rust-version`. A
/// `.dockerignore` is written next to the build context when there is none, leaving out build
/// output, version control data and secrets (cargo credentials, .env files, keys); prewarm
/// warns when an existing one lets cargo credentials into the context. When path
/// dependencies live outside the workspace root, the build context is the directory that holds
/// them all; prewarm prints the exact build command. The file uses no heredoc, no `COPY --link`
/// and no `RUN --network`, so Docker, Podman and Buildah all build it.
///
/// Example, in the workspace root:
///
///     prewarm image --release --bin my-service
///     docker build -t my-service .
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
#[allow(clippy::struct_excessive_bools)] // reason: one switch per user-facing option
pub struct ImageArgs {
    /// Path to Cargo.toml (of the workspace or any member).
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// Where to write the Dockerfile (`-` for standard output) [default: `Dockerfile` in the
    /// workspace root].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing Dockerfile that prewarm did not write.
    #[arg(long)]
    pub force: bool,
    /// Rust version of the base image, when the workspace has no rust-toolchain file naming one
    /// [default: 1.95].
    #[arg(long, value_name = "X.Y[.Z]", help_heading = "Image")]
    pub rust_version: Option<String>,
    /// The Rust image of the build stages [default: rust:<version>-bookworm].
    #[arg(
        long,
        value_name = "IMAGE",
        conflicts_with = "rust_version",
        help_heading = "Image"
    )]
    pub base_image: Option<String>,
    /// Debian packages the build stages install (repeatable; e.g. libssl-dev).
    #[arg(long, value_name = "PACKAGE", help_heading = "Image")]
    pub apt: Vec<String>,
    /// The linker: the toolchain's default, mold or LLVM's lld (installed from Debian).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "LINKER",
        help_heading = "Image"
    )]
    pub linker: Linker,
    /// An environment variable of every build stage (repeatable), set once in the base stage
    /// so that the cook and the build see the same value, e.g. `SQLX_OFFLINE=true`.
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Image")]
    pub env: Vec<String>,
    /// A build argument of the cook and build stages (repeatable), given to the build with
    /// `--build-arg NAME=VALUE`; DEFAULT when it is not.
    #[arg(long, value_name = "NAME[=DEFAULT]", help_heading = "Image")]
    pub build_arg: Vec<String>,
    /// For a `--target` of another architecture, install Debian's cross C toolchain for it and
    /// link with it (e.g. gcc-aarch64-linux-gnu).
    #[arg(long, help_heading = "Image")]
    pub cross: bool,
    /// Compile through sccache: its cache in a cache mount of the builder (`local`, the
    /// default), or shared by every runner in a remote backend whose endpoint and credentials
    /// come in as the `BuildKit` secret `sccache-env` (an environment file).
    #[arg(
        long,
        value_enum,
        value_name = "BACKEND",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "local",
        help_heading = "Image"
    )]
    pub sccache: Option<crate::dockerfile::sccache::Backend>,
    /// For ephemeral CI runners that share only a registry cache: keep the crate sources in
    /// the cook layer rather than in cache mounts, so that a runner that gets the cooked layer
    /// from the registry downloads no crate again (see the README's "CI fleets").
    #[arg(long, help_heading = "Image")]
    pub ci: bool,
    /// Keep the workspace crates' incremental state in a cache mount, and turn incremental
    /// compilation on for release-like profiles (faster rebuilds after an edit; the binary may
    /// run a little slower). Debug builds always keep it.
    #[arg(long, help_heading = "Image")]
    pub incremental: bool,
    /// The directory the sources go to inside the image.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_WORKDIR, help_heading = "Image")]
    pub workdir: String,
    /// The image prewarm itself is copied from [default: ghcr.io/prewarm-rs/prewarm:<version>].
    #[arg(long, value_name = "IMAGE", help_heading = "Image")]
    pub prewarm_image: Option<String>,
    /// Give cargo a private registry's credentials through the `BuildKit` secret
    /// `cargo-credentials` (a credentials.toml), never through a layer or a build argument.
    #[arg(long, help_heading = "Image")]
    pub cargo_credentials: bool,
    /// Give git dependencies credentials through the `BuildKit` secret `git-credentials` (a
    /// git-credential-store file); cargo then fetches with the git command line.
    #[arg(long, help_heading = "Image")]
    pub git_credentials: bool,
    /// Leave out the `# syntax=docker/dockerfile:1` line (for builders that cannot pull it).
    #[arg(long, help_heading = "Image")]
    pub no_syntax: bool,
    /// The runtime stage and what goes into it.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// The cargo flags of the cook and the build (always with `--locked`).
    #[command(flatten)]
    pub flags: BuildFlags,
    /// The shared rust-builder image (`--builder`) and its options.
    #[command(flatten)]
    pub builder: crate::builder::args::BuilderArgs,
    /// tiers (issue 11): the tier stages' options.
    #[command(flatten)]
    pub tiers: TierArgs,
}

/// tiers (issue 11): `--tiers` and `--max-tiers`.
#[derive(Debug, Clone, Args)]
pub struct TierArgs {
    /// Build the workspace's own crates in tiers, one layer each in the order of their local
    /// dependencies, so that an edit recompiles only its crate's tier and the later ones (auto:
    /// when the build compiles at least two local crates).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "WHEN",
        help_heading = "Image"
    )]
    pub tiers: crate::tiers::TiersMode,
    /// At most this many tier stages (the smallest adjacent tiers are merged).
    #[arg(long, value_name = "N", default_value_t = crate::tiers::DEFAULT_MAX_TIERS, help_heading = "Image")]
    pub max_tiers: usize,
}

impl TierArgs {
    /// The tier stages for a build with `flags` (`target_dir` as cargo config or `--target-dir`
    /// set it, relative to the workspace, whose directory in the image is `workspace_in_image`).
    fn stages(
        &self,
        input: crate::tiers::Input<'_>,
        flags: &BuildFlags,
        target_dir: &str,
        workspace_in_image: &str,
    ) -> Result<Option<dockerfile::tiers::TierStages>> {
        let target_in_image = if Path::new(target_dir).is_absolute() {
            target_dir.to_string()
        } else {
            format!("{workspace_in_image}/{target_dir}")
        };
        crate::tiers::image_stages(input, flags, self.tiers, self.max_tiers, &target_in_image)
    }
}

/// A generated Dockerfile and where its files go.
#[derive(Debug)]
pub struct Generated {
    /// The resolved image description.
    pub image: ProjectImage,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Where to write it (`None`: standard output).
    pub dockerfile_path: Option<PathBuf>,
    /// The build context directory.
    pub context_dir: PathBuf,
    /// The `.dockerignore` to write, when the context has none.
    pub dockerignore: Option<(PathBuf, String)>,
}

/// Runs `prewarm image`.
pub fn run(args: &ImageArgs) -> Result<()> {
    // `--builder` (the shared rust-builder image) hooks in here, before the project is read.
    if args.builder.builder {
        return crate::builder::args::run(
            &args.builder,
            args.base_image.as_deref(),
            args.rust_version.as_deref(),
            args.output.as_deref(),
            args.force,
        );
    }
    let generated = generate(args)?;
    let Some(path) = &generated.dockerfile_path else {
        std::io::stdout()
            .write_all(generated.dockerfile.as_bytes())
            .map_err(|e| Error::io("write", Path::new("<stdout>"), &e))?;
        warn_exposed_credentials(&generated.context_dir)?;
        return Ok(());
    };
    check_overwrite(path, args.force)?;
    crate::fs::write_atomic(path, &generated.dockerfile)?;
    let mut written = vec![format!("`{}`", path.display())];
    if let Some((ignore_path, text)) = &generated.dockerignore {
        crate::fs::write_atomic(ignore_path, text)?;
        written.push(format!("`{}`", ignore_path.display()));
    }
    crate::status!("wrote {}", written.join(" and "));
    let ignore = generated.context_dir.join(".dockerignore");
    if generated.dockerignore.is_none() {
        warn_exposed_credentials(&generated.context_dir)?;
        let text = std::fs::read_to_string(&ignore).unwrap_or_default();
        if !text.lines().any(|l| l.contains("target")) {
            crate::status!("note: `{}` does not leave out `target`: the build context would carry the build output, and any change in it would rebuild the source layers",
                ignore.display()
            );
        }
    }
    let context = &generated.image.context.from_workspace;
    let mut text = if context == "." {
        "build it from the workspace root with".to_string()
    } else {
        format!(
            "the build context is `{}` (the directory holding the workspace and its path dependencies); build it from there with",
            generated.context_dir.display()
        )
    };
    for cmd in generated.image.build_commands() {
        text.push_str("\n    ");
        text.push_str(&cmd);
    }
    crate::status!("{text}");
    Ok(())
}

/// Warns about each cargo credentials file in the build context that its `.dockerignore` (one
/// prewarm did not write, or none) lets in: `COPY . .` would put the registry token in a layer.
fn warn_exposed_credentials(context_dir: &Path) -> Result<()> {
    let path = context_dir.join(".dockerignore");
    let text = if path.exists() {
        crate::fs::read_to_string(&path)?
    } else {
        String::new()
    };
    let ignore = dockerfile::ignore::Ignore::parse(&text);
    for file in dockerfile::ignore::exposed_credentials(context_dir, &ignore) {
        crate::status!("warning: `{}` is in the build context: {}, so `COPY . .` would store the registry token it holds in an image layer\n  (hint: add `**/.cargo/credentials` and `**/.cargo/credentials.toml` to `{}`, and give cargo its credentials with --cargo-credentials, as a BuildKit secret)",
            context_dir.join(&file).display(),
            if text.is_empty() && !path.exists() {
                "there is no `.dockerignore` to leave it out".to_string()
            } else {
                format!("`{}` does not leave it out", path.display())
            },
            path.display()
        );
    }
    Ok(())
}

/// Refuses to overwrite a file that prewarm did not write, unless forced.
fn check_overwrite(path: &Path, force: bool) -> Result<()> {
    if force || !path.exists() {
        return Ok(());
    }
    let text = crate::fs::read_to_string(path)?;
    let ours = text
        .lines()
        .take(3)
        .any(|l| l.starts_with(dockerfile::MARKER));
    if ours {
        return Ok(());
    }
    Err(Error::input(format!(
        "`{}` exists and was not written by prewarm",
        path.display()
    ))
    .with_hint("pass --force to overwrite it, or --output to write somewhere else"))
}

/// The cargo flags of the image's build (`--locked` unless `--frozen`), the binaries it ships
/// with where cargo puts them, the target directory and the output directory.
fn resolve_binaries(
    args: &ImageArgs,
    ws: &crate::metadata::Workspace,
    config: &Config,
) -> Result<(BuildFlags, Vec<Binary>, String, String)> {
    let mut flags = args.flags.clone();
    let names = select_binaries(ws, &mut flags, args.runtime.runtime)?;
    check_binary_names(&names, args.runtime.runtime)?;
    if !flags.frozen {
        flags.locked = true;
    }
    let target_dir = flags
        .target_dir
        .clone()
        .unwrap_or_else(|| config.target_dir.clone());
    let out_dir = out_dir(&flags, config, &target_dir, !names.is_empty())?;
    let binaries = names
        .into_iter()
        .map(|name| Binary {
            built_at: format!("{out_dir}/{name}"),
            name,
        })
        .collect();
    Ok((flags, binaries, target_dir, out_dir))
}

/// Resolves the workspace and the options into the Dockerfile (and `.dockerignore`) text.
pub fn generate(args: &ImageArgs) -> Result<Generated> {
    let crate::plan::Plan {
        recipe,
        workspace: ws,
        layout_root,
        locals,
        ..
    } = crate::plan::plan(&args.manifest_path)?;
    let ws_root = crate::fs::canonicalize(&ws.root)?;
    let config = Config::read(&ws_root, &layout_root)?;

    let workdir = check_dir(&args.workdir, "`--workdir`")?;
    check_options(args, &recipe.workspace)?;
    super::image_checks::combinations(args)?;
    super::image_checks::base_image_target_dir(args)?;
    let (flags, binaries, target_dir, out_dir) = resolve_binaries(args, &ws, &config)?;
    let flags_targets = flags.target.clone();
    let workspace_in_image = if recipe.workspace == "." {
        workdir.clone()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), recipe.workspace)
    };
    let incremental = incremental(&flags, &out_dir, &workspace_in_image, args.incremental);
    let triple = flags
        .target
        .first()
        .or(config.target.as_ref())
        .cloned()
        .unwrap_or_else(crate::linker::host_triple);
    let linking = super::image_checks::linking(args, &config, &triple, &ws_root)?;
    let (env, build_args) = build_env(args)?;
    let runtime = super::image_runtime::resolve(
        &args.runtime,
        &crate::defaults::runtime_image(),
        &ws_root,
        &recipe.workspace,
    )?;

    let base_image = base_image(args, &config)?;

    let name = image_name(&ws, &binaries);
    let (dockerfile_path, context) =
        placement(args.output.as_deref(), &ws_root, &layout_root, &name)?;
    check::text(&context.dockerfile, "`--output`")?;
    check::text(
        &context.from_workspace,
        "the build context's path, relative to the workspace",
    )?;
    // tiers (issue 11): with the final flags, so that each tier builds what the build does.
    let tiers = args.tiers.stages(
        crate::tiers::Input::new(&recipe, &ws, &layout_root, &locals),
        &flags,
        &target_dir,
        &workspace_in_image,
    )?;
    let image = ProjectImage {
        name,
        invocation: invocation(args),
        version: env!("CARGO_PKG_VERSION").to_string(),
        syntax: !args.no_syntax,
        base_image,
        runtime,
        prewarm_image: args
            .prewarm_image
            .clone()
            .unwrap_or_else(default_prewarm_image),
        workdir,
        workspace: recipe.workspace.clone(),
        flags,
        binaries,
        linker: args.linker,
        sccache: args.sccache,
        sources_in_layer: args.ci,
        incremental,
        rustup_targets: if flags_targets.is_empty() {
            config.target.iter().cloned().collect()
        } else {
            flags_targets
        },
        build_packages: args.apt.clone(),
        config_packages: linking.needs,
        linker_env: linking.env,
        env,
        build_args,
        cargo_credentials: args.cargo_credentials,
        git_credentials: args.git_credentials,
        context,
        tiers,
    };

    let dockerignore = dockerfile_path
        .as_ref()
        .and_then(|_| dockerignore(&image, &ws_root, &layout_root, &target_dir));
    Ok(Generated {
        dockerfile: image.dockerfile().render()?,
        image,
        dockerfile_path,
        context_dir: layout_root,
        dockerignore,
    })
}

/// `--env` and `--build-arg`, checked; a name given twice, or by both, is refused.
/// `--env` pairs and `--build-arg` names with their defaults.
type BuildEnv = (Vec<(String, String)>, Vec<(String, Option<String>)>);

fn build_env(args: &ImageArgs) -> Result<BuildEnv> {
    let env = args
        .env
        .iter()
        .map(|e| check::env_pair(e, "`--env`"))
        .collect::<Result<Vec<_>>>()?;
    let build_args = args
        .build_arg
        .iter()
        .map(|a| check::build_arg(a, "`--build-arg`"))
        .collect::<Result<Vec<_>>>()?;
    let mut seen: Vec<&str> = Vec::new();
    let reserved = [
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "SCCACHE_DIR",
        "CARGO_NET_GIT_FETCH_WITH_CLI",
    ];
    for name in env
        .iter()
        .map(|(k, _)| k)
        .chain(build_args.iter().map(|(k, _)| k))
    {
        if seen.contains(&name.as_str()) {
            return Err(Error::input(format!(
                "`{name}` is given twice by --env and --build-arg"
            ))
            .with_hint("give each variable once: --env for a fixed value, --build-arg for one the build command passes"));
        }
        if reserved.contains(&name.as_str()) || name.starts_with("GIT_CONFIG_") {
            return Err(Error::input(format!(
                "`{name}` (from --env or --build-arg) is set by prewarm itself, for --linker, --sccache or --git-credentials"
            ))
            .with_hint("use the prewarm option instead; for rustc flags of your own, set `build.rustflags` in .cargo/config.toml"));
        }
        seen.push(name);
    }
    Ok((env, build_args))
}

/// Several binaries get a runtime stage each: their stage names must differ.
fn check_binary_names(binaries: &[String], runtime: Runtime) -> Result<()> {
    let mut stages: Vec<(String, &str)> = Vec::new();
    for b in binaries {
        check::cargo_name(b, "the workspace's binary targets")?;
        let stage = dockerfile::runtime::stage_name(b);
        if runtime != Runtime::None && binaries.len() > 1 {
            if let Some((_, other)) = stages.iter().find(|(s, _)| *s == stage) {
                return Err(Error::input(format!(
                    "the binaries `{other}` and `{b}` would both get the runtime stage `{stage}`"
                ))
                .with_hint("build them in two images: run prewarm image with one of the --bin options each, and --output"));
            }
        }
        stages.push((stage, b));
    }
    Ok(())
}

/// Checks every option that reaches the Dockerfile for its kind, where it is known which flag
/// it came from (the Dockerfile model checks each again for the place it is written into), and
/// the workspace's directory in the build context.
fn check_options(args: &ImageArgs, workspace: &str) -> Result<()> {
    check::build_flags(&args.flags)?;
    if let Some(out) = &args.output {
        check::text(&out.to_string_lossy(), "`--output`")?;
    }
    for (origin, image) in [
        ("`--base-image`", &args.base_image),
        ("`--prewarm-image`", &args.prewarm_image),
    ] {
        if let Some(image) = image {
            check::image_ref(image, origin)?;
        }
    }
    for p in &args.apt {
        check::debian_package(p, "`--apt`")?;
    }
    check::path(
        workspace,
        "the workspace's directory, relative to the build context",
    )
}

/// The Rust image of the build stages: `--base-image`, else the official image of the Rust
/// version.
fn base_image(args: &ImageArgs, config: &Config) -> Result<String> {
    if let Some(image) = &args.base_image {
        return Ok(image.clone());
    }
    let image = crate::defaults::rust_image(&rust_version(args.rust_version.as_deref(), config)?);
    check::image_ref(&image, "`--rust-version`")?;
    Ok(image)
}

/// Where cargo puts the binaries: `<target-dir>[/<triple>]/<profile>`, relative to the
/// workspace root (or absolute).
fn out_dir(
    flags: &BuildFlags,
    config: &Config,
    target_dir: &str,
    has_binaries: bool,
) -> Result<String> {
    let triple = match (flags.target.as_slice(), &config.target) {
        ([], t) => t.clone(),
        ([t], _) => Some(t.clone()),
        (_, _) if !has_binaries => None,
        (many, _) => {
            return Err(Error::input(format!(
                "an image holds binaries for one target, but {} targets were given ({})",
                many.len(),
                many.join(", ")
            ))
            .with_hint("pass one --target, or --runtime none without --bin"));
        }
    };
    let mut dir = target_dir.to_string();
    if let Some(t) = &triple {
        dir = format!("{dir}/{t}");
    }
    Ok(format!("{dir}/{}", flags.profile_dir()))
}

/// The incremental cache mount: always for dev-like profiles (incremental already), with
/// `--incremental` for the others (which it turns incremental).
fn incremental(
    flags: &BuildFlags,
    out_dir: &str,
    workspace_in_image: &str,
    on: bool,
) -> Option<Incremental> {
    let dev_like = flags.profile_dir() == "debug";
    if !(dev_like || on) {
        return None;
    }
    let dir = if Path::new(out_dir).is_absolute() {
        format!("{out_dir}/incremental")
    } else {
        format!("{workspace_in_image}/{out_dir}/incremental")
    };
    let profile_env = (!dev_like).then(|| {
        let name = flags.profile.clone().unwrap_or_else(|| "release".into());
        format!(
            "CARGO_PROFILE_{}_INCREMENTAL",
            name.to_uppercase().replace('-', "_")
        )
    });
    Some(Incremental { dir, profile_env })
}

/// Where the Dockerfile goes (`None`: standard output) and how it is built from the context.
fn placement(
    output: Option<&Path>,
    ws_root: &Path,
    layout_root: &Path,
    tag: &str,
) -> Result<(Option<PathBuf>, BuildContext)> {
    let path = match output {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(absolute(p)?),
        None => Some(ws_root.join("Dockerfile")),
    };
    // Written to standard output, the header still assumes the default place.
    let placed = path.clone().unwrap_or_else(|| ws_root.join("Dockerfile"));
    let dockerfile = if placed.starts_with(layout_root) {
        relative_to(&placed, layout_root)
    } else {
        placed.display().to_string()
    };
    let context = BuildContext {
        dockerfile,
        from_workspace: relative_to(layout_root, ws_root),
        tag: tag.to_string(),
    };
    Ok((path, context))
}

/// The `.dockerignore` for the build context, unless it has one: the usual, and a configured
/// target directory by its name.
fn dockerignore(
    image: &ProjectImage,
    ws_root: &Path,
    layout_root: &Path,
    target_dir: &str,
) -> Option<(PathBuf, String)> {
    let path = layout_root.join(".dockerignore");
    if path.exists() {
        return None;
    }
    let mut extra = Vec::new();
    let abs_target = ws_root.join(target_dir);
    if !Path::new(target_dir).is_absolute()
        && abs_target.starts_with(layout_root)
        && abs_target.file_name().is_some_and(|n| n != "target")
    {
        extra.push(relative_to(&abs_target, layout_root));
    }
    Some((path, image.dockerignore(&extra)))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io("read", Path::new("."), &e))?;
    let joined = cwd.join(p);
    // Resolve the directory (it must exist) but not the file (it may not yet).
    match (joined.parent(), joined.file_name()) {
        (Some(dir), Some(name)) if dir.is_dir() => Ok(crate::fs::canonicalize(dir)?.join(name)),
        _ => Ok(joined),
    }
}

/// An absolute directory of an option (`--workdir`, `--runtime-workdir`), without its
/// trailing `/`.
pub fn check_dir(dir: &str, origin: &str) -> Result<String> {
    if !dir.starts_with('/') || dir.trim_end_matches('/').is_empty() {
        return Err(Error::input(format!(
            "{} {}` is not a plain absolute directory",
            origin.trim_end_matches('`'),
            check::shown(dir)
        ))
        .with_hint("pass an absolute path without spaces or quotes, such as /app"));
    }
    check::path(dir, origin)?;
    Ok(dir.trim_end_matches('/').to_string())
}

/// The binaries the image runs: `--bin` as given (checked), else the workspace's only binary.
/// A chosen binary is added to the flags, so the cook builds exactly its dependencies.
fn select_binaries(
    ws: &crate::metadata::Workspace,
    flags: &mut BuildFlags,
    runtime: Runtime,
) -> Result<Vec<String>> {
    use crate::metadata::TargetKind;
    let selected = |p: &crate::metadata::Package| {
        flags.package.is_empty()
            || flags
                .package
                .iter()
                .any(|s| s.split(['@', ':']).next() == Some(p.name.as_str()))
    };
    let all: Vec<(&str, &crate::metadata::Target)> = ws
        .packages
        .iter()
        .filter(|p| selected(p))
        .flat_map(|p| p.targets.iter().map(move |t| (p.name.as_str(), t)))
        .filter(|(_, t)| t.kind == TargetKind::Bin)
        .collect();
    let mut names: Vec<String> = all.iter().map(|(_, t)| t.name.clone()).collect();
    names.sort();
    names.dedup();
    if !flags.bin.is_empty() {
        for b in &flags.bin {
            if !names.contains(b) {
                return Err(
                    Error::input(format!("no binary `{b}` in the workspace")).with_hint(
                        if names.is_empty() {
                            "the workspace has no binary targets".to_string()
                        } else {
                            format!("its binaries: {}", names.join(", "))
                        },
                    ),
                );
            }
        }
        return Ok(flags.bin.clone());
    }
    let other_selection = flags.bins
        || flags.lib
        || flags.examples
        || flags.tests
        || flags.benches
        || flags.all_targets
        || !flags.example.is_empty()
        || !flags.test.is_empty()
        || !flags.bench.is_empty();
    if runtime == Runtime::None && other_selection {
        return Ok(Vec::new());
    }
    let plain: Vec<String> = {
        let mut v: Vec<String> = all
            .iter()
            .filter(|(_, t)| t.required_features.is_empty())
            .map(|(_, t)| t.name.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    match plain.as_slice() {
        [one] => {
            flags.bin.push(one.clone());
            Ok(vec![one.clone()])
        }
        [] if runtime == Runtime::None => Ok(Vec::new()),
        [] => Err(Error::input("the workspace has no binary for the runtime stage to run")
            .with_hint(if names.is_empty() {
                "pass --runtime none to write an image that only builds".to_string()
            } else {
                format!("pick one with --bin (its binaries: {}), or pass --runtime none", names.join(", "))
            })),
        many => Err(Error::input(format!(
            "the workspace has several binaries ({}); the image needs to know which to build and run",
            many.join(", ")
        ))
        .with_hint("pick one with --bin NAME (repeat --bin for several; the first is the entrypoint)")),
    }
}

/// A name for the image (tag, comments, cache ids): the binary, else the package, else the
/// workspace directory; lowercase, in the characters an image tag and a cache id allow.
fn image_name(ws: &crate::metadata::Workspace, binaries: &[Binary]) -> String {
    let root_pkg = ws.packages.iter().find(|p| p.dir() == ws.root);
    let name = match (binaries.first(), root_pkg, ws.packages.as_slice()) {
        (Some(b), _, _) => b.name.clone(),
        (None, Some(p), _) | (None, None, [p]) => p.name.clone(),
        _ => ws
            .root
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    };
    let clean: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if clean.is_empty() {
        "app".into()
    } else {
        clean
    }
}

/// The Rust version: a numeric toolchain channel wins; `--rust-version` may only agree with it.
fn rust_version(flag: Option<&str>, config: &Config) -> Result<String> {
    let numeric = |v: &str| check::rust_release(v, "").is_ok();
    if let Some(v) = flag {
        check::rust_release(v, "`--rust-version`")?;
    }
    match (&config.toolchain, flag) {
        (Some((file, channel)), Some(v)) if numeric(channel) && channel != v => Err(Error::input(format!(
            "`--rust-version {v}` disagrees with `{}`, which pins {channel}; rustup in the image would install {channel} anyway",
            file.display()
        ))
        .with_hint("drop --rust-version, or change the toolchain file")),
        (Some((_, channel)), None) if numeric(channel) => Ok(channel.clone()),
        (_, Some(v)) => Ok(v.to_string()),
        _ => Ok(crate::defaults::RUST_VERSION.to_string()),
    }
}

/// The canonical command line that writes the same file (for the header).
fn invocation(args: &ImageArgs) -> String {
    let mut w: Vec<String> = vec!["prewarm".into(), "image".into()];
    w.extend(args.flags.to_args());
    for (name, v) in [
        ("rust-version", &args.rust_version),
        ("base-image", &args.base_image),
    ] {
        if let Some(v) = v {
            w.push(format!("--{name}={v}"));
        }
    }
    for (name, values) in [("env", &args.env), ("build-arg", &args.build_arg)] {
        w.extend(values.iter().map(|v| format!("--{name}={v}")));
    }
    w.extend(args.runtime.invocation());
    let mut apt = args.apt.clone();
    apt.sort();
    for p in &apt {
        w.push(format!("--apt={p}"));
    }
    if args.linker != Linker::Default {
        if let Some(v) = args.linker.to_possible_value() {
            w.push(format!("--linker={}", v.get_name()));
        }
    }
    match args.sccache {
        Some(crate::dockerfile::sccache::Backend::Local) => w.push("--sccache".into()),
        Some(backend) => w.push(format!("--sccache={}", backend.name())),
        None => {}
    }
    for (on, name) in [
        (args.cross, "--cross"),
        (args.ci, "--ci"),
        (args.incremental, "--incremental"),
        (args.cargo_credentials, "--cargo-credentials"),
        (args.git_credentials, "--git-credentials"),
        (args.no_syntax, "--no-syntax"),
    ] {
        if on {
            w.push(name.into());
        }
    }
    // tiers (issue 11)
    if args.tiers.tiers == crate::tiers::TiersMode::Off {
        w.push("--tiers=off".into());
    } else if args.tiers.max_tiers != crate::tiers::DEFAULT_MAX_TIERS {
        w.push(format!("--max-tiers={}", args.tiers.max_tiers));
    }
    if args.workdir.trim_end_matches('/') != DEFAULT_WORKDIR {
        w.push(format!("--workdir={}", args.workdir));
    }
    let default_prewarm = default_prewarm_image();
    if let Some(p) = args
        .prewarm_image
        .as_ref()
        .filter(|p| **p != default_prewarm)
    {
        w.push(format!("--prewarm-image={p}"));
    }
    dockerfile::shell_line(&w)
}

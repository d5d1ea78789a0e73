//! The project image: `prewarm image`'s options resolved, against the workspace, its cargo
//! config and its toolchain file, into a [`ProjectImage`] that [`crate::dockerfile`] renders.
//!
//! - [`args`]: the options (clap) and the canonical command line for the header;
//! - [`config`]: what the cargo config and toolchain files say (read through [`crate::config`]);
//! - [`binaries`]: which binaries the image builds and runs, and where cargo puts them;
//! - [`checks`]: the option combinations, the linker and cross setup, the base image;
//! - [`prewarm`]: where the Dockerfile gets prewarm itself;
//! - [`runtime`]: the runtime stage's options.

pub mod args;
pub mod binaries;
pub mod checks;
pub mod config;
pub mod prewarm;
pub mod runtime;

use std::path::{Path, PathBuf};

use crate::dockerfile::{check, BuildContext, Incremental, ProjectImage};
use crate::error::{Error, Result};
use crate::flags::BuildFlags;
use crate::manifest::relative_to;
pub use args::{default_prewarm_image, ImageArgs, TierArgs, DEFAULT_WORKDIR};
use config::Config;
pub use runtime::Runtime;

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

/// Resolves the workspace and the options into the Dockerfile (and `.dockerignore`) text.
pub fn generate(given: &ImageArgs) -> Result<Generated> {
    let builder = checks::builder_base(given)?;
    let applied = builder.as_ref().map(|b| b.apply(given));
    let args = applied.as_ref().unwrap_or(given);
    let plan = crate::plan::plan(&args.manifest_path)?;
    let ws_root = crate::fs::canonicalize(&plan.workspace.root)?;
    let config = Config::read(&ws_root, &plan.layout_root)?;
    let workdir = check_dir(&args.workdir, "`--workdir`")?;
    check_options(args, &plan.recipe.workspace)?;
    checks::combinations(args)?;
    checks::base_image_target_dir(args)?;
    let build = build(args, &plan, &config, &workdir)?;
    let linking = checks::linking(args, &config, &build.triple, &ws_root)?;
    let (env, build_args) = build_env(args, builder.is_some())?;
    let runtime = runtime::resolve(
        &args.runtime,
        &crate::defaults::runtime_image(),
        &ws_root,
        &plan.recipe.workspace,
    )?;
    let base_image = base_image(args, &config)?;
    let prewarm = prewarm::resolve(args, &ws_root, &plan.recipe.workspace, &plan.layout_root)?;
    let name = binaries::image_name(&plan.workspace, &build.binaries);
    let (dockerfile_path, context) =
        placement(args.output.as_deref(), &ws_root, &plan.layout_root, &name)?;
    // tiers (issue 11): with the final flags, so that each tier builds what the build does.
    let tiers = args.tiers.stages(
        crate::tiers::Input::new(
            &plan.recipe,
            &plan.workspace,
            &plan.layout_root,
            &plan.locals,
        ),
        &build.flags,
        &build.target_dir,
        &build.workspace_in_image,
    )?;
    let image = ProjectImage {
        name,
        invocation: args::invocation(given),
        version: env!("CARGO_PKG_VERSION").to_string(),
        syntax: !args.no_syntax,
        base_image,
        runtime,
        prewarm,
        workdir,
        workspace: plan.recipe.workspace.clone(),
        flags: build.flags,
        binaries: build.binaries,
        linker: args.linker,
        sccache: args.sccache,
        sources_in_layer: args.ci,
        incremental: build.incremental,
        rustup_targets: build.rustup_targets,
        build_packages: args.apt.clone(),
        config_packages: linking.needs,
        linker_env: linking.env,
        env,
        build_args,
        cargo_credentials: args.cargo_credentials,
        git_credentials: args.git_credentials,
        context,
        tiers,
        deps_stage: args.deps_stage == args::DepsStage::On,
        builder_base: builder.is_some(),
        builder_arg: builder.as_ref().is_some_and(|b| b.by_flag),
    };
    let dockerignore = dockerfile_path
        .as_ref()
        .and_then(|_| dockerignore(&image, &ws_root, &plan.layout_root, &build.target_dir));
    Ok(Generated {
        dockerfile: image.dockerfile().render()?,
        image,
        dockerfile_path,
        context_dir: plan.layout_root,
        dockerignore,
    })
}

/// The cargo side of the image's build, resolved: flags, binaries, directories, tiers.
struct Build {
    flags: BuildFlags,
    binaries: Vec<crate::dockerfile::Binary>,
    /// The target directory, relative to the workspace (or absolute).
    target_dir: String,
    /// The workspace's directory in the image.
    workspace_in_image: String,
    incremental: Option<Incremental>,
    /// The triple built for (`--target`, else `build.target`, else the host's).
    triple: String,
    rustup_targets: Vec<String>,
}

/// The image's build with the workspace at `workdir` in the image.
fn build(
    args: &ImageArgs,
    plan: &crate::plan::Plan,
    config: &Config,
    workdir: &str,
) -> Result<Build> {
    let (flags, binaries, target_dir, out_dir) =
        binaries::resolve_binaries(args, &plan.workspace, config)?;
    let workspace_in_image = if plan.recipe.workspace == "." {
        workdir.to_string()
    } else {
        format!(
            "{}/{}",
            workdir.trim_end_matches('/'),
            plan.recipe.workspace
        )
    };
    let incremental = incremental(&flags, &out_dir, &workspace_in_image, args.incremental);
    let triple = flags
        .target
        .first()
        .or(config.target.as_ref())
        .cloned()
        .unwrap_or_else(crate::linker::host_triple);
    let rustup_targets = if flags.target.is_empty() {
        config.target.iter().cloned().collect()
    } else {
        flags.target.clone()
    };
    Ok(Build {
        flags,
        binaries,
        target_dir,
        workspace_in_image,
        incremental,
        triple,
        rustup_targets,
    })
}

/// `--env` and `--build-arg`, checked; a name given twice, or by both, is refused.
/// `--env` pairs and `--build-arg` names with their defaults.
type BuildEnv = (Vec<(String, String)>, Vec<(String, Option<String>)>);

/// `from_builder`: the base image is a rust-builder image, whose `RUSTC_WRAPPER=sccache` is
/// turned off when the build does not use sccache (incremental units, which it cannot cache).
fn build_env(args: &ImageArgs, from_builder: bool) -> Result<BuildEnv> {
    let env = check::env_pairs(&args.env, "`--env`")?;
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
    let mut env = env;
    if from_builder && args.sccache.is_none() {
        env.push(("RUSTC_WRAPPER".into(), String::new()));
    }
    Ok((env, build_args))
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

/// Where the Dockerfile goes (`None`: standard output) and how it is built from the context
/// (both checked for the header they are written into).
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
    check::text(&context.dockerfile, "`--output`")?;
    check::text(
        &context.from_workspace,
        "the build context's path, relative to the workspace",
    )?;
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
    // A prewarm binary under a build directory (target/release/prewarm) is taken back in.
    if let crate::dockerfile::PrewarmSource::ContextBinary(binary) = &image.prewarm {
        let ignore = crate::dockerfile::ignore::Ignore::parse(&image.dockerignore(&extra));
        if ignore.excludes(binary) {
            extra.push(format!("!{binary}"));
        }
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

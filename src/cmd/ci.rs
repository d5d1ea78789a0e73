//! `prewarm ci`: write CI configuration.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::ci::{self, GithubOptions};
use crate::error::{Error, Result};

/// The CI systems prewarm writes configuration for.
#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Write GitHub Actions workflows that build the images with a layered cache, and clean it.
    ///
    /// `images.yml` builds the rust-builder image and the project's image with buildx, caching
    /// layers in GitHub Actions (a scope per branch, plus a shared fallback scope that only the
    /// default branch writes) and in the registry (`<image>:cache`, mode=max), and pushes them
    /// to the registry with the workflow's own token. `cache-cleanup.yml` deletes GitHub
    /// Actions cache entries and untagged image versions unused for `--retention-days` days,
    /// weekly or on demand (with a dry-run switch).
    ///
    /// Example:
    ///
    ///     prewarm ci github --retention-days 14
    Github(GithubArgs),
}

/// Options of `prewarm ci github`.
#[derive(Debug, Args)]
pub struct GithubArgs {
    /// Where the workflow files go [default: `.github/workflows` in the git repository's root,
    /// found from the current directory upward].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Overwrite workflow files that prewarm did not write.
    #[arg(long)]
    pub force: bool,
    /// The image name in the registry, without tag; the builder image is `<NAME>/rust-builder`
    /// [default: the repository's owner/name].
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// The registry images and the registry cache are pushed to (ghcr.io: logged in with the
    /// workflow's `GITHUB_TOKEN`; any other: with the `REGISTRY_USERNAME` and
    /// `REGISTRY_PASSWORD` secrets).
    #[arg(long, value_name = "HOST", default_value = "ghcr.io")]
    pub registry: String,
    /// Days an unused cache entry or untagged image version is kept by the clean-up.
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=400))]
    pub retention_days: u32,
    /// When the clean-up runs, as a cron expression (UTC).
    #[arg(long, value_name = "CRON", default_value = "0 2 * * 0")]
    pub cron: String,
    /// When the builder image is rebuilt without its layer cache, so that its prewarmed crates
    /// move to their newest versions, as a cron expression (UTC).
    #[arg(
        long,
        value_name = "CRON",
        default_value = "0 3 * * 1",
        conflicts_with = "no_refresh"
    )]
    pub refresh_cron: String,
    /// No scheduled rebuild of the builder image.
    #[arg(long)]
    pub no_refresh: bool,
    /// The builder image's Dockerfile, relative to the repository root.
    #[arg(long, value_name = "PATH", default_value = crate::builder::CHECKED_IN_PATH)]
    pub builder_dockerfile: String,
    /// The project image's Dockerfile, relative to the repository root.
    #[arg(long, value_name = "PATH", default_value = "Dockerfile")]
    pub dockerfile: String,
    /// Build only the builder image.
    #[arg(long)]
    pub no_project: bool,
    /// The build context, relative to the repository root.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub context: String,
}

impl GithubArgs {
    /// The workflows' options.
    pub fn options(&self) -> Result<GithubOptions> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        };
        for (name, value) in [
            ("--registry", self.registry.as_str()),
            ("--builder-dockerfile", &self.builder_dockerfile),
            ("--dockerfile", &self.dockerfile),
            ("--context", &self.context),
        ]
        .into_iter()
        .chain(self.image.as_deref().map(|i| ("--image", i)))
        {
            if !plain(value) {
                return Err(
                    Error::input(format!("`{name} {value}` is not a plain name or path"))
                        .with_hint("use letters, digits and - _ . / only"),
                );
            }
        }
        if self
            .image
            .as_deref()
            .is_some_and(|i| i.chars().any(|c| c.is_ascii_uppercase()))
        {
            return Err(Error::input(
                "--image must be lower case: registries refuse upper-case names",
            ));
        }
        for (name, cron) in [
            ("--cron", &self.cron),
            ("--refresh-cron", &self.refresh_cron),
        ] {
            let fields = cron.split_whitespace().count();
            if fields != 5
                || !cron
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " *,-/".contains(c))
            {
                return Err(Error::input(format!(
                    "`{name} {cron}` is not a five-field cron expression"
                ))
                .with_hint("e.g. '0 2 * * 0' (Sundays, 02:00 UTC)"));
            }
        }
        Ok(GithubOptions {
            registry: self.registry.clone(),
            image: self.image.clone(),
            builder_dockerfile: self.builder_dockerfile.clone(),
            dockerfile: (!self.no_project).then(|| self.dockerfile.clone()),
            context: self.context.clone(),
            retention_days: self.retention_days,
            cron: self.cron.clone(),
            refresh_cron: (!self.no_refresh).then(|| self.refresh_cron.clone()),
        })
    }
}

/// The root of the git repository holding `dir` (the nearest ancestor with `.git`), if any.
fn git_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The Dockerfiles the workflow builds must exist, relative to the repository root.
fn check_dockerfiles(opts: &GithubOptions, root: &Path) -> Result<()> {
    let builder = (
        opts.builder_dockerfile.as_str(),
        "write it with `prewarm image --builder`, or pass --builder-dockerfile",
    );
    let project = opts.dockerfile.as_deref().map(|f| {
        (
            f,
            "write it with `prewarm image`, pass --dockerfile, or --no-project to build only the builder image",
        )
    });
    for (file, hint) in std::iter::once(builder).chain(project) {
        let path = root.join(file);
        if !path.is_file() {
            return Err(Error::input(format!(
                "the workflow builds `{}`, which does not exist",
                path.display()
            ))
            .with_hint(hint));
        }
    }
    Ok(())
}

/// Runs `prewarm ci`.
pub fn run(command: &CiCommand) -> Result<()> {
    match command {
        CiCommand::Github(args) => {
            let opts = args.options()?;
            let cwd = std::env::current_dir()
                .map_err(|e| Error::io("read the current directory", Path::new("."), &e))?;
            let root = git_root(&cwd).unwrap_or_else(|| cwd.clone());
            check_dockerfiles(&opts, &root)?;
            let dir = args
                .output_dir
                .clone()
                .unwrap_or_else(|| root.join(".github/workflows"));
            crate::fs::create_dir_all(&dir)?;
            for (name, text) in [
                (ci::IMAGES_WORKFLOW, ci::render_images(&opts)),
                (ci::CLEANUP_WORKFLOW, ci::render_cleanup(&opts)),
            ] {
                let path = dir.join(name);
                crate::fs::write_output(
                    &path,
                    text,
                    |old| {
                        String::from_utf8_lossy(old)
                            .lines()
                            .take(6)
                            .any(|l| l.starts_with(ci::MARKER))
                    },
                    "a workflow written by prewarm",
                    args.force,
                )?;
                crate::status!("wrote `{}`", path.display());
            }
            Ok(())
        }
    }
}

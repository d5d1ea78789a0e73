//! `prewarm ci`: write CI configuration.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::ci::{self, GithubOptions};
use crate::error::{Error, Result};
use crate::runners::{self, AccessMode, RunnersOptions, Volumes};

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
    /// Write Kubernetes manifests for self-hosted runners whose caches live on persistent volumes.
    ///
    /// `runner-values.yaml` holds the Helm values of actions-runner-controller's
    /// `gha-runner-scale-set` chart: a runner scale set whose pods mount cargo's, sccache's and
    /// rustup's caches at /cache/cargo, /cache/sccache and /cache/rustup (with `CARGO_HOME`,
    /// `SCCACHE_DIR`, `RUSTUP_HOME` and `RUSTC_WRAPPER=sccache` set), with 4 CPUs and 8Gi of
    /// memory by default. `runner-caches.yaml` holds the namespace and the
    /// `PersistentVolumeClaims` (5Gi, 10Gi and 2Gi by default). `--volumes shared` (the default)
    /// mounts one `ReadWriteMany` claim per cache in every runner pod, so the caches outlive the
    /// job; sccache's local cache takes one server at a time, so more than one runner needs
    /// `--sccache-secret` (a remote backend). `--volumes per-runner` gives each pod its own
    /// claims, which last one job.
    ///
    /// Example:
    ///
    ///     prewarm ci runners --github-url https://github.com/acme/shop --storage-class nfs
    Runners(RunnersArgs),
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
    /// More jobs: `test` runs clippy, the tests (cargo-nextest where the image has it) and a
    /// release build inside the rust-builder image, with sccache.
    #[arg(long, value_enum, value_name = "JOB")]
    pub jobs: Vec<Job>,
    /// Run the `test` job on this self-hosted runner label (e.g. the scale set of `prewarm ci
    /// runners`), whose caches are volumes at /cache/{cargo,sccache,rustup}, instead of in a
    /// container on a hosted runner.
    #[arg(long, value_name = "LABEL", requires = "jobs")]
    pub test_runs_on: Option<String>,
}

/// A job `prewarm ci github` can add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Job {
    /// clippy, the tests and a release build in the rust-builder image.
    Test,
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
        .chain(self.test_runs_on.as_deref().map(|l| ("--test-runs-on", l)))
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
            builder_arg: false,
            test_job: self.jobs.contains(&Job::Test),
            test_runs_on: self.test_runs_on.clone(),
        })
    }
}

/// Options of `prewarm ci runners`.
#[derive(Debug, Args)]
pub struct RunnersArgs {
    /// Where the manifests go [default: `infra/arc` in the git repository's root, found from the
    /// current directory upward].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Overwrite files that prewarm did not write.
    #[arg(long)]
    pub force: bool,
    /// The repository, organisation or enterprise the runners register with.
    #[arg(long, value_name = "URL")]
    pub github_url: String,
    /// The Kubernetes secret with the GitHub credentials (`github_token`, or a GitHub App's
    /// `github_app_id`, `github_app_installation_id` and `github_app_private_key`).
    #[arg(long, value_name = "NAME", default_value = "github-config")]
    pub github_secret: String,
    /// The runner scale set's name: what jobs put in `runs-on:`, and the claims' prefix.
    #[arg(long, value_name = "NAME", default_value = "rust-runners")]
    pub name: String,
    /// The namespace of the runners and their claims.
    #[arg(long, value_name = "NAME", default_value = "arc-runners")]
    pub namespace: String,
    /// Idle runners kept waiting for a job.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub min_runners: u32,
    /// Runners at most (more than 1 with shared volumes needs --sccache-secret).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_runners: u32,
    /// The runner container's image: the chart's default, or a builder image that holds the
    /// runner (`/home/runner/run.sh`), the toolchain and sccache.
    #[arg(long, value_name = "IMAGE", default_value = runners::RUNNER_IMAGE)]
    pub runner_image: String,
    /// CPUs requested for each runner (cores, or millicores as 3500m).
    #[arg(long, value_name = "QUANTITY", default_value = "4")]
    pub cpu: String,
    /// Memory requested for each runner, and its limit.
    #[arg(long, value_name = "QUANTITY", default_value = "8Gi")]
    pub memory: String,
    /// The size of cargo's claim (`CARGO_HOME`).
    #[arg(long, value_name = "QUANTITY", default_value = "5Gi")]
    pub cargo_size: String,
    /// The size of sccache's claim (`SCCACHE_DIR`); sccache is told to use 90% of it.
    #[arg(long, value_name = "QUANTITY", default_value = "10Gi")]
    pub sccache_size: String,
    /// The size of rustup's claim (`RUSTUP_HOME`).
    #[arg(long, value_name = "QUANTITY", default_value = "2Gi")]
    pub rustup_size: String,
    /// The claims' storage class [default: the cluster's default class].
    #[arg(long, value_name = "NAME")]
    pub storage_class: Option<String>,
    /// How the runners share the cache volumes: one `ReadWriteMany` claim per cache for all
    /// runners, or claims of each runner pod's own that last one job.
    #[arg(long, value_name = "HOW", value_enum, default_value_t = Volumes::Shared)]
    pub volumes: Volumes,
    /// The claims' access mode: `rwo` (`ReadWriteOnce`, one node at a time: what most storage
    /// classes offer) allows only one runner with shared volumes [default: rwx with shared
    /// volumes, rwo with per-runner ones].
    #[arg(long, value_name = "MODE", value_enum)]
    pub access_mode: Option<AccessMode>,
    /// A secret with sccache's remote-backend settings as keys (`SCCACHE_REDIS_ENDPOINT`,
    /// ...): set in the runners' environment; sccache then gets no volume.
    #[arg(long, value_name = "NAME")]
    pub sccache_secret: Option<String>,
}

impl RunnersArgs {
    /// The manifests' options.
    pub fn options(&self) -> RunnersOptions {
        RunnersOptions {
            github_url: self.github_url.clone(),
            github_secret: self.github_secret.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            min_runners: self.min_runners,
            max_runners: self.max_runners,
            runner_image: self.runner_image.clone(),
            cpu: self.cpu.clone(),
            memory: self.memory.clone(),
            cargo_size: self.cargo_size.clone(),
            sccache_size: self.sccache_size.clone(),
            rustup_size: self.rustup_size.clone(),
            storage_class: self.storage_class.clone(),
            volumes: self.volumes,
            access_mode: self.access_mode,
            sccache_secret: self.sccache_secret.clone(),
        }
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

/// Whether the project's Dockerfile builds FROM `ARG BUILDER_IMAGE` (`prewarm image
/// --builder-image`); says what the project job will do either way.
fn builds_from_builder(opts: &GithubOptions, root: &Path) -> Result<bool> {
    let Some(file) = &opts.dockerfile else {
        return Ok(false);
    };
    let path = root.join(file);
    let text = crate::fs::read_to_string(&path)?;
    let arg = format!("ARG {}=", crate::dockerfile::BUILDER_ARG);
    let yes = text.lines().any(|l| l.starts_with(&arg));
    if yes {
        crate::status!(
            "`{}` builds FROM ARG {}: the project job builds it FROM the digest the rust-builder job pushes",
            path.display(),
            crate::dockerfile::BUILDER_ARG
        );
    } else {
        crate::status!(
            "note: `{}` does not build FROM the rust-builder image, so the project job reuses none of its units (write it with `prewarm image --builder-image <registry>/<image>/rust-builder:<default branch>`)",
            path.display()
        );
    }
    Ok(yes)
}

/// Writes `files` into `dir`, each only over a file prewarm wrote (one with the marker in its
/// first lines) unless `force`.
fn write_files(dir: &Path, files: Vec<(&str, String)>, what: &str, force: bool) -> Result<()> {
    crate::fs::create_dir_all(dir)?;
    for (name, text) in files {
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
            what,
            force,
        )?;
        crate::status!("wrote `{}`", path.display());
    }
    Ok(())
}

/// The git repository's root above the current directory, or the current directory.
fn repo_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::io("read the current directory", Path::new("."), &e))?;
    Ok(git_root(&cwd).unwrap_or(cwd))
}

/// Runs `prewarm ci`.
pub fn run(command: &CiCommand) -> Result<()> {
    match command {
        CiCommand::Github(args) => {
            let mut opts = args.options()?;
            let root = repo_root()?;
            check_dockerfiles(&opts, &root)?;
            opts.builder_arg = builds_from_builder(&opts, &root)?;
            let dir = args
                .output_dir
                .clone()
                .unwrap_or_else(|| root.join(".github/workflows"));
            write_files(
                &dir,
                vec![
                    (ci::IMAGES_WORKFLOW, ci::render_images(&opts)),
                    (ci::CLEANUP_WORKFLOW, ci::render_cleanup(&opts)),
                ],
                "a workflow written by prewarm",
                args.force,
            )
        }
        CiCommand::Runners(args) => {
            let opts = args.options();
            let files = vec![
                (runners::VALUES_FILE, runners::render_values(&opts)?),
                (runners::CACHES_FILE, runners::render_caches(&opts)?),
            ];
            let dir = match &args.output_dir {
                Some(dir) => dir.clone(),
                None => repo_root()?.join(runners::DEFAULT_DIR),
            };
            write_files(&dir, files, "a manifest written by prewarm", args.force)
        }
    }
}

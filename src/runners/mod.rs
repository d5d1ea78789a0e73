//! Self-hosted runners on Kubernetes: the Helm values of actions-runner-controller's
//! `gha-runner-scale-set` chart (a runner scale set whose pod template mounts cargo's, sccache's
//! and rustup's caches at `/cache/...`, as the source document lays them out) and a manifest
//! with the namespace and the `PersistentVolumeClaim`s those mounts use.
//!
//! The documents are built as data and serialised with `serde_yaml_ng`, so that what the files
//! hold is well-formed YAML by construction; the comments above them are the only text written
//! by hand. tests/runners.rs validates the claims and the pod template (wrapped as a `Pod`)
//! against the Kubernetes schemas with `kubernetes-validate`.
//!
//! How the caches are shared is the choice that matters ([`Volumes`]): ARC's runners are
//! ephemeral, a new pod for every job, so a cache survives a job only on a claim that outlives
//! the pod, and a claim that outlives the pods is shared by every concurrent runner. cargo
//! locks its package cache with `flock`, but skips every lock on an NFS mount; sccache's local
//! disk cache supports one sccache server at a time. So a shared local sccache directory is only
//! written for one runner at a time, and more runners need a remote sccache backend.

use crate::error::{Error, Result};

mod manifest;
pub use manifest::{command_line, render_caches, render_values};

/// The Helm values file `prewarm ci runners` writes.
pub const VALUES_FILE: &str = "runner-values.yaml";
/// The manifest with the namespace and the claims.
pub const CACHES_FILE: &str = "runner-caches.yaml";
/// Where the files go, under the git repository's root (the source document's `infra/arc`).
pub const DEFAULT_DIR: &str = "infra/arc";
/// The runner image of the chart's own default values.
pub const RUNNER_IMAGE: &str = "ghcr.io/actions/actions-runner:latest";
/// The chart the values are for, as `helm install` names it.
pub const CHART: &str =
    "oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set";
/// The controller's chart, installed once per cluster.
pub const CONTROLLER_CHART: &str =
    "oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set-controller";
/// The uid and gid of the `runner` user in the actions-runner image (and the source document's
/// cache mounts): the group that owns the mounted volumes.
pub const RUNNER_GID: u32 = 1001;

/// How the runners' cache volumes are shared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Volumes {
    /// One `ReadWriteMany` claim per cache, mounted by every runner pod: the caches outlive the
    /// job's pod (needs a storage class that offers `ReadWriteMany`: NFS, `CephFS`, EFS, ...).
    #[default]
    Shared,
    /// One `ReadWriteOnce` claim per cache and runner pod (`ephemeral.volumeClaimTemplate`),
    /// deleted with the pod: nothing is shared and nothing outlives the job.
    PerRunner,
}

impl Volumes {
    fn name(self) -> &'static str {
        match self {
            Volumes::Shared => "shared",
            Volumes::PerRunner => "per-runner",
        }
    }
}

/// The access mode of the claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessMode {
    /// `ReadWriteMany`: mounted by pods on any number of nodes at once.
    Rwx,
    /// `ReadWriteOnce`: attached to one node at a time (what most block-storage classes offer).
    Rwo,
}

impl AccessMode {
    fn name(self) -> &'static str {
        match self {
            AccessMode::Rwx => "rwx",
            AccessMode::Rwo => "rwo",
        }
    }

    fn kubernetes(self) -> &'static str {
        match self {
            AccessMode::Rwx => "ReadWriteMany",
            AccessMode::Rwo => "ReadWriteOnce",
        }
    }
}

/// One cache directory of the runners: its volume, mount path and claim size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// `CARGO_HOME`: the registry index and crate sources, git checkouts, installed binaries.
    Cargo,
    /// `SCCACHE_DIR`: sccache's local disk cache.
    Sccache,
    /// `RUSTUP_HOME`: toolchains and components.
    Rustup,
}

impl Cache {
    /// Every cache, in the order they are written.
    pub const ALL: [Cache; 3] = [Cache::Cargo, Cache::Sccache, Cache::Rustup];

    /// The short name: the volume is `<name>-cache`, the claim `<scale set>-<name>-cache`.
    pub fn name(self) -> &'static str {
        match self {
            Cache::Cargo => "cargo",
            Cache::Sccache => "sccache",
            Cache::Rustup => "rustup",
        }
    }

    /// Where the runner container mounts it (the source document's paths).
    pub fn mount_path(self) -> String {
        format!("/cache/{}", self.name())
    }

    /// The variable that points the tool at it.
    pub fn env(self) -> &'static str {
        match self {
            Cache::Cargo => "CARGO_HOME",
            Cache::Sccache => "SCCACHE_DIR",
            Cache::Rustup => "RUSTUP_HOME",
        }
    }
}

/// What decides the runner manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnersOptions {
    /// The repository, organisation or enterprise the runners register with
    /// (`https://github.com/owner/repo`).
    pub github_url: String,
    /// The Kubernetes secret with the GitHub App's or token's credentials.
    pub github_secret: String,
    /// The runner scale set's name: the `runs-on:` label of the jobs, and the claims' prefix.
    pub name: String,
    /// The namespace of the runners and of the claims.
    pub namespace: String,
    /// Idle runners kept waiting.
    pub min_runners: u32,
    /// Runners at most.
    pub max_runners: u32,
    /// The runner container's image.
    pub runner_image: String,
    /// The runner container's CPU request (a Kubernetes quantity).
    pub cpu: String,
    /// The runner container's memory request and limit.
    pub memory: String,
    /// Claim sizes, in the order of [`Cache::ALL`].
    pub cargo_size: String,
    /// sccache's claim size (unused with [`RunnersOptions::sccache_secret`]).
    pub sccache_size: String,
    /// rustup's claim size.
    pub rustup_size: String,
    /// The claims' storage class; `None`: the cluster's default class.
    pub storage_class: Option<String>,
    /// How the claims are shared between runners.
    pub volumes: Volumes,
    /// The claims' access mode; `None`: `ReadWriteMany` for shared claims, `ReadWriteOnce` for
    /// a runner's own.
    pub access_mode: Option<AccessMode>,
    /// A secret whose keys are sccache's remote-backend variables (`SCCACHE_REDIS_ENDPOINT`,
    /// ...): set in the runner's environment, and sccache gets no volume.
    pub sccache_secret: Option<String>,
}

impl Default for RunnersOptions {
    fn default() -> Self {
        RunnersOptions {
            github_url: String::new(),
            github_secret: "github-config".to_string(),
            name: "rust-runners".to_string(),
            namespace: "arc-runners".to_string(),
            min_runners: 0,
            max_runners: 1,
            runner_image: RUNNER_IMAGE.to_string(),
            cpu: "4".to_string(),
            memory: "8Gi".to_string(),
            cargo_size: "5Gi".to_string(),
            sccache_size: "10Gi".to_string(),
            rustup_size: "2Gi".to_string(),
            storage_class: None,
            volumes: Volumes::Shared,
            access_mode: None,
            sccache_secret: None,
        }
    }
}

impl RunnersOptions {
    /// The claim size of `cache`.
    pub fn size(&self, cache: Cache) -> &str {
        match cache {
            Cache::Cargo => &self.cargo_size,
            Cache::Sccache => &self.sccache_size,
            Cache::Rustup => &self.rustup_size,
        }
    }

    /// The caches that get a volume: sccache's only when its cache is local.
    pub fn volume_caches(&self) -> impl Iterator<Item = Cache> + '_ {
        Cache::ALL
            .into_iter()
            .filter(|c| *c != Cache::Sccache || self.sccache_secret.is_none())
    }

    /// The claims' access mode.
    pub fn access(&self) -> AccessMode {
        self.access_mode.unwrap_or(match self.volumes {
            Volumes::Shared => AccessMode::Rwx,
            Volumes::PerRunner => AccessMode::Rwo,
        })
    }

    /// The claim's name for `cache` (shared claims).
    pub fn claim_name(&self, cache: Cache) -> String {
        format!("{}-{}-cache", self.name, cache.name())
    }

    /// Checks every value as Kubernetes and the chart will read it, so that a mistake is
    /// reported here, naming the option, not by `kubectl` or `helm` later.
    pub fn check(&self) -> Result<()> {
        check_github_url(&self.github_url)?;
        for (flag, value, max) in [
            ("--name", self.name.as_str(), 45),
            ("--namespace", &self.namespace, 63),
        ] {
            check_label(flag, value, max)?;
        }
        for (flag, value) in [("--github-secret", Some(&self.github_secret))]
            .into_iter()
            .chain([
                ("--storage-class", self.storage_class.as_ref()),
                ("--sccache-secret", self.sccache_secret.as_ref()),
            ])
        {
            if let Some(value) = value {
                check_subdomain(flag, value)?;
            }
        }
        check_image(&self.runner_image)?;
        parse_cpu("--cpu", &self.cpu)?;
        parse_bytes("--memory", &self.memory)?;
        for cache in Cache::ALL {
            parse_bytes(&format!("--{}-size", cache.name()), self.size(cache))?;
        }
        if self.max_runners == 0 || self.min_runners > self.max_runners {
            return Err(Error::input(format!(
                "`--min-runners {}` and `--max-runners {}` leave no runner to start",
                self.min_runners, self.max_runners
            ))
            .with_hint("--max-runners must be at least 1 and at least --min-runners"));
        }
        if self.volumes == Volumes::Shared
            && self.access() == AccessMode::Rwo
            && self.max_runners > 1
        {
            return Err(Error::input(format!(
                "`--max-runners {}` with `--access-mode rwo`: a ReadWriteOnce claim is attached to one node at a time, so runner pods on another node could not start",
                self.max_runners
            ))
            .with_hint("keep --max-runners 1, or use a storage class that offers ReadWriteMany (--access-mode rwx), or --volumes per-runner"));
        }
        if self.volumes == Volumes::Shared && self.sccache_secret.is_none() && self.max_runners > 1
        {
            return Err(Error::input(format!(
                "`--max-runners {}` with `--volumes shared` would have {} sccache servers write one local cache directory: sccache's local cache supports one server at a time (concurrent servers race and fail builds)",
                self.max_runners, self.max_runners
            ))
            .with_hint("give sccache a remote backend with --sccache-secret NAME (redis, s3, ...), or keep --max-runners 1, or use --volumes per-runner"));
        }
        Ok(())
    }
}

fn check_github_url(url: &str) -> Result<()> {
    let rest = url.strip_prefix("https://").unwrap_or_default();
    let host = rest.split('/').next().unwrap_or_default();
    let plain = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if host.is_empty() || !host.contains('.') || !plain {
        return Err(Error::input(format!(
            "`--github-url {url}` is not the https URL of a repository, organisation or enterprise"
        ))
        .with_hint("e.g. https://github.com/acme/shop (one repository) or https://github.com/acme (the organisation)"));
    }
    Ok(())
}

/// A DNS-1123 label (namespaces, the scale set's name) of at most `max` characters.
fn check_label(flag: &str, value: &str, max: usize) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        return Ok(());
    }
    Err(
        Error::input(format!("`{flag} {value}` is not a Kubernetes name")).with_hint(format!(
            "use at most {max} lower-case letters, digits and '-', starting and ending with a letter or digit"
        )),
    )
}

/// A DNS-1123 subdomain (secret and storage class names).
fn check_subdomain(flag: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if ok {
        return Ok(());
    }
    Err(
        Error::input(format!("`{flag} {value}` is not a Kubernetes name")).with_hint(
            "use lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit",
        ),
    )
}

fn check_image(image: &str) -> Result<()> {
    let ok = !image.is_empty()
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c));
    if ok {
        return Ok(());
    }
    Err(Error::input(format!(
        "`--runner-image {image}` is not an image reference"
    ))
    .with_hint(format!(
        "e.g. {RUNNER_IMAGE}, or ghcr.io/acme/shop/rust-builder:main"
    )))
}

/// The binary (`Ki`..`Ei`) and decimal (`k`..`E`) suffixes of a Kubernetes quantity, with their
/// multipliers.
const SUFFIXES: &[(&str, u64)] = &[
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("Ei", 1 << 60),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("E", 1_000_000_000_000_000_000),
];

/// A number of bytes written as a Kubernetes quantity (`5Gi`, `500Mi`, `10G`, `1073741824`),
/// with the flag it came from in the error.
pub fn parse_bytes(flag: &str, value: &str) -> Result<u64> {
    let bad = || {
        let hint = match value.trim().strip_suffix('B') {
            Some(n) if !n.is_empty() => format!(
                "Kubernetes writes no `B`: `{}i` (binary) or `{}` (decimal)",
                n.replace(' ', ""),
                n.replace(' ', "")
            ),
            _ => {
                "write a number and a suffix, without a space: 5Gi, 500Mi (binary) or 10G (decimal)"
                    .to_string()
            }
        };
        Error::input(format!(
            "`{flag} {value}` is not a size Kubernetes understands"
        ))
        .with_hint(hint)
    };
    let split = value
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(split);
    let multiplier = if suffix.is_empty() {
        1
    } else {
        SUFFIXES
            .iter()
            .find(|(s, _)| *s == suffix)
            .map(|(_, m)| *m)
            .ok_or_else(bad)?
    };
    let bytes = decimal_times(number, multiplier).ok_or_else(bad)?;
    if bytes == 0 {
        return Err(Error::input(format!("`{flag} {value}` is no space at all"))
            .with_hint("give a size above zero, e.g. 5Gi"));
    }
    Ok(bytes)
}

/// A CPU quantity (`4`, `0.5`, `3500m`), in millicores.
pub fn parse_cpu(flag: &str, value: &str) -> Result<u64> {
    let bad = || {
        Error::input(format!("`{flag} {value}` is not a CPU quantity"))
            .with_hint("write cores (4, 0.5) or millicores (3500m)")
    };
    let millis = match value.strip_suffix('m') {
        Some(n) if !n.contains('.') => decimal_times(n, 1),
        Some(_) => None,
        None => decimal_times(value, 1000),
    }
    .ok_or_else(bad)?;
    if millis == 0 {
        return Err(bad());
    }
    Ok(millis)
}

/// `number` (digits with at most one decimal point) times `multiplier`, when it is a whole
/// number and fits in a u64.
fn decimal_times(number: &str, multiplier: u64) -> Option<u64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
        || frac.len() > 18
    {
        return None;
    }
    let scale = 10u128.pow(u32::try_from(frac.len()).ok()?);
    let digits: u128 = format!("{whole}{frac}").parse().ok()?;
    let product = digits.checked_mul(u128::from(multiplier))?;
    (product % scale == 0)
        .then(|| u64::try_from(product / scale).ok())
        .flatten()
}

/// sccache's size limit on a claim of `bytes`: 90% of it in MiB (sccache's `M`), so that the
/// file system's own overhead never fills the volume.
pub fn sccache_cache_size(bytes: u64) -> String {
    format!("{}M", bytes / 10 * 9 / (1 << 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_kubernetes_quantities() {
        assert_eq!(parse_bytes("--x", "5Gi").unwrap(), 5 << 30);
        assert_eq!(parse_bytes("--x", "10G").unwrap(), 10_000_000_000);
        assert_eq!(parse_bytes("--x", "1.5Gi").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("--x", "1024").unwrap(), 1024);
        for bad in [
            "5 GB", "5GB", "5gi", "Gi", "", "-5Gi", "1.5", "0Gi", "5Gi ", "1e3",
        ] {
            assert!(parse_bytes("--x", bad).is_err(), "{bad:?}");
        }
        let hint = parse_bytes("--cargo-size", "5 GB").unwrap_err().to_string();
        assert!(
            hint.contains("`--cargo-size 5 GB`") && hint.contains("`5Gi`"),
            "{hint}"
        );
    }

    #[test]
    fn cpus_are_cores_or_millicores() {
        assert_eq!(parse_cpu("--cpu", "4").unwrap(), 4000);
        assert_eq!(parse_cpu("--cpu", "0.5").unwrap(), 500);
        assert_eq!(parse_cpu("--cpu", "3500m").unwrap(), 3500);
        for bad in ["0", "4 cores", "1.5m", "m", "-1", "4Gi"] {
            assert!(parse_cpu("--cpu", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sccache_keeps_a_tenth_of_its_claim_free() {
        assert_eq!(sccache_cache_size(10 << 30), "9216M");
    }

    #[test]
    fn command_line_names_non_defaults() {
        let opts = RunnersOptions {
            github_url: "https://github.com/acme".into(),
            max_runners: 3,
            sccache_secret: Some("sccache-env".into()),
            cargo_size: "8Gi".into(),
            ..RunnersOptions::default()
        };
        assert_eq!(
            command_line(&opts),
            "prewarm ci runners --github-url https://github.com/acme --cargo-size 8Gi --max-runners 3 --sccache-secret sccache-env"
        );
    }
}

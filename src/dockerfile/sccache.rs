//! sccache in the cook and build steps (`prewarm image --sccache[=BACKEND]`): where its cache
//! lives, how the endpoint and credentials reach the step, and which sccache binary runs.
//!
//! - `local` is a cache mount on the builder (`SCCACHE_DIR`), with Debian's sccache package:
//!   it helps a long-lived builder only, since an ephemeral runner starts with no cache mounts.
//! - The remote backends (`redis`, `s3`, `webdav`, `gha`, `memcached`) share one cache between
//!   runners. Debian's sccache (0.4) is built without any of them (`sccache --help` lists every
//!   backend as `false`), so these use the sccache that the prewarm image carries, built from
//!   crates.io with exactly those backends ([`CRATES_IO_VERSION`], [`CRATES_IO_FEATURES`]).
//! - Endpoints and credentials never go into a layer, an `ENV` or a build argument (build
//!   arguments are kept in the image history): the cook and build steps mount the `BuildKit`
//!   secret [`SECRET_ID`], an environment file of `SCCACHE_*` (and, for s3, `AWS_*`) lines,
//!   and export it for that step alone. The step reads the file itself rather than use
//!   `BuildKit`'s `env=` mount option, which buildah does not take; a secret changes no cache key, so one layer serves every
//!   endpoint.

use clap::ValueEnum;

use super::Command;

/// The sccache release the prewarm image builds from crates.io.
pub const CRATES_IO_VERSION: &str = "0.19.0";

/// The cargo features it is built with: every backend `--sccache` offers, nothing else.
pub const CRATES_IO_FEATURES: &str = "redis,s3,webdav,gha,memcached";

/// Where that sccache is in the prewarm image.
pub const IMAGE_PATH: &str = "/usr/local/bin/sccache";

/// The `BuildKit` secret holding a remote backend's settings.
pub const SECRET_ID: &str = "sccache-env";

/// Where [`SECRET_ID`] appears during a `RUN`.
pub const SECRET_PATH: &str = "/run/secrets/sccache-env";

/// Where sccache's cache is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// A cache mount on the builder (Debian's sccache): for a long-lived builder.
    #[default]
    Local,
    /// A Redis server (`SCCACHE_REDIS_ENDPOINT`, e.g. `redis://host:6379`).
    Redis,
    /// An S3 bucket (`SCCACHE_BUCKET`, `SCCACHE_REGION`, `SCCACHE_ENDPOINT`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
    S3,
    /// A `WebDAV` server (`SCCACHE_WEBDAV_ENDPOINT`, `SCCACHE_WEBDAV_USERNAME`,
    /// `SCCACHE_WEBDAV_PASSWORD` or `SCCACHE_WEBDAV_TOKEN`).
    Webdav,
    /// The GitHub Actions cache (`SCCACHE_GHA_ENABLED=on`, `ACTIONS_RESULTS_URL`,
    /// `ACTIONS_RUNTIME_TOKEN`).
    Gha,
    /// A memcached server (`SCCACHE_MEMCACHED_ENDPOINT`, e.g. `tcp://host:11211`).
    Memcached,
}

impl Backend {
    /// The `--sccache` value.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Redis => "redis",
            Backend::S3 => "s3",
            Backend::Webdav => "webdav",
            Backend::Gha => "gha",
            Backend::Memcached => "memcached",
        }
    }

    /// Whether the cache is remote (shared by runners, settings from the secret).
    pub fn is_remote(self) -> bool {
        self != Backend::Local
    }

    /// The variables the secret file sets, with an example value (for the header).
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            Backend::Local => &[],
            Backend::Redis => &["SCCACHE_REDIS_ENDPOINT=redis://user:password@redis.internal:6379"],
            Backend::S3 => &[
                "SCCACHE_BUCKET=my-sccache",
                "SCCACHE_REGION=us-east-1",
                "AWS_ACCESS_KEY_ID=...",
                "AWS_SECRET_ACCESS_KEY=...",
            ],
            Backend::Webdav => &[
                "SCCACHE_WEBDAV_ENDPOINT=https://webdav.internal/sccache",
                "SCCACHE_WEBDAV_TOKEN=...",
            ],
            Backend::Gha => &[
                "SCCACHE_GHA_ENABLED=on",
                "ACTIONS_RESULTS_URL=...",
                "ACTIONS_RUNTIME_TOKEN=...",
            ],
            Backend::Memcached => &["SCCACHE_MEMCACHED_ENDPOINT=tcp://memcached.internal:11211"],
        }
    }

    /// Commands at the start of a cargo step that load the secret file into the step's
    /// environment (remote backends only), failing with a message when it is missing.
    pub fn load_secret(self) -> Vec<Command> {
        if !self.is_remote() {
            return Vec::new();
        }
        vec![
            Command::shell("{ test -r /run/secrets/sccache-env || { echo 'prewarm: the sccache-env secret is missing (--secret id=sccache-env,src=FILE)' >&2; exit 1; }; }"),
            Command::shell("set -a"),
            Command::shell(". /run/secrets/sccache-env"),
            Command::shell("set +a"),
        ]
    }

    /// Header lines: where the settings come from.
    pub fn header(self) -> Vec<String> {
        if !self.is_remote() {
            return vec![
                "sccache: its cache is a cache mount of this builder (--sccache=local); a fresh CI"
                    .into(),
                "runner starts without it.".into(),
            ];
        }
        let mut h = vec![
            format!(
                "sccache: a shared {} cache (--sccache={}). Its endpoint and credentials come in as",
                self.name(),
                self.name()
            ),
            format!(
                "the BuildKit secret `{SECRET_ID}`, an environment file read by the cook and build steps"
            ),
            "alone (never a layer, an ENV or a build argument), for example:".into(),
        ];
        for v in self.variables() {
            h.push(format!("    {v}"));
        }
        h.push(format!(
            "sccache itself is {CRATES_IO_VERSION} from crates.io (features {CRATES_IO_FEATURES}), from the"
        ));
        h.push("prewarm image: Debian's sccache package has no remote backend.".into());
        h
    }
}

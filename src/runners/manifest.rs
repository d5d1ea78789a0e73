//! The documents of `prewarm ci runners`, as data: the Helm values (the runner pod template)
//! and the namespace and claims, serialised with `serde_yaml_ng`, with the comments above them.

use std::fmt::Write as _;

use serde::Serialize;

use super::{parse_bytes, sccache_cache_size, Cache, RunnersOptions, Volumes};
use super::{CACHES_FILE, CHART, CONTROLLER_CHART, RUNNER_GID, RUNNER_IMAGE, VALUES_FILE};
use crate::error::Result;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Values {
    github_config_url: String,
    github_config_secret: String,
    min_runners: u32,
    max_runners: u32,
    runner_scale_set_name: String,
    template: PodTemplate,
}

/// A pod template: the chart's `template`, and a `PodTemplate`'s `template`.
#[derive(Serialize)]
struct PodTemplate {
    spec: PodSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    security_context: PodSecurityContext,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSecurityContext {
    fs_group: u32,
    fs_group_change_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: &'static str,
    image: String,
    command: Vec<&'static str>,
    env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env_from: Vec<EnvFrom>,
    resources: Resources,
    volume_mounts: Vec<VolumeMount>,
}

#[derive(Serialize)]
struct EnvVar {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvFrom {
    secret_ref: Name,
}

#[derive(Serialize)]
struct Name {
    name: String,
}

#[derive(Serialize)]
struct Resources {
    requests: Quantities,
    limits: Limits,
}

#[derive(Serialize)]
struct Quantities {
    cpu: String,
    memory: String,
}

#[derive(Serialize)]
struct Limits {
    memory: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    persistent_volume_claim: Option<ClaimRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ephemeral: Option<Ephemeral>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimRef {
    claim_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ephemeral {
    volume_claim_template: ClaimTemplate,
}

#[derive(Serialize)]
struct ClaimTemplate {
    metadata: Metadata,
    spec: ClaimSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimSpec {
    access_modes: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_class_name: Option<String>,
    resources: ClaimResources,
}

#[derive(Serialize)]
struct ClaimResources {
    requests: Storage,
}

#[derive(Serialize)]
struct Storage {
    storage: String,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    labels: Labels,
}

#[derive(Serialize)]
struct Labels {
    #[serde(rename = "app.kubernetes.io/managed-by")]
    managed_by: &'static str,
    #[serde(rename = "app.kubernetes.io/part-of")]
    part_of: String,
    #[serde(
        rename = "app.kubernetes.io/component",
        skip_serializing_if = "Option::is_none"
    )]
    component: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<S: Serialize> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<S>,
}

fn labels(opts: &RunnersOptions, cache: Option<Cache>) -> Labels {
    Labels {
        managed_by: "prewarm",
        part_of: opts.name.clone(),
        component: cache.map(|c| format!("{}-cache", c.name())),
    }
}

fn claim_spec(opts: &RunnersOptions, cache: Cache) -> ClaimSpec {
    ClaimSpec {
        access_modes: vec![opts.access().kubernetes()],
        storage_class_name: opts.storage_class.clone(),
        resources: ClaimResources {
            requests: Storage {
                storage: opts.size(cache).to_string(),
            },
        },
    }
}

fn volume(opts: &RunnersOptions, cache: Cache) -> Volume {
    let name = format!("{}-cache", cache.name());
    match opts.volumes {
        Volumes::Shared => Volume {
            name,
            persistent_volume_claim: Some(ClaimRef {
                claim_name: opts.claim_name(cache),
            }),
            ephemeral: None,
        },
        Volumes::PerRunner => Volume {
            name,
            persistent_volume_claim: None,
            ephemeral: Some(Ephemeral {
                volume_claim_template: ClaimTemplate {
                    metadata: Metadata {
                        name: None,
                        namespace: None,
                        labels: labels(opts, Some(cache)),
                    },
                    spec: claim_spec(opts, cache),
                },
            }),
        },
    }
}

fn pod_spec(opts: &RunnersOptions) -> Result<PodSpec> {
    let mut env: Vec<EnvVar> = opts
        .volume_caches()
        .map(|c| EnvVar {
            name: c.env(),
            value: c.mount_path(),
        })
        .collect();
    if opts.sccache_secret.is_none() {
        env.push(EnvVar {
            name: "SCCACHE_CACHE_SIZE",
            value: sccache_cache_size(parse_bytes("--sccache-size", &opts.sccache_size)?),
        });
    }
    // The stock runner image has no sccache: a wrapper it lacks would fail every rustc call,
    // so only an image of the user's own (which should have it) gets RUSTC_WRAPPER.
    if opts.runner_image != RUNNER_IMAGE {
        env.push(EnvVar {
            name: "RUSTC_WRAPPER",
            value: "sccache".to_string(),
        });
    }
    Ok(PodSpec {
        security_context: PodSecurityContext {
            fs_group: RUNNER_GID,
            fs_group_change_policy: "OnRootMismatch",
        },
        containers: vec![Container {
            name: "runner",
            image: opts.runner_image.clone(),
            command: vec!["/home/runner/run.sh"],
            env,
            env_from: opts
                .sccache_secret
                .iter()
                .map(|s| EnvFrom {
                    secret_ref: Name { name: s.clone() },
                })
                .collect(),
            resources: Resources {
                requests: Quantities {
                    cpu: opts.cpu.clone(),
                    memory: opts.memory.clone(),
                },
                limits: Limits {
                    memory: opts.memory.clone(),
                },
            },
            volume_mounts: opts
                .volume_caches()
                .map(|c| VolumeMount {
                    name: format!("{}-cache", c.name()),
                    mount_path: c.mount_path(),
                })
                .collect(),
        }],
        volumes: opts.volume_caches().map(|c| volume(opts, c)).collect(),
    })
}

fn yaml(value: &impl Serialize) -> String {
    // Serialising these plain structs cannot fail: every map key is a string.
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// The command line that writes these files.
pub fn command_line(opts: &RunnersOptions) -> String {
    let d = RunnersOptions::default();
    let mut cmd = format!("prewarm ci runners --github-url {}", opts.github_url);
    let strings = [
        ("--github-secret", &opts.github_secret, &d.github_secret),
        ("--name", &opts.name, &d.name),
        ("--namespace", &opts.namespace, &d.namespace),
        ("--runner-image", &opts.runner_image, &d.runner_image),
        ("--cpu", &opts.cpu, &d.cpu),
        ("--memory", &opts.memory, &d.memory),
        ("--cargo-size", &opts.cargo_size, &d.cargo_size),
        ("--sccache-size", &opts.sccache_size, &d.sccache_size),
        ("--rustup-size", &opts.rustup_size, &d.rustup_size),
    ];
    for (flag, value, default) in strings {
        if value != default {
            let _ = write!(cmd, " {flag} {value}");
        }
    }
    for (flag, value, default) in [
        ("--min-runners", opts.min_runners, d.min_runners),
        ("--max-runners", opts.max_runners, d.max_runners),
    ] {
        if value != default {
            let _ = write!(cmd, " {flag} {value}");
        }
    }
    if let Some(class) = &opts.storage_class {
        let _ = write!(cmd, " --storage-class {class}");
    }
    if opts.volumes != d.volumes {
        let _ = write!(cmd, " --volumes {}", opts.volumes.name());
    }
    if let Some(mode) = opts.access_mode {
        let _ = write!(cmd, " --access-mode {}", mode.name());
    }
    if let Some(secret) = &opts.sccache_secret {
        let _ = write!(cmd, " --sccache-secret {secret}");
    }
    cmd
}

/// The first three lines (what the file is, the marker, the command that wrote it), then
/// `notes` as comments.
fn header(w: &mut String, opts: &RunnersOptions, title: &str, notes: &[String]) {
    let _ = writeln!(w, "# {title}");
    let _ = writeln!(
        w,
        "{}; regenerate rather than edit:",
        crate::defaults::WORKFLOW_MARKER
    );
    let _ = writeln!(w, "#   {}", command_line(opts));
    for line in notes {
        if line.is_empty() {
            w.push_str("#\n");
        } else {
            let _ = writeln!(w, "# {line}");
        }
    }
}

/// The notes above the values: how to install, and what the volumes mean for concurrent jobs.
fn values_notes(opts: &RunnersOptions) -> Vec<String> {
    let ns = &opts.namespace;
    let mut notes = vec![
        "Install (the controller once per cluster, then the claims, the GitHub credentials and"
            .to_string(),
        "the scale set; jobs then run on `runs-on: <scale set name>`):".to_string(),
        format!("  helm install arc --namespace arc-systems --create-namespace {CONTROLLER_CHART}"),
        format!("  kubectl apply -f {CACHES_FILE}"),
        format!(
            "  kubectl create secret generic {} --namespace {ns} --from-literal=github_token=<PAT>",
            opts.github_secret
        ),
    ];
    if let Some(secret) = &opts.sccache_secret {
        notes.push(format!(
            "  kubectl create secret generic {secret} --namespace {ns} --from-env-file=sccache.env"
        ));
    }
    notes.push(format!(
        "  helm install {} --namespace {ns} -f {VALUES_FILE} {CHART}",
        opts.name
    ));
    notes.push(String::new());
    notes.extend(
        match (opts.volumes, opts.sccache_secret.is_some()) {
            (Volumes::Shared, false) => &[
                "Every runner pod (one per job) mounts the same three claims, so the caches outlive",
                "the job. sccache's local cache takes one sccache server at a time, so this scale",
                "set runs one runner at a time; for more, give sccache a remote backend",
                "(--sccache-secret) and raise --max-runners.",
            ][..],
            (Volumes::Shared, true) => &[
                "Every runner pod (one per job) mounts the same claims for cargo and rustup, so",
                "they outlive the job; sccache uses the remote backend of the secret, shared by",
                "every runner. cargo skips its file locks on NFS: see the README on concurrent",
                "runners.",
            ][..],
            (Volumes::PerRunner, _) => &[
                "Each runner pod gets its own claims, created with the pod and deleted with it: ARC",
                "starts a new pod for every job, so the caches last one job (nothing is shared, no",
                "lock is contended). Use a builder image with the toolchain and prewarmed crates,",
                "and a remote sccache backend (--sccache-secret), for anything to be reused.",
            ][..],
        }
        .iter()
        .map(|s| (*s).to_string()),
    );
    notes.extend(
        [
            "",
            "RUSTC_WRAPPER=sccache is set only with --runner-image (an image of your own, which",
            "must have sccache): the stock runner image has none, so a job there installs sccache",
            "and sets RUSTC_WRAPPER itself. A job that installs tools with cargo puts",
            "$CARGO_HOME/bin on its PATH. fsGroup gives the runner user",
            "(uid 1001) the volumes where the storage driver supports it (OnRootMismatch: no",
            "recursive chown of a full cache at every pod start).",
        ]
        .map(str::to_string),
    );
    notes
}

/// The Helm values of the `gha-runner-scale-set` chart.
pub fn render_values(opts: &RunnersOptions) -> Result<String> {
    opts.check()?;
    let mut w = String::new();
    let mut notes = vec![
        "Self-hosted Rust runners whose cargo, sccache and rustup caches live on persistent"
            .to_string(),
        "volumes.".to_string(),
        String::new(),
    ];
    notes.extend(values_notes(opts));
    header(
        &mut w,
        opts,
        "Helm values of actions-runner-controller's gha-runner-scale-set chart.",
        &notes,
    );
    let values = Values {
        github_config_url: opts.github_url.clone(),
        github_config_secret: opts.github_secret.clone(),
        min_runners: opts.min_runners,
        max_runners: opts.max_runners,
        runner_scale_set_name: opts.name.clone(),
        template: PodTemplate {
            spec: pod_spec(opts)?,
        },
    };
    w.push_str(&yaml(&values));
    Ok(w)
}

/// The namespace and, with shared volumes, the claims.
pub fn render_caches(opts: &RunnersOptions) -> Result<String> {
    opts.check()?;
    let mut w = String::new();
    let notes = match opts.volumes {
        Volumes::Shared => [
            "The namespace of the runners and the PersistentVolumeClaims their caches live on",
            "(every runner pod mounts them).",
        ],
        Volumes::PerRunner => [
            "The namespace of the runners (each runner pod creates its own cache claims from",
            "the volumeClaimTemplate in the Helm values).",
        ],
    }
    .map(str::to_string);
    header(
        &mut w,
        opts,
        "Kubernetes objects of the self-hosted Rust runners: kubectl apply -f this file.",
        &notes,
    );
    let namespace: Object<()> = Object {
        api_version: "v1",
        kind: "Namespace",
        metadata: Metadata {
            name: Some(opts.namespace.clone()),
            namespace: None,
            labels: labels(opts, None),
        },
        spec: None,
    };
    w.push_str("---\n");
    w.push_str(&yaml(&namespace));
    if opts.volumes == Volumes::Shared {
        for cache in opts.volume_caches() {
            let _ = writeln!(w, "---\n# {} ({})", cache.env(), cache.mount_path());
            let claim = Object {
                api_version: "v1",
                kind: "PersistentVolumeClaim",
                metadata: Metadata {
                    name: Some(opts.claim_name(cache)),
                    namespace: Some(opts.namespace.clone()),
                    labels: labels(opts, Some(cache)),
                },
                spec: Some(claim_spec(opts, cache)),
            };
            w.push_str(&yaml(&claim));
        }
    }
    Ok(w)
}

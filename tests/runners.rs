//! `prewarm ci runners`: the Kubernetes manifests of self-hosted runners. The claims and the
//! runner pod template (the Helm values' `template`, wrapped as a `Pod` and as a `PodTemplate`,
//! since the chart's values and its `AutoscalingRunnerSet` are not objects the Kubernetes
//! schemas describe) pass `kubernetes-validate --strict` against a fixed Kubernetes release;
//! the same call rejects broken manifests; snapshots; bad options; no overwriting a file prewarm
//! did not write.
//!
//! kubernetes-validate comes from `scripts/engines.sh setup` (the Python package index, with its schemas in the
//! wheel, so it needs no network); a test that needs it fails and says so (it does not skip).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{prewarm_command as prewarm, python_tool, run_ok};
use prewarm::runners::{self, RunnersOptions, Volumes};
use serde_yaml_ng::Value;

/// The Kubernetes release whose schemas the manifests are checked against.
const KUBERNETES: &str = "1.30.0";

/// `kubernetes-validate --strict` (unknown fields are errors) against [`KUBERNETES`]. A kind
/// it has no schema for is only a warning with exit status 0, so the caller also counts the
/// resources that passed.
fn validate(files: &[&Path]) -> Output {
    Command::new(python_tool("kubernetes-validate"))
        .args(["--kubernetes-version", KUBERNETES, "--strict"])
        .args(files)
        .output()
        .unwrap()
}

/// Asserts that every one of `resources` (`kind/name`, lower-case as the validator prints them)
/// passed, and nothing else was read.
fn assert_valid(files: &[&Path], resources: &[&str]) {
    let out = validate(files);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubernetes-validate failed:\n{text}");
    let passed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split(" passed for resource ").nth(1))
        .filter_map(|l| l.split(" against version ").next())
        .collect();
    assert_eq!(passed, resources, "{text}");
    assert!(!text.contains("WARN"), "{text}");
}

/// The runner pod the chart makes from the values' `template`, as a `Pod`, and the same
/// template as a `PodTemplate`.
fn pod_objects(values: &Value) -> (Value, Value) {
    let template = values["template"].clone();
    assert!(template["spec"]["containers"].is_sequence(), "{values:?}");
    let pod: Value = serde_yaml_ng::from_str(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: runner\nspec: {}",
        serde_json::to_string(&template["spec"]).unwrap()
    ))
    .unwrap();
    let pod_template: Value = serde_yaml_ng::from_str(&format!(
        "apiVersion: v1\nkind: PodTemplate\nmetadata:\n  name: runner\ntemplate: {}",
        serde_json::to_string(&template).unwrap()
    ))
    .unwrap();
    (pod, pod_template)
}

fn write_yaml(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_yaml_ng::to_string(value).unwrap()).unwrap();
    path
}

fn read_yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const URL: &str = "https://github.com/acme/shop";

/// The runner pod of `values` passes the schemas, mounts `volumes` caches at the source
/// document's paths with their variables, and claims only what `claim_names` creates.
fn check_pod(values: &Value, claim_names: &[String], volumes: usize) {
    let (pod, pod_template) = pod_objects(values);
    let dir = tempfile::tempdir().unwrap();
    let pod_file = write_yaml(dir.path(), "pod.yaml", &pod);
    let template_file = write_yaml(dir.path(), "podtemplate.yaml", &pod_template);
    assert_valid(
        &[&pod_file, &template_file],
        &["pod/runner", "podtemplate/runner"],
    );

    // What the schemas cannot say: the mounts are the source document's, with their
    // variables, and every mount has its volume.
    let container = &pod["spec"]["containers"][0];
    let mounts = container["volumeMounts"].as_sequence().unwrap();
    assert_eq!(mounts.len(), volumes, "{container:?}");
    let env = container["env"].as_sequence().unwrap();
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap().to_string())
    };
    for (name, path) in [
        ("CARGO_HOME", "/cache/cargo"),
        ("RUSTUP_HOME", "/cache/rustup"),
    ] {
        assert_eq!(var(name).as_deref(), Some(path));
        assert!(mounts.iter().any(|m| m["mountPath"] == path));
    }
    // RUSTC_WRAPPER only for an image of the user's own: the stock image has no sccache.
    let stock = container["image"] == "ghcr.io/actions/actions-runner:latest";
    assert_eq!(
        var("RUSTC_WRAPPER").as_deref(),
        (!stock).then_some("sccache"),
        "{container:?}"
    );
    let pod_volumes = pod["spec"]["volumes"].as_sequence().unwrap();
    for m in mounts {
        assert!(pod_volumes.iter().any(|v| v["name"] == m["name"]), "{m:?}");
    }
    if volumes == 2 {
        assert_eq!(var("SCCACHE_DIR"), None);
        assert_eq!(container["envFrom"][0]["secretRef"]["name"], "sccache-env");
    } else {
        assert_eq!(var("SCCACHE_DIR").as_deref(), Some("/cache/sccache"));
    }
    // Shared claims are the ones the caches file creates; per-runner ones are templates.
    for v in pod_volumes {
        if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() {
            assert!(
                claim_names.iter().any(|c| c.ends_with(claim)),
                "{claim} is not created"
            );
        } else {
            let spec = &v["ephemeral"]["volumeClaimTemplate"]["spec"];
            assert_eq!(spec["accessModes"][0], "ReadWriteOnce");
            assert_eq!(spec["storageClassName"], "fast-ssd");
        }
    }
}

#[test]
fn generated_manifests_pass_the_kubernetes_schemas() {
    let repo = common::ci_repo();
    // From a subdirectory: the manifests go under the repository root's infra/arc.
    let sub = repo.path().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let out = repo.path().join(runners::DEFAULT_DIR);
    let claims = |prefix: &str| {
        ["cargo", "sccache", "rustup"]
            .map(|c| format!("persistentvolumeclaim/{prefix}-{c}-cache"))
            .to_vec()
    };
    let cases: [(&[&str], Vec<String>, usize); 4] = [
        (&[], claims("rust-runners"), 3),
        (
            &[
                "--access-mode",
                "rwo",
                "--storage-class",
                "standard-rwo",
                "--runner-image",
                "ghcr.io/acme/rust-builder:1",
            ],
            claims("rust-runners"),
            3,
        ),
        (
            &[
                "--volumes",
                "per-runner",
                "--max-runners",
                "4",
                "--storage-class",
                "fast-ssd",
            ],
            vec![],
            3,
        ),
        (
            &[
                "--name",
                "big",
                "--namespace",
                "ci",
                "--max-runners",
                "8",
                "--sccache-secret",
                "sccache-env",
                "--cargo-size",
                "20Gi",
                "--cpu",
                "7500m",
                "--memory",
                "30Gi",
                "--storage-class",
                "nfs-client",
            ],
            claims("big")
                .into_iter()
                .filter(|c| !c.contains("sccache"))
                .collect(),
            2,
        ),
    ];
    for (args, claim_names, volumes) in cases {
        run_ok(
            prewarm()
                .args(["ci", "runners", "--github-url", URL])
                .args(args)
                .current_dir(&sub),
        );
        let caches = out.join(runners::CACHES_FILE);
        let values = read_yaml(&out.join(runners::VALUES_FILE));
        let namespace = if args.contains(&"ci") {
            "ci"
        } else {
            "arc-runners"
        };
        let mut expected = vec![format!("namespace/{namespace}")];
        expected.extend(claim_names.iter().cloned());
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_valid(&[&caches], &expected);
        let caches_text = std::fs::read_to_string(&caches).unwrap();
        let once = args.contains(&"rwo");
        assert_eq!(
            caches_text.contains("- ReadWriteOnce"),
            once,
            "{caches_text}"
        );
        assert_eq!(
            caches_text.contains("- ReadWriteMany"),
            !once && !claim_names.is_empty(),
            "{caches_text}"
        );

        check_pod(&values, &claim_names, volumes);
        assert_eq!(values["githubConfigUrl"], URL);
    }
}

#[test]
fn the_kubernetes_schema_check_can_fail() {
    // The same validator call must reject what is broken, or the test above proves nothing.
    let opts = RunnersOptions {
        github_url: URL.to_string(),
        ..RunnersOptions::default()
    };
    let values: Value = serde_yaml_ng::from_str(&runners::render_values(&opts).unwrap()).unwrap();
    let (mut pod, _) = pod_objects(&values);
    let dir = tempfile::tempdir().unwrap();
    // The untouched pod passes, so a failure below is the edit's.
    let good = write_yaml(dir.path(), "good.yaml", &pod);
    assert_valid(&[&good], &["pod/runner"]);
    // An unknown field (strict mode), a quantity of the wrong type, a claim whose access
    // modes are not a list, and a kind no schema describes: each is refused.
    let mount = &mut pod["spec"]["containers"][0]["volumeMounts"][0];
    let path = mount["mountPath"].clone();
    mount.as_mapping_mut().unwrap().remove("mountPath");
    mount["mountpath"] = path;
    let unknown_field = write_yaml(dir.path(), "unknown-field.yaml", &pod);
    let caches = runners::render_caches(&opts).unwrap();
    let not_a_list = dir.path().join("not-a-list.yaml");
    std::fs::write(
        &not_a_list,
        caches.replace(
            "accessModes:\n  - ReadWriteMany",
            "accessModes: ReadWriteMany",
        ),
    )
    .unwrap();
    let wrong_type = dir.path().join("wrong-type.yaml");
    std::fs::write(
        &wrong_type,
        caches.replace("storage: 5Gi", "storage: {size: 5Gi}"),
    )
    .unwrap();
    for bad in [&unknown_field, &not_a_list, &wrong_type] {
        let out = validate(&[bad]);
        assert!(
            !out.status.success(),
            "kubernetes-validate accepted {}:\n{}",
            bad.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The chart's custom resource has no schema in the validator: it warns and exits 0, which
    // is why assert_valid counts what passed.
    let crd = dir.path().join("crd.yaml");
    std::fs::write(
        &crd,
        "apiVersion: actions.github.com/v1alpha1\nkind: AutoscalingRunnerSet\nmetadata:\n  name: x\nspec: {}\n",
    )
    .unwrap();
    let out = validate(&[&crd]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(" passed "), "{stdout}");
    let checked = std::panic::catch_unwind(|| assert_valid(&[&crd], &["autoscalingrunnerset/x"]));
    assert!(checked.is_err(), "an unknown kind counted as validated");
}

#[test]
fn runner_manifest_snapshots() {
    let default = RunnersOptions {
        github_url: URL.to_string(),
        ..RunnersOptions::default()
    };
    insta::assert_snapshot!(
        "runners_default_values",
        runners::render_values(&default).unwrap()
    );
    insta::assert_snapshot!(
        "runners_default_caches",
        runners::render_caches(&default).unwrap()
    );
    let remote = RunnersOptions {
        github_url: "https://github.com/acme".to_string(),
        name: "acme-rust".to_string(),
        max_runners: 6,
        min_runners: 1,
        sccache_secret: Some("sccache-env".to_string()),
        storage_class: Some("efs-sc".to_string()),
        cargo_size: "8Gi".to_string(),
        rustup_size: "3Gi".to_string(),
        cpu: "8".to_string(),
        memory: "16Gi".to_string(),
        runner_image: "ghcr.io/acme/shop/rust-builder:main".to_string(),
        ..RunnersOptions::default()
    };
    insta::assert_snapshot!(
        "runners_remote_sccache_values",
        runners::render_values(&remote).unwrap()
    );
    insta::assert_snapshot!(
        "runners_remote_sccache_caches",
        runners::render_caches(&remote).unwrap()
    );
    let per_runner = RunnersOptions {
        github_url: URL.to_string(),
        volumes: Volumes::PerRunner,
        max_runners: 4,
        sccache_size: "20Gi".to_string(),
        storage_class: Some("local-path".to_string()),
        ..RunnersOptions::default()
    };
    insta::assert_snapshot!(
        "runners_per_runner_values",
        runners::render_values(&per_runner).unwrap()
    );
    insta::assert_snapshot!(
        "runners_per_runner_caches",
        runners::render_caches(&per_runner).unwrap()
    );
    let once = RunnersOptions {
        github_url: URL.to_string(),
        access_mode: Some(runners::AccessMode::Rwo),
        storage_class: Some("standard-rwo".to_string()),
        ..RunnersOptions::default()
    };
    insta::assert_snapshot!(
        "runners_read_write_once_caches",
        runners::render_caches(&once).unwrap()
    );
}

fn runners_in(dir: &Path, args: &[&str]) -> Output {
    prewarm()
        .args(["ci", "runners", "--output-dir", "out"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn bad_option_values_name_the_value_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    for (args, said) in [
        (
            &["--cargo-size", "5 GB"][..],
            &[
                "`--cargo-size 5 GB` is not a size Kubernetes understands",
                "`5Gi`",
            ][..],
        ),
        (
            &["--sccache-size", "10gb"][..],
            &["`--sccache-size 10gb`", "hint: write a number and a suffix"][..],
        ),
        (
            &["--rustup-size", "0Gi"][..],
            &["`--rustup-size 0Gi`", "above zero"][..],
        ),
        (
            &["--cpu", "4 cores"][..],
            &["`--cpu 4 cores`", "millicores"][..],
        ),
        (&["--memory", "8g"][..], &["`--memory 8g`", "5Gi"][..]),
        (
            &["--namespace", "Arc_Runners"][..],
            &["`--namespace Arc_Runners`", "lower-case"][..],
        ),
        (
            &["--storage-class", "fast ssd"][..],
            &["`--storage-class fast ssd`"][..],
        ),
        (
            &["--max-runners", "3"][..],
            &[
                "`--max-runners 3`",
                "one server at a time",
                "--sccache-secret",
            ][..],
        ),
        (&["--max-runners", "0"][..], &["leave no runner"][..]),
        (
            &[
                "--access-mode",
                "rwo",
                "--max-runners",
                "2",
                "--sccache-secret",
                "s",
            ][..],
            &[
                "`--max-runners 2` with `--access-mode rwo`",
                "ReadWriteMany",
            ][..],
        ),
    ] {
        let out = runners_in(dir.path(), &[&["--github-url", URL][..], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        for s in said {
            assert!(stderr.contains(s), "{args:?}: no {s:?} in {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = runners_in(dir.path(), &["--github-url", "github.com/acme"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`--github-url github.com/acme`")
            && stderr.contains("https://github.com/acme/shop"),
        "{stderr}"
    );
    // Nothing is written when an option is wrong.
    assert!(!dir.path().join("out").exists());
}

#[test]
fn ci_runners_refuses_files_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mine = out_dir.join(runners::CACHES_FILE);
    std::fs::write(&mine, "apiVersion: v1\nkind: Namespace\n").unwrap();
    let o = runners_in(dir.path(), &["--github-url", URL]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("refusing to overwrite") && stderr.contains(runners::CACHES_FILE),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&mine).unwrap(),
        "apiVersion: v1\nkind: Namespace\n"
    );
    assert!(runners_in(dir.path(), &["--github-url", URL, "--force"])
        .status
        .success());
    let written = std::fs::read_to_string(&mine).unwrap();
    assert!(written.contains(prewarm::ci::MARKER), "{written}");
    // Now the file is prewarm's: rewritten without --force, with the new options.
    assert!(
        runners_in(dir.path(), &["--github-url", URL, "--cargo-size", "7Gi"])
            .status
            .success()
    );
    assert!(std::fs::read_to_string(&mine)
        .unwrap()
        .contains("storage: 7Gi"));
}

#[test]
fn help_ci_runners() {
    let help = run_ok(
        prewarm()
            .args(["ci", "runners", "--help"])
            .env("COLUMNS", "100"),
    );
    insta::assert_snapshot!("help_ci_runners", help);
}

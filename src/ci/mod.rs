//! GitHub Actions workflows: one that builds the rust-builder image and the project's image with
//! buildx and a layered cache, one that deletes stale caches on a schedule.
//!
//! The build cache has three layers, read in order: the branch's own GitHub Actions cache scope,
//! the shared scope (written by the default branch only, so branches read it but never
//! overwrite each other's fallback), and a registry cache image (`:cache`, `mode=max`, written by
//! every push that is not a pull request) that survives the 10 GB GitHub Actions cache limit.
//!
//! A hosted runner is new for every job: of a build, only what the cache exports survives.
//! `mode=max` exports the layers of every stage, the cook stage's included (no image holds it),
//! which is what tests/fleet.rs proves for two runners that share only a registry cache: the
//! second one takes the cooked layer from the registry and compiles the workspace's crates
//! only. Cache mounts never leave the runner, so the project's Dockerfile is meant to be
//! written with `prewarm image --ci` (crate sources in the cooked layer, not in a cache mount)
//! and, for a compilation cache shared between runners, `--sccache=BACKEND` with a remote
//! backend whose settings come in as the `sccache-env` secret.
//!
//! After its build each job runs `prewarm report` on the build's log (`docker buildx history
//! logs`), puts the summary in the job summary and keeps a history of build records in the
//! Actions cache (restored by prefix, saved under a new key per run), uploaded as an artifact
//! with the chart.

use std::fmt::Write as _;

pub mod test_job;

/// The file names `prewarm ci github` writes into its output directory.
pub const IMAGES_WORKFLOW: &str = "images.yml";
/// The cache-cleanup workflow's file name.
pub const CLEANUP_WORKFLOW: &str = "cache-cleanup.yml";

/// What decides the workflows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubOptions {
    /// Registry host (`ghcr.io`).
    pub registry: String,
    /// Image name under the registry, without tag (`owner/repo`); `None` means the repository's
    /// own name, lower-cased at run time as the registry requires.
    pub image: Option<String>,
    /// The builder image's Dockerfile, relative to the repository root.
    pub builder_dockerfile: String,
    /// The project's Dockerfile (relative to the repository root), or none to build only the
    /// builder image.
    pub dockerfile: Option<String>,
    /// The build context of both images.
    pub context: String,
    /// How many days an unused cache entry is kept by the scheduled clean-up.
    pub retention_days: u32,
    /// When the clean-up runs (cron, UTC).
    pub cron: String,
    /// When the builder image is rebuilt without its layer cache (cron, UTC), so that its
    /// prewarmed crates move to their newest versions; `None`: never on a schedule.
    pub refresh_cron: Option<String>,
    /// The project's Dockerfile builds FROM `ARG BUILDER_IMAGE` (`prewarm image
    /// --builder-image`): the project job passes the digest the builder job pushed.
    pub builder_arg: bool,
    /// `--jobs test`: a job that runs clippy, the tests and a release build inside the
    /// builder image ([`test_job`]).
    pub test_job: bool,
    /// `--test-runs-on`: the self-hosted runner label of that job (none: a hosted runner).
    pub test_runs_on: Option<String>,
}

impl Default for GithubOptions {
    fn default() -> Self {
        GithubOptions {
            registry: "ghcr.io".to_string(),
            image: None,
            builder_dockerfile: crate::builder::CHECKED_IN_PATH.to_string(),
            dockerfile: Some("Dockerfile".to_string()),
            context: ".".to_string(),
            retention_days: 7,
            cron: "0 2 * * 0".to_string(),
            refresh_cron: Some("0 3 * * 1".to_string()),
            builder_arg: false,
            test_job: false,
            test_runs_on: None,
        }
    }
}

/// YAML double-quoted scalar.
/// How a workflow prewarm wrote begins its second line (`prewarm ci github` overwrites only
/// such files, unless forced).
pub use crate::defaults::WORKFLOW_MARKER as MARKER;

/// The registry whose API the workflows know: login with the workflow's own token, and the
/// clean-up of untagged image versions.
pub const GHCR: &str = "ghcr.io";

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn header(w: &mut String, opts: &GithubOptions, what: &str) {
    let _ = writeln!(w, "# {what}");
    let _ = writeln!(w, "{MARKER}; regenerate rather than edit:");
    let _ = writeln!(w, "#   {}", command_line(opts));
}

/// The command line that writes these workflows.
pub fn command_line(opts: &GithubOptions) -> String {
    let d = GithubOptions::default();
    let mut cmd = String::from("prewarm ci github");
    if opts.registry != d.registry {
        let _ = write!(cmd, " --registry {}", opts.registry);
    }
    if let Some(image) = &opts.image {
        let _ = write!(cmd, " --image {image}");
    }
    if opts.builder_dockerfile != d.builder_dockerfile {
        let _ = write!(cmd, " --builder-dockerfile {}", opts.builder_dockerfile);
    }
    match &opts.dockerfile {
        None => cmd.push_str(" --no-project"),
        Some(f) if Some(f) != d.dockerfile.as_ref() => {
            let _ = write!(cmd, " --dockerfile {f}");
        }
        Some(_) => {}
    }
    if opts.context != d.context {
        let _ = write!(cmd, " --context {}", opts.context);
    }
    if opts.retention_days != d.retention_days {
        let _ = write!(cmd, " --retention-days {}", opts.retention_days);
    }
    if opts.cron != d.cron {
        let _ = write!(cmd, " --cron '{}'", opts.cron);
    }
    if opts.test_job {
        cmd.push_str(" --jobs test");
    }
    if let Some(label) = &opts.test_runs_on {
        let _ = write!(cmd, " --test-runs-on {label}");
    }
    if opts.refresh_cron != d.refresh_cron {
        match &opts.refresh_cron {
            Some(c) => {
                let _ = write!(cmd, " --refresh-cron '{c}'");
            }
            None => cmd.push_str(" --no-refresh"),
        }
    }
    cmd
}

/// The comments above a build step's `provenance` and cache settings: why one manifest per
/// tag (the first two lines), then what survives a hosted runner's job and where it is read.
const CACHE_NOTE: &[&str] = &[
    "One manifest per tag: an attestation would add untagged versions that the",
    "cache-cleanup workflow must not mistake for superseded ones.",
    "On a hosted runner nothing on the runner's disk survives the job: BuildKit's cache",
    "mounts (cargo's registry and git checkouts, a local sccache, incremental state) start",
    "empty every time. What survives is what these caches export: every layer of every",
    "stage (mode=max, so the cook stage's cooked dependencies too), in the GitHub Actions",
    "cache (10 GB per repository, entries unused for 7 days evicted) and in the registry",
    "cache image, which outlives both. Write the project's Dockerfile with `prewarm image",
    "--ci`: the crate sources are then in the cooked layer, and the build downloads nothing.",
    "Read: this branch's scope, then the shared scope, then the registry cache.",
];

/// The comment on the project build's `build-args`.
const FROM_BUILDER_NOTE: [&str; 4] = [
    "FROM the rust-builder image the job before pushed, by its digest (the Dockerfile's",
    "ARG BUILDER_IMAGE, written by `prewarm image --builder-image`): the prewarmed units",
    "are the ones just built. A pull request pushes nothing, so it builds FROM the",
    "Dockerfile's default, the builder the default branch pushed.",
];

/// One `docker/build-push-action` step with the three-layer cache; `scope` names the GitHub
/// Actions cache scope, `suffix` the image under `$IMAGE` (`/rust-builder`, or none).
struct BuildStep<'a> {
    name: &'a str,
    file: &'a str,
    context: &'a str,
    scope: &'a str,
    suffix: &'a str,
    /// Rebuild without the layer cache on the schedule.
    refresh: bool,
    /// The step's `id` (its outputs, the pushed digest among them, are read by that name).
    id: Option<&'a str>,
    /// Build FROM the builder image the `rust-builder` job pushed (`ARG BUILDER_IMAGE`).
    from_builder: bool,
}

fn build_step(w: &mut String, step: &BuildStep<'_>) {
    let BuildStep {
        name,
        file,
        context,
        scope,
        suffix,
        refresh,
        id,
        from_builder,
    } = *step;
    let cache_ref = format!("${{{{ env.IMAGE }}}}{suffix}:cache");
    let _ = writeln!(w, "      - name: {name}");
    if let Some(id) = id {
        let _ = writeln!(w, "        id: {id}");
    }
    let _ = writeln!(w, "        uses: docker/build-push-action@v7");
    let _ = writeln!(w, "        with:");
    let _ = writeln!(w, "          context: {}", q(context));
    let _ = writeln!(w, "          file: {}", q(file));
    let _ = writeln!(
        w,
        "          push: ${{{{ github.event_name != 'pull_request' }}}}"
    );
    let _ = writeln!(w, "          tags: ${{{{ steps.meta.outputs.tags }}}}");
    let _ = writeln!(w, "          labels: ${{{{ steps.meta.outputs.labels }}}}");
    if from_builder {
        for line in FROM_BUILDER_NOTE {
            let _ = writeln!(w, "          # {line}");
        }
        let _ = writeln!(
            w,
            "          build-args: ${{{{ github.event_name != 'pull_request' && format('BUILDER_IMAGE={{0}}/rust-builder@{{1}}', env.IMAGE, needs.rust-builder.outputs.digest) || '' }}}}"
        );
    }
    if refresh {
        let _ = writeln!(w, "          # The scheduled run rebuilds every layer: the prewarmed crates move to their");
        let _ = writeln!(
            w,
            "          # newest versions (a cached layer would keep the old lockfile for ever)."
        );
        let _ = writeln!(
            w,
            "          no-cache: ${{{{ github.event_name == 'schedule' }}}}"
        );
    }
    for line in &CACHE_NOTE[..2] {
        let _ = writeln!(w, "          # {line}");
    }
    let _ = writeln!(w, "          provenance: false");
    for line in &CACHE_NOTE[2..] {
        let _ = writeln!(w, "          # {line}");
    }
    let _ = writeln!(w, "          cache-from: |");
    let _ = writeln!(
        w,
        "            type=gha,scope={scope}-${{{{ github.ref_name }}}}"
    );
    let _ = writeln!(w, "            type=gha,scope={scope}");
    let _ = writeln!(w, "            type=registry,ref={cache_ref}");
    let _ = writeln!(w, "          # Write: this branch's scope always; the shared scope from the default branch only;");
    let _ = writeln!(
        w,
        "          # the registry cache (every layer, mode=max) whenever the job may push."
    );
    let _ = writeln!(w, "          cache-to: |");
    let _ = writeln!(
        w,
        "            type=gha,scope={scope}-${{{{ github.ref_name }}}},mode=max"
    );
    let _ = writeln!(
        w,
        "            ${{{{ github.ref_name == github.event.repository.default_branch && 'type=gha,scope={scope},mode=max' || '' }}}}"
    );
    let _ = writeln!(
        w,
        "            ${{{{ github.event_name != 'pull_request' && format('type=registry,ref={{0}}{suffix}:cache,mode=max', env.IMAGE) || '' }}}}"
    );
}

/// Steps shared by both jobs: checkout, the lower-cased image name, buildx, registry login and
/// the image's tags.
fn common_steps(w: &mut String, image_suffix: &str, registry: &str) {
    let _ = writeln!(w, "      - uses: actions/checkout@v6");
    let _ = writeln!(w, "      - name: Image name (registries want lower case)");
    let _ = writeln!(
        w,
        "        run: echo \"IMAGE=${{REGISTRY}}/${{IMAGE_NAME,,}}\" >> \"$GITHUB_ENV\""
    );
    let _ = writeln!(w, "      - uses: docker/setup-buildx-action@v4");
    let _ = writeln!(w, "      - name: Log in to ${{{{ env.REGISTRY }}}}");
    let _ = writeln!(w, "        if: github.event_name != 'pull_request'");
    let _ = writeln!(w, "        uses: docker/login-action@v4");
    let _ = writeln!(w, "        with:");
    let _ = writeln!(w, "          registry: ${{{{ env.REGISTRY }}}}");
    if registry == GHCR {
        let _ = writeln!(w, "          username: ${{{{ github.actor }}}}");
        let _ = writeln!(w, "          password: ${{{{ secrets.GITHUB_TOKEN }}}}");
    } else {
        let _ = writeln!(
            w,
            "          # Set these two repository secrets to an account that may push to {registry}."
        );
        let _ = writeln!(
            w,
            "          username: ${{{{ secrets.REGISTRY_USERNAME }}}}"
        );
        let _ = writeln!(
            w,
            "          password: ${{{{ secrets.REGISTRY_PASSWORD }}}}"
        );
    }
    let _ = writeln!(w, "      - name: Tags and labels");
    let _ = writeln!(w, "        id: meta");
    let _ = writeln!(w, "        uses: docker/metadata-action@v6");
    let _ = writeln!(w, "        with:");
    let _ = writeln!(w, "          images: ${{{{ env.IMAGE }}}}{image_suffix}");
    let _ = writeln!(w, "          tags: |");
    let _ = writeln!(w, "            type=ref,event=branch");
    let _ = writeln!(w, "            type=ref,event=pr");
    let _ = writeln!(w, "            type=semver,pattern={{{{version}}}}");
    let _ = writeln!(w, "            type=sha");
}

/// The comments above a job's report steps: what `prewarm report` reads, and how the history
/// gets from one run to the next.
const REPORT_NOTE: &[&str] = &[
    "What the caches did (`prewarm report`, run from the prewarm image): this build's record,",
    "read from BuildKit's log of it (`docker buildx history logs`: the newest build of this",
    "job's builder), is appended to the branch's build history, and the trend of the last",
    "builds goes to the job summary (warnings: an sccache hit rate under 80%, a build over",
    "1.5x the median) and, with the chart (trend.svg) and the record, into an artifact.",
    "The history travels from run to run in the GitHub Actions cache. An entry can never be",
    "overwritten, so every run saves a new one under a key ending in its run id and attempt,",
    "and the next run restores the newest entry whose key starts with its branch's prefix,",
    "else the default branch's (a new branch starts from that). Superseded entries go unused",
    "and the cache-cleanup workflow deletes them.",
];

/// The steps after a job's build that report it and carry its history on (`what` names the
/// job's image: `rust-builder` or `project`).
fn report_steps(w: &mut String, what: &str) {
    let dir = format!("prewarm-report/{what}");
    let key_prefix = format!("prewarm-history-{what}-");
    let key = format!("{key_prefix}${{{{ github.ref_name }}}}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}");
    for line in REPORT_NOTE {
        let _ = writeln!(w, "      # {line}");
    }
    let _ = writeln!(w, "      - name: Restore the {what} build history");
    let _ = writeln!(w, "        uses: actions/cache/restore@v5");
    let _ = writeln!(w, "        with:");
    let _ = writeln!(w, "          path: {dir}/history.jsonl");
    let _ = writeln!(w, "          key: {key}");
    let _ = writeln!(w, "          restore-keys: |");
    let _ = writeln!(w, "            {key_prefix}${{{{ github.ref_name }}}}-");
    let _ = writeln!(
        w,
        "            {key_prefix}${{{{ github.event.repository.default_branch }}}}-"
    );
    let _ = writeln!(w, "      - name: Report what the caches did");
    let _ = writeln!(
        w,
        "        # The image is built and pushed by now: a report that fails does not fail the job."
    );
    let _ = writeln!(w, "        continue-on-error: true");
    let _ = writeln!(w, "        run: |");
    let _ = writeln!(w, "          mkdir -p {dir}");
    let _ = writeln!(w, "          docker buildx history logs > {dir}/build.log");
    let _ = writeln!(
        w,
        "          docker run --rm --user \"$(id -u):$(id -g)\" -v \"$PWD/{dir}:/report\" -w /report \\"
    );
    let _ = writeln!(
        w,
        "            {} report --log build.log --label \"${{GITHUB_SHA::12}}\" \\",
        crate::image::default_prewarm_image()
    );
    let _ = writeln!(
        w,
        "            --history history.jsonl --chart trend.svg --summary summary.md > {dir}/record.json"
    );
    let _ = writeln!(
        w,
        "          cat {dir}/summary.md >> \"$GITHUB_STEP_SUMMARY\""
    );
    let _ = writeln!(w, "      - name: Save the {what} build history");
    let _ = writeln!(w, "        uses: actions/cache/save@v5");
    let _ = writeln!(w, "        with:");
    let _ = writeln!(w, "          path: {dir}/history.jsonl");
    let _ = writeln!(w, "          key: {key}");
    let _ = writeln!(w, "      - name: Keep the {what} build report");
    let _ = writeln!(w, "        uses: actions/upload-artifact@v6");
    let _ = writeln!(w, "        with:");
    let _ = writeln!(w, "          name: prewarm-report-{what}");
    let _ = writeln!(w, "          path: {dir}/");
}

/// The `sccache-env` secret of a Dockerfile written with `prewarm image --sccache=BACKEND`
/// (a remote backend), from the repository secret `SCCACHE_ENV`; unused by other Dockerfiles.
const SCCACHE_SECRET: &str = "          # A remote sccache (`prewarm image --sccache=redis`, say) reads its endpoint and\n          # credentials from this secret, never from a layer: set the repository secret SCCACHE_ENV\n          # to its KEY=VALUE lines (SCCACHE_REDIS_ENDPOINT=..., say). Hosted runners keep no\n          # sccache directory, so only a remote backend is shared between jobs.\n          secrets: |\n            sccache-env=${{ secrets.SCCACHE_ENV }}\n";

/// A pull request from a branch of this repository was built by the push to that branch
/// already: build pull requests from forks only (which cannot push, and so build once).
const SKIP_OWN_PULL_REQUESTS: &str = "    # A pull request from this repository's own branch is built by the push to it already.\n    if: github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name != github.repository\n";

/// The image-building workflow.
pub fn render_images(opts: &GithubOptions) -> String {
    let mut w = String::new();
    header(
        &mut w,
        opts,
        "Builds the rust-builder image and the project's image with buildx, caching layers in\n\
         # GitHub Actions (a scope per branch plus a shared fallback) and in the registry.",
    );
    w.push_str("name: images\n\n");
    w.push_str("on:\n  push:\n    branches: [\"**\"]\n    tags: [\"v*\"]\n  pull_request:\n  workflow_dispatch:\n");
    if let Some(cron) = &opts.refresh_cron {
        w.push_str("  # Weekly: rebuild the builder image from scratch (newest crate versions).\n");
        let _ = writeln!(w, "  schedule:\n    - cron: {}", q(cron));
    }
    w.push('\n');
    if opts.registry == GHCR {
        w.push_str(
            "# Push images and the registry cache to ghcr.io with the workflow's own token.\n",
        );
        w.push_str("permissions:\n  contents: read\n  packages: write\n\n");
    } else {
        let _ = writeln!(
            w,
            "# Push images and the registry cache to {} with the REGISTRY_USERNAME and\n# REGISTRY_PASSWORD secrets.",
            opts.registry
        );
        w.push_str("permissions:\n  contents: read\n\n");
    }
    w.push_str("concurrency:\n  group: images-${{ github.ref }}\n  cancel-in-progress: true\n\n");
    w.push_str("env:\n");
    let _ = writeln!(w, "  REGISTRY: {}", q(&opts.registry));
    match &opts.image {
        Some(image) => {
            let _ = writeln!(w, "  IMAGE_NAME: {}", q(image));
        }
        None => w.push_str("  IMAGE_NAME: ${{ github.repository }}\n"),
    }
    w.push_str("\njobs:\n");
    w.push_str("  rust-builder:\n    name: rust-builder image\n");
    w.push_str(SKIP_OWN_PULL_REQUESTS);
    w.push_str("    runs-on: ubuntu-latest\n    timeout-minutes: 60\n");
    if opts.builder_arg || opts.test_job {
        w.push_str("    # The pushed image, for the jobs that build or run FROM it.\n");
        w.push_str("    outputs:\n      digest: ${{ steps.build.outputs.digest }}\n");
        w.push_str("      image: ${{ github.event_name != 'pull_request' && format('{0}/rust-builder@{1}', env.IMAGE, steps.build.outputs.digest) || format('{0}/rust-builder:{1}', env.IMAGE, github.event.repository.default_branch) }}\n");
    }
    w.push_str("    steps:\n");
    common_steps(&mut w, "/rust-builder", &opts.registry);
    build_step(
        &mut w,
        &BuildStep {
            name: "Build the rust-builder image",
            file: &opts.builder_dockerfile,
            context: &opts.context,
            scope: "rust-builder",
            suffix: "/rust-builder",
            refresh: opts.refresh_cron.is_some(),
            id: (opts.builder_arg || opts.test_job).then_some("build"),
            from_builder: false,
        },
    );
    report_steps(&mut w, "rust-builder");
    if let Some(file) = &opts.dockerfile {
        w.push_str("\n  project:\n    name: project image\n    needs: rust-builder\n");
        w.push_str(SKIP_OWN_PULL_REQUESTS);
        w.push_str("    runs-on: ubuntu-latest\n    timeout-minutes: 60\n    steps:\n");
        common_steps(&mut w, "", &opts.registry);
        build_step(
            &mut w,
            &BuildStep {
                name: "Build the project image",
                file,
                context: &opts.context,
                scope: "project",
                suffix: "",
                refresh: false,
                id: None,
                from_builder: opts.builder_arg,
            },
        );
        w.push_str(SCCACHE_SECRET);
        report_steps(&mut w, "project");
    }
    if opts.test_job {
        test_job::render(&mut w, opts.test_runs_on.as_deref(), opts.registry == GHCR);
    }
    w
}

/// The scheduled cache clean-up workflow.
pub fn render_cleanup(opts: &GithubOptions) -> String {
    let mut w = String::new();
    let what = if opts.registry == GHCR {
        "Deletes build caches nobody used for RETENTION_DAYS days: GitHub Actions cache entries\n\
         # (the gha scopes of the images workflow) and untagged versions of the registry images\n\
         # (superseded :cache manifests). Tagged image versions are never deleted."
    } else {
        "Deletes build caches nobody used for RETENTION_DAYS days: GitHub Actions cache entries\n\
         # (the gha scopes of the images workflow)."
    };
    header(&mut w, opts, what);
    w.push_str("name: cache-cleanup\n\n");
    w.push_str("on:\n  schedule:\n");
    let _ = writeln!(w, "    - cron: {}", q(&opts.cron));
    w.push_str("  workflow_dispatch:\n    inputs:\n");
    w.push_str("      retention-days:\n        description: Delete caches unused for this many days\n        type: number\n");
    let _ = writeln!(w, "        default: {}", opts.retention_days);
    w.push_str("      dry-run:\n        description: List what would be deleted, delete nothing\n        type: boolean\n        default: false\n\n");
    let ghcr = opts.registry == GHCR;
    if ghcr {
        w.push_str(
            "# actions: write deletes GitHub Actions caches; packages: write deletes image versions\n",
        );
        w.push_str("# (the package must grant this repository admin access in its settings).\n");
        w.push_str("permissions:\n  actions: write\n  contents: read\n  packages: write\n\n");
    } else {
        let _ = writeln!(
            w,
            "# actions: write deletes GitHub Actions caches. Untagged versions in {} are left to\n# that registry's own retention policy: its API is not one this workflow knows.",
            opts.registry
        );
        w.push_str("permissions:\n  actions: write\n  contents: read\n\n");
    }
    w.push_str("concurrency:\n  group: cache-cleanup\n  cancel-in-progress: false\n\n");
    w.push_str("env:\n");
    let _ = writeln!(
        w,
        "  RETENTION_DAYS: ${{{{ inputs.retention-days || {} }}}}",
        opts.retention_days
    );
    w.push_str("  DRY_RUN: ${{ inputs.dry-run && 'true' || 'false' }}\n");
    w.push_str("  GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n");
    w.push_str("  GH_REPO: ${{ github.repository }}\n");
    match &opts.image {
        Some(image) => {
            let _ = writeln!(w, "  IMAGE_NAME: {}", q(image));
        }
        None => w.push_str("  IMAGE_NAME: ${{ github.repository }}\n"),
    }
    w.push_str("  OWNER_TYPE: ${{ github.event.repository.owner.type }}\n\n");
    w.push_str("jobs:\n  cleanup:\n    name: delete stale caches\n    runs-on: ubuntu-latest\n    timeout-minutes: 30\n    steps:\n");
    w.push_str(CLEANUP_GHA_STEP);
    if ghcr {
        w.push_str(&cleanup_registry_step(opts.dockerfile.is_some()));
    }
    w
}

const CLEANUP_GHA_STEP: &str = r###"      - name: GitHub Actions caches
        shell: bash
        run: |
          set -euo pipefail
          cutoff=$(date -u -d "-${RETENTION_DAYS} days" +%Y-%m-%dT%H:%M:%SZ)
          echo "## GitHub Actions caches unused since $cutoff" >> "$GITHUB_STEP_SUMMARY"
          gh cache list --limit 5000 --json id,key,lastAccessedAt,sizeInBytes \
            --jq ".[] | select(.lastAccessedAt < \"$cutoff\") | [.id, .sizeInBytes, .key] | @tsv" > stale.tsv
          count=0 bytes=0
          while IFS=$'\t' read -r id size key; do
            echo "- \`$key\` ($((size / 1048576)) MiB)" >> "$GITHUB_STEP_SUMMARY"
            if [ "$DRY_RUN" != true ]; then
              gh cache delete "$id"
            fi
            count=$((count + 1)) bytes=$((bytes + size))
          done < stale.tsv
          echo "$count entries, $((bytes / 1048576)) MiB$([ "$DRY_RUN" = true ] && echo ' (dry run: kept)')" >> "$GITHUB_STEP_SUMMARY"
"###;

fn cleanup_registry_step(project: bool) -> String {
    // An array, so that one package is as plain a loop as two (a loop over one quoted word
    // is shellcheck's SC2066).
    let packages = if project {
        "(\"$name/rust-builder\" \"$name\")"
    } else {
        "(\"$name/rust-builder\")"
    };
    format!(
        r###"      - name: Registry cache images
        shell: bash
        run: |
          set -euo pipefail
          cutoff=$(date -u -d "-${{RETENTION_DAYS}} days" +%Y-%m-%dT%H:%M:%SZ)
          echo "## Untagged image versions older than $cutoff" >> "$GITHUB_STEP_SUMMARY"
          image=${{IMAGE_NAME,,}}
          owner=${{image%%/*}} name=${{image#*/}}
          if [ "$OWNER_TYPE" = Organization ]; then
            base=/orgs/$owner/packages/container
          else
            base=/user/packages/container
          fi
          packages={packages}
          for package in "${{packages[@]}}"; do
            url="$base/${{package//\//%2F}}/versions"
            if ! gh api --paginate "$url" \
              --jq ".[] | select((.metadata.container.tags | length) == 0 and .updated_at < \"$cutoff\") | .id" > versions.txt; then
              echo "- \`$package\`: no such package (yet)" >> "$GITHUB_STEP_SUMMARY"
              continue
            fi
            echo "- \`$package\`: $(wc -l < versions.txt) untagged versions$([ "$DRY_RUN" = true ] && echo ' (dry run: kept)')" >> "$GITHUB_STEP_SUMMARY"
            if [ "$DRY_RUN" != true ]; then
              while read -r id; do
                gh api --method DELETE "$url/$id" --silent
              done < versions.txt
            fi
          done
"###
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_names_non_defaults() {
        let opts = GithubOptions {
            retention_days: 3,
            dockerfile: None,
            ..GithubOptions::default()
        };
        assert_eq!(
            command_line(&opts),
            "prewarm ci github --no-project --retention-days 3"
        );
    }
}

//! The comment block at the top of a project Dockerfile: how it was written, how to build it,
//! its secrets, sccache and the stages.

use super::{sccache, ProjectImage, BUILDER_ARG, CARGO_CREDENTIALS, GIT_CREDENTIALS, MARKER};

impl ProjectImage {
    pub(super) fn header(&self) -> Vec<String> {
        let mut h = vec![
            format!(
                "{} {} for `{}`, with:",
                &MARKER[2..],
                self.version,
                self.name
            ),
            format!("    {}", self.invocation),
            "Change the options and run that again, rather than editing this file by hand.".into(),
            String::new(),
        ];
        if self.context.from_workspace == "." {
            h.push("Build it from this directory (the build context):".into());
        } else {
            h.push(format!(
                "Build it from `{}`, relative to the workspace (the build context holds path",
                self.context.from_workspace
            ));
            h.push("dependencies outside the workspace):".into());
        }
        for cmd in self.build_commands() {
            h.push(format!("    {cmd}"));
        }
        h.push(String::new());
        if self.builder_arg {
            h.push(format!(
                "FROM the rust-builder image {}: pass --build-arg {BUILDER_ARG}=<image>@<digest>",
                self.base_image
            ));
            h.push("to build FROM the very image CI just built (`prewarm ci github` does).".into());
            h.push(String::new());
        }
        if !self.build_args.is_empty() {
            let names: Vec<&str> = self.build_args.iter().map(|(k, _)| k.as_str()).collect();
            h.push(format!(
                "Build arguments of the cook and build stages ({}): pass each with",
                names.join(", ")
            ));
            h.push("--build-arg NAME=VALUE to the commands above.".into());
            h.push(String::new());
        }
        h.extend(self.secrets_note());
        if let Some(backend) = self.sccache {
            h.push(String::new());
            h.extend(backend.header());
        }
        h.extend([
            String::new(),
            "Stages (each is rebuilt only when what it reads changes):".into(),
            "  base     the Rust toolchain, system packages and prewarm".into(),
            "  planner  `prewarm recipe`: the manifests, lockfile and cargo config, stripped of all".into(),
            "           that cannot change how dependencies compile (sources, versions, metadata)".into(),
        ]);
        h.extend(self.deps_header());
        h.extend([
            "  cook     `prewarm cook`: builds only the dependencies; this layer is reused for as"
                .into(),
            "           long as the recipe stays byte-identical".into(),
        ]);
        h.extend(self.tiers_header()); // tiers (issue 11)
        h.push("  build    the real sources, built with the very same cargo flags".into());
        h.extend(self.runtime_header());
        h
    }

    /// The header's lines on the secrets the file mounts.
    fn secrets_note(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        if self.cargo_credentials {
            secrets.push(format!(
                "  {CARGO_CREDENTIALS}  cargo's credentials.toml (--cargo-credentials)"
            ));
        }
        if self.git_credentials {
            secrets.push(format!(
                "  {GIT_CREDENTIALS}    a git-credential-store file (--git-credentials)"
            ));
        }
        if let Some(backend) = self.sccache.filter(|b| b.is_remote()) {
            secrets.push(format!(
                "  {}        the remote sccache's settings, KEY=VALUE lines (--sccache={})",
                sccache::SECRET_ID,
                backend.name()
            ));
        }
        if secrets.is_empty() {
            return vec![
                "Secrets: none (no BuildKit secret mounts). Private registries and git dependencies"
                    .into(),
                "get credentials as secrets with --cargo-credentials and --git-credentials, never"
                    .into(),
                "through the build context or a layer.".into(),
            ];
        }
        let mut lines = vec![
            "Secrets: the cook and build steps mount these BuildKit secrets, given with the"
                .to_string(),
            "--secret options above; each is there only while its step runs, never stored in a"
                .to_string(),
            "layer:".to_string(),
        ];
        lines.extend(secrets);
        lines
    }
}

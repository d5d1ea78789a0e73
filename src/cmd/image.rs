//! `prewarm image`: write a project's multi-stage Dockerfile (and a `.dockerignore`), or with
//! `--builder` the shared rust-builder image's. The options are [`ImageArgs`]; the library's
//! [`crate::image`] resolves them into the image, and this verb writes the files and says how
//! to build them.

use std::io::Write;
use std::path::Path;

use crate::dockerfile;
use crate::error::{Error, Result};
pub use crate::image::args::ImageArgs;
use crate::image::generate;

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
    let json = args.format == crate::output::Format::Json;
    if json && args.output.as_deref() == Some(Path::new("-")) {
        return Err(Error::input(
            "--format json prints a summary of the Dockerfile written to a file; it cannot go with --output -",
        )
        .with_hint("drop --format json, or name an output file"));
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
    if !json {
        crate::status!("wrote {}", written.join(" and "));
    }
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
    if json {
        return summary(&generated, path);
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

/// The JSON summary of `prewarm image --format json`.
#[derive(serde::Serialize)]
struct Summary {
    schema: &'static str,
    dockerfile: String,
    /// The `.dockerignore` written this time (none when the context has one already).
    dockerignore: Option<String>,
    /// The build context directory.
    context: String,
    /// The stages, in order.
    stages: Vec<String>,
    /// The binaries the image builds.
    binaries: Vec<String>,
    /// The tier stages' crates, in order (empty without tiers).
    tiers: Vec<Vec<String>>,
    /// Each build command, run from the build context.
    build_commands: Vec<String>,
}

fn summary(generated: &crate::image::Generated, path: &Path) -> Result<()> {
    let image = &generated.image;
    crate::output::json(&Summary {
        schema: "prewarm-image-summary/1",
        dockerfile: path.display().to_string(),
        dockerignore: generated
            .dockerignore
            .as_ref()
            .map(|(p, _)| p.display().to_string()),
        context: generated.context_dir.display().to_string(),
        stages: image
            .dockerfile()
            .stages
            .iter()
            .map(|s| s.name.clone())
            .collect(),
        binaries: image.binaries.iter().map(|b| b.name.clone()).collect(),
        tiers: image
            .tiers
            .iter()
            .flat_map(|t| &t.tiers)
            .map(|t| t.crates.iter().map(|(n, _)| n.clone()).collect())
            .collect(),
        build_commands: image.build_commands(),
    })
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

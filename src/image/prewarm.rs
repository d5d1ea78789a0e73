//! `--prewarm-from` and `--prewarm-path` resolved into a [`PrewarmSource`]: the options
//! checked against each other, and a context path against the workspace and the build
//! context's `.dockerignore`.

use std::path::{Component, Path};

use super::args::{default_prewarm_image, ImageArgs, PrewarmFrom};
use crate::dockerfile::ignore::Ignore;
use crate::dockerfile::{check, PrewarmSource};
use crate::error::{Error, Result};

/// Where the Dockerfile gets prewarm. `workspace` is the workspace root on disk,
/// `in_context` its path in the build context (`.` when the same), `context` the build
/// context on disk.
pub fn resolve(
    args: &ImageArgs,
    workspace: &Path,
    in_context: &str,
    context: &Path,
) -> Result<PrewarmSource> {
    let from = args.prewarm_from;
    if from != PrewarmFrom::Image && args.prewarm_image.is_some() {
        return Err(Error::input(format!(
            "`--prewarm-image` names an image to copy prewarm from, but `--prewarm-from {}` gets it elsewhere",
            name(from)
        ))
        .with_hint("drop --prewarm-image, or use --prewarm-from image"));
    }
    if from != PrewarmFrom::Context && args.prewarm_path.is_some() {
        return Err(Error::input(format!(
            "`--prewarm-path` is only read with `--prewarm-from context` (not `{}`)",
            name(from)
        ))
        .with_hint("add --prewarm-from context, or drop --prewarm-path"));
    }
    match from {
        PrewarmFrom::Image => Ok(PrewarmSource::Image(
            args.prewarm_image
                .clone()
                .unwrap_or_else(default_prewarm_image),
        )),
        PrewarmFrom::Crates => Ok(PrewarmSource::Crates(env!("CARGO_PKG_VERSION").into())),
        PrewarmFrom::Context => {
            let Some(path) = &args.prewarm_path else {
                return Err(Error::input("`--prewarm-from context` needs `--prewarm-path`")
                    .with_hint("pass --prewarm-path with a prewarm binary or a prewarm source checkout in the workspace, e.g. --prewarm-path tools/prewarm"));
            };
            context_source(path, workspace, in_context, context)
        }
    }
}

fn name(from: PrewarmFrom) -> &'static str {
    match from {
        PrewarmFrom::Image => "image",
        PrewarmFrom::Crates => "crates",
        PrewarmFrom::Context => "context",
    }
}

/// A `--prewarm-path`: a binary or a source checkout inside the workspace, which the build
/// context's `.dockerignore` (if it has one) lets in.
fn context_source(
    value: &str,
    workspace: &Path,
    in_context: &str,
    context: &Path,
) -> Result<PrewarmSource> {
    let origin = "`--prewarm-path`";
    check::text(value, origin)?;
    let rel = value.trim_end_matches('/');
    check::path(rel, origin)?;
    let inside = !rel.is_empty()
        && rel != "."
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(Error::input(format!(
            "`--prewarm-path {value}` is not a path inside the workspace"
        ))
        .with_hint("give the prewarm binary or source checkout relative to the workspace root, such as tools/prewarm"));
    }
    let on_disk = workspace.join(rel);
    let in_ctx = if in_context == "." {
        rel.to_string()
    } else {
        format!("{in_context}/{rel}")
    };
    let source = if on_disk.is_dir() {
        checkout(&on_disk)?;
        PrewarmSource::ContextSource(in_ctx.clone())
    } else if on_disk.is_file() {
        binary(&on_disk)?;
        PrewarmSource::ContextBinary(in_ctx.clone())
    } else {
        return Err(Error::input(format!(
            "`--prewarm-path {value}`: there is no `{}`",
            on_disk.display()
        ))
        .with_hint("build prewarm (cargo build --release), or check out its source, inside the workspace and name it"));
    };
    let ignore_file = context.join(".dockerignore");
    if let Ok(text) = std::fs::read_to_string(&ignore_file) {
        let ignore = Ignore::parse(&text);
        let needed: Vec<String> = match &source {
            PrewarmSource::ContextSource(_) => ["Cargo.toml", "Cargo.lock", "src"]
                .iter()
                .map(|f| format!("{in_ctx}/{f}"))
                .collect(),
            _ => vec![in_ctx.clone()],
        };
        if let Some(left_out) = needed.iter().find(|p| ignore.excludes(p)) {
            return Err(Error::input(format!(
                "`{}` leaves `{left_out}` out of the build context, so the build cannot use `--prewarm-path {value}`",
                ignore_file.display()
            ))
            .with_hint(format!("add the line `!{in_ctx}` at the end of the .dockerignore")));
        }
    }
    Ok(source)
}

/// A directory given to `--prewarm-path` must be a prewarm source checkout with its lockfile
/// (the stage builds it `--locked`).
fn checkout(dir: &Path) -> Result<()> {
    let manifest = dir.join("Cargo.toml");
    let hint = "give a checkout of prewarm's repository (its Cargo.toml names the package `prewarm`), or a prewarm binary";
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        Error::input(format!(
            "`--prewarm-path`: `{}` is not a prewarm source checkout ({e} reading its Cargo.toml)",
            dir.display()
        ))
        .with_hint(hint)
    })?;
    let package = text.parse::<toml::Table>().ok().and_then(|t| {
        t.get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str().map(str::to_string))
    });
    if package.as_deref() != Some("prewarm") {
        return Err(Error::input(format!(
            "`--prewarm-path`: `{}` is not prewarm's manifest (its package is {})",
            manifest.display(),
            package.map_or_else(|| "not named".to_string(), |p| format!("`{p}`"))
        ))
        .with_hint(hint));
    }
    if !dir.join("Cargo.lock").is_file() {
        return Err(Error::input(format!(
            "`--prewarm-path`: `{}` has no Cargo.lock, and the image builds prewarm with --locked",
            dir.display()
        ))
        .with_hint("use a checkout of prewarm's repository, which holds its lockfile"));
    }
    Ok(())
}

/// A file given to `--prewarm-path` must be an executable ELF file (the images are Linux).
fn binary(file: &Path) -> Result<()> {
    use std::io::Read as _;
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(file).and_then(|mut f| f.read_exact(&mut magic));
    if read.is_err() || magic != *b"\x7fELF" {
        return Err(Error::input(format!(
            "`--prewarm-path`: `{}` is not a Linux executable",
            file.display()
        ))
        .with_hint("give a prewarm binary built for Linux (cargo build --release puts it in target/release/prewarm), or a prewarm source checkout"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file).map_or(0, |m| m.permissions().mode());
        if mode & 0o111 == 0 {
            return Err(Error::input(format!(
                "`--prewarm-path`: `{}` is not executable",
                file.display()
            ))
            .with_hint(format!("chmod +x {}", file.display())));
        }
    }
    Ok(())
}

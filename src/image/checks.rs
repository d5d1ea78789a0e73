//! What `prewarm image` refuses or adds because of how options combine with each other, with
//! the workspace's cargo config and with the base image: the linker the config asks for, a
//! cross linker, a static binary for an empty runtime, sccache with incremental builds, and a
//! base image's own `CARGO_TARGET_DIR`.

use std::path::Path;

use clap::ValueEnum;

use super::args::ImageArgs;
use super::config::Config;
use super::runtime::Runtime;
use crate::dockerfile::{check, Linker};
use crate::error::{Error, Result};
use crate::linker::{self, Detected, Need};

/// What the build stages need to link the triple being built.
#[derive(Debug, Default)]
pub struct Linking {
    /// Packages for the base stage, each with the reason.
    pub needs: Vec<Need>,
    /// Environment for the build stages (a cross linker).
    pub env: Vec<(String, String)>,
}

/// Options that cannot be used together.
pub fn combinations(args: &ImageArgs) -> Result<()> {
    if args.sccache.is_some() && args.incremental {
        return Err(Error::input(
            "`--sccache` with `--incremental`: sccache cannot cache incremental compilation units, so the workspace's crates would compile uncached",
        )
        .with_hint("pick one: --sccache for dependencies cached across projects, or --incremental for fast rebuilds of the workspace's crates"));
    }
    Ok(())
}

/// The linker setup for `triple`: what the cargo config asks for (warning about a linker
/// prewarm cannot map to a package), a cross linker, and whether the binary is static enough
/// for the runtime.
pub fn linking(args: &ImageArgs, config: &Config, triple: &str, ws_root: &Path) -> Result<Linking> {
    let detected = linker::detect(&config.docs, triple, ws_root);
    check_linker(args.linker, &detected, triple)?;
    for what in &detected.unknown {
        crate::status!("warning: {what} names a linker prewarm cannot map to a Debian package, so the image may lack it\n  (hint: install it with --apt PACKAGE)"
        );
    }
    let mut linking = Linking {
        needs: detected.needs.clone(),
        env: Vec::new(),
    };
    cross(args, &detected, triple, &mut linking)?;
    static_binary(args, &detected, triple)?;
    Ok(linking)
}

/// `--linker` goes to `build.rustflags`, which rustflags of a `target` table for the triple
/// being built would override (config for other triples does not matter).
fn check_linker(linker: Linker, detected: &Detected, triple: &str) -> Result<()> {
    let Some(file) = detected
        .target_rustflags
        .as_ref()
        .filter(|_| linker != Linker::Default)
    else {
        return Ok(());
    };
    Err(Error::input(format!(
        "`--linker {}` adds rustc flags through `build.rustflags`, but `{}` sets rustflags for {triple} in a `target` table, which cargo prefers, so the linker flags would be ignored",
        linker.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default(),
        file.display()
    ))
    .with_hint(format!(
        "add `{}` to those target rustflags yourself (prewarm then installs the linker), or move the flags to `build.rustflags`",
        linker.rustflags()
    )))
}

/// A foreign triple needs a cross linker: configured, given with `--env`, or added by `--cross`.
fn cross(args: &ImageArgs, detected: &Detected, triple: &str, out: &mut Linking) -> Result<()> {
    let host = linker::host_triple();
    let cross = match linker::cross_linker(triple, &host) {
        Ok(None) => return Ok(()),
        Ok(Some(c)) => c,
        Err(why) => {
            return Err(Error::input(format!(
                "`--target {triple}` cannot be linked in the Debian base image: {why}"
            ))
            .with_hint("build for a Linux, wasm or bare-metal target, or use a base image with that toolchain (--base-image)"));
        }
    };
    let by_env = args
        .env
        .iter()
        .any(|e| e.starts_with(&format!("{}=", cross.env)));
    if detected.linker.is_some() || by_env {
        return Ok(());
    }
    if !args.cross {
        return Err(Error::input(format!(
            "`--target {triple}` is for another machine than the base image ({host}), and nothing names a linker for it"
        ))
        .with_hint(format!(
            "pass --cross to install Debian's `{}` and link with `{}`, or set `linker` in `[target.{triple}]` of .cargo/config.toml and add its package with --apt",
            cross.package, cross.program
        )));
    }
    out.needs.push(Need {
        package: cross.package.clone(),
        why: format!("the cross linker for {triple} (--cross)"),
    });
    out.env.push((cross.env, cross.program));
    Ok(())
}

/// scratch and alpine have no glibc: the binary must be static.
fn static_binary(args: &ImageArgs, detected: &Detected, triple: &str) -> Result<()> {
    let kind = args.runtime.runtime;
    let env_static = args
        .env
        .iter()
        .any(|e| e.contains("RUSTFLAGS=") && e.contains("+crt-static"));
    if !kind.needs_static()
        || linker::static_by_default(triple)
        || detected.crt_static
        || env_static
    {
        return Ok(());
    }
    let libc = if kind == Runtime::Scratch {
        "scratch holds no C library at all"
    } else {
        "alpine's C library is musl, not glibc"
    };
    Err(Error::input(format!(
        "`--runtime {}` needs a statically linked binary, but the build is for {triple}, whose binaries load glibc at run time; {libc}, so the binary would not start",
        kind.name()
    ))
    .with_hint(format!(
        "pass --target {}-unknown-linux-musl (a static musl binary; add --apt musl-tools if a dependency compiles C), or set `-C target-feature=+crt-static` in the target's rustflags, or use --runtime distroless or slim",
        std::env::consts::ARCH
    )))
}

/// A base image that sets `CARGO_TARGET_DIR` moves the build output, unless `--target-dir`
/// says where it goes. The image's config is read when a local engine holds it; the official
/// rust images set no such variable; for any other image `--target-dir` is required.
pub fn base_image_target_dir(args: &ImageArgs) -> Result<()> {
    let Some(image) = &args.base_image else {
        return Ok(());
    };
    if args.flags.target_dir.is_some() || official_rust(image) {
        return Ok(());
    }
    match image_env(image) {
        Some(env) => match env.iter().find_map(|e| e.strip_prefix("CARGO_TARGET_DIR=")) {
            None => Ok(()),
            Some(dir) => {
                check::text(dir, "the base image's CARGO_TARGET_DIR")?;
                Err(Error::input(format!(
                    "`--base-image {image}` sets CARGO_TARGET_DIR={dir}, which moves the build output away from where the Dockerfile copies the binary from"
                ))
                .with_hint(format!("pass --target-dir {dir} to build into the image's directory (and reuse what it holds), or --target-dir target for the workspace's own")))
            }
        },
        None => Err(Error::input(format!(
            "`--base-image {image}` may set CARGO_TARGET_DIR, and no local engine (buildah, podman, docker) holds the image to read its config"
        ))
        .with_hint("pass --target-dir DIR (the image's CARGO_TARGET_DIR if it sets one, else `target`), or pull the image so prewarm can read it")),
    }
}

/// `rust`, `rust:<tag>`, `docker.io/library/rust:<tag>`: images that set no `CARGO_TARGET_DIR`.
fn official_rust(image: &str) -> bool {
    let name = image.split(['@']).next().unwrap_or(image);
    let name = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    };
    matches!(name, "rust" | "library/rust" | "docker.io/library/rust")
}

/// The image's `Env`, from the first local engine that holds it.
fn image_env(image: &str) -> Option<Vec<String>> {
    image_config(image).map(|c| c.env)
}

/// What prewarm reads of an image's configuration.
#[derive(Debug, Default)]
pub struct ImageConfig {
    /// `NAME=VALUE` pairs.
    pub env: Vec<String>,
    /// Its labels.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The image's configuration, from the first local engine that holds it. buildah 1.28's
/// `--format` has no `json` function, so its whole inspect document is read.
pub fn image_config(image: &str) -> Option<ImageConfig> {
    let engines: [(&str, &[&str]); 3] = [
        ("buildah", &["inspect", "--type", "image"]),
        (
            "podman",
            &["image", "inspect", "--format", "{{json .Config}}"],
        ),
        (
            "docker",
            &["image", "inspect", "--format", "{{json .Config}}"],
        ),
    ];
    for (program, args) in engines {
        let Ok(out) = crate::process::Process::new(program)
            .args(args)
            .arg(image)
            .output()
        else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(out.stdout.trim()) else {
            continue;
        };
        let config = if program == "buildah" {
            &doc["OCIv1"]["config"]
        } else {
            &doc
        };
        let Some(env) = parse_env(&config["Env"].to_string()) else {
            continue;
        };
        let labels = serde_json::from_value::<Option<std::collections::BTreeMap<String, String>>>(
            config["Labels"].clone(),
        )
        .ok()
        .flatten()
        .unwrap_or_default();
        return Some(ImageConfig { env, labels });
    }
    None
}

/// `--builder-image` (or a `--base-image` whose label says it is a rust-builder image),
/// resolved: the image, the target directory holding its prewarmed units, and where that
/// came from.
#[derive(Debug, Clone)]
pub struct BuilderBase {
    /// The image.
    pub image: String,
    /// The target directory its units are in (absolute).
    pub target_dir: String,
    /// Named with `--builder-image` (the Dockerfile then names it in `ARG BUILDER_IMAGE`).
    pub by_flag: bool,
}

/// The rust-builder image the build starts from, if any: `--builder-image`, whose target
/// directory is its `io.prewarm.target-dir` label where a local engine holds it and the
/// builder's convention otherwise; or a `--base-image` a local engine shows that label on.
/// `--target-dir` wins over both.
///
/// # Errors
/// When the label's value cannot be written into a Dockerfile.
pub fn builder_base(args: &ImageArgs) -> Result<Option<BuilderBase>> {
    let label = |image: &str| {
        image_config(image).and_then(|c| c.labels.get(crate::builder::TARGET_DIR_LABEL).cloned())
    };
    let chosen = |image: &str, found: Option<String>| -> Result<String> {
        if let Some(dir) = &args.flags.target_dir {
            return Ok(dir.clone());
        }
        let Some(dir) = found else {
            crate::status!(
                "`{image}`: no local engine holds it, so its target directory is taken to be the rust-builder's own, {} (pass --target-dir if it is elsewhere)",
                crate::builder::TARGET_DIR
            );
            return Ok(crate::builder::TARGET_DIR.to_string());
        };
        check::text(&dir, "the image's io.prewarm.target-dir label")?;
        if !dir.starts_with('/') {
            return Err(Error::input(format!(
                "`{image}` labels its target directory `{dir}` ({}), which is not absolute",
                crate::builder::TARGET_DIR_LABEL
            ))
            .with_hint("pass --target-dir with the directory that holds its prewarmed units"));
        }
        Ok(dir)
    };
    if let Some(image) = &args.builder_image {
        check::image_ref(image, "`--builder-image`")?;
        return Ok(Some(BuilderBase {
            target_dir: chosen(image, label(image))?,
            image: image.clone(),
            by_flag: true,
        }));
    }
    match &args.base_image {
        Some(image) if !official_rust(image) && args.flags.target_dir.is_none() => {
            Ok(match label(image) {
                Some(dir) => Some(BuilderBase {
                    target_dir: chosen(image, Some(dir))?,
                    image: image.clone(),
                    by_flag: false,
                }),
                None => None,
            })
        }
        _ => Ok(None),
    }
}

impl BuilderBase {
    /// The options as if given by hand: the base image, the target directory, and sccache
    /// (the image runs rustc through it: its server is then started and stopped per step)
    /// unless incremental units are asked for, which sccache cannot cache.
    pub fn apply(&self, args: &ImageArgs) -> ImageArgs {
        let mut args = args.clone();
        args.base_image = Some(self.image.clone());
        args.builder_image = None;
        args.flags.target_dir = Some(self.target_dir.clone());
        if args.sccache.is_none() && !args.incremental {
            args.sccache = Some(crate::dockerfile::sccache::Backend::Local);
        }
        args
    }
}

/// The JSON list of `NAME=VALUE` an engine prints (`null` for none).
fn parse_env(json: &str) -> Option<Vec<String>> {
    match serde_json::from_str::<Option<Vec<String>>>(json) {
        Ok(env) => Some(env.unwrap_or_default()),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_images_and_env() {
        for yes in [
            "rust",
            "rust:1.95-slim-bookworm",
            "docker.io/library/rust:1.95",
        ] {
            assert!(official_rust(yes), "{yes}");
        }
        for no in ["ghcr.io/me/rust-builder:1", "rustx:1", "localhost/rust:1"] {
            assert!(!official_rust(no), "{no}");
        }
        assert_eq!(
            parse_env("[\"PATH=/bin\",\"CARGO_TARGET_DIR=/cache/target\"]"),
            Some(vec![
                "PATH=/bin".into(),
                "CARGO_TARGET_DIR=/cache/target".into()
            ])
        );
        assert_eq!(parse_env("null"), Some(Vec::new()));
        assert_eq!(parse_env("no"), None);
    }
}

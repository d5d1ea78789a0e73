//! Which binaries the image builds and runs, where cargo puts them, and the image's name.

use super::args::ImageArgs;
use super::config::Config;
use super::runtime::Runtime;
use crate::dockerfile::{self, check, Binary};
use crate::error::{Error, Result};
use crate::flags::BuildFlags;

/// The cargo flags of the image's build (`--locked` unless `--frozen`), the binaries it ships
/// with where cargo puts them, the target directory and the output directory.
pub(super) fn resolve_binaries(
    args: &ImageArgs,
    ws: &crate::metadata::Workspace,
    config: &Config,
) -> Result<(BuildFlags, Vec<Binary>, String, String)> {
    let mut flags = args.flags.clone();
    let names = select_binaries(ws, &mut flags, args.runtime.runtime)?;
    check_binary_names(&names, args.runtime.runtime)?;
    if !flags.frozen {
        flags.locked = true;
    }
    let target_dir = flags
        .target_dir
        .clone()
        .unwrap_or_else(|| config.target_dir.clone());
    let out_dir = out_dir(&flags, config, &target_dir, !names.is_empty())?;
    let binaries = names
        .into_iter()
        .map(|name| Binary {
            built_at: format!("{out_dir}/{name}"),
            name,
        })
        .collect();
    Ok((flags, binaries, target_dir, out_dir))
}

/// Several binaries get a runtime stage each: their stage names must differ.
fn check_binary_names(binaries: &[String], runtime: Runtime) -> Result<()> {
    let mut stages: Vec<(String, &str)> = Vec::new();
    for b in binaries {
        check::cargo_name(b, "the workspace's binary targets")?;
        let stage = dockerfile::runtime::stage_name(b);
        if runtime != Runtime::None && binaries.len() > 1 {
            if let Some((_, other)) = stages.iter().find(|(s, _)| *s == stage) {
                return Err(Error::input(format!(
                    "the binaries `{other}` and `{b}` would both get the runtime stage `{stage}`"
                ))
                .with_hint("build them in two images: run prewarm image with one of the --bin options each, and --output"));
            }
        }
        stages.push((stage, b));
    }
    Ok(())
}

/// Where cargo puts the binaries: `<target-dir>[/<triple>]/<profile>`, relative to the
/// workspace root (or absolute).
fn out_dir(
    flags: &BuildFlags,
    config: &Config,
    target_dir: &str,
    has_binaries: bool,
) -> Result<String> {
    let triple = match (flags.target.as_slice(), &config.target) {
        ([], t) => t.clone(),
        ([t], _) => Some(t.clone()),
        (_, _) if !has_binaries => None,
        (many, _) => {
            return Err(Error::input(format!(
                "an image holds binaries for one target, but {} targets were given ({})",
                many.len(),
                many.join(", ")
            ))
            .with_hint("pass one --target, or --runtime none without --bin"));
        }
    };
    let mut dir = target_dir.to_string();
    if let Some(t) = &triple {
        dir = format!("{dir}/{t}");
    }
    Ok(format!("{dir}/{}", flags.profile_dir()))
}

/// The binaries the image runs: `--bin` as given (checked), else the workspace's only binary.
/// A chosen binary is added to the flags, so the cook builds exactly its dependencies.
fn select_binaries(
    ws: &crate::metadata::Workspace,
    flags: &mut BuildFlags,
    runtime: Runtime,
) -> Result<Vec<String>> {
    use crate::metadata::TargetKind;
    let selected = |p: &crate::metadata::Package| {
        flags.package.is_empty()
            || flags
                .package
                .iter()
                .any(|s| s.split(['@', ':']).next() == Some(p.name.as_str()))
    };
    let all: Vec<(&str, &crate::metadata::Target)> = ws
        .packages
        .iter()
        .filter(|p| selected(p))
        .flat_map(|p| p.targets.iter().map(move |t| (p.name.as_str(), t)))
        .filter(|(_, t)| t.kind == TargetKind::Bin)
        .collect();
    let mut names: Vec<String> = all.iter().map(|(_, t)| t.name.clone()).collect();
    names.sort();
    names.dedup();
    if !flags.bin.is_empty() {
        for b in &flags.bin {
            if !names.contains(b) {
                return Err(
                    Error::input(format!("no binary `{b}` in the workspace")).with_hint(
                        if names.is_empty() {
                            "the workspace has no binary targets".to_string()
                        } else {
                            format!("its binaries: {}", names.join(", "))
                        },
                    ),
                );
            }
        }
        return Ok(flags.bin.clone());
    }
    let other_selection = flags.bins
        || flags.lib
        || flags.examples
        || flags.tests
        || flags.benches
        || flags.all_targets
        || !flags.example.is_empty()
        || !flags.test.is_empty()
        || !flags.bench.is_empty();
    if runtime == Runtime::None && other_selection {
        return Ok(Vec::new());
    }
    let plain: Vec<String> = {
        let mut v: Vec<String> = all
            .iter()
            .filter(|(_, t)| t.required_features.is_empty())
            .map(|(_, t)| t.name.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    match plain.as_slice() {
        [one] => {
            flags.bin.push(one.clone());
            Ok(vec![one.clone()])
        }
        [] if runtime == Runtime::None => Ok(Vec::new()),
        [] => Err(Error::input("the workspace has no binary for the runtime stage to run")
            .with_hint(if names.is_empty() {
                "pass --runtime none to write an image that only builds".to_string()
            } else {
                format!("pick one with --bin (its binaries: {}), or pass --runtime none", names.join(", "))
            })),
        many => Err(Error::input(format!(
            "the workspace has several binaries ({}); the image needs to know which to build and run",
            many.join(", ")
        ))
        .with_hint("pick one with --bin NAME (repeat --bin for several; the first is the entrypoint)")),
    }
}

/// A name for the image (tag, comments, cache ids): the binary, else the package, else the
/// workspace directory; lowercase, in the characters an image tag and a cache id allow.
pub(super) fn image_name(ws: &crate::metadata::Workspace, binaries: &[Binary]) -> String {
    let root_pkg = ws.packages.iter().find(|p| p.dir() == ws.root);
    let name = match (binaries.first(), root_pkg, ws.packages.as_slice()) {
        (Some(b), _, _) => b.name.clone(),
        (None, Some(p), _) | (None, None, [p]) => p.name.clone(),
        _ => ws
            .root
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    };
    let clean: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if clean.is_empty() {
        "app".into()
    } else {
        clean
    }
}

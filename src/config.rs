//! Cargo configuration that applies to a workspace: `.cargo/config.toml` (and the legacy
//! `.cargo/config`) from the workspace root up to the layout root, and the toolchain file.
//! Secrets never leave this module: tokens and credential settings are stripped.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result};

/// Top-level config tables that cannot change how anything compiles.
const DROPPED_TABLES: &[&str] = &[
    "alias",
    "term",
    "cargo-new",
    "doc",
    "future-incompat-report",
    "install",
    "credential-alias",
    "cache",
    "resolver",
];

/// A config or toolchain file found for the workspace.
#[derive(Debug)]
pub struct Found {
    /// Absolute path.
    pub path: PathBuf,
    /// The content for the recipe (normalised and stripped for config files).
    pub text: String,
}

/// Config files in each directory from `start` up to and including `stop`.
pub fn config_files(start: &Path, stop: &Path) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for dir in dirs_up(start, stop) {
        for name in ["config.toml", "config"] {
            let path = dir.join(".cargo").join(name);
            if path.is_file() {
                let text = crate::fs::read_to_string(&path)?;
                found.push(Found {
                    text: strip_config(&text, &path)?,
                    path,
                });
            }
        }
    }
    Ok(found)
}

/// The toolchain file nearest to `start` (as rustup finds it), up to `stop`.
pub fn toolchain_file(start: &Path, stop: &Path) -> Result<Option<Found>> {
    for dir in dirs_up(start, stop) {
        for name in ["rust-toolchain.toml", "rust-toolchain"] {
            let path = dir.join(name);
            if path.is_file() {
                let text = crate::fs::read_to_string(&path)?;
                return Ok(Some(Found { path, text }));
            }
        }
    }
    Ok(None)
}

/// The toolchain channel named by a toolchain file's text, if any.
pub fn toolchain_channel(text: &str) -> Option<String> {
    if let Ok(t) = toml::from_str::<Table>(text) {
        return t
            .get("toolchain")
            .and_then(|t| t.get("channel"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.to_string())
}

fn dirs_up<'a>(start: &'a Path, stop: &'a Path) -> impl Iterator<Item = &'a Path> {
    let mut cur = Some(start);
    std::iter::from_fn(move || {
        let dir = cur?;
        cur = if dir == stop { None } else { dir.parent() };
        Some(dir)
    })
}

/// Removes secrets and build-neutral tables from a config file, and renders it canonically.
pub fn strip_config(text: &str, path: &Path) -> Result<String> {
    let mut doc: Table = toml::from_str(text).map_err(|e| {
        Error::input(format!("`{}` is not valid TOML: {e}", path.display()))
            .with_hint("fix the cargo config file; cargo rejects it too")
    })?;
    for key in DROPPED_TABLES {
        doc.remove(*key);
    }
    if let Some(Value::Table(registry)) = doc.get_mut("registry") {
        strip_credentials(registry);
        registry.remove("global-credential-providers");
    }
    if let Some(Value::Table(registries)) = doc.get_mut("registries") {
        for (_, reg) in registries.iter_mut() {
            if let Value::Table(reg) = reg {
                strip_credentials(reg);
            }
        }
    }
    toml::to_string(&doc)
        .map_err(|e| Error::input(format!("cannot re-serialise `{}`: {e}", path.display())))
}

fn strip_credentials(t: &mut Table) {
    t.remove("token");
    t.remove("credential-provider");
    t.remove("secret-key");
    t.remove("secret-key-subject");
}

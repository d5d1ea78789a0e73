//! What the workspace's cargo config files and toolchain file say about where and for what
//! `prewarm image` builds, read through [`crate::config`] (the one reader of cargo config).

use std::path::{Path, PathBuf};

use crate::dockerfile::check;
use crate::error::Result;
use crate::manifest::relative_to;

/// How an error names a key of a cargo config file.
fn config_key(key: &str, file: &Path) -> String {
    format!("`{key}` in `{}`", file.display())
}

/// What the cargo config files of the workspace say about where and for what it builds.
#[derive(Debug, Default)]
pub struct Config {
    /// `build.target-dir`, relative to the workspace root (or absolute); `target` if unset.
    pub target_dir: String,
    /// `build.target`, if one triple.
    pub target: Option<String>,
    /// Every config file, parsed, nearest first (for [`crate::linker::detect`]).
    pub docs: Vec<(PathBuf, toml::Table)>,
    /// The toolchain file and its channel.
    pub toolchain: Option<(PathBuf, String)>,
}

impl Config {
    /// Reads the config files from `ws_root` up to `layout_root`, and the toolchain file.
    pub fn read(ws_root: &Path, layout_root: &Path) -> Result<Config> {
        let mut config = Config {
            target_dir: "target".into(),
            ..Config::default()
        };
        let mut target_dir = None;
        // Nearest first: the first file that sets a key wins.
        for found in crate::config::config_files(ws_root, layout_root)? {
            let doc = found.table();
            let base = found
                .path
                .parent()
                .and_then(Path::parent)
                .unwrap_or(ws_root);
            if let Some(build) = doc.get("build").and_then(toml::Value::as_table) {
                if target_dir.is_none() {
                    if let Some(dir) = build.get("target-dir").and_then(toml::Value::as_str) {
                        check::path(dir, &config_key("build.target-dir", &found.path))?;
                        let abs = if Path::new(dir).is_absolute() {
                            PathBuf::from(dir)
                        } else {
                            base.join(dir)
                        };
                        let dir = if abs.starts_with(ws_root) || !Path::new(dir).is_absolute() {
                            relative_to(&abs, ws_root)
                        } else {
                            dir.to_string()
                        };
                        // Relative to the workspace root, it may name directories above it.
                        check::path(&dir, &config_key("build.target-dir", &found.path))?;
                        target_dir = Some(dir);
                    }
                }
                if config.target.is_none() {
                    match build.get("target") {
                        Some(toml::Value::String(t)) => config.target = Some(t.clone()),
                        Some(toml::Value::Array(a)) if a.len() == 1 => {
                            config.target = a[0].as_str().map(str::to_string);
                        }
                        _ => {}
                    }
                    if let Some(t) = &config.target {
                        check::target_triple(t, &config_key("build.target", &found.path))?;
                    }
                }
            }
            config.docs.push((found.path, doc));
        }
        if let Some(dir) = target_dir {
            config.target_dir = dir;
        }
        if let Some(found) = crate::config::toolchain_file(ws_root, layout_root)? {
            if let Some(channel) = crate::config::toolchain_channel(&found.text) {
                config.toolchain = Some((found.path, channel));
            }
        }
        Ok(config)
    }
}
